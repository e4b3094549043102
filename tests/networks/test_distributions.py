"""The Gumbel-softmax of `networks.distributions`: exact categorical samples (hard), the
relaxed sample's gradient."""

import numpy as np
import tensorflow as tf

from networks import distributions


class GumbelSoftmaxTest(tf.test.TestCase):

  def test_hard_sample_is_one_hot_with_the_relaxed_gradient(self):
    logits = tf.constant(np.log([[0.2, 0.3, 0.5]] * 4000), tf.float32)
    with tf.GradientTape() as tape:
      tape.watch(logits)
      hard = distributions.gumbel_softmax(logits, 1.0, tf.constant([3, 4]), hard=True)
      objective = tf.reduce_sum(hard * tf.constant([1.0, 2.0, 3.0]))
    gradient = tape.gradient(objective, logits)
    values = hard.numpy()
    self.assertTrue(np.all((values == 0.0) | (values == 1.0)))
    self.assertAllEqual(values.sum(axis=-1), np.ones(4000))
    # An exact sample of Categorical(logits): frequencies within 4 standard errors.
    np.testing.assert_allclose(values.mean(axis=0), [0.2, 0.3, 0.5], atol=4 * np.sqrt(0.25 / 4000))
    # Differentiable: the gradient is the relaxed sample's, finite and not zero.
    self.assertTrue(np.all(np.isfinite(gradient.numpy())))
    self.assertGreater(float(tf.reduce_sum(tf.abs(gradient))), 0.0)

  def test_relaxed_sample_is_the_tempered_softmax_of_gumbel_noise(self):
    logits = tf.constant([[1.0, -1.0, 0.5]])
    seed = tf.constant([5, 6])
    soft = distributions.gumbel_softmax(logits, 0.5, seed, hard=False).numpy()
    self.assertAllClose(soft.sum(), 1.0)
    # Same seed, same noise: the hard sample is the argmax of the relaxed one.
    hard = distributions.gumbel_softmax(logits, 0.5, seed, hard=True).numpy()
    self.assertEqual(int(np.argmax(hard)), int(np.argmax(soft)))
    # Gradient of the relaxed sample by hand: y = softmax((l + g) / tau), dy_k/dl_j =
    # y_k (delta_kj - y_j) / tau, with g recovered from y: l + g = tau log y + const.
    with tf.GradientTape() as tape:
      tape.watch(logits)
      y = distributions.gumbel_softmax(logits, 0.5, seed, hard=False)[0, 0]
    expected = soft[0, 0] * (np.eye(3)[0] - soft[0]) / 0.5
    self.assertAllClose(tape.gradient(y, logits)[0], expected, atol=1e-5)


if __name__ == '__main__':
  tf.test.main()
