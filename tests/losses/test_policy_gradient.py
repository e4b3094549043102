"""Tests for losses/policy_gradient.py."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from losses import policy_gradient
from tests.losses import _testing
from tests.losses import test_returns

LOG_PI = np.array([[-0.5, -1.0], [-2.0, -0.1]], np.float32)
LOG_MU = np.array([[-0.7, -0.9], [-1.0, -0.1]], np.float32)
ADV = np.array([[1.0, -2.0], [3.0, 0.5]], np.float32)


def _grads(fn, tensors, jit):
  def g(*xs):
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(xs)
      loss = tf.reduce_sum(fn(*xs).loss)
    return [tape.gradient(loss, x) for x in xs]
  if jit:
    g = tf.function(g, jit_compile=True)
  return g(*(tf.constant(x) for x in tensors))


class PolicyGradientLossTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed_rollout(self, jit):
    # REINFORCE on the 3-step hand rollout (termination in column 0, truncation in column 1):
    # advantages = discounted returns - V.
    adv = test_returns.EXPECTED_RETURNS - test_returns.VALUES
    log_pi = np.log(np.full_like(adv, 0.25))
    out = _testing.run(policy_gradient.policy_gradient_loss, log_pi, adv, jit=jit)
    self.assertAllClose(out.loss, -np.log(0.25) * adv)
    self.assertAllClose(out.extra.advantages, adv)

  @parameterized.named_parameters(*_testing.MODES)
  def test_gradient_is_minus_advantage(self, jit):
    d_log_pi, d_adv = _grads(policy_gradient.policy_gradient_loss, (LOG_PI, ADV), jit)
    self.assertAllClose(d_log_pi, -ADV)
    self.assertIsNone(d_adv)

  def test_gradient_through_categorical(self):
    # d/dlogits of -log softmax(logits)[a] * A = -(onehot(a) - softmax) * A.
    logits = tf.constant([[0.1, 0.5, -0.3]])
    with tf.GradientTape() as tape:
      tape.watch(logits)
      log_pi = tf.nn.log_softmax(logits)[:, 1]
      loss = policy_gradient.policy_gradient_loss(log_pi, tf.constant([2.0])).loss
    probs = tf.nn.softmax(logits).numpy()
    self.assertAllClose(tape.gradient(loss, logits), -(np.eye(3)[1] - probs) * 2.0)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^policy_gradient_loss: `advantages`"):
      policy_gradient.policy_gradient_loss(LOG_PI, ADV[0])


class ImportanceWeightedTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_plain_and_truncated(self, jit):
    rho = np.exp(LOG_PI - LOG_MU)  # [[.819, 1.105], [.135, 1.]]
    plain = _testing.run(policy_gradient.importance_weighted_policy_gradient_loss, LOG_PI,
                         LOG_MU, ADV, jit=jit)
    self.assertAllClose(plain.loss, -rho * ADV * LOG_PI)
    self.assertAllClose(plain.extra.importance_weights, rho)
    trunc = _testing.run(policy_gradient.importance_weighted_policy_gradient_loss, LOG_PI,
                         LOG_MU, ADV, clip_rho_threshold=1.0, jit=jit)
    self.assertAllClose(trunc.extra.truncated_importance_weights, np.minimum(rho, 1.0))
    self.assertAllClose(trunc.loss, -np.minimum(rho, 1.0) * ADV * LOG_PI)

  @parameterized.named_parameters(*_testing.MODES)
  def test_gradients(self, jit):
    d_log_pi, d_log_mu, d_adv = _grads(
        lambda a, b, c: policy_gradient.importance_weighted_policy_gradient_loss(
            a, b, c, clip_rho_threshold=1.0), (LOG_PI, LOG_MU, ADV), jit)
    self.assertAllClose(d_log_pi, -np.minimum(np.exp(LOG_PI - LOG_MU), 1.0) * ADV)
    self.assertIsNone(d_log_mu)
    self.assertIsNone(d_adv)

  def test_on_policy_reduces_to_policy_gradient(self):
    out = policy_gradient.importance_weighted_policy_gradient_loss(LOG_PI, LOG_PI, ADV)
    self.assertAllClose(out.loss, policy_gradient.policy_gradient_loss(LOG_PI, ADV).loss)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError,
                                "^importance_weighted_policy_gradient_loss: `log_mu`"):
      policy_gradient.importance_weighted_policy_gradient_loss(LOG_PI, LOG_MU[0], ADV)


class EntropyLossTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_value_and_gradient(self, jit):
    logits = tf.constant([[0., 0.], [2., -1.]])

    def f(logits):
      with tf.GradientTape() as tape:
        tape.watch(logits)
        p = tf.nn.softmax(logits)
        entropy = -tf.reduce_sum(p * tf.math.log(p), axis=-1)
        out = policy_gradient.entropy_loss(entropy)
        total = tf.reduce_sum(out.loss)
      return out, tape.gradient(total, logits)

    if jit:
      f = tf.function(f, jit_compile=True)
    out, grad = f(logits)
    p = np.array([1., np.exp(-3.)]) / (1 + np.exp(-3.))
    self.assertAllClose(out.loss, [-np.log(2.), np.sum(p * np.log(p))])
    self.assertAllClose(out.extra.entropy, -np.asarray(out.loss))
    # Uniform policy is the entropy maximum: zero gradient there.
    self.assertAllClose(grad[0], [0., 0.])
    self.assertGreater(float(grad[1][0]), 0.)  # minimising -H pushes logits together


class DeterministicPolicyGradientTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_minus_q_and_chain_rule(self, jit):
    # Q(s, a) = -(a - 1)^2 with a = mu(s) = w s; dL/dw = -dQ/da * s = 2 (w s - 1) s.
    def f(w, s):
      with tf.GradientTape() as tape:
        tape.watch(w)
        a = w * s
        out = policy_gradient.deterministic_policy_gradient_loss(-tf.square(a - 1.0))
        total = tf.reduce_sum(out.loss)
      return out, tape.gradient(total, w)

    if jit:
      f = tf.function(f, jit_compile=True)
    s = tf.constant([1.0, 2.0])
    out, dw = f(tf.constant(0.5), s)
    self.assertAllClose(out.loss, [.25, 0.])
    self.assertAllClose(dw, 2 * (0.5 * 1 - 1) * 1 + 2 * (0.5 * 2 - 1) * 2)

  @parameterized.named_parameters(*_testing.MODES)
  def test_dqda_form_matches_dpg(self, jit):
    w = tf.constant([[0.3, -0.2], [0.1, 0.4]])
    s = tf.constant([[1.0, 2.0], [-1.0, 0.5]])
    target = tf.constant([0.2, -0.3])

    def f(w, s):
      with tf.GradientTape(persistent=True) as tape:
        tape.watch(w)
        a = tf.matmul(s, w)
        with tf.GradientTape() as inner:
          inner.watch(a)
          q = -tf.reduce_sum(tf.square(a - target), axis=-1)
        dqda = inner.gradient(q, a)
        dpg = policy_gradient.deterministic_policy_gradient_loss(q)
        dqda_out = policy_gradient.deterministic_policy_gradient_dqda_loss(a, dqda)
        dpg_total = tf.reduce_sum(dpg.loss)
        dqda_total = tf.reduce_sum(dqda_out.loss)
      return (tape.gradient(dpg_total, w), tape.gradient(dqda_total, w), dqda_out, dqda)

    if jit:
      f = tf.function(f, jit_compile=True)
    g_dpg, g_dqda, out, dqda = f(w, s)
    self.assertAllClose(g_dpg, g_dqda)
    self.assertAllClose(out.loss, 0.5 * np.sum(np.square(dqda), -1))
    self.assertEqual(out.loss.shape, (2,))

  @parameterized.named_parameters(*_testing.MODES)
  def test_dqda_clipping(self, jit):
    a = np.array([[0., 0.]], np.float32)
    dqda = np.array([[3., -4.]], np.float32)
    by_value = _testing.run(policy_gradient.deterministic_policy_gradient_dqda_loss, a, dqda,
                            dqda_clipping=1.0, jit=jit)
    self.assertAllClose(by_value.extra.dqda, [[1., -1.]])
    self.assertAllClose(by_value.loss, [1.0])
    self.assertAllClose(by_value.extra.dqda_norm, [5.])
    by_norm = _testing.run(policy_gradient.deterministic_policy_gradient_dqda_loss, a, dqda,
                           dqda_clipping=1.0, clip_norm=True, jit=jit)
    self.assertAllClose(by_norm.extra.dqda, [[.6, -.8]])
    self.assertAllClose(by_norm.loss, [0.5])

  def test_no_gradient_into_dqda(self):
    a, dqda = tf.constant([[1., 2.]]), tf.constant([[.5, .5]])
    with tf.GradientTape() as tape:
      tape.watch([a, dqda])
      loss = policy_gradient.deterministic_policy_gradient_dqda_loss(a, dqda).loss
    da, d_dqda = tape.gradient(loss, [a, dqda])
    self.assertAllClose(da, [[-.5, -.5]])
    self.assertIsNone(d_dqda)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError,
                                "^deterministic_policy_gradient_dqda_loss: `actions`"):
      policy_gradient.deterministic_policy_gradient_dqda_loss([1., 2.], [1., 2.])
    with self.assertRaisesRegex(ValueError, "^deterministic_policy_gradient_loss: "):
      policy_gradient.deterministic_policy_gradient_loss(1.0)

  def test_unknown_dims(self):
    f = _testing.with_unknown_dims(policy_gradient.policy_gradient_loss,
                                   [_testing.spec(2)] * 2)
    self.assertAllClose(f(LOG_PI, ADV).loss, -LOG_PI * ADV)
    g = _testing.with_unknown_dims(policy_gradient.entropy_loss, [_testing.spec(1)])
    self.assertAllClose(g(np.array([1., 2.], np.float32)).loss, [-1., -2.])


if __name__ == "__main__":
  absltest.main()
