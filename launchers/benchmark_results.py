"""A benchmark's results across seeds (`python -m launchers.benchmark`): what to do with each
seed's logdir, and the table `results.json` / `results.md` with the statistics across seeds.

Nothing here starts a process or imports TensorFlow; the launcher runs the seeds.
"""

import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from agents.common import runs as runs_lib
from agents.common import statistics

# Settings in results.json that rows of one table share.
SETTINGS = ('agent', 'env', 'num_steps', 'tuned', 'agent_flags', 'num_actors', 'eval_every')


def join_flag_pieces(pieces: Sequence[str]) -> List[str]:
  """--agent_flags split at every comma: a piece that does not start with '--' is the rest of
  the flag before it (`--hidden_sizes=64`, `64` -> `--hidden_sizes=64,64`).

  Raises:
    ValueError: if the first piece is not a flag.
  """
  joined: List[str] = []
  for piece in pieces:
    if piece.startswith('--'):
      joined.append(piece)
    elif joined:
      joined[-1] += ',' + piece
    else:
      raise ValueError(f'{piece!r} is not a flag (--name=value)')
  return joined


def launcher_flags(agent: str, env: str, num_steps: int, seed: int, logdir: str, tuned: bool,
                   eval_every: Optional[int], extra: Sequence[str],
                   num_actors: Optional[int]) -> List[str]:
  """The flags of one seed's `python -m launchers.<agent>` (without --restart)."""
  command = [f'--env={env}', f'--num_steps={num_steps}', f'--seed={seed}', f'--logdir={logdir}',
             f'--tuned={str(tuned).lower()}']
  if eval_every is not None:
    command.append(f'--eval_every={eval_every}')
  command += list(extra)
  if num_actors is not None:
    command.append(f'--num_actors={num_actors}')
  return command


def finished_record(logdir: str, num_steps: int) -> Optional[Dict[str, Any]]:
  """The evaluation.json of a run in `logdir` that ended at >= `num_steps` env steps, or None."""
  path = os.path.join(logdir, runs_lib.EVALUATION_NAME)
  try:
    with open(path) as f:
      record = json.load(f)
  except (OSError, ValueError):
    return None
  if not isinstance(record, dict) or int(record.get('env_steps', -1)) < num_steps:
    return None
  return record


def plan(logdir: str, num_steps: int, flags_now: Sequence[str],
         previous: Optional[Dict[str, Any]], restart: bool) -> str:
  """What to do with one seed's logdir.

  Args:
    logdir: the seed's logdir.
    num_steps: the benchmark's --num_steps.
    flags_now: the seed's launcher flags (`launcher_flags`).
    previous: the seed's row in the earlier results.json, if any.
    restart: --restart.

  Returns:
    'restart' (--restart); 'reuse' (the run results.json recorded with the same launcher flags
    ended, and its evaluation.json is still the one recorded: no process starts); 'check' (a
    finished run, evaluation.json at >= num_steps env steps, that the launcher confirms: it
    checks the config and reports the run without training); 'resume' (an unfinished run) or
    'run' (nothing there).
  """
  if restart:
    return 'restart'
  record = finished_record(logdir, 0)
  if (record is not None and previous is not None
      and previous.get('launcher_flags') == list(flags_now)
      and previous.get('env_steps') == record.get('env_steps')):
    return 'reuse'
  if finished_record(logdir, num_steps) is not None:
    return 'check'
  if any(os.path.exists(os.path.join(logdir, name))
         for name in (runs_lib.CONFIG_NAME, runs_lib.METRICS_NAME, runs_lib.EVALUATION_NAME,
                      'checkpoints')):
    return 'resume'
  return 'run'


def aggregate(returns: Sequence[float]) -> Dict[str, Any]:
  """Mean, median and IQM of the seeds' final returns with 95 % bootstrap intervals."""
  estimates = statistics.interval_estimates(returns, statistics.SEED_AGGREGATES)
  return {'num_seeds': len(returns), 'confidence': statistics.DEFAULT_SIZE,
          'reps': statistics.DEFAULT_REPS, 'bootstrap_seed': 0,
          **{name: e.as_dict() for name, e in estimates.items()}}


def _number(value: Optional[float], spec: str) -> str:
  return '—' if value is None else format(value, spec)


