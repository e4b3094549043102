"""Tests for networks.heads and networks.distributions."""

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from networks import distributions
from networks import heads

tfd = tfp.distributions

LOW = np.array([-2.0, 0.0], np.float32)
HIGH = np.array([2.0, 3.0], np.float32)


def np_normal_log_prob(x, loc, scale):
  """Diagonal Gaussian log density, summed over the last axis."""
  x, loc, scale = (np.asarray(v, np.float64) for v in (x, loc, scale))
  z = (x - loc) / scale
  return np.sum(-0.5 * z**2 - np.log(scale) - 0.5 * np.log(2 * np.pi), -1)


def np_tanh_gaussian_log_prob(u, loc, scale, low, high):
  """log N(u) - sum log(1 - tanh(u)^2) - sum log(half_range)."""
  u = np.asarray(u, np.float64)
  half_range = (np.asarray(high, np.float64) - low) / 2.0
  return (np_normal_log_prob(u, loc, scale) -
          np.sum(np.log(1.0 - np.tanh(u)**2), -1) -
          np.sum(np.log(half_range)))


class CategoricalHeadTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(((5,),), ((3, 4),))
  def test_shapes_and_log_prob(self, leading):
    head = heads.CategoricalHead(6)
    dist = head(tf.random.normal(leading + (8,)))
    self.assertIsInstance(dist, tfd.Categorical)
    self.assertEqual(dist.batch_shape, leading)
    self.assertEqual(dist.event_shape, ())
    logits = dist.logits.numpy().astype(np.float64)
    self.assertEqual(logits.shape, leading + (6,))
    actions = np.random.randint(0, 6, size=leading)
    log_softmax = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
    expected = np.take_along_axis(log_softmax, actions[..., None], -1)[..., 0]
    self.assertAllClose(dist.log_prob(actions), expected, atol=1e-5)
    self.assertEqual(dist.sample().shape, leading)

  def test_initial_policy_is_near_uniform(self):
    head = heads.CategoricalHead(4)
    dist = head(tf.random.normal([10, 16]))
    self.assertAllClose(dist.probs_parameter(), tf.fill([10, 4], 0.25),
                        atol=0.02)


class GaussianHeadTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      dict(state_dependent_std=False, leading=(5,)),
      dict(state_dependent_std=True, leading=(5,)),
      dict(state_dependent_std=False, leading=(2, 3)),
      dict(state_dependent_std=True, leading=(2, 3)))
  def test_shapes_and_log_prob(self, state_dependent_std, leading):
    head = heads.GaussianHead(3, state_dependent_std=state_dependent_std,
                              init_log_std=-0.5)
    features = tf.random.normal(leading + (8,))
    dist = head(features)
    self.assertEqual(dist.batch_shape, leading)
    self.assertEqual(dist.event_shape, (3,))
    loc, scale = head.loc_and_scale(features)
    self.assertEqual(loc.shape, leading + (3,))
    self.assertEqual(scale.shape, leading + (3,))
    self.assertAllClose(dist.stddev(), np.full(leading + (3,), np.exp(-0.5)),
                        atol=0.05 if state_dependent_std else 1e-6)
    actions = np.random.randn(*leading, 3).astype(np.float32)
    self.assertAllClose(dist.log_prob(actions),
                        np_normal_log_prob(actions, loc, scale), atol=1e-4)
    self.assertEqual(dist.sample().shape, leading + (3,))
    self.assertEqual(dist.entropy().shape, leading)

  def test_free_log_std_is_single_trainable_vector(self):
    head = heads.GaussianHead(3)
    head(tf.zeros([1, 4]))
    log_std = [v for v in head.trainable_variables if 'log_std' in v.name]
    self.assertLen(log_std, 1)
    self.assertEqual(log_std[0].shape, (3,))
    self.assertLen(head.trainable_variables, 3)  # kernel, bias, log_std

  def test_log_std_is_clipped(self):
    head = heads.GaussianHead(2, init_log_std=5.0, max_log_std=2.0)
    self.assertAllClose(head(tf.zeros([1, 4])).stddev(),
                        np.full([1, 2], np.exp(2.0)))
    head = heads.GaussianHead(2, init_log_std=-30.0, min_log_std=-20.0)
    self.assertAllClose(head(tf.zeros([1, 4])).stddev(),
                        np.full([1, 2], np.exp(-20.0)))


