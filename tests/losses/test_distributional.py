"""Tests for losses/distributional.py."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from losses import distributional
from tests.losses import _testing

SUPPORT = np.array([-1., 0., 1.], np.float32)
# Row 0: atoms between the support points and beyond V_max.
#   -0.5 -> half to -1, half to 0;  0.5 -> half to 0, half to 1;  2.0 -> clipped to 1.
# Row 1: shifted by exactly one atom (b_j integer: Algorithm 1's l == u case) and clipped.
TARGET_SUPPORT = np.array([[-.5, .5, 2.], [0., 1., 2.]], np.float32)
TARGET_PROBS = np.array([[.2, .3, .5], [.2, .3, .5]], np.float32)
EXPECTED = np.array([[.1, .1 + .15, .15 + .5], [0., .2, .3 + .5]], np.float32)


def np_project(target_support, target_probs, support):
  """Bellemare et al. 2017, Algorithm 1, with the usual fix when b_j is an integer."""
  v_min, v_max = support[0], support[-1]
  dz = support[1] - support[0]
  out = np.zeros((target_support.shape[0], support.shape[0]))
  for b in range(target_support.shape[0]):
    for j in range(target_support.shape[1]):
      tz = np.clip(target_support[b, j], v_min, v_max)
      pos = (tz - v_min) / dz
      lo, hi = int(np.floor(pos)), int(np.ceil(pos))
      if lo == hi:
        out[b, lo] += target_probs[b, j]
      else:
        out[b, lo] += target_probs[b, j] * (hi - pos)
        out[b, hi] += target_probs[b, j] * (pos - lo)
  return out


class CategoricalProjectionTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed(self, jit):
    out = _testing.run(distributional.categorical_projection, TARGET_SUPPORT, TARGET_PROBS,
                       SUPPORT, jit=jit)
    self.assertAllClose(out, EXPECTED)

  @parameterized.named_parameters(*_testing.MODES)
  def test_against_algorithm_1(self, jit):
    rng = np.random.default_rng(0)
    support = np.linspace(-10., 10., 51)
    probs = rng.dirichlet(np.ones(51), size=4)
    # N-step style targets: r + gamma^n z, including one terminal row (discount 0).
    rewards = np.array([0.3, -2.0, 5.0, 1.7])
    discounts = np.array([.99**3, .9, 0., .5])
    target_support = rewards[:, None] + discounts[:, None] * support[None]
    out = _testing.run(distributional.categorical_projection, target_support, probs, support,
                       jit=jit)
    self.assertAllClose(out, np_project(target_support, probs, support))
    self.assertAllClose(np.sum(out, -1), np.ones(4))

  def test_different_source_size(self):
    out = distributional.categorical_projection([[-.25, 3.]], [[.4, .6]], SUPPORT)
    self.assertAllClose(out, [[.4 * .25, .4 * .75, .6]])

  def test_unknown_dims(self):
    f = _testing.with_unknown_dims(distributional.categorical_projection,
                                   [_testing.spec(2), _testing.spec(2), _testing.spec(1)])
    self.assertAllClose(f(TARGET_SUPPORT, TARGET_PROBS, SUPPORT), EXPECTED)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^categorical_projection: `support`"):
      distributional.categorical_projection(TARGET_SUPPORT, TARGET_PROBS, SUPPORT[None])
    with self.assertRaisesRegex(ValueError, "^categorical_projection: `support` needs"):
      distributional.categorical_projection(TARGET_SUPPORT, TARGET_PROBS, SUPPORT[:1])
    with self.assertRaisesRegex(ValueError, "^categorical_projection: `target_probs`"):
      distributional.categorical_projection(TARGET_SUPPORT, TARGET_PROBS[:, :2], SUPPORT)


class CategoricalTDLossTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed_and_gradient(self, jit):
    # Transition 0: r = .5, discount .5 -> Tz = [0, .5, 1], p = [.2, .3, .5]
    #   -> m = [0, .2 + .15, .15 + .5].
    # Transition 1: terminal, r = -.25 -> all mass at -.25 -> m = [.25, .75, 0].
    logits = np.array([[0., 0., 0.], [1., 2., 3.]], np.float32)
    rewards = np.array([.5, -.25], np.float32)
    discounts = np.array([.5, 0.], np.float32)
    expected_m = np.array([[0., .35, .65], [.25, .75, 0.]])

    def f(logits, rewards, discounts, target_probs):
      with tf.GradientTape(persistent=True) as tape:
        tape.watch([logits, target_probs])
        out = distributional.categorical_td_loss(logits, rewards, discounts, target_probs,
                                                 SUPPORT)
        total = tf.reduce_sum(out.loss)
      return out, tape.gradient(total, logits), tape.gradient(total, target_probs)

    if jit:
      f = tf.function(f, jit_compile=True)
    out, d_logits, d_target = f(tf.constant(logits), tf.constant(rewards),
                                tf.constant(discounts), tf.constant(TARGET_PROBS))
    log_p = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
    self.assertAllClose(out.extra.target_probs, expected_m)
    self.assertAllClose(out.loss, -np.sum(expected_m * log_p, -1))
    self.assertAllClose(out.extra.q_values, np.sum(np.exp(log_p) * SUPPORT, -1))
    self.assertAllClose(out.extra.target_q_values, [.65, -.25])
    self.assertAllClose(d_logits, np.exp(log_p) - expected_m)
    self.assertIsNone(d_target)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^categorical_td_loss: `rewards`"):
      distributional.categorical_td_loss(np.zeros((2, 3)), [[1.]], [1.], np.zeros((2, 3)),
                                         SUPPORT)
    with self.assertRaisesRegex(ValueError, "^categorical_td_loss: `support`"):
      distributional.categorical_td_loss(np.zeros((2, 3)), [1., 1.], [1., 1.],
                                         np.zeros((2, 3)), np.zeros(4))


if __name__ == "__main__":
  absltest.main()
