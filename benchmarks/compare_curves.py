r"""Evaluation curves of several groups of runs on one plot: each run thin, each group's mean
thick.

  python benchmarks/compare_curves.py --out=agents/acktr/curves/acktr_vs_a2c.png \
      --group=ACKTR=runs/acktr/s0,runs/acktr/s1,runs/acktr/s2 \
      --group=A2C=runs/a2c/s0,runs/a2c/s1,runs/a2c/s2

Reads each run's metrics.csv (`eval_return` against `env_steps`); the mean is taken over the
runs at the evaluation points they share.
"""

import csv
import os

from absl import app
from absl import flags

_GROUPS = flags.DEFINE_multi_string('group', [], 'LABEL=RUN_DIR,RUN_DIR,...')
_OUT = flags.DEFINE_string('out', 'curves.png', 'PNG to write.')
_TITLE = flags.DEFINE_string('title', '', 'Plot title.')
_TARGET = flags.DEFINE_float('target', None, 'Draw a horizontal line at this return.')


def _curve(run_dir):
  with open(os.path.join(run_dir, 'metrics.csv'), newline='') as f:
    return {int(r['env_steps']): float(r['eval_return']) for r in csv.DictReader(f)
            if r.get('eval_return')}


def main(argv):
  del argv
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
  for index, group in enumerate(_GROUPS.value):
    label, _, runs = group.partition('=')
    curves = [_curve(run) for run in runs.split(',')]
    color = f'C{index}'
    for curve in curves:
      steps = sorted(curve)
      ax.plot(steps, [curve[s] for s in steps], color=color, alpha=0.3, linewidth=1)
    shared = sorted(set.intersection(*[set(c) for c in curves]))
    ax.plot(shared, [sum(c[s] for c in curves) / len(curves) for s in shared], color=color,
            linewidth=2.5, label=f'{label} (mean of {len(curves)})')
  if _TARGET.value is not None:
    ax.axhline(_TARGET.value, color='grey', linestyle='--', linewidth=1)
  ax.set_xlabel('environment steps')
  ax.set_ylabel('evaluation return')
  ax.set_title(_TITLE.value)
  ax.grid(alpha=0.3)
  ax.legend(loc='lower right')
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
  fig.savefig(_OUT.value)
  print(_OUT.value)


if __name__ == '__main__':
  app.run(main)
