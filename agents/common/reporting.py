"""A Markdown report comparing groups of runs: curves, final scores, wall-clock, settings.

`write_report` reads run logdirs (`runs.find_logdirs`), groups the runs that differ only in
their seed (`runs.group_runs`) and writes into one folder:
  report.md            the tables below, and the curves' PNGs inline;
  curves_<env>.png     one plot per environment: every group's evaluation return against env
                       steps, each seed thin, the mean over seeds thick with its 95 %
                       stratified bootstrap band (`statistics.curve_interval_estimates`).
The final-score table gives each group's per-seed final evaluation returns and their mean,
median and interquartile mean over seeds with 95 % bootstrap intervals (`statistics`).
"""

import math
import os
import re
from typing import Dict, List, Optional, Sequence

import numpy as np

from agents.common import runs as runs_lib
from agents.common import statistics

REPORT_NAME = 'report.md'
_LABEL_FIELDS = 3  # Differing settings named in a group's label, at most.


def format_number(value: Optional[float]) -> str:
  """A compact number: 1,234.5 / 12.3 / 1.00 / 0.0123; '—' for None or NaN."""
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return '—'
  return f'{value:,.1f}' if abs(value) >= 100 else f'{value:#.3g}'


def format_estimate(estimate: statistics.Estimate) -> str:
  """'480.5 [252.7, 495.7]'."""
  return (f'{format_number(estimate.point)} [{format_number(estimate.lower)}, '
          f'{format_number(estimate.upper)}]')


def _format_setting(value) -> str:
  if value is None:
    return '—'
  if isinstance(value, (list, tuple)):
    return ','.join(str(v) for v in value)
  return str(value)


def _short(name: str) -> str:
  return name[len('config.'):] if name.startswith('config.') else name


def group_labels(groups: Sequence[runs_lib.Group]) -> List[str]:
  """A name per group: its agent, and the settings that tell it from the other groups of the
  same agent on the same env (at most `_LABEL_FIELDS`; the config table has them all)."""
  labels = []
  for group in groups:
    peers = [g for g in groups if g.agent == group.agent and g.env == group.env]
    differences = runs_lib.config_differences(peers) if len(peers) > 1 else {}
    index = peers.index(group)
    parts = [f'{_short(name)}={_format_setting(values[index])}'
             for name, values in list(differences.items())[:_LABEL_FIELDS]]
    more = ', …' if len(differences) > _LABEL_FIELDS else ''
    labels.append(f"{group.agent} ({', '.join(parts)}{more})" if parts else group.agent)
  numbered = []
  for i, label in enumerate(labels):  # Same label on one env (past the named fields): number.
    same = [j for j, g in enumerate(groups) if g.env == groups[i].env and labels[j] == label]
    numbered.append(f'{label} #{same.index(i) + 1}' if len(same) > 1 else label)
  return numbered


def _file_name(env: str) -> str:
  return 'curves_' + re.sub(r'[^A-Za-z0-9_.-]+', '_', env) + '.png'


