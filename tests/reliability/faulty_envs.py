"""Environments that fail on purpose, registered under `Faulty/...` ids for the fault tests.

Each wraps a standard task and injects one fault at a fixed step of each copy's life:
  Faulty/NanReward-v0:       CartPole-v1, reward NaN at its 300th step.
  Faulty/NanObservation-v0:  CartPole-v1, observation NaN at its 300th step.
  Faulty/HugeReward-v0:      CartPole-v1, reward 3e38 from its 300th step (finite, but every
                             squared value loss overflows to inf: non-finite gradients).
  Faulty/NanRewardPendulum-v0: Pendulum-v1, reward NaN at its 300th step.
"""

import gymnasium as gym
import numpy as np

FAULT_STEP = 300


class _Fault(gym.Wrapper):
  """Replaces the reward or observation from step `FAULT_STEP` of the env's life on."""

  def __init__(self, env, what: str, value: float, once: bool = True):
    super().__init__(env)
    self._what, self._value, self._once = what, value, once
    self._steps = 0

  def step(self, action):
    observation, reward, terminated, truncated, info = self.env.step(action)
    self._steps += 1
    if self._steps == FAULT_STEP or (not self._once and self._steps > FAULT_STEP):
      if self._what == 'reward':
        reward = self._value
      else:
        observation = np.full_like(observation, self._value)
    return observation, reward, terminated, truncated, info


def _register(env_id: str, base: str, what: str, value: float, once: bool = True):
  if env_id in gym.envs.registry:
    return
  spec = gym.spec(base)
  gym.register(env_id, entry_point=lambda **kw: _Fault(gym.make(base, **kw).unwrapped, what,
                                                       value, once),
               max_episode_steps=spec.max_episode_steps)


_register('Faulty/NanReward-v0', 'CartPole-v1', 'reward', float('nan'))
_register('Faulty/NanObservation-v0', 'CartPole-v1', 'observation', float('nan'))
_register('Faulty/HugeReward-v0', 'CartPole-v1', 'reward', 3e38, once=False)
_register('Faulty/NanRewardPendulum-v0', 'Pendulum-v1', 'reward', float('nan'))
