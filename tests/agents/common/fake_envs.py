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


class TwoAgents:
  """A tiny PettingZoo-style parallel environment of two agents, for the multi-agent tests.

  'mover_0' has a Box(0, 1, (2,)) action and observes [t, x] (x: the sum of its actions so
  far); 'picker_0' has Discrete(3) actions and observes [t, last pick, 1, 0]. Rewards after
  step t: mover -(x - 1)^2, picker its pick minus 1. The picker terminates after
  `picker_terminates_at` steps (then leaves the episode); the mover is truncated after
  `max_cycles`. `reward_nan_at` puts a NaN into the mover's reward at that step.
  """

  possible_agents = ['mover_0', 'picker_0']

  def __init__(self, max_cycles: int = 5, picker_terminates_at: int = 3,
               reward_nan_at: Optional[int] = None):
    self._max_cycles = max_cycles
    self._picker_terminates_at = picker_terminates_at
    self._reward_nan_at = reward_nan_at
    self._spaces = {
        'mover_0': (gym.spaces.Box(-np.inf, np.inf, (2,), np.float32),
                    gym.spaces.Box(0.0, 1.0, (2,), np.float32)),
        'picker_0': (gym.spaces.Box(-np.inf, np.inf, (4,), np.float32),
                     gym.spaces.Discrete(3)),
    }
    self.agents = []
    self.closed = False
    self.seeds = []

  def observation_space(self, agent):
    return self._spaces[agent][0]

  def action_space(self, agent):
    return self._spaces[agent][1]

  def _observations(self):
    return {'mover_0': np.array([self._t, self._x], np.float32),
            'picker_0': np.array([self._t, self._pick, 1.0, 0.0], np.float32)}

  def reset(self, seed=None, options=None):
    del options
    self.seeds.append(seed)
    self._t, self._x, self._pick = 0, 0.0, 0.0
    self.agents = list(self.possible_agents)
    return self._observations(), {a: {} for a in self.agents}

  def step(self, actions):
    assert set(actions) == set(self.agents), (actions, self.agents)
    self._t += 1
    rewards = {}
    if 'mover_0' in actions:
      self._x += float(np.sum(actions['mover_0']))
      rewards['mover_0'] = -(self._x - 1.0) ** 2
      if self._reward_nan_at == self._t:
        rewards['mover_0'] = float('nan')
    if 'picker_0' in actions:
      self._pick = float(actions['picker_0'])
      rewards['picker_0'] = self._pick - 1.0
    observations = {a: o for a, o in self._observations().items() if a in self.agents}
    terminated = {a: a == 'picker_0' and self._t >= self._picker_terminates_at
                  for a in self.agents}
    truncated = {a: self._t >= self._max_cycles for a in self.agents}
    infos = {a: {} for a in self.agents}
    self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
    return observations, rewards, terminated, truncated, infos

  def close(self):
    self.closed = True
