r"""Evaluation curves of several groups of runs on one plot: each run thin, each group's mean
thick.

  python benchmarks/compare_curves.py --out=agents/acktr/curves/acktr_vs_a2c.png \
      --group=ACKTR=runs/acktr/s0,runs/acktr/s1,runs/acktr/s2 \
      --group=A2C=runs/a2c/s0,runs/a2c/s1,runs/a2c/s2

Reads each run's metrics.csv (`eval_return` against `env_steps`, or the columns named by
`--metrics`, one panel each, e.g. a multi-agent run's `eval_return_adversary,eval_return_agent`);
the mean is taken over the runs at the evaluation points they share, with its 95 % stratified
bootstrap band (`--noband` leaves it out). `--reference` draws a horizontal line on a panel
(e.g. a random policy's return), each in its own style. To compare runs grouped by their
config.json, with the final scores' statistics, see `python -m launchers.report`.
"""

import itertools
import os

from absl import app
from absl import flags
import numpy as np

from agents.common import runs as runs_lib
from agents.common import statistics
from launchers import flags as flags_lib

_GROUPS = flags.DEFINE_multi_string('group', [], 'LABEL=RUN_DIR,RUN_DIR,...')
_OUT = flags.DEFINE_string('out', 'curves.png', 'PNG to write.')
_TITLE = flags.DEFINE_string('title', '', 'Plot title.')
_TARGET = flags.DEFINE_float('target', None, 'Draw a horizontal line at this return.')
_METRICS = flags.DEFINE_list('metrics', ['eval_return'], 'metrics.csv columns, one panel each.')
_REFERENCES = flags.DEFINE_multi_string(
    'reference', [], 'METRIC=VALUE=LABEL: a horizontal line at VALUE on the panel of METRIC.')
_BAND = flags.DEFINE_bool('band', True, "Shade each group mean's 95 % bootstrap band.")

# One look per reference line on a panel, so that lines close together stay apart.
_REFERENCE_STYLES = (dict(color='grey', linestyle='--'), dict(color='black', linestyle=':'),
                     dict(color='tab:brown', linestyle='-.'), dict(color='tab:olive', linestyle='--'))


def _is_reference(text: str) -> bool:
  """Whether `text` reads METRIC=VALUE=LABEL with a number for VALUE."""
  parts = text.split('=', 2)
  try:
    float(parts[1] if len(parts) == 3 else 'not a number')
  except ValueError:
    return False
  return True


flags.register_validator('reference', lambda values: all(map(_is_reference, values)),
                         message='--reference: each must be METRIC=VALUE=LABEL, VALUE a number')


def _curve(run_dir, metric):
  steps, values = runs_lib.eval_curve(os.path.join(run_dir, 'metrics.csv'), metric)
  return dict(zip(steps.tolist(), values.tolist()))


def main(argv):
  del argv
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  metrics = _METRICS.value
  fig, axes = plt.subplots(1, len(metrics), figsize=(7 * len(metrics), 4), dpi=100,
                           squeeze=False)
  for ax, metric in zip(axes[0], metrics):
    for index, group in enumerate(_GROUPS.value):
      label, _, runs = group.partition('=')
      curves = [_curve(run, metric) for run in runs.split(',')]
      color = f'C{index}'
      for curve in curves:
        steps = sorted(curve)
        ax.plot(steps, [curve[s] for s in steps], color=color, alpha=0.3, linewidth=1)
      shared = sorted(set.intersection(*[set(c) for c in curves]))
      ax.plot(shared, [sum(c[s] for c in curves) / len(curves) for s in shared], color=color,
              linewidth=2.5, label=f'{label} (mean of {len(curves)})')
      if _BAND.value and shared:
        band = statistics.curve_interval_estimates(
            np.array([[c[s] for s in shared] for c in curves]), statistics.mean)
        ax.fill_between(shared, band[1], band[2], color=color, alpha=0.15, linewidth=0)
    if _TARGET.value is not None:
      ax.axhline(_TARGET.value, color='grey', linestyle='--', linewidth=1)
    references = [r.split('=', 2) for r in _REFERENCES.value]
    references = [(float(value), label) for name, value, label in references if name == metric]
    for (value, label), style in zip(references, itertools.cycle(_REFERENCE_STYLES)):
      ax.axhline(value, linewidth=1.2, label=label, **style)
    ax.set_xlabel('environment steps')
    ax.set_ylabel(metric.replace('_', ' '))
    ax.set_title(_TITLE.value if len(metrics) == 1 else f'{_TITLE.value} {metric}'.strip())
    ax.grid(alpha=0.3)
    ax.margins(y=0.12)
    ax.legend(loc='best', fontsize='small')
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
  fig.savefig(_OUT.value)
  print(_OUT.value)


if __name__ == '__main__':
  app.run(main, flags_parser=flags_lib.parse_flags)  # one-line errors, exit status 2
