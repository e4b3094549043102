"""Tests for networks.torso."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from networks import torso


class MLPTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(((),), ((8,),), ((16, 8),))
  def test_output_shape_with_leading_dims(self, hidden_sizes):
    mlp = torso.MLP(hidden_sizes)
    x = tf.random.normal([3, 5, 4])
    out = mlp(x)
    expected = hidden_sizes[-1] if hidden_sizes else 4
    self.assertEqual(out.shape, (3, 5, expected))
    self.assertEqual(out.dtype, tf.float32)

  def test_empty_hidden_sizes_is_identity(self):
    mlp = torso.MLP(())
    x = np.random.randn(6, 3).astype(np.float64)
    out = mlp(x)
    self.assertEqual(out.dtype, tf.float32)
    self.assertAllClose(out, x.astype(np.float32))
    self.assertEmpty(mlp.trainable_variables)

  def test_orthogonal_init_gain_sqrt2_and_zero_biases(self):
    mlp = torso.MLP((8, 3), activation='relu')
    mlp(tf.zeros([1, 4]))
    kernels = [v for v in mlp.trainable_variables if 'kernel' in v.name]
    biases = [v for v in mlp.trainable_variables if 'bias' in v.name]
    self.assertLen(kernels, 2)
    for b in biases:
      self.assertAllEqual(b, tf.zeros_like(b))
    for w in kernels:
      w = w.numpy()
      gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
      self.assertAllClose(gram, 2.0 * np.eye(gram.shape[0]), atol=1e-5)

  def test_layers_get_different_kernels(self):
    mlp = torso.MLP((5, 5))
    mlp(tf.zeros([1, 5]))
    k0, k1 = [v for v in mlp.trainable_variables if 'kernel' in v.name]
    self.assertNotAllClose(k0, k1)

  def test_activation_applied(self):
    mlp = torso.MLP((7,), activation='relu')
    out = mlp(tf.random.normal([50, 3]))
    self.assertAllGreaterEqual(out, 0.0)
    tanh = torso.MLP((7,), activation='tanh')
    out = tanh(tf.random.normal([50, 3]) * 100.0)
    self.assertAllInRange(out, -1.0, 1.0)

  def test_integer_inputs_are_cast(self):
    mlp = torso.MLP((4,))
    out = mlp(tf.ones([2, 3], tf.int32))
    self.assertEqual(out.dtype, tf.float32)


if __name__ == '__main__':
  tf.test.main()
