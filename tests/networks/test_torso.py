"""Tests for networks.torso."""

from absl.testing import parameterized
from dm_env import specs
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



class NatureCNNTest(tf.test.TestCase):

  def _spec(self, shape=(84, 84, 4)):
    return specs.BoundedArray(shape, np.uint8, 0, 255)

  def test_images_get_the_cnn_and_its_512_features(self):
    net = torso.make_torso(self._spec(), (), seed=0)
    images = np.random.default_rng(0).integers(0, 256, (3, 84, 84, 4), dtype=np.uint8)
    features = net(images)
    self.assertEqual(features.shape, (3, 512))
    self.assertEqual(features.dtype, tf.float32)
    kernels = [v for v in net.trainable_variables if 'kernel' in v.name]
    self.assertEqual([tuple(k.shape) for k in kernels],
                     [(8, 8, 4, 32), (4, 4, 32, 64), (3, 3, 64, 64), (7 * 7 * 64, 512)])

  def test_pixels_are_scaled_to_the_unit_interval(self):
    cnn = torso.NatureCNN(seed=0)
    image = np.full((1, 36, 36, 1), 255, np.uint8)
    by_cnn = cnn(image)
    # The same layers on the float image 1.0 everywhere: scaling by 1/255 happened inside.
    x = tf.ones((1, 36, 36, 1))
    for layer in cnn._layers:
      x = layer(x)
    self.assertAllClose(by_cnn, x)

  def test_hidden_sizes_follow_the_cnn(self):
    net = torso.make_torso(self._spec((36, 36, 2)), (16,), activation='relu', seed=0)
    self.assertEqual(net(np.zeros((2, 36, 36, 2), np.uint8)).shape, (2, 16))

  def test_seeded_weights_repeat(self):
    first = torso.make_torso(self._spec((36, 36, 1)), (), seed=3)
    second = torso.make_torso(self._spec((36, 36, 1)), (), seed=3)
    image = np.ones((1, 36, 36, 1), np.uint8)
    self.assertAllEqual(first(image), second(image))

  def test_float_or_other_rank_observations_keep_the_mlp(self):
    self.assertFalse(torso.is_image(specs.Array((84, 84, 4), np.float32)))
    self.assertFalse(torso.is_image(specs.Array((4, 84), np.uint8)))
    self.assertTrue(torso.is_image(self._spec()))

if __name__ == '__main__':
  tf.test.main()
