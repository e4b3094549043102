"""Finished and unfinished runs read back from their logdirs, grouped for comparison.

A run's logdir is a folder holding the `config.json` that `loop.write_config` writes; beside it
`metrics.csv` (the logger's rows: evaluation rows carry `eval_return`) and, once the run ended,
`evaluation.json` (the final evaluation, `train_time_s` and more). Nothing here imports
TensorFlow: reading runs is cheap.
"""

import csv
import dataclasses
import json
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

CONFIG_NAME = 'config.json'
EVALUATION_NAME = 'evaluation.json'
METRICS_NAME = 'metrics.csv'


class RunError(ValueError):
  """A run's files do not read back (the message names the file)."""


@dataclasses.dataclass(frozen=True)
class Run:
  """One run's outputs.

  Attributes:
    logdir: the run's folder.
    config: its config.json (agent, env, seed, num_steps, ..., config: the agent's fields).
    evaluation: its evaluation.json, or None while the run has not ended.
    eval_steps: [points] env steps of the evaluation rows of metrics.csv, increasing.
    eval_returns: [points] their `eval_return`.
  """
  logdir: str
  config: Dict[str, Any]
  evaluation: Optional[Dict[str, Any]]
  eval_steps: np.ndarray
  eval_returns: np.ndarray

  @property
  def agent(self) -> str:
    return str(self.config.get('agent'))

  @property
  def env(self) -> str:
    return str(self.config.get('env'))

  @property
  def seed(self) -> Any:
    return self.config.get('seed')

  @property
  def final_return(self) -> Optional[float]:
    """The final evaluation's mean return, or None for an unfinished run."""
    return None if self.evaluation is None else float(self.evaluation['mean_return'])


def _read_json(path: str) -> Dict[str, Any]:
  try:
    with open(path) as f:
      value = json.load(f)
  except (OSError, ValueError) as error:
    raise RunError(f'{path}: does not read back as JSON ({error})') from None
  if not isinstance(value, dict):
    raise RunError(f'{path}: is not a JSON object')
  return value


def find_logdirs(path: str) -> List[str]:
  """The run logdirs at or under `path`: every folder holding a config.json, sorted.

  The search does not go into a run's logdir (its `worker<i>` folders are that run's).
  """
  if os.path.isfile(os.path.join(path, CONFIG_NAME)):
    return [path]
  found = []
  for dirpath, dirnames, filenames in os.walk(path):
    dirnames.sort()
    if CONFIG_NAME in filenames:
      found.append(dirpath)
      dirnames[:] = []
  return sorted(found)


def eval_curve(csv_path: str, column: str = 'eval_return') -> Tuple[np.ndarray, np.ndarray]:
  """(env steps, values) of the rows of a metrics.csv that hold `column`.

  A step logged twice keeps its last value; rows where the value is empty or NaN are skipped.
  Returns two empty arrays when the file or the column is missing.

  Raises:
    RunError: for a row whose env_steps or value is not a number.
  """
  if not os.path.exists(csv_path):
    return np.zeros(0), np.zeros(0)
  points: Dict[int, float] = {}
  with open(csv_path, newline='') as f:
    for line, row in enumerate(csv.DictReader(f), start=2):
      text = row.get(column)
      if text in (None, ''):
        continue
      try:
        step, value = int(float(row['env_steps'])), float(text)
      except (KeyError, TypeError, ValueError):
        raise RunError(f'{csv_path}:{line}: env_steps {row.get("env_steps")!r} or {column} '
                       f'{text!r} is not a number') from None
      if not math.isnan(value):
        points[step] = value
  steps = sorted(points)
  return np.asarray(steps, dtype=np.int64), np.asarray([points[s] for s in steps])