class TanhGaussianHeadTest(tf.test.TestCase, parameterized.TestCase):

  def test_shapes(self):
    head = heads.TanhGaussianHead(LOW, HIGH)
    dist = head(tf.random.normal([4, 5, 8]))
    self.assertEqual(dist.batch_shape, (4, 5))
    self.assertEqual(dist.event_shape, (2,))
    self.assertEqual(dist.sample().shape, (4, 5, 2))
    self.assertEqual(dist.log_prob(dist.sample()).shape, (4, 5))

  @parameterized.parameters(0.0, 3.0, 50.0)
  def test_samples_inside_asymmetric_bounds(self, loc_magnitude):
    loc = loc_magnitude * np.random.randn(2000, 2).astype(np.float32)
    dist = distributions.tanh_squashed_gaussian(
        loc, np.full([2000, 2], 3.0, np.float32), LOW, HIGH)
    samples = dist.sample(seed=(1, 2)).numpy()
    self.assertTrue(np.all(samples >= LOW) and np.all(samples <= HIGH))
    # Both ends of each asymmetric interval are reached.
    self.assertLess(np.min(samples[:, 0]), -1.9)
    self.assertGreater(np.max(samples[:, 1]), 2.9)
    self.assertLess(np.min(samples[:, 1]), 0.1)

  def test_log_prob_matches_hand_formula(self):
    head = heads.TanhGaussianHead(LOW, HIGH)
    features = tf.random.normal([64, 8])
    dist = head(features)
    loc, scale = (t.numpy() for t in head.loc_and_scale(features))
    u = np.random.uniform(-3.0, 3.0, size=[64, 2])
    actions = ((HIGH + LOW) / 2 + (HIGH - LOW) / 2 * np.tanh(u))
    # A fresh tensor, so TFP's bijector cache cannot supply u.
    log_prob = dist.log_prob(tf.constant(actions, tf.float32))
    expected = np_tanh_gaussian_log_prob(u, loc, scale, LOW, HIGH)
    self.assertAllClose(log_prob, expected, rtol=2e-3, atol=2e-3)

  def test_log_prob_of_own_samples_matches_hand_formula(self):
    loc = np.random.randn(32, 2).astype(np.float32)
    scale = np.exp(np.random.randn(32, 2)).astype(np.float32)
    base = tfd.Normal(loc, scale)
    u = base.sample(seed=(3, 4))
    squash = distributions.squash_to_bounds_bijector(LOW, HIGH)
    dist = distributions.tanh_squashed_gaussian(loc, scale, LOW, HIGH)
    actions = squash.forward(u)
    expected = np_tanh_gaussian_log_prob(u.numpy(), loc, scale, LOW, HIGH)
    self.assertAllClose(dist.log_prob(actions), expected, rtol=1e-4,
                        atol=1e-3)

  @parameterized.parameters(20.0, 1e3, 1e6)
  def test_log_prob_finite_for_saturated_samples(self, magnitude):
    sign = np.where(np.arange(8) % 2 == 0, 1.0, -1.0).astype(np.float32)
    loc = (magnitude * sign[:, None]) * np.ones([8, 2], np.float32)
    loc = tf.constant(loc)
    scale = tf.ones([8, 2])
    dist = distributions.tanh_squashed_gaussian(loc, scale, LOW, HIGH)
    samples = dist.sample(seed=(5, 6))
    self.assertAllInRange(samples[:, 0], LOW[0], HIGH[0])
    self.assertAllInRange(samples[:, 1], LOW[1], HIGH[1])
    # Cached path (same tensor) and replay path (a copy, no cache).
    self.assertAllEqual(np.isfinite(dist.log_prob(samples)), [True] * 8)
    stored = tf.constant(samples.numpy())
    self.assertAllEqual(np.isfinite(dist.log_prob(stored)), [True] * 8)

  def test_log_prob_and_gradients_finite_at_and_near_bounds(self):
    actions = np.array([LOW, HIGH, [LOW[0], HIGH[1]],
                        LOW + 1e-7, HIGH - 1e-7, [HIGH[0], LOW[1]],
                        LOW - 1e-6, HIGH + 1e-6], np.float32)
    loc = tf.Variable(tf.zeros([8, 2]))
    log_scale = tf.Variable(tf.zeros([8, 2]))
    with tf.GradientTape() as tape:
      dist = distributions.tanh_squashed_gaussian(
          loc, tf.exp(log_scale), LOW, HIGH)
      log_prob = dist.log_prob(actions)
      total = tf.reduce_sum(log_prob)
    grads = tape.gradient(total, [loc, log_scale])
    self.assertTrue(np.all(np.isfinite(log_prob.numpy())))
    for g in grads:
      self.assertTrue(np.all(np.isfinite(g.numpy())))
    # Saturated actions are much less likely than the mid-point under N(0, 1).
    mid_log_prob = dist.log_prob(np.tile((LOW + HIGH) / 2, [8, 1]))
    self.assertTrue(np.all(log_prob.numpy() < mid_log_prob.numpy()))

  def test_rejects_bad_bounds(self):
    with self.assertRaisesRegex(ValueError, 'finite'):
      heads.TanhGaussianHead([-np.inf], [1.0])
    with self.assertRaisesRegex(ValueError, 'high > low'):
      heads.TanhGaussianHead([1.0, 0.0], [0.0, 1.0])


