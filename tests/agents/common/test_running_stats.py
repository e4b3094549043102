"""Tests for agents.common.running_stats."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from agents.common import running_stats


class RunningMeanStdTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('scalar', (), [(50,), (1,), (200,), (7,)]),
      ('vector', (3,), [(40, 3), (1, 3), (300, 3)]),
      ('time_major', (2,), [(8, 4, 2), (16, 4, 2), (1, 1, 2)]),
  )
  def test_matches_concatenated_data(self, shape, batch_shapes):
    rng = np.random.default_rng(0)
    stats = running_stats.RunningMeanStd(shape)
    seen = []
    for k, batch_shape in enumerate(batch_shapes):
      # Batches from shifted distributions, so merging matters.
      batch = rng.normal(loc=3.0 * k - 2.0, scale=1.0 + k, size=batch_shape).astype(np.float32)
      stats.update(tf.constant(batch))
      seen.append(batch.reshape((-1,) + shape))
      data = np.concatenate(seen).astype(np.float64)
      # The prior pseudo-count of 1e-4 moves the statistics by O(1e-4 / N).
      self.assertAllClose(stats.mean, data.mean(axis=0), rtol=1e-4, atol=1e-4)
      self.assertAllClose(stats.var, data.var(axis=0), rtol=1e-4, atol=1e-4)
      self.assertAllClose(stats.count, len(data) + 1e-4, rtol=1e-6)

  def test_one_batch_of_constants(self):
    stats = running_stats.RunningMeanStd((2,))
    stats.update(tf.constant([[5.0, -1.0]] * 1000))
    self.assertAllClose(stats.mean, [5.0, -1.0], rtol=1e-5)
    # Only the prior (var 1, weight 1e-4) and its distance to the data remain.
    self.assertAllClose(stats.var, [1e-4 * (1 + 25) / 1000, 1e-4 * (1 + 1) / 1000], rtol=1e-2,
                        atol=1e-8)

  def test_update_in_tf_function(self):
    stats = running_stats.RunningMeanStd(())
    update = tf.function(stats.update)
    data = np.arange(100, dtype=np.float32)
    update(tf.constant(data[:30]))
    update(tf.constant(data[30:]))
    self.assertAllClose(stats.mean, data.mean(), rtol=1e-5)
    self.assertAllClose(stats.var, data.var(), rtol=1e-5)

  def test_normalize_standardizes_and_clips(self):
    stats = running_stats.RunningMeanStd((2,), epsilon=0.0, clip=3.0)
    stats.mean.assign([1.0, -2.0])
    stats.var.assign([4.0, 0.25])
    x = tf.constant([[3.0, -2.0], [1.0, 10.0], [-100.0, -2.5]])
    self.assertAllClose(stats.normalize(x), [[1.0, 0.0], [0.0, 3.0], [-3.0, -1.0]])

  def test_normalize_epsilon_guards_zero_variance(self):
    stats = running_stats.RunningMeanStd((), epsilon=1e-2)
    stats.var.assign(0.0)
    self.assertAllClose(stats.normalize(tf.constant([0.1])), [1.0])

  def test_variables_are_not_trainable(self):
    stats = running_stats.RunningMeanStd((3,))
    self.assertEmpty(stats.trainable_variables)
    self.assertLen(stats.variables, 3)



class RewardScalerTest(tf.test.TestCase):

  def test_scales_by_std_of_discounted_returns_across_calls(self):
    rng = np.random.default_rng(0)
    t, b, gamma = 7, 3, 0.9
    scaler = running_stats.RewardScaler(b, gamma)
    running = np.zeros(b)
    seen = []
    for _ in range(3):  # Three rollouts; the discounted returns continue across them.
      rewards = rng.normal(size=(t, b)).astype(np.float32)
      ends = (rng.uniform(size=(t, b)) < 0.2).astype(np.float32)
      expected_returns = np.zeros((t, b))
      for i in range(t):
        running = gamma * running + rewards[i]
        expected_returns[i] = running
        running = running * (1.0 - ends[i])
      seen.append(expected_returns.ravel())
      scaled = scaler(tf.constant(rewards), tf.constant(ends)).numpy()
      everything = np.concatenate(seen)
      # The prior of 1e-4 samples (mean 0, variance 1) barely moves the statistics.
      count = 1e-4 + everything.size
      mean = everything.sum() / count
      var = (1e-4 * (1.0 + mean**2) + ((everything - mean)**2).sum()) / count
      np.testing.assert_allclose(scaled, rewards / np.sqrt(var + 1e-8), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scaler.returns.numpy(), running, rtol=1e-5)


if __name__ == '__main__':
  tf.test.main()