def plot_curves(groups: Sequence[runs_lib.Group], labels: Sequence[str], png_path: str,
                title: str, reps: int, rng: int = 0) -> List[str]:
  """Plots the groups' evaluation curves into `png_path`; returns notes for the report.

  Each seed is a thin line; each group's mean over seeds on their common steps
  (`runs.common_curve`) a thick one, inside its 95 % stratified bootstrap band.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  notes = []
  fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
  for index, (group, label) in enumerate(zip(groups, labels)):
    color = f'C{index % 10}'
    for run in group.runs:
      if len(run.eval_steps):
        ax.plot(run.eval_steps, run.eval_returns, color=color, alpha=0.3, linewidth=0.8)
    curved = [r for r in group.runs if len(r.eval_steps)]
    if not curved:
      notes.append(f'{label}: no evaluation rows in metrics.csv.')
      continue
    steps, curves, interpolated = runs_lib.common_curve(curved)
    if not len(steps):
      notes.append(f'{label}: the seeds were evaluated over env steps that do not overlap; '
                   'no mean is drawn.')
      continue
    if interpolated:
      notes.append(f'{label}: the seeds were evaluated at different env steps; their curves '
                   f'are interpolated linearly onto the {len(steps)} steps where all of them '
                   'have been evaluated.')
    band = statistics.curve_interval_estimates(curves, statistics.mean, reps=reps, rng=rng)
    ax.fill_between(steps, band[1], band[2], color=color, alpha=0.2, linewidth=0)
    ax.plot(steps, band[0], color=color, linewidth=2.2, marker='o' if len(steps) < 30 else None,
            markersize=3, label=f'{label}, n={len(curved)}')
  ax.set_xlabel('environment steps')
  ax.set_ylabel('evaluation return')
  ax.set_title(title)
  ax.grid(alpha=0.3)
  if ax.get_legend_handles_labels()[0]:
    ax.legend(loc='best', fontsize='small')
  fig.tight_layout()
  fig.savefig(png_path)
  plt.close(fig)
  return notes


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
  return (['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
          + ['| ' + ' | '.join(row) + ' |' for row in rows])


def _final_rows(groups, labels, reps: int, rng: int) -> List[List[str]]:
  rows = []
  for group, label in zip(groups, labels):
    finished = group.finished
    if not finished:
      rows.append([label, group.env, '0', 'no finished run', '—', '—', '—'])
      continue
    scores = [r.final_return for r in finished]
    estimates = statistics.interval_estimates(scores, statistics.SEED_AGGREGATES, reps=reps,
                                              rng=rng)
    per_seed = ', '.join(f's{r.seed}: {format_number(r.final_return)}' for r in finished)
    rows.append([label, group.env, str(len(finished)), per_seed]
                + [format_estimate(estimates[k]) for k in statistics.SEED_AGGREGATES])
  return rows


def _spread(values: Sequence[float]) -> str:
  values = [v for v in values if v is not None]
  if not values:
    return '—'
  text = format_number(float(np.mean(values)))
  if len(values) > 1:
    text += f' ({format_number(min(values))}–{format_number(max(values))})'
  return text


def _timing_rows(groups, labels) -> List[List[str]]:
  rows = []
  for group, label in zip(groups, labels):
    records = [r.evaluation for r in group.finished]
    times = [rec.get('train_time_s') for rec in records]
    rates = [rec['env_steps'] / rec['train_time_s'] for rec in records
             if rec.get('train_time_s') and rec.get('env_steps') is not None]
    steps = sorted({rec.get('env_steps') for rec in records if rec.get('env_steps') is not None})
    rows.append([label, group.env, ', '.join(f'{s:,}' for s in steps) or '—', _spread(times),
                 _spread(rates), _spread([rec.get('updates_per_s') for rec in records])])
  return rows


def _difference_lines(groups, labels) -> List[str]:
  differences = runs_lib.config_differences(groups)
  if len(groups) < 2:
    return ['One group: no settings to compare (its config.json has them all).']
  if not differences:
    return ['The groups have the same settings.']
  return _table(['setting'] + list(labels),
                [[name] + [_format_setting(v) for v in values]
                 for name, values in differences.items()])


def _run_rows(groups, labels) -> List[List[str]]:
  rows = []
  for group, label in zip(groups, labels):
    for run in group.runs:
      record = run.evaluation or {}
      rows.append([label, str(run.seed), f'`{run.logdir}`',
                   f"{record['env_steps']:,}" if 'env_steps' in record else 'unfinished',
                   format_number(run.final_return), format_number(record.get('train_time_s')),
                   str(len(run.eval_steps))])
  return rows


def load_groups(paths: Sequence[str]) -> List[runs_lib.Group]:
  """The groups of the runs at or under `paths` (a run found twice counts once).

  Raises:
    RunError: for a path with no run, or a run's file that does not read back.
  """
  logdirs: Dict[str, str] = {}
  for path in paths:
    found = runs_lib.find_logdirs(path)
    if not found:
      raise runs_lib.RunError(f'{path}: no run in it (no {runs_lib.CONFIG_NAME} in it or in '
                              'a folder under it)')
    for logdir in found:
      logdirs.setdefault(os.path.realpath(logdir), logdir)
  return runs_lib.group_runs([runs_lib.load_run(d) for d in logdirs.values()])


def write_report(paths: Sequence[str], out: str, name: str = 'Runs',
                 reps: int = statistics.DEFAULT_REPS, rng: int = 0) -> str:
  """Writes report.md and one curves PNG per env into `out`; returns report.md's path.

  Args:
    paths: run logdirs, or folders holding run logdirs (at any depth).
    out: the folder to write into (made if missing).
    name: the report's title.
    reps: bootstrap resamples of every interval.
    rng: the bootstrap's seed (the report is the same for the same runs).

  Raises:
    RunError: for a path with no run, or a run's file that does not read back.
  """
  groups = load_groups(paths)
  labels = group_labels(groups)
  os.makedirs(out, exist_ok=True)
  num_runs = sum(len(g.runs) for g in groups)
  lines = [f'# {name}', '',
           f'{num_runs} run(s) in {len(groups)} group(s), read from '
           + ', '.join(f'`{p}`' for p in paths) + '. A group is the runs whose config.json '
           'differ only in the seed.', '',
           f'Intervals: 95 % stratified percentile bootstrap over seeds, {reps:,} resamples '
           "(rliable's definitions, `agents/common/statistics.py`). IQM: the mean of the middle "
           "50 % of seeds (scipy's trim_mean(0.25): with fewer than 4 seeds nothing is trimmed "
           'and it equals the mean).', '', '## Learning curves', '',
           'Evaluation return (the `eval_return` rows of metrics.csv) against env steps: each '
           'seed thin, the mean over seeds thick inside its 95 % bootstrap band.', '']
  for env in sorted({g.env for g in groups}):
    chosen = [i for i, g in enumerate(groups) if g.env == env]
    file_name = _file_name(env)
    notes = plot_curves([groups[i] for i in chosen], [labels[i] for i in chosen],
                        os.path.join(out, file_name), env, reps, rng)
    lines += [f'### {env}', '', f'![{env}]({file_name})', '']
    lines += [f'- {note}' for note in notes] + ([''] if notes else [])
  lines += ['## Final evaluation return', '',
            "Each seed's final evaluation (`mean_return` of evaluation.json); statistics over "
            'the seeds that finished.', '']
  lines += _table(['group', 'env', 'seeds', 'per seed', 'mean [95 % CI]', 'median [95 % CI]',
                   'IQM [95 % CI]'], _final_rows(groups, labels, reps, rng))
  lines += ['', '## Wall-clock', '',
            'Mean over the finished seeds (min–max). Train time is evaluation.json\'s '
            '`train_time_s`: from the start of the run (resumed processes added up) to its '
            'final evaluation, without the time spent in evaluations. Steps/s = env steps / '
            'train time.', '']
  lines += _table(['group', 'env', 'env steps', 'train time (s)', 'steps/s', 'updates/s'],
                  _timing_rows(groups, labels))
  lines += ['', '## Settings that differ between groups', '']
  lines += _difference_lines(groups, labels)
  lines += ['', '## Runs', '']
  lines += _table(['group', 'seed', 'logdir', 'env steps', 'final return', 'train time (s)',
                   'evaluations'], _run_rows(groups, labels))
  path = os.path.join(out, REPORT_NAME)
  with open(path, 'w') as f:
    f.write('\n'.join(lines) + '\n')
  return path