def markdown(result: Dict[str, Any]) -> str:
  """results.md: a row per seed, then the statistics across seeds."""
  rows, sb3 = result['seeds'], {r['seed']: r for r in result['sb3']}
  header = ('| seed | eval return | env steps | train time (s) | steps/s | first iteration (s) '
            '| this time |' + (' SB3 eval | SB3 time (s) | time ratio ours/SB3 |' if sb3 else ''))
  lines = [f"# {result['agent']} on {result['env']}, {result['num_steps']:,} steps", '', header,
           '|' + '---|' * (header.count('|') - 1)]
  for row in rows:
    line = (f"| {row['seed']} | {row['eval_mean_return']:.1f} | {row['env_steps']:,} | "
            f"{_number(row['train_time_s'], '.1f')} | {_number(row['steps_per_s'], ',.0f')} | "
            f"{_number(row['first_iteration_s'], '.2f')} | {row['status']} |")
    if sb3:
      other = sb3.get(row['seed'])
      if other:
        ratio = (row['train_time_s'] / other['train_time_s']
                 if row['train_time_s'] and other['train_time_s'] else None)
        line += (f" {other['eval_mean_return']:.1f} | {other['train_time_s']:.1f} | "
                 f"{_number(ratio, '.2f')} |")
      else:
        line += ' — | — | — |'
    lines.append(line)
  for title, stats in (('Final', result.get('aggregate')),
                       ('SB3: final', result.get('sb3_aggregate'))):
    if not stats:
      continue
    lines += ['', f"## {title} evaluation return across {stats['num_seeds']} seed(s)", '',
              '| statistic | value | 95 % CI |', '|---|---|---|']
    for name, label in (('mean', 'mean'), ('median', 'median'), ('iqm', 'IQM')):
      lines.append(f"| {label} | {stats[name]['point']:.1f} | "
                   f"[{stats[name]['lower']:.1f}, {stats[name]['upper']:.1f}] |")
  lines += ['', f"95 % stratified percentile bootstrap intervals over the seeds, "
            f"{statistics.DEFAULT_REPS:,} resamples (rliable's definitions, "
            'agents/common/statistics.py). IQM: the mean of the middle 50 % of the seeds (with '
            'fewer than 4 seeds nothing is trimmed). Train time: evaluation.json\'s '
            '`train_time_s`, evaluations left out. '
            '"this time": ran, resumed, restarted or reused by this invocation. Learning '
            'curves: report.md.']
  return '\n'.join(lines) + '\n'


def previous_results(out: str, settings: Dict[str, Any]) -> Tuple[Dict[str, Any], bool]:
  """The earlier results.json in `out` if it has these settings (else {}), and whether there
  is one with other settings (`set_aside` keeps it)."""
  path = os.path.join(out, 'results.json')
  if not os.path.exists(path):
    return {}, False
  try:
    with open(path) as f:
      previous = json.load(f)
  except ValueError:
    return {}, True
  if isinstance(previous, dict) and all(previous.get(k) == settings[k] for k in SETTINGS):
    return previous, False
  return {}, True


def set_aside(out: str) -> str:
  """Renames results.json and results.md in `out` to results.<their time>.json/.md; returns the
  new name of results.json."""
  path = os.path.join(out, 'results.json')
  stamp = time.strftime('%Y%m%d-%H%M%S', time.localtime(os.path.getmtime(path)))
  for ext in ('md', 'json'):
    old = os.path.join(out, f'results.{ext}')
    if os.path.exists(old):
      os.replace(old, os.path.join(out, f'results.{stamp}.{ext}'))
  return os.path.join(out, f'results.{stamp}.json')


def write_results(out: str, result: Dict[str, Any]) -> None:
  """Adds the statistics across seeds to `result` and writes results.json and results.md in
  `out`."""
  result['aggregate'] = aggregate([r['eval_mean_return'] for r in result['seeds']])
  result['sb3_aggregate'] = (aggregate([r['eval_mean_return'] for r in result['sb3']])
                             if result['sb3'] else None)
  with open(os.path.join(out, 'results.json'), 'w') as f:
    json.dump(result, f, indent=2)
  with open(os.path.join(out, 'results.md'), 'w') as f:
    f.write(markdown(result))
