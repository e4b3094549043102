"""Critic losses and targets: squared / Huber value regression (optionally PPO-clipped) and
TD3's clipped double-Q target."""

from typing import NamedTuple

import tensorflow as tf

from losses import _checks
from losses.base import LossOutput


class ValueLossExtra(NamedTuple):
  """Diagnostics of `value_loss`, per element.

  Attributes:
    td_error: `target - v` (unclipped prediction error, no gradient).
    clip_fraction: float indicator that the clipped term was strictly larger and so set the
      loss (all zeros when clipping is off).
  """
  td_error: tf.Tensor
  clip_fraction: tf.Tensor


def _regression(errors: tf.Tensor, huber_delta) -> tf.Tensor:
  if huber_delta is None:
    return 0.5 * tf.square(errors)
  abs_errors = tf.abs(errors)
  quadratic = tf.minimum(abs_errors, huber_delta)
  # 0.5 x^2 inside [-delta, delta], delta (|x| - 0.5 delta) outside: continuous gradient.
  return 0.5 * tf.square(quadratic) + huber_delta * (abs_errors - quadratic)


def value_loss(values, targets, *, old_values=None, clip_epsilon=None,
               huber_delta=None) -> LossOutput:
  """Value regression: squared or Huber error, with optional PPO-style value clipping.

  loss = 0.5 (v - target)^2      (or Huber_delta(v - target) when `huber_delta` is set)
  with clipping: v_clip = v_old + clip(v - v_old, -eps, eps),
                 loss = max(l(v - target), l(v_clip - target)).

  Mnih et al. 2016 (A3C, arXiv:1602.01783) critic loss; the clipped form is the value clipping
  of the PPO reference implementation (OpenAI baselines `ppo2`; not in the PPO paper itself).
  Huber loss: Huber (1964), as used by DQN (Mnih et al. 2015). `targets` and `old_values` are
  wrapped in `tf.stop_gradient` inside; the gradient flows only into `values`.

  Args:
    values: any shape, e.g. `[T, B]` or `[B]`, predictions V(s_t) (or Q(s_t, a_t)).
    targets: same shape, regression targets (returns, GAE value targets, TD targets).
    old_values: same shape, predictions recorded at collection time; needed with
      `clip_epsilon`.
    clip_epsilon: optional clip range (Python float or scalar tensor); requires `old_values`.
    huber_delta: optional Huber threshold (Python float or scalar tensor).

  Returns:
    `LossOutput(loss, ValueLossExtra(td_error, clip_fraction))`, all with the input shape.
  """
  fn = "value_loss"
  values = _checks.to_float(fn, "values", values, None)
  _checks.check_min_rank(fn, "values", values, 1, "([T, B] or [B])")
  targets = tf.stop_gradient(_checks.to_float(fn, "targets", targets, values.dtype))
  _checks.check_rank(fn, "targets", targets,
                     values.shape.rank if values.shape.rank is not None
                     else (targets.shape.rank or 0), "(same as values)")
  _checks.check_same_shape(fn, ["values", "targets"], [values, targets])
  if (old_values is None) != (clip_epsilon is None):
    raise ValueError(f"{fn}: `old_values` and `clip_epsilon` must be given together.")
  if huber_delta is not None:
    huber_delta = _checks.to_float(fn, "huber_delta", huber_delta, values.dtype)
    _checks.check_scalar(fn, "huber_delta", huber_delta)
  loss = _regression(values - targets, huber_delta)
  clip_fraction = tf.zeros_like(loss)
  if clip_epsilon is not None:
    old_values = tf.stop_gradient(
        _checks.to_float(fn, "old_values", old_values, values.dtype))
    _checks.check_same_shape(fn, ["values", "old_values"], [values, old_values])
    clip_epsilon = _checks.to_float(fn, "clip_epsilon", clip_epsilon, values.dtype)
    _checks.check_scalar(fn, "clip_epsilon", clip_epsilon)
    clipped_values = old_values + tf.clip_by_value(values - old_values, -clip_epsilon,
                                                   clip_epsilon)
    clipped_loss = _regression(clipped_values - targets, huber_delta)
    clip_fraction = tf.cast(clipped_loss > loss, loss.dtype)
    loss = tf.maximum(loss, clipped_loss)
  td_error = tf.stop_gradient(targets - values)
  return LossOutput(loss=loss, extra=ValueLossExtra(td_error=td_error,
                                                    clip_fraction=clip_fraction))


def clipped_double_q_target(rewards, discounts, q1_next, q2_next) -> tf.Tensor:
  """TD3's clipped double-Q learning target.

  y = r + discount * min(Q'_1(s', a~), Q'_2(s', a~)),  a~ = mu'(s') + clipped noise.

  Fujimoto et al. 2018, "Addressing Function Approximation Error in Actor-Critic Methods",
  arXiv:1802.09477, eq. 10 (target policy smoothing, section 5.3, is done by the caller when
  it picks a~). Off-policy, one-step transitions from replay; a time-limit cut is bootstrapped by
  passing discount = gamma and the real final observation as s'. The target is wrapped in
  `tf.stop_gradient`.

  Args:
    rewards: `[B]`, r for s -> s'.
    discounts: `[B]`, gamma * (1 - terminal(s')).
    q1_next: `[B]`, Q'_1(s', a~) from the first target critic.
    q2_next: `[B]`, Q'_2(s', a~) from the second target critic.

  Returns:
    `[B]` targets y (no gradient).
  """
  fn = "clipped_double_q_target"
  rewards = _checks.to_float(fn, "rewards", rewards, None)
  names = ["rewards", "discounts", "q1_next", "q2_next"]
  tensors = [rewards] + [_checks.to_float(fn, n, x, rewards.dtype)
                         for n, x in zip(names[1:], (discounts, q1_next, q2_next))]
  for name, x in zip(names, tensors):
    _checks.check_rank(fn, name, x, 1, "[B]")
  _checks.check_same_shape(fn, names, tensors)
  rewards, discounts, q1_next, q2_next = tensors
  return tf.stop_gradient(rewards + discounts * tf.minimum(q1_next, q2_next))
