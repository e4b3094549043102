"""Whole-episode actors: B environments, one complete episode each, padded into a time-major
[T, B] batch with a mask (Monte-Carlo agents such as REINFORCE)."""

import pickle
from typing import Dict, List, NamedTuple, Optional, Protocol, Tuple

import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import environments


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


class Policy(Protocol):
  """What the actor needs: `step(obs [B, ...]) -> (action, ...)` and `value(obs) -> [B]`."""

  def step(self, observation) -> Tuple[tf.Tensor, ...]:
    ...

  def value(self, observation) -> tf.Tensor:
    ...


class EpisodeActor(core.Actor):
  """Runs `num_envs` environments for exactly one episode each per `act` call.

  Every call starts new episodes (environment i is seeded `seed + i` on its first reset and
  continues its own random stream afterwards). Only environments whose episode is still running
  are stepped, so no step is wasted and every collected step belongs to a complete episode of
  the current policy (on-policy). The policy is called once per time step on all B
  observations.

  Args:
    env_id: the gymnasium id.
    num_envs: B, episodes per batch.
    seed: seeds the environments.
    policy: acts, `step(obs) -> (action, ...)`, and values final observations, `value(obs)`.
    options: how the environments are made (`wrappers.EnvOptions`).
  """

  def __init__(self, env_id: str, num_envs: int, seed: int, policy: Optional[Policy] = None,
               options: environments.EnvOptions = environments.EnvOptions()):
    if num_envs < 1:
      raise ValueError(f'EpisodeActor: num_envs={num_envs} must be >= 1')
    self._seed = seed
    self._policy = policy
    self._make = lambda i, s: environments.make_environment(env_id, seed=s + i,
                                                                   options=options)
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

  def reset(self, env_steps: int = 0) -> None:
    """Makes the next episodes start from `seed + env_steps + i`."""
    self.reseed(self._seed + env_steps)

  def get_state(self) -> bytes:
    """The environments' random streams, for a resumed run (see `core.Actor`)."""
    return pickle.dumps([env.get_state() for env in self._envs])

  def set_state(self, state: bytes) -> None:
    for env, env_state in zip(self._envs, pickle.loads(state), strict=True):
      env.set_state(env_state)

  def act(self, max_steps: int) -> core.Acted:
    """One episode per environment (cut where the budget `max_steps` runs out)."""
    batch, steps, returns, lengths = self.collect(self._policy, max_steps)
    return core.Acted(batch, steps, returns, lengths)

  def collect(self, actor: Policy, max_steps: Optional[int] = None
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