def load_run(logdir: str) -> Run:
  """Reads one run's config.json, evaluation.json (if any) and evaluation curve.

  Raises:
    RunError: for a file that does not read back.
  """
  config = _read_json(os.path.join(logdir, CONFIG_NAME))
  for key in ('agent', 'env'):
    if key not in config:
      raise RunError(f'{os.path.join(logdir, CONFIG_NAME)}: has no {key!r}')
  evaluation_path = os.path.join(logdir, EVALUATION_NAME)
  evaluation = _read_json(evaluation_path) if os.path.exists(evaluation_path) else None
  if evaluation is not None and 'mean_return' not in evaluation:
    raise RunError(f"{evaluation_path}: has no 'mean_return'")
  steps, returns = eval_curve(os.path.join(logdir, METRICS_NAME))
  return Run(logdir=logdir, config=config, evaluation=evaluation, eval_steps=steps,
             eval_returns=returns)


def group_key(config: Dict[str, Any]) -> str:
  """What runs of one group share: the whole config.json but the seed, as canonical JSON."""
  return json.dumps({k: v for k, v in config.items() if k != 'seed'}, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class Group:
  """Runs that differ only in their seed.

  Attributes:
    runs: the runs, ordered by seed.
    settings: their shared config.json, less the seed.
  """
  runs: Tuple[Run, ...]
  settings: Dict[str, Any]

  @property
  def agent(self) -> str:
    return str(self.settings['agent'])

  @property
  def env(self) -> str:
    return str(self.settings['env'])

  @property
  def finished(self) -> List[Run]:
    return [r for r in self.runs if r.evaluation is not None]


def _seed_order(run: Run) -> Tuple[int, Any, str]:
  seed = run.seed
  return (0, seed, run.logdir) if isinstance(seed, int) else (1, str(seed), run.logdir)


def group_runs(runs: Sequence[Run]) -> List[Group]:
  """Groups runs by their config.json less the seed; groups ordered by env, agent, then the
  order their first run came in."""
  groups: Dict[str, List[Run]] = {}
  for run in runs:
    groups.setdefault(group_key(run.config), []).append(run)
  ordered = sorted(groups.values(), key=lambda rs: (rs[0].env, rs[0].agent))
  return [Group(runs=tuple(sorted(rs, key=_seed_order)),
                settings={k: v for k, v in rs[0].config.items() if k != 'seed'})
          for rs in ordered]


def flatten(settings: Dict[str, Any], prefix: str = '') -> Dict[str, Any]:
  """Nested dicts as one level of dotted names: {'config': {'lr': 1}} -> {'config.lr': 1}."""
  flat = {}
  for key, value in settings.items():
    name = f'{prefix}{key}'
    if isinstance(value, dict):
      flat.update(flatten(value, f'{name}.'))
    else:
      flat[name] = value
  return flat


def config_differences(groups: Sequence[Group]) -> Dict[str, List[Any]]:
  """The settings that are not the same in every group: dotted name -> each group's value
  (`None` where a group has no such field), in the order of the names."""
  flats = [flatten(g.settings) for g in groups]
  names = sorted(set().union(*flats)) if flats else []
  return {name: [f.get(name) for f in flats] for name in names
          if any(f.get(name) != flats[0].get(name) or name not in f for f in flats)}


def common_curve(runs: Sequence[Run]) -> Tuple[np.ndarray, np.ndarray, bool]:
  """The runs' evaluation curves on common env steps.

  When every run was evaluated at the same steps those are the common steps. Otherwise they
  are every run's steps that lie where all runs have been evaluated (from the latest first
  evaluation to the earliest last one), and each curve is interpolated linearly onto them.

  Returns:
    (steps [points], returns [runs, points], whether any curve was interpolated). No points
    when a run has no evaluation or the runs' ranges do not overlap.
  """
  curves = [(r.eval_steps, r.eval_returns) for r in runs]
  if not curves or any(len(s) == 0 for s, _ in curves):
    return np.zeros(0, np.int64), np.zeros((len(curves), 0)), False
  first = curves[0][0]
  if all(np.array_equal(s, first) for s, _ in curves):
    return first, np.stack([v for _, v in curves]), False
  low = max(int(s[0]) for s, _ in curves)
  high = min(int(s[-1]) for s, _ in curves)
  steps = np.unique(np.concatenate([s for s, _ in curves]))
  steps = steps[(steps >= low) & (steps <= high)]
  return steps, np.stack([np.interp(steps, s, v) for s, v in curves]), True
