"""The multi-goal environment's dynamics, reward and termination, worked by hand."""

import gymnasium as gym
import numpy as np
import tensorflow as tf

import envs  # pylint: disable=unused-import
from envs import multigoal


class MultiGoalTest(tf.test.TestCase):

  def test_reward_and_termination_by_hand(self):
    env = multigoal.MultiGoalEnv()
    observation, info = env.reset(seed=0, options={'position': (0.0, 0.0)})
    self.assertAllEqual(observation, [0.0, 0.0])
    self.assertAllEqual(info['goals_reached'], [0, 0, 0, 0])
    # (0, 0) -> (0.5, 0): action cost 30 * 0.25, nearest goal (5, 0) at 4.5.
    observation, reward, terminated, truncated, _ = env.step(np.array([0.5, 0.0]))
    self.assertAllClose(observation, [0.5, 0.0])
    self.assertAllClose(reward, -7.5 - 4.5 ** 2)
    self.assertFalse(terminated or truncated)
    # An action past the box is clipped to 1 per coordinate: (0.5, 0) -> (1.5, 1).
    observation, reward, _, _, _ = env.step(np.array([3.0, 1.0]))
    self.assertAllClose(observation, [1.5, 1.0])
    self.assertAllClose(reward, -30.0 * 2.0 - (3.5 ** 2 + 1.0), rtol=1e-5)

  def test_reaching_a_goal_pays_ten_and_ends_the_episode(self):
    env = multigoal.MultiGoalEnv()
    env.reset(seed=0, options={'position': (0.0, -3.5)})
    observation, reward, terminated, _, info = env.step(np.array([0.0, -1.0]))
    # (0, -4.5) is 0.5 from the goal (0, -5), inside its radius of 1.
    self.assertAllClose(observation, [0.0, -4.5])
    self.assertAllClose(reward, -30.0 - 0.25 + 10.0)
    self.assertTrue(terminated)
    self.assertAllEqual(info['goals_reached'], [0, 0, 0, 1])

  def test_registered_with_a_30_step_limit(self):
    env = gym.make('MultiGoal-v0')
    env.reset(seed=1)
    for step in range(30):
      _, _, terminated, truncated, _ = env.step(np.zeros(2, np.float32))
      self.assertFalse(terminated)
      self.assertEqual(truncated, step == 29)
    self.assertEqual(env.observation_space.shape, (2,))
    self.assertAllEqual(env.action_space.high, [1.0, 1.0])

  def test_positions_stay_in_the_box(self):
    env = multigoal.MultiGoalEnv()
    env.reset(seed=0, options={'position': (6.5, 6.5)})
    observation, _, _, _, _ = env.step(np.array([1.0, 1.0]))
    self.assertAllClose(observation, [7.0, 7.0])


if __name__ == '__main__':
  tf.test.main()
