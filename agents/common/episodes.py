"""Whole-episode collection and the training run of agents that do not use fixed T-step rollouts.

`EpisodeCollector` runs B environments, one complete episode each, and pads the episodes into
a time-major [T, B] batch with a mask (Monte-Carlo agents such as REINFORCE). `run` is the
training loop of `on_policy.run` for agents whose iterations take a variable number of
environment steps (whole episodes, or online per-step updates): same Logger, Checkpointer,
evaluation, plot and `evaluation.json`, resumable from `logdir`.
"""

import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Protocol, Tuple

import numpy as np
import tensorflow as tf

from agents.common import checkpointing
from agents.common import environments
from agents.common import logger as logger_lib
from agents.common import on_policy


class EpisodeBatch(NamedTuple):
  """B episodes padded to the longest one, T steps: time-major [T, B].

  Episode b starts at t = 0 and occupies the steps t < length[b] (mask 1); the rest is padding
  (mask 0, zero rewards and flags). Index t is the step taken from observation[t].

  Attributes:
    observation: [T, B, ...] observations s_t.
    action: [T, B, ...] actions a_t as sampled.
    reward: [T, B] rewards r_t (0 on padding).
    terminated: [T, B] 1.0 where s_{t+1} is terminal (the last step of an episode that ended).
    truncated: [T, B] 1.0 at the last step of an episode cut before termination, by the
      environment's time limit or by the run's step budget (to be bootstrapped).
    mask: [T, B] 1.0 on real steps, 0.0 on padding.
    truncation_value: [T, B] V(final observation) where `truncated`, else 0.
  """
  observation: tf.Tensor
  action: tf.Tensor
  reward: tf.Tensor
  terminated: tf.Tensor
  truncated: tf.Tensor
  mask: tf.Tensor
  truncation_value: tf.Tensor


class Actor(Protocol):
  """What the collector needs: `step(obs [B, ...]) -> (action, ...)` and `value(obs) -> [B]`."""

  def step(self, observation) -> Tuple[tf.Tensor, ...]:
    ...

  def value(self, observation) -> tf.Tensor:
    ...


class EpisodeCollector:
  """Runs `num_envs` environments for exactly one episode each per `collect` call.

  Every call starts new episodes (environment i is seeded `seed + i` on its first reset and
  continues its own random stream afterwards). Only environments whose episode is still running
  are stepped, so no step is wasted and every collected step belongs to a complete episode of
  the current policy (on-policy). The actor is called once per time step on all B observations.

  Args:
    env_id: the gymnasium id.
    num_envs: B, episodes per batch.
    seed: seeds the environments.
    **env_kwargs: passed to `gymnasium.make`.
  """

  def __init__(self, env_id: str, num_envs: int, seed: int, **env_kwargs):
    if num_envs < 1:
      raise ValueError(f'--num_envs={num_envs}: must be >= 1')
    self._make = lambda i, s: environments.make_environment(env_id, seed=s + i, **env_kwargs)
    self._envs = [self._make(i, seed) for i in range(num_envs)]
    spec = self._envs[0].observation_spec()
    self._obs_dtype = np.dtype(spec.dtype)

  @property
  def num_envs(self) -> int:
    return len(self._envs)

  def observation_spec(self):
    return self._envs[0].observation_spec()

  def action_spec(self):
    return self._envs[0].action_spec()

  def reseed(self, seed: int) -> None:
    """Makes the next episodes start from `seed + i` (e.g. a resumed run's fresh seeds)."""
    self.close()
    self._envs = [self._make(i, seed) for i in range(len(self._envs))]

  def collect(self, actor: Actor, max_steps: Optional[int] = None
              ) -> Tuple[EpisodeBatch, int, List[float], List[int]]:
    """Runs one episode per environment with `actor`, taking at most `max_steps` steps in all.

    When the budget runs out first, the unfinished episodes are cut there and marked
    `truncated` (bootstrapped like a time-limit cut); an episode with no step is left empty.

    Returns:
      (batch, steps taken, returns and lengths of the episodes that ended by themselves:
      termination or the environment's time limit).
    """
    num_envs = len(self._envs)
    observation = np.stack([env.reset().observation for env in self._envs]).astype(
        self._obs_dtype)
    active = np.ones(num_envs, bool)
    final_observation = np.zeros_like(observation)
    columns: Dict[str, List[np.ndarray]] = {k: [] for k in (
        'observation', 'action', 'reward', 'terminated', 'truncated', 'mask')}
    lengths = np.zeros(num_envs, np.int64)
    episode_returns = np.zeros(num_envs)
    finished: List[Tuple[float, int]] = []
    steps = 0
    while active.any() and (max_steps is None or steps < max_steps):
      stepped = np.flatnonzero(active)
      if max_steps is not None:
        stepped = stepped[:max_steps - steps]
      action = actor.step(observation)[0].numpy()
      reward = np.zeros(num_envs, np.float32)
      terminated = np.zeros(num_envs, np.float32)
      truncated = np.zeros(num_envs, np.float32)
      mask = np.zeros(num_envs, np.float32)
      next_observation = observation.copy()
      for i in stepped:
        timestep = self._envs[i].step(action[i])
        reward[i] = timestep.reward
        mask[i] = 1.0
        next_observation[i] = timestep.observation
        if timestep.last():
          active[i] = False
          final_observation[i] = timestep.observation
          terminated[i] = float(timestep.discount == 0.0)
          truncated[i] = 1.0 - terminated[i]
          finished.append((float(episode_returns[i] + reward[i]), int(lengths[i] + 1)))
      for name, value in (('observation', observation), ('action', action),
                          ('reward', reward), ('terminated', terminated),
                          ('truncated', truncated), ('mask', mask)):
        columns[name].append(value)
      lengths[stepped] += 1
      episode_returns[stepped] += reward[stepped]
      steps += len(stepped)
      observation = next_observation
    # Episodes still running when the budget ran out are cut after their last step.
    for i in np.flatnonzero(active & (lengths > 0)):
      columns['truncated'][lengths[i] - 1][i] = 1.0
      final_observation[i] = observation[i]
    batch = {k: np.stack(v) for k, v in columns.items()}
    truncation_value = np.zeros_like(batch['reward'])
    cut_envs = np.flatnonzero(batch['truncated'].any(axis=0))
    if cut_envs.size:
      values = actor.value(final_observation).numpy()
      for i in cut_envs:
        truncation_value[lengths[i] - 1, i] = values[i]
    batch = EpisodeBatch(truncation_value=truncation_value, **batch)
    return batch, steps, [r for r, _ in finished], [n for _, n in finished]

  def close(self) -> None:
    for env in self._envs:
      env.close()


