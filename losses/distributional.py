"""Categorical distributional RL: the C51 projection and the distributional TD loss (C51, D4PG).
"""

from typing import NamedTuple

import tensorflow as tf

from losses import _checks
from losses.base import LossOutput


class CategoricalTDExtra(NamedTuple):
  """Diagnostics of `categorical_td_loss`.

  Attributes:
    target_probs: `[B, N]` the projected target distribution on `support` (no gradient).
    q_values: `[B]` the online expected value sum_i p_i z_i (no gradient).
    target_q_values: `[B]` the target expected value sum_i m_i z_i (no gradient).
  """
  target_probs: tf.Tensor
  q_values: tf.Tensor
  target_q_values: tf.Tensor


def categorical_projection(target_support, target_probs, support) -> tf.Tensor:
  """Projects a categorical distribution on arbitrary atoms onto a fixed, evenly spaced support.

  (Phi T Z)_i = sum_j [1 - |clip(Tz_j, V_min, V_max) - z_i| / dz]_0^1 p_j,

  Bellemare, Dabney & Munos 2017, "A Distributional Perspective on Reinforcement Learning",
  arXiv:1707.06887, eq. 7 (the projection that Algorithm 1 implements with floor/ceil; this
  form also keeps the mass when b_j = (Tz_j - V_min) / dz is an integer, where Algorithm 1's
  l = u case would drop it). Used by C51 and D4PG (`Tz = r + gamma^N z` for N-step targets).
  Linear in `target_probs` and differentiable in it; the loss stops the gradient.

  Args:
    target_support: `[B, N']`, the atoms Tz_j of the distribution to project (any shift/scale).
    target_probs: `[B, N']`, their probabilities p_j (each row sums to 1).
    support: `[N]`, the fixed support z_0 < ... < z_{N-1}, evenly spaced, N >= 2.

  Returns:
    `[B, N]` probabilities on `support` (rows sum to the rows of `target_probs`).
  """
  fn = "categorical_projection"
  target_support = _checks.to_float(fn, "target_support", target_support, None)
  dtype = target_support.dtype
  target_probs = _checks.to_float(fn, "target_probs", target_probs, dtype)
  support = _checks.to_float(fn, "support", support, dtype)
  _checks.check_rank(fn, "target_support", target_support, 2, "[B, N']")
  _checks.check_rank(fn, "target_probs", target_probs, 2, "[B, N']")
  _checks.check_rank(fn, "support", support, 1, "[N]")
  _checks.check_same_shape(fn, ["target_support", "target_probs"],
                           [target_support, target_probs])
  if support.shape[0] is not None and support.shape[0] < 2:
    raise ValueError(f"{fn}: `support` needs at least 2 atoms, got shape {support.shape}.")
  v_min, v_max = support[0], support[-1]
  delta_z = support[1] - support[0]
  clipped = tf.clip_by_value(target_support, v_min, v_max)  # [B, N']
  # weights[b, i, j] = [1 - |Tz_j - z_i| / dz]_0^1
  distance = tf.abs(clipped[:, tf.newaxis, :] - support[tf.newaxis, :, tf.newaxis])
  weights = tf.clip_by_value(1.0 - distance / delta_z, 0.0, 1.0)
  return tf.reduce_sum(weights * target_probs[:, tf.newaxis, :], axis=-1)


def categorical_td_loss(logits, rewards, discounts, target_probs, support) -> LossOutput:
  """Distributional (C51 / D4PG) TD loss: cross-entropy to the projected Bellman target.

  m = Phi(r + discount * z, p_target),   loss = -sum_i m_i log softmax(logits)_i.

  Bellemare et al. 2017, arXiv:1707.06887, Algorithm 1 (loss -sum_i m_i log p_i(x_t, a_t));
  Barth-Maron et al. 2018, "Distributed Distributional Deterministic Policy Gradients"
  (D4PG), arXiv:1804.08617, with N-step rewards and discount gamma^N. Off-policy. The target
  distribution m is wrapped in `tf.stop_gradient`; the gradient flows into `logits` only.

  Args:
    logits: `[B, N]`, online critic logits for Z(s, a) on `support`.
    rewards: `[B]`, the (N-step discounted sum of) rewards for s -> s'.
    discounts: `[B]`, gamma^N * (1 - terminal(s')) (gamma^N at a time-limit cut).
    target_probs: `[B, N]`, target-network probabilities of Z(s', a') on `support`
      (a' = mu'(s') for D4PG, argmax of the expected value for C51).
    support: `[N]`, evenly spaced atoms shared by the online and target critics.

  Returns:
    `LossOutput(loss [B], CategoricalTDExtra(target_probs, q_values, target_q_values))`.
  """
  fn = "categorical_td_loss"
  logits = _checks.to_float(fn, "logits", logits, None)
  dtype = logits.dtype
  rewards = _checks.to_float(fn, "rewards", rewards, dtype)
  discounts = _checks.to_float(fn, "discounts", discounts, dtype)
  target_probs = _checks.to_float(fn, "target_probs", target_probs, dtype)
  support = _checks.to_float(fn, "support", support, dtype)
  _checks.check_rank(fn, "logits", logits, 2, "[B, N]")
  _checks.check_rank(fn, "rewards", rewards, 1, "[B]")
  _checks.check_rank(fn, "discounts", discounts, 1, "[B]")
  _checks.check_rank(fn, "target_probs", target_probs, 2, "[B, N]")
  _checks.check_rank(fn, "support", support, 1, "[N]")
  _checks.check_same_shape(fn, ["logits", "target_probs"], [logits, target_probs])
  _checks.check_same_shape(fn, ["rewards", "discounts"], [rewards, discounts])
  if not rewards.shape.is_compatible_with(logits.shape[:1]):
    raise ValueError(f"{fn}: `rewards` has shape {rewards.shape}, expected [B] with B from "
                     f"`logits` of shape {logits.shape}.")
  if not support.shape.is_compatible_with(logits.shape[1:]):
    raise ValueError(f"{fn}: `support` has shape {support.shape}, expected [N] with N from "
                     f"`logits` of shape {logits.shape}.")
  target_support = rewards[:, tf.newaxis] + discounts[:, tf.newaxis] * support[tf.newaxis]
  projected = tf.stop_gradient(categorical_projection(target_support, target_probs, support))
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  loss = -tf.reduce_sum(projected * log_probs, axis=-1)
  q_values = tf.stop_gradient(tf.reduce_sum(tf.exp(log_probs) * support, axis=-1))
  target_q_values = tf.reduce_sum(projected * support, axis=-1)
  return LossOutput(loss=loss, extra=CategoricalTDExtra(
      target_probs=projected, q_values=q_values, target_q_values=target_q_values))
