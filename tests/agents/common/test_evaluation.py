"""Tests for agents.common.evaluation."""

from absl.testing import parameterized
import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.common import evaluation
from agents.common import wrappers
from tests.agents.common import fake_envs


def setUpModule():
  fake_envs.register()


def _by_hand(env_id, seed, action, **kwargs):
  """(return, length) of one gymnasium episode with a constant action."""
  env = gym.make(env_id, **kwargs)
  env.reset(seed=seed)
  total, length, done = 0.0, 0, False
  while not done:
    _, reward, terminated, truncated, _ = env.step(action)
    total += reward
    length += 1
    done = terminated or truncated
  env.close()
  return total, length


class EvaluateTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((0, {}), (1, {}), (1, {'max_episode_steps': 4}))
  def test_cartpole_constant_policy_matches_gymnasium(self, action, kwargs):
    episodes, seed = 4, 123
    result = evaluation.evaluate(lambda obs: np.full(len(obs), action, np.int64), 'CartPole-v1',
                                 episodes, seed, wrappers.EnvOptions(**kwargs))
    expected = [_by_hand('CartPole-v1', seed + i, action, **kwargs) for i in range(episodes)]
    self.assertLen(result.returns, episodes)
    self.assertAllEqual(result.returns, [r for r, _ in expected])
    self.assertAllEqual(result.lengths, [n for _, n in expected])
    self.assertAllClose(result.mean_return, np.mean([r for r, _ in expected]))
    self.assertAllClose(result.std_return, np.std([r for r, _ in expected]))
    self.assertGreaterEqual(result.wall_time_s, 0.0)
    if 'max_episode_steps' in kwargs:
      self.assertAllEqual(result.lengths, [4] * episodes)  # Time-limit cuts count as episodes.

  def test_counts_only_the_first_episode_of_each_env(self):
    """Envs 0 and 2 end after 3 steps and start again while env 1 runs to its limit of 5."""
    policy = lambda obs: (obs[:, 0].astype(np.int64) % 3).astype(np.int32)
    result = evaluation.evaluate(policy, fake_envs.COUNTER_ID, 3, seed=0,
                                 options=wrappers.EnvOptions(max_episode_steps=5))
    self.assertAllEqual(result.returns, [10 + 21 + 32, 10 + 21 + 32 + 40 + 51, 10 + 21 + 32])
    self.assertAllEqual(result.lengths, [3, 5, 3])

  def test_policy_sees_the_seeded_first_observations(self):
    seen = []

    def policy(obs):
      seen.append(obs.copy())
      return np.zeros(len(obs), np.int32)

    evaluation.evaluate(policy, fake_envs.COUNTER_ID, 2, seed=40,
                        options=wrappers.EnvOptions(max_episode_steps=2))
    self.assertAllEqual(seen[0], [[0.0, 40.0], [0.0, 41.0]])
    self.assertLen(seen, 2)

  def test_episodes_must_be_positive(self):
    with self.assertRaisesRegex(ValueError, 'episodes=0'):
      evaluation.evaluate(lambda obs: obs, 'CartPole-v1', 0, seed=0)


if __name__ == '__main__':
  tf.test.main()
