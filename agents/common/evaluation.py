"""Evaluation: N episodes of the deterministic policy, run side by side."""

import time
from typing import Callable, Mapping, NamedTuple

import numpy as np

from agents.common import core
from agents.common import environments


class EvaluationResult(NamedTuple):
  """Returns of the evaluation episodes and their summary.

  Attributes:
    returns: [episodes] undiscounted returns (multi-agent: averaged over the agents).
    lengths: [episodes] lengths.
    wall_time_s: seconds the evaluation took.
    details: more scalars the loop logs beside `eval_return` (as `eval_<name>`) and writes into
      evaluation.json (e.g. each agent's and team's mean return).
  """
  returns: np.ndarray
  lengths: np.ndarray
  wall_time_s: float
  details: Mapping[str, float] = {}

  @property
  def mean_return(self) -> float:
    return float(np.mean(self.returns))

  @property
  def std_return(self) -> float:
    return float(np.std(self.returns))


def evaluate(policy: Callable[[np.ndarray], np.ndarray], env_id: str, episodes: int,
             seed: int, options: environments.EnvOptions = environments.EnvOptions()
             ) -> EvaluationResult:
  """Runs `episodes` full episodes of `policy` and returns their returns.

  The episodes run in parallel, one per environment copy (env i seeded `seed + i`); each copy
  counts only its first episode, so the result is exactly `episodes` complete episodes
  (including ones cut by the time limit).

  Args:
    policy: maps a batch of observations [episodes, ...] to actions [episodes, ...]; pass the
      deterministic policy (the distribution's mode).
    env_id: the gymnasium id.
    episodes: how many episodes, >= 1.
    seed: the base seed for the evaluation environments (keep it apart from training seeds).
    options: how the environments are made; they are made for evaluation (on Atari: whole
      games, unclipped scores).

  Returns:
    An `EvaluationResult`.
  """
  if episodes < 1:
    raise ValueError(f'evaluate: episodes={episodes} must be >= 1')
  start = time.time()
  env = environments.VectorEnv(env_id, episodes, seed, options, training=False)
  try:
    observation = env.reset()
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, np.int64)
    running = np.ones(episodes, bool)
    while running.any():
      core.check_interrupt()
      step = env.step(policy(observation))
      returns += np.where(running, step.reward, 0.0)
      lengths += running
      running &= ~(step.terminated | step.truncated)
      observation = step.observation
  finally:
    env.close()
  return EvaluationResult(returns, lengths, time.time() - start)
