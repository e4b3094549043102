r"""Cross-play of trained multi-agent teams: one run's team against another run's opponents.

  python benchmarks/maddpg_cross_play.py \
      --method=MADDPG=runs/maddpg/simple_adversary_v3/maddpg/seed0,...seed1,...seed2 \
      --method=DDPG=runs/maddpg/simple_adversary_v3/ddpg/seed0,...seed1,...seed2 \
      --episodes=100 --out=agents/maddpg/cross_play.md

The comparison of Lowe et al. 2017 (section 5) on competitive environments: the agents of one
method play the adversaries of another. Every run's newest checkpoint is restored with its
config (`agents.restore.load`); for each pair of methods (A, B) and each seed index s, method
A's run s controls every agent of team `--team` and method B's run s every other agent, acting
with the deterministic evaluation policy for `--episodes` episodes. Prints, and writes to
`--out` as Markdown, the mean return of both teams per pairing (mean over seeds, and per seed).
"""

import json
from typing import Dict, List

from absl import app
from absl import flags
import numpy as np

from agents import restore
from agents.common import multi_agent

_METHOD = flags.DEFINE_multi_string(
    'method', None, 'NAME=LOGDIR,LOGDIR,...: a method and its runs (one per seed, in the same '
    'seed order for every method).', required=True)
_TEAM = flags.DEFINE_string('team', 'agent', 'The team whose method is the row of the table; '
                            'every other agent is the column method.')
_EPISODES = flags.DEFINE_integer('episodes', 100, 'Episodes per pairing and seed.')
_SEED = flags.DEFINE_integer('seed', 10_000, 'Seeds the episodes (the same in every pairing).')
_OUT = flags.DEFINE_string('out', None, 'Markdown file to write the table to.')


def _restore(logdir: str) -> restore.LoadedRun:
  """The MADDPG run in `logdir` with its newest intact checkpoint loaded."""
  try:
    run = restore.load(logdir)
  except restore.LoadError as error:
    raise app.UsageError(f'--method: {error}') from None
  if run.agent != 'maddpg':
    run.close()
    raise app.UsageError(f'--method: {logdir} is a {run.agent} run, not maddpg')
  return run


def cross_play(row_run: restore.LoadedRun, column_run: restore.LoadedRun, team: str,
               episodes: int, seed: int) -> Dict[str, float]:
  """Team `team` acts with `row_run`'s policy, every other agent with `column_run`'s.

  Args:
    row_run, column_run: two loaded MADDPG runs on the same environment.
    team: a team of the environment (`JointLayout.teams`).
    episodes: episodes to run.
    seed: seeds the episodes.

  Returns:
    The evaluation's `details`: the mean return of every team and agent.
  """
  if row_run.env_id != column_run.env_id:
    raise app.UsageError(f'--method: runs on {row_run.env_id} and {column_run.env_id}')
  layout = multi_agent.JointLayout(row_run.spec)
  teams = layout.teams()
  if team not in teams:
    raise app.UsageError(f'--team={team}: the teams are {sorted(teams)}')
  own = np.zeros(layout.num_agents, bool)
  own[teams[team]] = True
  mask = np.concatenate([np.full(size, o) for size, o in zip(layout.action_sizes, own)])

  def act(observation: np.ndarray) -> np.ndarray:
    return np.where(mask, row_run.policy(observation), column_run.policy(observation))

  make_env = lambda s: multi_agent.make_environment(row_run.env_id, seed=s,
                                                    **row_run.config.env_kwargs)
  return multi_agent.evaluate(act, make_env, episodes, seed).details


def main(argv):
  del argv
  methods: Dict[str, List[str]] = {}
  for entry in _METHOD.value:
    name, sep, dirs = entry.partition('=')
    if not sep or not dirs:
      raise app.UsageError(f'--method={entry}: expected NAME=LOGDIR[,LOGDIR...]')
    methods[name] = dirs.split(',')
  counts = {len(d) for d in methods.values()}
  if len(counts) != 1:
    raise app.UsageError('--method: every method needs the same number of runs (one per seed)')
  runs = {name: [_restore(d) for d in dirs] for name, dirs in methods.items()}
  try:
    _report(methods, runs)
  finally:
    for run in (r for method_runs in runs.values() for r in method_runs):
      run.close()


def _report(methods: Dict[str, List[str]], runs: Dict[str, List[restore.LoadedRun]]) -> None:
  """Plays every pairing, prints the table and the results, and writes `--out`."""
  teams = multi_agent.JointLayout(runs[next(iter(runs))][0].spec).teams()
  others = [t for t in teams if t != _TEAM.value]
  lines = [f'| {_TEAM.value} (rows) vs {", ".join(others)} (columns) | ' +
           ' | '.join(methods) + ' |', '|---' * (len(methods) + 1) + '|']
  results = {}
  for row_name in methods:
    cells = []
    for column_name in methods:
      per_seed = [cross_play(r, c, _TEAM.value, _EPISODES.value, _SEED.value)
                  for r, c in zip(runs[row_name], runs[column_name])]
      results[f'{row_name} vs {column_name}'] = per_seed
      means = {t: float(np.mean([d[f'return_{t}'] for d in per_seed])) for t in teams}
      seeds = '; '.join(', '.join(f'{d[f"return_{t}"]:.1f}' for t in teams) for d in per_seed)
      cells.append(', '.join(f'{t} {means[t]:.2f}' for t in teams) + f' (seeds: {seeds})')
    lines.append(f'| {row_name} | ' + ' | '.join(cells) + ' |')
  table = '\n'.join(lines)
  print(table)
  print(json.dumps(results))
  if _OUT.value:
    with open(_OUT.value, 'w') as f:
      f.write(table + '\n')


if __name__ == '__main__':
  app.run(main)