class DeterministicAndValueHeadTest(tf.test.TestCase):

  def test_deterministic_head_inside_bounds(self):
    head = heads.DeterministicHead(LOW, HIGH)
    actions = head(tf.random.normal([100, 8]) * 1e4)
    self.assertEqual(actions.shape, (100, 2))
    self.assertAllInRange(actions[:, 0], LOW[0], HIGH[0])
    self.assertAllInRange(actions[:, 1], LOW[1], HIGH[1])
    # Small initial gain: actions start near the middle of the box.
    near = head(tf.random.normal([100, 8]))
    self.assertAllClose(near, np.tile((LOW + HIGH) / 2, [100, 1]), atol=0.2)

  def test_value_head_shape(self):
    head = heads.ValueHead()
    self.assertEqual(head(tf.random.normal([7, 8])).shape, (7,))
    self.assertEqual(head(tf.random.normal([3, 7, 8])).shape, (3, 7))
    kernel = [v for v in head.trainable_variables if 'kernel' in v.name][0]
    self.assertAllClose(tf.norm(kernel), 1.0, atol=1e-5)


class ModeTest(tf.test.TestCase):

  def test_categorical_mode_is_argmax(self):
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]], np.float32)
    dist = tfd.Categorical(logits=logits)
    self.assertAllEqual(distributions.mode(dist), [1, 0])

  def test_gaussian_mode_is_mean(self):
    head = heads.GaussianHead(3)
    features = tf.random.normal([4, 8])
    loc, _ = head.loc_and_scale(features)
    self.assertAllClose(distributions.mode(head(features)), loc)

  def test_tanh_gaussian_mode_is_squashed_mean(self):
    loc = np.array([[0.0, 0.0], [100.0, -100.0], [0.5, -0.3]], np.float32)
    dist = distributions.tanh_squashed_gaussian(loc, tf.ones([3, 2]), LOW,
                                                HIGH)
    expected = (HIGH + LOW) / 2 + (HIGH - LOW) / 2 * np.tanh(loc)
    self.assertAllClose(distributions.mode(dist), expected)
    self.assertAllClose(distributions.mode(dist)[1], [HIGH[0], LOW[1]])

  def test_deterministic_mode(self):
    dist = tfd.Deterministic(loc=[1.0, 2.0])
    self.assertAllClose(distributions.mode(dist), [1.0, 2.0])

  def test_mode_under_tf_function(self):
    head = heads.TanhGaussianHead(LOW, HIGH)
    head(tf.zeros([1, 3]))

    @tf.function(input_signature=[tf.TensorSpec([None, 3])])
    def act(features):
      return distributions.mode(head(features))

    self.assertEqual(act(tf.zeros([5, 3])).shape, (5, 2))


class MakePolicyHeadTest(tf.test.TestCase, parameterized.TestCase):

  def test_discrete(self):
    head = heads.make_policy_head(specs.DiscreteArray(5))
    self.assertIsInstance(head, heads.CategoricalHead)
    self.assertEqual(head.num_actions, 5)

  def test_bounded_gaussian(self):
    spec = specs.BoundedArray((3,), np.float32, -1.0, 1.0)
    head = heads.make_policy_head(spec, init_log_std=-1.0)
    self.assertIsInstance(head, heads.GaussianHead)
    self.assertNotIsInstance(head, heads.TanhGaussianHead)
    self.assertEqual(head.action_size, 3)
    self.assertAllClose(head(tf.zeros([2, 4])).stddev(),
                        np.full([2, 3], np.exp(-1.0)))

  def test_unbounded_gaussian(self):
    head = heads.make_policy_head(specs.Array((2,), np.float64))
    self.assertIsInstance(head, heads.GaussianHead)

  def test_tanh_reads_and_broadcasts_bounds(self):
    spec = specs.BoundedArray((2,), np.float32, LOW, HIGH)
    head = heads.make_policy_head(spec, tanh_squash=True)
    self.assertIsInstance(head, heads.TanhGaussianHead)
    self.assertAllEqual(head.low, LOW)
    self.assertAllEqual(head.high, HIGH)
    spec = specs.BoundedArray((3,), np.float32, -0.5, 2.0)
    head = heads.make_policy_head(spec, tanh_squash=True)
    self.assertAllEqual(head.low, [-0.5] * 3)
    self.assertAllEqual(head.high, [2.0] * 3)

  @parameterized.named_parameters(
      ('nested', {'a': specs.DiscreteArray(2)}, False),
      ('integer_bounded', specs.BoundedArray((2,), np.int32, 0, 3), False),
      ('rank2', specs.BoundedArray((2, 2), np.float32, -1, 1), False),
      ('scalar', specs.BoundedArray((), np.float32, -1, 1), False),
      ('tanh_discrete', specs.DiscreteArray(3), True),
      ('tanh_unbounded', specs.Array((2,), np.float32), True),
      ('tanh_infinite', specs.BoundedArray((1,), np.float32, -np.inf, 1.0),
       True))
  def test_unsupported_specs_raise(self, spec, tanh_squash):
    with self.assertRaises(ValueError):
      heads.make_policy_head(spec, tanh_squash=tanh_squash)


if __name__ == '__main__':
  tf.test.main()
