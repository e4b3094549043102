"""Tests for losses/value.py."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from losses import value
from tests.losses import _testing
from tests.losses import test_returns

VALUES = np.array([1.0, 2.0, -1.0, 0.5], np.float32)
TARGETS = np.array([1.5, -1.0, 2.0, 0.5], np.float32)
OLD_VALUES = np.array([1.2, 1.0, -1.1, 0.0], np.float32)


def np_huber(x, delta):
  return np.where(np.abs(x) <= delta, 0.5 * x**2, delta * (np.abs(x) - 0.5 * delta))


class ValueLossTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_squared(self, jit):
    out = _testing.run(value.value_loss, VALUES, TARGETS, jit=jit)
    self.assertAllClose(out.loss, [0.5 * .25, 0.5 * 9, 0.5 * 9, 0.])
    self.assertAllClose(out.extra.td_error, TARGETS - VALUES)
    self.assertAllEqual(out.extra.clip_fraction, np.zeros(4))

  @parameterized.named_parameters(*_testing.MODES)
  def test_huber(self, jit):
    out = _testing.run(value.value_loss, VALUES, TARGETS, huber_delta=1.0, jit=jit)
    # |errors| = .5, 3, 3, 0 -> .125, 2.5, 2.5, 0.
    self.assertAllClose(out.loss, [0.125, 2.5, 2.5, 0.])
    self.assertAllClose(out.loss, np_huber(VALUES - TARGETS, 1.0))

  @parameterized.named_parameters(*_testing.MODES)
  def test_clipped(self, jit):
    out = _testing.run(value.value_loss, VALUES, TARGETS, old_values=OLD_VALUES,
                       clip_epsilon=0.2, jit=jit)
    # v_clip = old + clip(v - old, -.2, .2) = [1.0, 1.2, -1.0, 0.2]
    # unclipped 0.5 (v - t)^2 = [.125, 4.5, 4.5, 0]
    # clipped   0.5 (v_clip - t)^2 = [.125, 2.42, 4.5, .045]
    self.assertAllClose(out.loss, [.125, 4.5, 4.5, .045])
    self.assertAllClose(out.extra.clip_fraction, [0., 0., 0., 1.])

  @parameterized.named_parameters(*_testing.MODES)
  def test_clipped_gradients(self, jit):
    def grads(v, t, old):
      with tf.GradientTape(persistent=True) as tape:
        tape.watch([v, t, old])
        loss = tf.reduce_sum(value.value_loss(v, t, old_values=old, clip_epsilon=0.2).loss)
      return [tape.gradient(loss, x) for x in (v, t, old)]

    if jit:
      grads = tf.function(grads, jit_compile=True)
    dv, dt, dold = grads(*(tf.constant(x) for x in (VALUES, TARGETS, OLD_VALUES)))
    # Active branch per element: unclipped, unclipped, unclipped (tie: max picks the first),
    # clipped (v - old = .5 > eps, so d v_clip / d v = 0).
    self.assertAllClose(dv, [-.5, 3., -3., 0.])
    self.assertIsNone(dt)
    self.assertIsNone(dold)

  @parameterized.named_parameters(*_testing.MODES)
  def test_huge_epsilon_is_unclipped(self, jit):
    rng = np.random.default_rng(0)
    v, t, old = (rng.normal(size=(3, 4)).astype(np.float32) for _ in range(3))
    out = _testing.run(value.value_loss, v, t, old_values=old, clip_epsilon=1e6, jit=jit)
    self.assertAllClose(out.loss, 0.5 * (v - t)**2)

  @parameterized.named_parameters(*_testing.MODES)
  def test_rollout_targets(self, jit):
    # Critic regressed onto the hand-computed lambda-returns of the 3-step rollout with a
    # termination and a truncation.
    v = test_returns.VALUES
    out = _testing.run(value.value_loss, v, test_returns.EXPECTED_LAMBDA_RETURNS, jit=jit)
    self.assertAllClose(out.loss, 0.5 * (v - test_returns.EXPECTED_LAMBDA_RETURNS)**2)

  def test_huber_gradient_numeric(self):
    t = tf.constant(TARGETS, tf.float64)
    theoretical, numerical = tf.test.compute_gradient(
        lambda v: value.value_loss(v, t, huber_delta=1.0).loss,
        [tf.constant(VALUES + 0.01, tf.float64)])
    self.assertAllClose(theoretical, numerical, atol=1e-6)

  def test_unknown_dims(self):
    f = _testing.with_unknown_dims(
        lambda v, t, o: value.value_loss(v, t, old_values=o, clip_epsilon=0.2),
        [_testing.spec(2)] * 3)
    out = f(VALUES[None], TARGETS[None], OLD_VALUES[None])
    self.assertAllClose(out.loss, [[.125, 4.5, 4.5, .045]])

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^value_loss: .*together"):
      value.value_loss(VALUES, TARGETS, clip_epsilon=0.2)
    with self.assertRaisesRegex(ValueError, "^value_loss: `targets`"):
      value.value_loss(VALUES, TARGETS[None])
    with self.assertRaisesRegex(ValueError, "^value_loss: `old_values`"):
      value.value_loss(VALUES, TARGETS, old_values=OLD_VALUES[:2], clip_epsilon=.1)


class ClippedDoubleQTargetTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed(self, jit):
    # Transition 0: regular; 1: terminal (discount 0); 2: time-limit cut, bootstrapped with
    # gamma and Q of the real final observation.
    r = np.array([1., 2., 3.], np.float32)
    d = np.array([.99, 0., .99], np.float32)
    q1 = np.array([10., 5., -1.], np.float32)
    q2 = np.array([8., 6., -2.], np.float32)
    out = _testing.run(value.clipped_double_q_target, r, d, q1, q2, jit=jit)
    self.assertAllClose(out, [1 + .99 * 8, 2., 3 + .99 * -2])

  def test_no_gradient(self):
    xs = [tf.constant([1., 2.]) for _ in range(4)]
    with tf.GradientTape() as tape:
      tape.watch(xs)
      y = tf.reduce_sum(value.clipped_double_q_target(*xs))
    self.assertEqual(tape.gradient(y, xs), [None] * 4)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^clipped_double_q_target: `q2_next`"):
      value.clipped_double_q_target([1.], [1.], [1.], [[1.]])


if __name__ == "__main__":
  absltest.main()
