"""Learning-curve PNGs from a run's metrics CSV."""

import csv
import math
import os
from typing import Sequence


def plot_learning_curve(csv_path: str, png_path: str, title: str = '',
                        series: Sequence[str] = ('episode_return', 'eval_return')) -> str:
  """Plots the return columns of `csv_path` against environment steps into `png_path`.

  Args:
    csv_path: the run's metrics CSV (must have an `env_steps` column).
    png_path: where to write the PNG.
    title: the plot title (e.g. 'ppo CartPole-v1 seed 0').
    series: the columns to plot when present (training-episode return, evaluation return).

  Returns:
    `png_path`.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  with open(csv_path, newline='') as f:
    rows = list(csv.DictReader(f))
  fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
  for column in series:
    points = [(float(r['env_steps']), float(r[column])) for r in rows
              if r.get(column) not in (None, '') and not math.isnan(float(r[column]))]
    if points:
      xs, ys = zip(*points)
      style = dict(marker='o', linestyle='-') if column.startswith('eval') else {}
      ax.plot(xs, ys, label=column.replace('_', ' '), **style)
  ax.set_xlabel('environment steps')
  ax.set_ylabel('return')
  ax.set_title(title)
  ax.grid(alpha=0.3)
  if ax.get_legend_handles_labels()[0]:
    ax.legend(loc='lower right')
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(png_path)), exist_ok=True)
  fig.savefig(png_path)
  plt.close(fig)
  return png_path
