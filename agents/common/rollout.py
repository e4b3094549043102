"""On-policy rollouts: T steps of B environments into one time-major [T, B] batch."""

from typing import List, NamedTuple, Protocol, Tuple

import numpy as np

from agents.common import environments


class Rollout(NamedTuple):
  """A time-major batch of T steps from B environments.

  Index t is the step taken from observation[t]: action[t] gives reward[t] and the next state.

  Attributes:
    observation: [T, B, ...] observations s_t the actions were taken from.
    action: [T, B, ...] actions a_t as sampled (before clipping to the action bounds).
    reward: [T, B] rewards r_t.
    terminated: [T, B] 1.0 where s_{t+1} is terminal (discount 0 for the step t -> t+1).
    truncated: [T, B] 1.0 where a time limit cut the episode after step t (bootstrapped).
    log_prob: [T, B] log mu(a_t | s_t) of the behaviour policy.
    value: [T, B] V(s_t) as estimated while acting.
    truncation_value: [T, B] V of the true final observation where `truncated`, else 0.
    bootstrap_value: [B] V(s_T), the value of the observation after the last step.
  """
  observation: np.ndarray
  action: np.ndarray
  reward: np.ndarray
  terminated: np.ndarray
  truncated: np.ndarray
  log_prob: np.ndarray
  value: np.ndarray
  truncation_value: np.ndarray
  bootstrap_value: np.ndarray


class Actor(Protocol):
  """What the collector needs from an actor."""

  def step(self, observation) -> Tuple:
    """Returns (action, log_prob, value) tensors for a batch of observations."""

  def value(self, observation):
    """Returns V(observation) for a batch of observations."""


class RolloutCollector:
  """Steps a `VectorEnv` with an actor and returns [T, B] rollouts, continuing across calls.

  Buffers are allocated once and reused: copy a rollout before collecting the next one if you
  keep it.
  """

  def __init__(self, env: environments.VectorEnv, actor: Actor, num_steps: int):
    if num_steps < 1:
      raise ValueError(f'--num_steps_per_env={num_steps}: must be >= 1')
    self._env = env
    self._actor = actor
    self._num_steps = num_steps
    self._observation = None
    obs_spec, act_spec = env.observation_spec(), env.action_spec()
    t, b = num_steps, env.num_envs
    self._buffers = Rollout(
        observation=np.zeros((t, b) + obs_spec.shape, obs_spec.dtype),
        action=np.zeros((t, b) + act_spec.shape, act_spec.dtype),
        reward=np.zeros((t, b), np.float32),
        terminated=np.zeros((t, b), np.float32),
        truncated=np.zeros((t, b), np.float32),
        log_prob=np.zeros((t, b), np.float32),
        value=np.zeros((t, b), np.float32),
        truncation_value=np.zeros((t, b), np.float32),
        bootstrap_value=np.zeros((b,), np.float32))

  def reset(self, seed=None) -> None:
    """Starts new episodes in every env (`seed` as in `VectorEnv.reset`)."""
    self._observation = self._env.reset(seed)

  def collect(self) -> Tuple[Rollout, List[float], List[int]]:
    """Runs `num_steps` steps; returns the rollout and the returns/lengths of finished episodes."""
    if self._observation is None:
      self.reset()
    buf = self._buffers
    buf.truncation_value.fill(0.0)
    episode_returns, episode_lengths = [], []
    observation = self._observation
    for t in range(self._num_steps):
      action, log_prob, value = self._actor.step(observation)
      action = action.numpy()
      buf.observation[t] = observation
      buf.action[t] = action
      buf.log_prob[t] = log_prob.numpy()
      buf.value[t] = value.numpy()
      step = self._env.step(action)
      buf.reward[t] = step.reward
      buf.terminated[t] = step.terminated
      buf.truncated[t] = step.truncated
      if step.truncated.any():
        index = np.flatnonzero(step.truncated)
        buf.truncation_value[t, index] = self._actor.value(step.final_observation[index]).numpy()
      if step.episode_returns.size:
        episode_returns.extend(step.episode_returns.tolist())
        episode_lengths.extend(step.episode_lengths.tolist())
      observation = step.observation
    buf.bootstrap_value[:] = self._actor.value(observation).numpy()
    self._observation = observation
    return buf, episode_returns, episode_lengths
