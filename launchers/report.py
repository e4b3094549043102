r"""A Markdown report comparing runs: learning curves, final scores, wall-clock, settings.

  python -m launchers.report runs/benchmark/ppo/CartPole-v1
  python -m launchers.report runs/ppo_lr1e-3 runs/ppo_lr3e-4 runs/a2c --out=reports/cartpole \
      --name='PPO vs A2C on CartPole-v1'

A RUN_DIR is a run's logdir (it holds config.json), or a folder with run logdirs at any depth
(e.g. a benchmark's --out). Runs whose config.json differ only in the seed form a group.
Writes report.md and one curves_<env>.png per environment into --out (default: the RUN_DIR
when one is given, else runs/report): every group's evaluation return against env steps
(mean over seeds with a 95 % bootstrap band), the final returns per seed with their mean,
median and IQM and 95 % bootstrap intervals, train time and steps/s, and the settings in
which the groups differ. See agents/common/reporting.py.
"""

import os
import sys

from absl import app
from absl import flags

from agents.common import reporting
from agents.common import runs as runs_lib
from agents.common import statistics
from launchers import flags as flags_lib

_OUT = flags.DEFINE_string('out', None, 'Folder for report.md and the PNGs (default: the '
                           'RUN_DIR when one is given, else runs/report).')
_NAME = flags.DEFINE_string('name', None, "The report's title (default: the RUN_DIRs).")
_REPS = flags.DEFINE_integer('reps', statistics.DEFAULT_REPS,
                             'Bootstrap resamples of every confidence interval.', lower_bound=1)


def main(argv):
  paths = argv[1:]
  if not paths:
    flags_lib.fail('no RUN_DIR given: python -m launchers.report RUN_DIR... [--out=DIR]')
  for path in paths:
    if not os.path.isdir(path):
      problem = 'is not a folder' if os.path.exists(path) else 'does not exist'
      flags_lib.fail(f'RUN_DIR {path!r}: {problem}')
  out = _OUT.value or (paths[0] if len(paths) == 1 else os.path.join('runs', 'report'))
  if os.path.exists(out) and not os.path.isdir(out):
    flags_lib.fail(f'--out={out!r}: is a file, not a folder')
  try:  # Reads every run before it writes anything.
    path = reporting.write_report(paths, out, name=_NAME.value or ', '.join(paths),
                                  reps=_REPS.value)
  except runs_lib.RunError as error:
    flags_lib.fail(str(error))
  print(path)


if __name__ == '__main__':
  # absl's parsing with one-line errors (`flags_lib.parse_flags`), and a --help of its own.
  sys.exit(app.run(main, flags_parser=flags_lib.parser_with_help(
      lambda: flags_lib.help_text(__doc__, {'Report flags': ['out', 'name', 'reps']}))))
