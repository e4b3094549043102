"""Tests for losses/trust_region.py."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from losses import LossOutput
from losses import trust_region
from tests.losses import _testing
from tests.losses import test_returns

# Ratios r = exp(log_pi - log_mu) chosen to hit every branch of the PPO clip with eps = 0.2.
RATIOS = np.array([1.5, 1.5, 0.5, 0.5, 1.1], np.float32)
ADVANTAGES = np.array([2., -1., 1., -2., 3.], np.float32)
LOG_MU = np.array([-1.0, -0.5, -2.0, -0.3, -1.2], np.float32)
LOG_PI = (LOG_MU + np.log(RATIOS)).astype(np.float32)
# -min(r A, clip(r, .8, 1.2) A):
EXPECTED_CLIPPED = np.array([
    -min(1.5 * 2, 1.2 * 2),     # clipped at 1 + eps: -2.4
    -min(1.5 * -1, 1.2 * -1),   # unclipped branch is smaller: 1.5
    -min(0.5 * 1, 0.8 * 1),     # unclipped: -0.5
    -min(0.5 * -2, 0.8 * -2),   # clipped at 1 - eps: 1.6
    -min(1.1 * 3, 1.1 * 3)])    # inside the range: -3.3
EXPECTED_CLIP_FRACTION = np.array([1., 1., 1., 1., 0.])
# d loss / d log_pi = -r A when the unclipped branch is active, 0 when the clipped one is.
EXPECTED_GRAD = np.array([0., 1.5, -0.5, 0., -3.3])


def np_approx_kl(ratio):
  return (ratio - 1) - np.log(ratio)


class ClippedSurrogateTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed_branches(self, jit):
    out = _testing.run(trust_region.clipped_surrogate_loss, LOG_PI, LOG_MU, ADVANTAGES,
                       epsilon=0.2, jit=jit)
    self.assertIsInstance(out, LossOutput)
    self.assertIsInstance(out.extra, trust_region.ClippedSurrogateExtra)
    self.assertAllClose(out.loss, EXPECTED_CLIPPED)
    self.assertAllClose(out.extra.ratio, RATIOS)
    self.assertAllClose(out.extra.clip_fraction, EXPECTED_CLIP_FRACTION)
    self.assertAllClose(out.extra.approx_kl, np_approx_kl(RATIOS))

  @parameterized.named_parameters(*_testing.MODES)
  def test_rollout_with_termination_and_truncation(self, jit):
    # Advantages of the 3-step hand rollout in test_returns (termination in column 0,
    # time-limit cut in column 1), [T, B] = [3, 3]; ratios 1.3 everywhere, eps = 0.2.
    adv = test_returns.EXPECTED_GAE
    log_mu = np.full_like(adv, -0.7)
    log_pi = log_mu + np.log(1.3).astype(np.float32)
    expected = np.where(adv > 0, -1.2 * adv, -1.3 * adv)
    out = _testing.run(trust_region.clipped_surrogate_loss, log_pi, log_mu, adv, epsilon=0.2,
                       jit=jit)
    self.assertAllClose(out.loss, expected)
    self.assertEqual(out.loss.shape, (3, 3))

  @parameterized.named_parameters(*_testing.MODES)
  def test_gradients(self, jit):
    log_pi, log_mu, adv = (tf.constant(x) for x in (LOG_PI, LOG_MU, ADVANTAGES))

    def grads(log_pi, log_mu, adv):
      with tf.GradientTape(persistent=True) as tape:
        tape.watch([log_pi, log_mu, adv])
        loss = tf.reduce_sum(
            trust_region.clipped_surrogate_loss(log_pi, log_mu, adv, epsilon=0.2).loss)
      return [tape.gradient(loss, x) for x in (log_pi, log_mu, adv)]

    if jit:
      grads = tf.function(grads, jit_compile=True)
    d_log_pi, d_log_mu, d_adv = grads(log_pi, log_mu, adv)
    self.assertAllClose(d_log_pi, EXPECTED_GRAD)
    self.assertIsNone(d_log_mu)
    self.assertIsNone(d_adv)

  @parameterized.named_parameters(*_testing.MODES)
  def test_huge_epsilon_is_unclipped_ratio_loss(self, jit):
    rng = np.random.default_rng(0)
    log_mu = rng.normal(size=(4, 3)).astype(np.float32)
    log_pi = log_mu + rng.normal(scale=0.5, size=(4, 3)).astype(np.float32)
    adv = rng.normal(size=(4, 3)).astype(np.float32)
    out = _testing.run(trust_region.clipped_surrogate_loss, log_pi, log_mu, adv, epsilon=1e6,
                       jit=jit)
    ratio = np.exp(log_pi - log_mu)
    self.assertAllClose(out.loss, -ratio * adv, rtol=1e-5)
    self.assertAllEqual(out.extra.clip_fraction, np.zeros_like(adv))
    log_pi_t = tf.constant(log_pi)
    with tf.GradientTape() as tape:
      tape.watch(log_pi_t)
      loss = tf.reduce_sum(
          trust_region.clipped_surrogate_loss(log_pi_t, log_mu, adv, epsilon=1e6).loss)
    # grad of -r A wrt log_pi is -r A: the unclipped importance-weighted policy gradient.
    self.assertAllClose(tape.gradient(loss, log_pi_t), -ratio * adv, rtol=1e-5)

  def test_epsilon_as_annealed_tensor(self):
    epsilon = tf.Variable(0.2)
    f = tf.function(lambda a, b, c: trust_region.clipped_surrogate_loss(
        a, b, c, epsilon=epsilon.read_value()).loss, jit_compile=True)
    self.assertAllClose(f(LOG_PI, LOG_MU, ADVANTAGES), EXPECTED_CLIPPED)
    epsilon.assign(1e6)
    self.assertAllClose(f(LOG_PI, LOG_MU, ADVANTAGES), -RATIOS * ADVANTAGES)

  def test_unknown_dims(self):
    f = _testing.with_unknown_dims(trust_region.clipped_surrogate_loss,
                                   [_testing.spec(2)] * 3, epsilon=0.2)
    out = f(LOG_PI[None], LOG_MU[None], ADVANTAGES[None])
    self.assertAllClose(out.loss, EXPECTED_CLIPPED[None])

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^clipped_surrogate_loss: `log_mu`"):
      trust_region.clipped_surrogate_loss(LOG_PI, LOG_MU[None], ADVANTAGES, epsilon=.2)
    with self.assertRaisesRegex(ValueError, "^clipped_surrogate_loss: `advantages`"):
      trust_region.clipped_surrogate_loss(LOG_PI, LOG_MU, ADVANTAGES[:3], epsilon=.2)
    with self.assertRaisesRegex(ValueError, "^clipped_surrogate_loss: `epsilon`"):
      trust_region.clipped_surrogate_loss(LOG_PI, LOG_MU, ADVANTAGES, epsilon=[.1, .2])
    with self.assertRaisesRegex(ValueError, "^clipped_surrogate_loss: `log_pi`"):
      trust_region.clipped_surrogate_loss(1.0, 1.0, 1.0, epsilon=.2)


class SurrogateAndKLPenaltyTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_surrogate(self, jit):
    out = _testing.run(trust_region.surrogate_loss, LOG_PI, LOG_MU, ADVANTAGES, jit=jit)
    self.assertAllClose(out.loss, -RATIOS * ADVANTAGES)
    self.assertAllClose(out.extra.approx_kl, np_approx_kl(RATIOS))

  @parameterized.named_parameters(*_testing.MODES)
  def test_kl_penalty(self, jit):
    kl = np.array([.1, .2, .3, .4, .5], np.float32)
    out = _testing.run(trust_region.kl_penalty_loss, LOG_PI, LOG_MU, ADVANTAGES, kl, beta=3.0,
                       jit=jit)
    self.assertAllClose(out.loss, -(RATIOS * ADVANTAGES - 3.0 * kl))
    self.assertAllClose(out.extra.kl, kl)

  @parameterized.named_parameters(*_testing.MODES)
  def test_gradients_into_log_pi_and_kl_only(self, jit):
    tensors = [tf.constant(x) for x in (LOG_PI, LOG_MU, ADVANTAGES, np.ones(5, np.float32))]
    beta = tf.constant(2.0)

    def grads(log_pi, log_mu, adv, kl, beta):
      with tf.GradientTape(persistent=True) as tape:
        tape.watch([log_pi, log_mu, adv, kl, beta])
        loss = tf.reduce_sum(trust_region.kl_penalty_loss(log_pi, log_mu, adv, kl,
                                                          beta=beta).loss)
        surr = tf.reduce_sum(trust_region.surrogate_loss(log_pi, log_mu, adv).loss)
      return ([tape.gradient(loss, x) for x in (log_pi, log_mu, adv, kl, beta)],
              [tape.gradient(surr, x) for x in (log_pi, log_mu, adv)])

    if jit:
      grads = tf.function(grads, jit_compile=True)
    kl_grads, surr_grads = grads(*tensors, beta)
    self.assertAllClose(kl_grads[0], -RATIOS * ADVANTAGES)
    self.assertAllClose(kl_grads[3], np.full(5, 2.0))
    self.assertIsNone(kl_grads[1])
    self.assertIsNone(kl_grads[2])
    self.assertIsNone(kl_grads[4])
    self.assertAllClose(surr_grads[0], -RATIOS * ADVANTAGES)
    self.assertIsNone(surr_grads[1])
    self.assertIsNone(surr_grads[2])

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^surrogate_loss: "):
      trust_region.surrogate_loss(LOG_PI, LOG_MU[:2], ADVANTAGES)
    with self.assertRaisesRegex(ValueError, "^kl_penalty_loss: `kl`"):
      trust_region.kl_penalty_loss(LOG_PI, LOG_MU, ADVANTAGES, np.ones(3), beta=1.)


class AdaptiveKLTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(
      ("low_eager", 0.005, 0.5, False), ("low_jit", 0.005, 0.5, True),
      ("in_band_eager", 0.012, 1.0, False), ("in_band_jit", 0.012, 1.0, True),
      ("high_eager", 0.02, 2.0, False), ("high_jit", 0.02, 2.0, True),
      ("edge_low", 0.01 / 1.5 + 1e-6, 1.0, False), ("edge_high", 0.015 - 1e-6, 1.0, False))
  def test_rule(self, kl, expected, jit):
    # target = 0.01: kl < 0.00667 halves beta, kl > 0.015 doubles it.
    beta = _testing.run(trust_region.adaptive_kl_coefficient, tf.constant(1.0),
                        tf.constant(kl), target=0.01, jit=jit)
    self.assertAllClose(beta, expected)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^adaptive_kl_coefficient: `kl`"):
      trust_region.adaptive_kl_coefficient(1.0, [0.1, 0.2], target=0.01)


class ConjugateGradientTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_solves_spd_system(self, jit):
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    a = (m @ m.T + 0.5 * np.eye(6)).astype(np.float64)
    b = rng.normal(size=6)
    matrix = tf.constant(a)
    x = _testing.run(
        lambda b: trust_region.conjugate_gradient(lambda v: tf.linalg.matvec(matrix, v), b,
                                                  iterations=6), tf.constant(b), jit=jit)
    self.assertAllClose(x, np.linalg.solve(a, b), atol=1e-6)

  def test_hand_computed_two_by_two(self):
    # A = [[4, 1], [1, 3]], b = [1, 2]; CG converges in 2 steps to A^-1 b = [1/11, 7/11].
    a = tf.constant([[4., 1.], [1., 3.]], tf.float64)
    x = trust_region.conjugate_gradient(lambda v: tf.linalg.matvec(a, v),
                                        tf.constant([1., 2.], tf.float64))
    self.assertAllClose(x, [1 / 11, 7 / 11])
    # One iteration: x_1 = (r.r / p.Ap) b = (5 / 20) b.
    x1 = trust_region.conjugate_gradient(lambda v: tf.linalg.matvec(a, v),
                                         tf.constant([1., 2.], tf.float64), iterations=1)
    self.assertAllClose(x1, [0.25, 0.5])

  def test_nested_structure_and_zero_rhs(self):
    diag = [tf.constant([2., 4.], tf.float64), tf.constant([[5.]], tf.float64)]
    b = [tf.constant([2., 2.], tf.float64), tf.constant([[10.]], tf.float64)]
    x = trust_region.conjugate_gradient(lambda v: [d * u for d, u in zip(diag, v)], b)
    self.assertAllClose(x[0], [1., .5])
    self.assertAllClose(x[1], [[2.]])
    zero = trust_region.conjugate_gradient(lambda v: v, tf.zeros([3]))
    self.assertAllEqual(zero, np.zeros(3))

  def test_step_size(self):
    s = tf.constant([1., 2.])
    fs = tf.constant([4., 1.])  # s^T F s = 6
    beta = trust_region.trust_region_step_size(s, fs, max_kl=0.03)
    self.assertAllClose(beta, np.sqrt(2 * 0.03 / 6.))
    beta_jit = _testing.run(
        lambda a, b: trust_region.trust_region_step_size([a], [b], max_kl=0.03), s, fs,
        jit=True)
    self.assertAllClose(beta_jit, beta)
    # The quadratic KL model at the full step equals max_kl.
    self.assertAllClose(0.5 * beta**2 * 6., 0.03)
    with self.assertRaisesRegex(ValueError, "^trust_region_step_size: "):
      trust_region.trust_region_step_size(s, fs[:1], max_kl=0.03)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^conjugate_gradient: "):
      trust_region.conjugate_gradient(lambda v: v, tf.ones(2), iterations=-1)


class AcerProjectionTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed(self, jit):
    g = np.array([[1., 2.], [3., 0.], [1., 1.]], np.float32)
    k = np.array([[1., 0.], [1., 1.], [0., 0.]], np.float32)
    # row 0: k.g = 1 <= delta = 1.5 -> inactive, z = g.
    # row 1: k.g = 3, scale = (3 - 1.5) / 2 = .75, z = [3 - .75, -.75].
    # row 2: k = 0 -> z = g.
    expected = np.array([[1., 2.], [2.25, -.75], [1., 1.]])
    z = _testing.run(trust_region.acer_trust_region_projection, g, k, delta=1.5, jit=jit)
    self.assertAllClose(z, expected)
    # The projected gradient satisfies the constraint with equality where it was active.
    self.assertAllClose(np.sum(k[1] * np.asarray(z)[1]), 1.5)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^acer_trust_region_projection: "):
      trust_region.acer_trust_region_projection(np.ones((2, 3)), np.ones((2, 2)), delta=1.)


if __name__ == "__main__":
  absltest.main()
