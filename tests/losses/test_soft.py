"""Tests for losses/soft.py."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from losses import soft
from tests.losses import _testing

# Three replayed transitions: 0 regular, 1 terminal (discount 0), 2 cut by a time limit
# (discount stays gamma, s' is the real final observation).
R = np.array([1., 2., 3.], np.float32)
D = np.array([.99, 0., .99], np.float32)
Q1 = np.array([10., 5., -1.], np.float32)
Q2 = np.array([8., 6., -2.], np.float32)
LOGP = np.array([-1., -2., .5], np.float32)


def _grads(fn, tensors, jit):
  def g(*xs):
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(xs)
      out = fn(*xs)
      total = tf.reduce_sum(out.loss)
    return out, [tape.gradient(total, x) for x in xs]
  if jit:
    g = tf.function(g, jit_compile=True)
  return g(*(tf.constant(x) for x in tensors))


def np_svgd(x, score):
  """Loops over particles; h = med^2 / log n with med the median of distances i < j."""
  n = x.shape[0]
  dists = [np.linalg.norm(x[i] - x[j]) for i in range(n) for j in range(i + 1, n)]
  h = np.median(dists)**2 / np.log(n)
  out = np.zeros_like(x)
  for i in range(n):
    for j in range(n):
      k = np.exp(-np.sum((x[j] - x[i])**2) / h)
      out[i] += k * score[j] + (2.0 / h) * (x[i] - x[j]) * k
  return out / n


class SoftBellmanTargetTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed(self, jit):
    out = _testing.run(soft.soft_bellman_target, R, D, Q1, Q2, LOGP, alpha=0.2, jit=jit)
    self.assertAllClose(out, [1 + .99 * (8 + .2), 2., 3 + .99 * (-2 - .1)])

  def test_no_gradient(self):
    xs = [tf.constant(x) for x in (R, D, Q1, Q2, LOGP)]
    alpha = tf.constant(0.2)
    with tf.GradientTape() as tape:
      tape.watch(xs + [alpha])
      y = tf.reduce_sum(soft.soft_bellman_target(*xs, alpha=alpha))
    self.assertEqual(tape.gradient(y, xs + [alpha]), [None] * 6)

  def test_alpha_zero_is_clipped_double_q(self):
    self.assertAllClose(soft.soft_bellman_target(R, D, Q1, Q2, LOGP, alpha=0.0),
                        R + D * np.minimum(Q1, Q2))

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^soft_bellman_target: `log_pi_next`"):
      soft.soft_bellman_target(R, D, Q1, Q2, LOGP[None], alpha=.2)
    with self.assertRaisesRegex(ValueError, "^soft_bellman_target: `alpha`"):
      soft.soft_bellman_target(R, D, Q1, Q2, LOGP, alpha=[.2])


class SoftQAndValueLossTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_soft_q_loss(self, jit):
    q = np.array([1., 2., 3.], np.float32)
    y = np.array([2., 2., 0.], np.float32)
    out, (dq, dy) = _grads(soft.soft_q_loss, (q, y), jit)
    self.assertAllClose(out.loss, [.5, 0., 4.5])
    self.assertAllClose(out.extra.td_error, [1., 0., -3.])
    self.assertAllClose(dq, q - y)
    self.assertIsNone(dy)

  @parameterized.named_parameters(*_testing.MODES)
  def test_soft_value_loss(self, jit):
    v = np.array([1., 2.], np.float32)
    q = np.array([3., 1.], np.float32)
    logp = np.array([-1., .5], np.float32)
    out, (dv, dq, dlogp) = _grads(
        lambda a, b, c: soft.soft_value_loss(a, b, c, alpha=0.5), (v, q, logp), jit)
    # targets Q - .5 log pi = [3.5, .75].
    self.assertAllClose(out.extra.targets, [3.5, .75])
    self.assertAllClose(out.loss, [.5 * 2.5**2, .5 * 1.25**2])
    self.assertAllClose(dv, [1 - 3.5, 2 - .75])
    self.assertIsNone(dq)
    self.assertIsNone(dlogp)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^soft_q_loss: `targets`"):
      soft.soft_q_loss([1., 2.], [[1., 2.]])
    with self.assertRaisesRegex(ValueError, "^soft_value_loss: `log_pi`"):
      soft.soft_value_loss([1., 2.], [1., 2.], [1.])


class SoftPolicyAndTemperatureTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_soft_policy_loss(self, jit):
    alpha = tf.constant(0.2)
    out, (dlogp, dq, dalpha) = _grads(
        lambda a, b, c: soft.soft_policy_loss(a, b, alpha=c), (LOGP, Q1, alpha), jit)
    self.assertAllClose(out.loss, 0.2 * LOGP - Q1)
    self.assertAllClose(out.extra.entropy, -LOGP)
    # The reparameterisation path: gradient flows into both log pi and Q.
    self.assertAllClose(dlogp, np.full(3, 0.2))
    self.assertAllClose(dq, -np.ones(3))
    self.assertIsNone(dalpha)

  def test_reparameterised_gradient(self):
    # a = mu + sigma eps with Q(a) = -a^2 and a Gaussian log pi; compare the analytic gradient.
    mu = tf.constant(0.3)
    eps = tf.constant([0.5, -1.0])
    with tf.GradientTape() as tape:
      tape.watch(mu)
      a = mu + 0.5 * eps
      log_pi = -0.5 * tf.square((a - mu) / 0.5) - float(np.log(0.5 * np.sqrt(2 * np.pi)))
      loss = tf.reduce_sum(soft.soft_policy_loss(log_pi, -tf.square(a), alpha=0.1).loss)
    # d/dmu [0.1 log pi - Q] = 0 (log pi does not depend on mu given eps) + 2 a.
    self.assertAllClose(tape.gradient(loss, mu), np.sum(2 * (0.3 + 0.5 * np.array([.5, -1.]))))

  @parameterized.named_parameters(*_testing.MODES)
  def test_temperature_loss(self, jit):
    logp = np.array([-1., 2.], np.float32)
    log_alpha = tf.constant(np.log(0.5).astype(np.float32))
    out, (dlog_alpha, dlogp) = _grads(
        lambda a, b: soft.temperature_loss(a, b, target_entropy=-1.0), (log_alpha, logp), jit)
    # -alpha (log pi + H) = -.5 * [-2, 1].
    self.assertAllClose(out.loss, [1., -.5])
    self.assertAllClose(out.extra.alpha, 0.5)
    self.assertAllClose(out.extra.entropy, -logp)
    # Mean entropy -0.5 is above the target -1, so descent must lower alpha: gradient > 0.
    self.assertAllClose(dlog_alpha, 1. - .5)
    self.assertIsNone(dlogp)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^temperature_loss: `log_alpha`"):
      soft.temperature_loss([0., 0.], LOGP, target_entropy=-1.)
    with self.assertRaisesRegex(ValueError, "^soft_policy_loss: `q_values`"):
      soft.soft_policy_loss(LOGP, Q1[:2], alpha=.1)


class SoftQLearningValueTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_constant_q_uniform_sampler(self, jit):
    # Q = 2 everywhere, q uniform on [-1, 1] (density 1/2): V = alpha log(e^{2/alpha} * 2).
    q = np.full((2, 16), 2.0, np.float32)
    log_q = np.full((2, 16), -np.log(2.0), np.float32)
    out = _testing.run(soft.soft_q_learning_value, q, log_q, alpha=0.3, jit=jit)
    self.assertAllClose(out, np.full(2, 2.0 + 0.3 * np.log(2.0)))

  @parameterized.named_parameters(*_testing.MODES)
  def test_against_naive_mean(self, jit):
    rng = np.random.default_rng(0)
    q = rng.normal(size=(3, 8))
    log_q = rng.normal(scale=0.3, size=(3, 8)) - 1.0
    out = _testing.run(soft.soft_q_learning_value, q, log_q, alpha=0.5, jit=jit)
    expected = 0.5 * np.log(np.mean(np.exp(q / 0.5) / np.exp(log_q), axis=-1))
    self.assertAllClose(out, expected)

  def test_stable_for_large_q(self):
    out = soft.soft_q_learning_value(np.full((1, 4), 1e4, np.float32),
                                     np.zeros((1, 4), np.float32), alpha=0.01)
    self.assertAllClose(out, [1e4])

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^soft_q_learning_value: `q_values`"):
      soft.soft_q_learning_value(np.ones(3), np.ones(3), alpha=1.)


class SvgdTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_against_python_loops(self, jit):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3))
    score = rng.normal(size=(2, 5, 3))
    out = _testing.run(soft.svgd_direction, x, score, jit=jit)
    for b in range(2):
      self.assertAllClose(out[b], np_svgd(x[b], score[b]))

  def test_hand_computed_two_particles(self):
    # x = [0, 1] (D = 1): med = 1, h = 1 / log 2, k(0, 1) = e^{-log 2} = 1/2.
    x = np.array([[0.], [1.]])
    score = np.array([[1.], [-1.]])
    h = 1 / np.log(2.)
    expected = 0.5 * np.array([[1 * 1 + 0.5 * -1 + (2 / h) * (0 - 1) * 0.5],
                               [0.5 * 1 + 1 * -1 + (2 / h) * (1 - 0) * 0.5]])
    self.assertAllClose(soft.svgd_direction(x, score), expected)

  def test_single_particle_and_no_gradient(self):
    x = tf.constant([[[0.3, -0.2]]])
    score = tf.constant([[[1.0, 2.0]]])
    with tf.GradientTape() as tape:
      tape.watch([x, score])
      out = soft.svgd_direction(x, score)
      total = tf.reduce_sum(out)
    self.assertAllClose(out, score)
    self.assertEqual(tape.gradient(total, [x, score]), [None, None])

  def test_unknown_dims(self):
    rng = np.random.default_rng(1)
    x, score = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 3))
    f = _testing.with_unknown_dims(soft.svgd_direction, [_testing.spec(2)] * 2)
    self.assertAllClose(f(x, score.astype(np.float32)), np_svgd(x, score), atol=1e-5)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^svgd_direction: "):
      soft.svgd_direction(np.ones((3, 2)), np.ones((3, 3)))


if __name__ == "__main__":
  absltest.main()
