"""Environments registered when this module is imported, for the `module:id` form of an env id
(`tests.agents.common.registering_envs:WrapperTestImage-v0`).

`Image`: 36×36×1 uint8 frames whose every pixel is the step count × 10 (a Discrete(2) action
adds 1), 5-step episodes; the smallest frames the Nature CNN takes.
`DictObs`: a Dict observation {'position': Box(2), 'mode': Discrete(3)}, 3-step episodes.
`MultiAction`: MultiDiscrete([2, 3]) actions, which no agent takes.
"""

import gymnasium as gym
import numpy as np

IMAGE_ID = 'WrapperTestImage-v0'
DICT_ID = 'WrapperTestDict-v0'
MULTI_ACTION_ID = 'WrapperTestMultiAction-v0'


class Image(gym.Env):
  """See the module docstring."""

  def __init__(self):
    self.observation_space = gym.spaces.Box(0, 255, (36, 36, 1), np.uint8)
    self.action_space = gym.spaces.Discrete(2)
    self._t = 0

  def _frame(self, action: int = 0):
    return np.full((36, 36, 1), 10 * self._t + action, np.uint8)

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    self._t = 0
    return self._frame(), {}

  def step(self, action):
    self._t += 1
    return self._frame(int(action)), 1.0, False, False, {}


class DictObs(gym.Env):
  """See the module docstring."""

  def __init__(self):
    self.observation_space = gym.spaces.Dict({
        'position': gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        'mode': gym.spaces.Discrete(3)})
    self.action_space = gym.spaces.Discrete(2)
    self._t = 0

  def _obs(self):
    return {'position': np.array([0.5, -0.5], np.float32), 'mode': self._t % 3}

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    self._t = 0
    return self._obs(), {}

  def step(self, action):
    self._t += 1
    return self._obs(), float(action), False, False, {}


class MultiAction(gym.Env):
  """See the module docstring."""

  def __init__(self):
    self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    self.action_space = gym.spaces.MultiDiscrete([2, 3])

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    return np.zeros(2, np.float32), {}

  def step(self, action):
    return np.zeros(2, np.float32), 0.0, False, False, {}


if MULTI_ACTION_ID not in gym.envs.registry:
  gym.register(MULTI_ACTION_ID, entry_point=MultiAction, max_episode_steps=3,
               disable_env_checker=True)
if IMAGE_ID not in gym.envs.registry:
  gym.register(IMAGE_ID, entry_point=Image, max_episode_steps=5, disable_env_checker=True)
if DICT_ID not in gym.envs.registry:
  gym.register(DICT_ID, entry_point=DictObs, max_episode_steps=3, disable_env_checker=True)
