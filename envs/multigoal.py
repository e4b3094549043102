"""The multi-goal environment of Soft Q-learning (Haarnoja et al. 2017, arXiv:1702.08165,
section 5.1 and Fig. 1): a 2-D point mass that starts near the origin and may end at any of
four goals.

    x_{t+1} = clip(x_t + clip(a_t, -1, 1), -7, 7)
    r_t = -30 ||a_t||^2 - min_g ||x_{t+1} - g||^2 + 10 [min_g ||x_{t+1} - g|| < 1]

with goals g at (5, 0), (-5, 0), (0, 5), (0, -5); the episode terminates on reaching a goal
and is cut after 30 steps (`MultiGoal-v0`). The start is x_0 ~ N(0, 0.1^2 I). The constants
are those of the paper's code (action cost 30, distance cost 1 on the squared distance to the
nearest goal, goal reward 10, goal radius 1, box [-7, 7]^2).
"""

from typing import Any, Dict, Optional, Tuple

import gymnasium as gym
import numpy as np

GOALS = np.array([(5.0, 0.0), (-5.0, 0.0), (0.0, 5.0), (0.0, -5.0)], np.float32)


class MultiGoalEnv(gym.Env):
  """The point mass with four goals. `info['goals_reached']` is a length-4 0/1 vector: which
  goal (in the order of `GOALS`) the episode has reached (at most one, at its last step).

  Args:
    goal_reward: added on reaching a goal.
    action_cost: weight of ||a||^2.
    distance_cost: weight of the squared distance to the nearest goal.
    goal_radius: a goal is reached within this distance.
    init_sigma: standard deviation of the start position around the origin.
    bound: positions are clipped to [-bound, bound]^2.
  """

  metadata = {'render_modes': []}

  def __init__(self, goal_reward: float = 10.0, action_cost: float = 30.0,
               distance_cost: float = 1.0, goal_radius: float = 1.0, init_sigma: float = 0.1,
               bound: float = 7.0):
    self.goal_reward = float(goal_reward)
    self.action_cost = float(action_cost)
    self.distance_cost = float(distance_cost)
    self.goal_radius = float(goal_radius)
    self.init_sigma = float(init_sigma)
    self.bound = float(bound)
    self.observation_space = gym.spaces.Box(-self.bound, self.bound, (2,), np.float32)
    self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    self._position = np.zeros(2, np.float32)
    self._reached = np.zeros(len(GOALS), np.float32)

  def reset(self, *, seed: Optional[int] = None,
            options: Optional[Dict[str, Any]] = None) -> Tuple[np.ndarray, Dict[str, Any]]:
    super().reset(seed=seed)
    start = self.init_sigma * self.np_random.standard_normal(2)
    if options and 'position' in options:
      start = np.asarray(options['position'], np.float64)
    self._position = np.clip(start, -self.bound, self.bound).astype(np.float32)
    self._reached = np.zeros(len(GOALS), np.float32)
    return self._position.copy(), {'goals_reached': self._reached.copy()}

  def step(self, action) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
    action = np.clip(np.asarray(action, np.float32).reshape(2), -1.0, 1.0)
    self._position = np.clip(self._position + action, -self.bound, self.bound)
    distances = np.linalg.norm(self._position[None] - GOALS, axis=1)
    reward = -self.action_cost * float(np.sum(action ** 2)) - self.distance_cost * float(
        np.min(distances) ** 2)
    terminated = bool(np.min(distances) < self.goal_radius)
    if terminated:
      reward += self.goal_reward
      self._reached[int(np.argmin(distances))] = 1.0
    return (self._position.copy(), reward, terminated, False,
            {'goals_reached': self._reached.copy()})