class Iteration(NamedTuple):
  """What one training iteration reports to `run`.

  Attributes:
    env_steps: environment steps it took (> 0).
    metrics: scalar training diagnostics.
    episode_returns: undiscounted returns of the episodes that ended during it.
    episode_lengths: their lengths.
  """
  env_steps: int
  metrics: Dict[str, Any]
  episode_returns: List[float]
  episode_lengths: List[int]


class EpisodicAgent(NamedTuple):
  """What `run` needs from an agent.

  Attributes:
    iterate: `iterate(max_steps) -> Iteration`: collect and learn, taking at most `max_steps`
      environment steps.
    reset: `reset(seed)` starts new training episodes with fresh seeds (called once at start).
    mode: `mode(observations [N, ...]) -> actions`, the deterministic evaluation policy.
    trackables: everything to checkpoint, by name.
  """
  iterate: Callable[[int], Iteration]
  reset: Callable[[int], None]
  mode: Callable[[np.ndarray], np.ndarray]
  trackables: Dict[str, Any]


def run(settings: on_policy.RunSettings, agent: EpisodicAgent,
        start_time: Optional[float] = None) -> Dict[str, Any]:
  """Trains for `settings.num_steps` env steps, resuming from `logdir` if it can.

  Stops at the budget exactly, or earlier when an iteration can take no step (e.g. the rest of
  the budget is less than one step of every environment).

  The loop of `on_policy.run` (same outputs: metrics.csv, TensorBoard, checkpoints,
  learning_curve.png, evaluation.json) for iterations of variable length. Ctrl-C
  (KeyboardInterrupt) saves a checkpoint before it propagates.

  Returns:
    The final evaluation record (also written to `logdir/evaluation.json`).
  """
  start = time.time() if start_time is None else start_time
  env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name='env_steps')
  checkpointer = checkpointing.Checkpointer(settings.logdir, env_steps=env_steps,
                                            **agent.trackables)
  restored = checkpointer.restore()
  log = logger_lib.Logger(settings.logdir, settings.num_steps,
                          name=f'{settings.agent} {settings.env_id}',
                          initial_step=int(env_steps.numpy()))
  if restored:
    log.truncate(int(env_steps.numpy()))
    print(f'Resumed from {restored} at {int(env_steps.numpy()):,} env steps.', flush=True)
  # A resumed run starts fresh episodes with seeds it has not used before.
  agent.reset(settings.seed + int(env_steps.numpy()))

  returns: List[float] = []
  lengths: List[int] = []
  first_iteration_s = None
  step = int(env_steps.numpy())
  next_log = on_policy.next_multiple(step, settings.log_every)
  next_checkpoint = on_policy.next_multiple(step, settings.checkpoint_every)
  next_eval = on_policy.next_multiple(step, settings.eval_every or settings.num_steps)
  try:
    while step < settings.num_steps:
      result = agent.iterate(settings.num_steps - step)
      if not result.env_steps:  # The rest of the budget is smaller than one step of all envs.
        break
      env_steps.assign_add(result.env_steps)
      returns.extend(result.episode_returns)
      lengths.extend(result.episode_lengths)
      step = int(env_steps.numpy())
      if first_iteration_s is None:
        first_iteration_s = time.time() - start
      if step >= next_eval and settings.eval_every and step < settings.num_steps:
        log.write(step, {'eval_return': on_policy.evaluate(agent.mode, settings).mean_return})
        next_eval = on_policy.next_multiple(step, settings.eval_every)
      if step >= next_log or step >= settings.num_steps:
        row = {k: float(v) for k, v in result.metrics.items()}
        row['episode_return'] = float(np.mean(returns)) if returns else float('nan')
        row['episode_length'] = float(np.mean(lengths)) if lengths else float('nan')
        log.write(step, row)
        returns, lengths = [], []
        next_log = on_policy.next_multiple(step, settings.log_every)
      if step >= next_checkpoint:
        checkpointer.save(step)
        next_checkpoint = on_policy.next_multiple(step, settings.checkpoint_every)
  except KeyboardInterrupt:
    path = checkpointer.save(int(env_steps.numpy()))
    log.close()
    print(f'\nInterrupted: saved {path} at {int(env_steps.numpy()):,} env steps; rerun the same '
          'command to resume.', flush=True)
    raise
  train_time_s = time.time() - start
  return on_policy.finish(
      settings, checkpointer, log, agent.mode, step=step, start=start,
      train_time_s=train_time_s, first_iteration_s=first_iteration_s, restored=restored)


