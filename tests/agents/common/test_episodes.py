"""EpisodeActor: whole episodes padded into [T, B], checked step by step on a fake env."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from agents.common import episodes
from agents.common import wrappers
from tests.agents.common import fake_envs


def setUpModule():
  fake_envs.register()


class _CountingActor:
  """action = t % 3 (t = observation[0]); V(s) = 0.5 t + env_id."""

  def step(self, observation):
    observation = np.asarray(observation)
    action = tf.constant(observation[:, 0].astype(np.int32) % 3)
    return action, tf.zeros_like(action, tf.float32), self.value(observation)

  def value(self, observation):
    observation = np.asarray(observation)
    return tf.constant(0.5 * observation[:, 0] + observation[:, 1], tf.float32)


def _collector(num_envs=2, seed=0, max_episode_steps=5):
  # Counter: env id seed + i; even ids terminate after 3 steps, odd ids run into the time limit.
  return episodes.EpisodeActor(fake_envs.COUNTER_ID, num_envs, seed, _CountingActor(),
                              options=wrappers.EnvOptions(max_episode_steps=max_episode_steps))


class EpisodeActorTest(tf.test.TestCase, parameterized.TestCase):

  def test_one_terminated_and_one_truncated_episode(self):
    collector = _collector()
    batch, steps, returns, lengths = collector.collect(_CountingActor())
    self.assertEqual(steps, 3 + 5)
    self.assertEqual(batch.reward.shape, (5, 2))
    self.assertEqual(batch.observation.shape, (5, 2, 2))
    mask = np.array([[1, 1], [1, 1], [1, 1], [0, 1], [0, 1]], np.float32)
    self.assertAllEqual(batch.mask, mask)
    # Step t (0-based) is taken from observation [t, id] with action t % 3 and gives
    # reward 10 (t + 1) + t % 3.
    t = np.arange(5, dtype=np.float32)[:, None]
    self.assertAllClose(batch.reward, mask * (10 * (t + 1) + t % 3))
    self.assertAllClose(batch.observation[:, 1], np.stack([t[:, 0], np.ones(5)], -1))
    self.assertAllClose(batch.observation[:3, 0], np.stack([t[:3, 0], np.zeros(3)], -1))
    self.assertAllEqual(batch.action[:, 1], [0, 1, 2, 0, 1])
    terminated = np.zeros((5, 2), np.float32)
    terminated[2, 0] = 1.0
    truncated = np.zeros((5, 2), np.float32)
    truncated[4, 1] = 1.0
    self.assertAllEqual(batch.terminated, terminated)
    self.assertAllEqual(batch.truncated, truncated)
    # V(final observation [5, 1]) = 0.5 * 5 + 1, only at the truncated step.
    self.assertAllClose(batch.truncation_value, truncated * 3.5)
    self.assertEqual(sorted(lengths), [3, 5])
    self.assertAllClose(sorted(returns), sorted([10 + 21 + 32, 10 + 21 + 32 + 40 + 51]))

  def test_budget_cuts_the_running_episodes_as_truncations(self):
    collector = _collector()
    batch, steps, returns, lengths = collector.collect(_CountingActor(), max_steps=5)
    self.assertEqual(steps, 5)
    # Steps: t=0 both, t=1 both, t=2 only env 0 (the budget's last step), which terminates.
    self.assertAllEqual(batch.mask, [[1, 1], [1, 1], [1, 0]])
    self.assertAllEqual(batch.terminated, [[0, 0], [0, 0], [1, 0]])
    self.assertAllEqual(batch.truncated, [[0, 0], [0, 1], [0, 0]])
    # Env 1 was cut at observation [2, 1]: V = 0.5 * 2 + 1.
    self.assertAllClose(batch.truncation_value, [[0, 0], [0, 2.0], [0, 0]])
    self.assertEqual(lengths, [3])  # Only episodes that ended by themselves are reported.
    self.assertEqual(returns, [63.0])

  def test_every_call_starts_new_episodes_and_reseed_changes_the_envs(self):
    collector = _collector()
    collector.collect(_CountingActor())
    batch, *_ = collector.collect(_CountingActor())
    self.assertAllClose(batch.observation[0], [[0, 0], [0, 1]])
    collector.reseed(10)
    batch, *_ = collector.collect(_CountingActor())
    self.assertAllClose(batch.observation[0], [[0, 10], [0, 11]])
    collector.close()

  def test_bad_num_envs_is_refused(self):
    with self.assertRaisesRegex(ValueError, 'num_envs=0'):
      _collector(num_envs=0)

  def test_act_returns_the_batch_and_reset_reseeds_from_the_step_count(self):
    actor = _collector()
    acted = actor.act(5)  # The budget cuts the episodes after 5 steps in all.
    self.assertEqual(acted.env_steps, 5)
    self.assertEqual(acted.experience.mask.sum(), 5)
    actor.reset(env_steps=10)  # Envs seeded 0 + 10 + i: observation [0, id].
    acted = actor.act(100)
    self.assertAllEqual(acted.experience.observation[0], [[0.0, 10.0], [0.0, 11.0]])
    self.assertEqual(acted.env_steps, 3 + 5)
    self.assertLen(acted.episode_returns, 2)
    actor.close()


if __name__ == '__main__':
  tf.test.main()
