"""Tiny deterministic gymnasium environments for the runtime tests.

`Counter`: observation `[t, env_id]` (t counts the steps of the current episode, env_id is the
seed of the env's first reset), reward `10 * t + action` after the step, Discrete(3) actions.
Envs with an even id terminate after `terminate_at` steps; odd ids only end at the time limit.
With `gym.make_vec(..., seed=s)` env i has id `s + i`, so one vector env holds both kinds.

`Echo`: the observation is the (clipped) action just received, the reward its sum; the action
space is the Box [-1, 1] x [-2, 2], so clipping is visible in the observation.
"""

from typing import Optional

import gymnasium as gym
import numpy as np

COUNTER_ID = 'RuntimeTestCounter-v0'
ECHO_ID = 'RuntimeTestEcho-v0'
ECHO_LOW = np.array([-1.0, -2.0], np.float32)
ECHO_HIGH = np.array([1.0, 2.0], np.float32)


class Counter(gym.Env):
  """See the module docstring."""

  def __init__(self, terminate_at: Optional[int] = 3):
    self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    self.action_space = gym.spaces.Discrete(3)
    self._terminate_at = terminate_at
    self._id = 0.0
    self._t = 0

  def _obs(self):
    return np.array([self._t, self._id], np.float32)

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    if seed is not None:
      self._id = float(seed)
    self._t = 0
    return self._obs(), {}

  def step(self, action):
    self._t += 1
    reward = 10.0 * self._t + int(action)
    terminated = (self._terminate_at is not None and int(self._id) % 2 == 0 and
                  self._t >= self._terminate_at)
    return self._obs(), reward, terminated, False, {}


class Echo(gym.Env):
  """See the module docstring."""

  def __init__(self):
    self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    self.action_space = gym.spaces.Box(ECHO_LOW, ECHO_HIGH, (2,), np.float32)

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    return np.zeros(2, np.float32), {}

  def step(self, action):
    action = np.asarray(action, np.float32)
    return action.copy(), float(action.sum()), False, False, {}


def register() -> None:
  """Registers both envs with gymnasium (idempotent; call from setUpModule)."""
  if COUNTER_ID not in gym.envs.registry:
    gym.register(COUNTER_ID, entry_point=Counter, disable_env_checker=True)
  if ECHO_ID not in gym.envs.registry:
    gym.register(ECHO_ID, entry_point=Echo, disable_env_checker=True)


def counter_reference(env_id: int, num_steps: int, max_episode_steps: int,
                      terminate_at: Optional[int] = 3, start: int = 0):
  """A plain-Python model of one `Counter` env under the policy `action = t % 3`.

  Returns a list of per-step dicts (obs, action, reward, terminated, truncated, final_obs,
  next_obs) for steps `start .. start + num_steps - 1` of the env's life.
  """
  steps, t = [], 0
  for _ in range(start + num_steps):
    obs = np.array([t, env_id], np.float32)
    action = t % 3
    t += 1
    reward = 10.0 * t + action
    terminated = terminate_at is not None and env_id % 2 == 0 and t >= terminate_at
    truncated = not terminated and t >= max_episode_steps
    final_obs = np.array([t, env_id], np.float32)
    if terminated or truncated:
      t = 0
    steps.append(dict(obs=obs, action=action, reward=reward, terminated=terminated,
                      truncated=truncated, final_obs=final_obs,
                      next_obs=np.array([t, env_id], np.float32)))
  return steps[start:]
