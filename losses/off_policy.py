"""Off-policy multi-step corrections: Retrace, V-trace and ACER's policy loss.

Alignment as in `losses/returns.py`: `rewards[t]`, `discounts[t]` for `x_t -> x_{t+1}`
(`discounts[t] = gamma * (1 - terminal_{t+1})`), per-step quantities at `x_t` for `t < T`,
`bootstrap_value` at `x_T` (`[B]`). `log_rhos[t] = log pi(a_t|x_t) - log mu(a_t|x_t)` for the
target policy pi and behaviour policy mu. `truncations` / `truncation_values` mark time-limit
cuts exactly as in `losses/returns.py`: the target bootstraps from `truncation_values[t]` and
no trace crosses the cut.
"""

from typing import NamedTuple

import tensorflow as tf

from losses import _checks
from losses import _sequence
from losses.base import LossOutput


class VTraceReturns(NamedTuple):
  """Output of `vtrace`.

  Attributes:
    vs: `[T, B]` V-trace value targets v_s (no gradient).
    pg_advantages: `[T, B]` policy-gradient advantages
      rho_pg_s (r_s + discount_s v_{s+1} - V(x_s)) (no gradient).
  """
  vs: tf.Tensor
  pg_advantages: tf.Tensor


class AcerPolicyLossExtra(NamedTuple):
  """Diagnostics of `acer_policy_loss`, per element.

  Attributes:
    importance_weights: rho_t = pi(a_t|x_t) / mu(a_t|x_t).
    truncated_loss: the min(c, rho_t) (Q_ret - V) log pi(a_t) part of the loss.
    bias_correction_loss: the sum over actions with [1 - c / rho(a)]_+ weights.
    values: V(x_t) = sum_a pi(a|x_t) Q(x_t, a) used as the baseline (no gradient).
  """
  importance_weights: tf.Tensor
  truncated_loss: tf.Tensor
  bias_correction_loss: tf.Tensor
  values: tf.Tensor


def _log_rhos(fn, log_rhos, like):
  log_rhos = _checks.to_float(fn, "log_rhos", log_rhos, like.dtype)
  _checks.check_rank(fn, "log_rhos", log_rhos, 2, "[T, B]")
  _checks.check_same_shape(fn, ["rewards", "log_rhos"], [like, log_rhos])
  return log_rhos


def _optional_threshold(fn, name, x, dtype):
  if x is None:
    return None
  x = _checks.to_float(fn, name, x, dtype)
  _checks.check_scalar(fn, name, x)
  return x


def vtrace(log_rhos, discounts, rewards, values, bootstrap_value, *, clip_rho_threshold=1.0,
           clip_c_threshold=1.0, clip_pg_rho_threshold=1.0, lambda_=1.0, truncations=None,
           truncation_values=None) -> VTraceReturns:
  """V-trace off-policy value targets and policy-gradient advantages (IMPALA).

  rho_bar_t = min(rho_thr, rho_t),  c_t = lambda_ min(c_thr, rho_t),
  delta_t = rho_bar_t (r_t + discount_t V(x_{t+1}) - V(x_t)),
  v_t - V(x_t) = delta_t + discount_t c_t (v_{t+1} - V(x_{t+1})),    v_T = V(x_T),
  pg_advantage_t = min(pg_rho_thr, rho_t) (r_t + discount_t v_{t+1} - V(x_t)).

  Espeholt et al. 2018, "IMPALA", arXiv:1802.01561, eq. 1 (computed by its recursive form,
  Remark 1) and section 4.2 for the policy-gradient advantage; `lambda_` is the optional
  trace decay c_t = lambda min(c_bar, rho_t) of the reference implementation (1 in the paper). A
  threshold of None means no clipping. At a truncated step x_{t+1} is replaced by the real
  final observation (value `truncation_values[t]`) and the trace is cut. Both outputs are
  wrapped in `tf.stop_gradient` (they are targets).

  Args:
    log_rhos: `[T, B]`, log pi(a_t|x_t) - log mu(a_t|x_t).
    discounts: `[T, B]`, gamma * (1 - terminal_{t+1}).
    rewards: `[T, B]`, r_t for x_t -> x_{t+1}.
    values: `[T, B]`, V(x_t).
    bootstrap_value: `[B]`, V(x_T).
    clip_rho_threshold: rho_bar threshold for delta_t (None: no clipping).
    clip_c_threshold: c_bar threshold for the trace (None: no clipping).
    clip_pg_rho_threshold: threshold for the policy-gradient weight (None: no clipping).
    lambda_: trace decay multiplying c_t (1 in the paper's main experiments).
    truncations: optional `[T, B]`, 1 where a time limit cut the episode after step t.
    truncation_values: optional `[T, B]`, V of the real final observation there.

  Returns:
    `VTraceReturns(vs [T, B], pg_advantages [T, B])`, no gradient.
  """
  fn = "vtrace"
  (rewards, discounts, values, bootstrap_value, truncated,
   truncation_values) = _sequence.prepare(fn, rewards, discounts, values, bootstrap_value,
                                          truncations, truncation_values)
  log_rhos = _log_rhos(fn, log_rhos, rewards)
  dtype = rewards.dtype
  rho_thr = _optional_threshold(fn, "clip_rho_threshold", clip_rho_threshold, dtype)
  c_thr = _optional_threshold(fn, "clip_c_threshold", clip_c_threshold, dtype)
  pg_thr = _optional_threshold(fn, "clip_pg_rho_threshold", clip_pg_rho_threshold, dtype)
  lambda_ = _checks.to_float(fn, "lambda_", lambda_, dtype)
  _checks.check_rank(fn, "lambda_", lambda_, (0, 2), "(scalar or [T, B])")

  rhos = tf.exp(log_rhos)
  clipped_rhos = rhos if rho_thr is None else tf.minimum(rho_thr, rhos)
  cs = lambda_ * (rhos if c_thr is None else tf.minimum(c_thr, rhos))
  next_values = _sequence.next_values(values, bootstrap_value, truncated, truncation_values)
  deltas = clipped_rhos * (rewards + discounts * next_values - values)
  coef = _sequence.continuation(discounts, truncated) * cs
  vs = values + _sequence.reverse_accumulate(deltas, coef, tf.zeros_like(bootstrap_value))
  next_vs = _sequence.shift_in(vs, bootstrap_value)
  if truncated is not None:
    next_vs = tf.where(truncated, truncation_values, next_vs)
  pg_rhos = rhos if pg_thr is None else tf.minimum(pg_thr, rhos)
  pg_advantages = pg_rhos * (rewards + discounts * next_vs - values)
  return VTraceReturns(vs=tf.stop_gradient(vs),
                       pg_advantages=tf.stop_gradient(pg_advantages))


def retrace_targets(log_rhos, discounts, rewards, q_values, values, bootstrap_value, *,
                    lambda_=1.0, truncations=None, truncation_values=None) -> tf.Tensor:
  """Retrace(lambda) targets for Q(x_t, a_t).

  c_t = lambda_ min(1, rho_t),
  Q_ret_t = r_t + discount_t (V(x_{t+1}) + c_{t+1} (Q_ret_{t+1} - Q(x_{t+1}, a_{t+1}))),
  Q_ret_{T-1} = r_{T-1} + discount_{T-1} V(x_T),   V(x) = E_{a~pi} Q(x, a).

  Munos et al. 2016, "Safe and Efficient Off-Policy Reinforcement Learning", arXiv:1606.02647,
  the return-based operator of section 2 with the Retrace trace
  c_s = lambda min(1, pi(a_s|x_s) / mu(a_s|x_s)) (section 3); written in the
  recursive form of ACER (Wang et al. 2017, arXiv:1611.01224, eq. 5; lambda_ = 1 there). Any
  behaviour policy mu. At a truncated step the target is r_t + discount_t truncation_values_t
  and the trace is cut. The targets are wrapped in `tf.stop_gradient`.

  Args:
    log_rhos: `[T, B]`, log pi(a_t|x_t) - log mu(a_t|x_t).
    discounts: `[T, B]`, gamma * (1 - terminal_{t+1}).
    rewards: `[T, B]`, r_t for x_t -> x_{t+1}.
    q_values: `[T, B]`, Q(x_t, a_t) of the taken actions (target network).
    values: `[T, B]`, V(x_t) = sum_a pi(a|x_t) Q(x_t, a) (target network).
    bootstrap_value: `[B]`, V(x_T) = E_{a~pi} Q(x_T, a).
    lambda_: trace decay (scalar or `[T, B]`).
    truncations: optional `[T, B]`, 1 where a time limit cut the episode after step t.
    truncation_values: optional `[T, B]`, E_pi Q of the real final observation there.

  Returns:
    `[T, B]` Retrace targets Q_ret_t (no gradient).
  """
  fn = "retrace_targets"
  (rewards, discounts, q_values, bootstrap_value, truncated,
   truncation_values) = _sequence.prepare(fn, rewards, discounts, q_values, bootstrap_value,
                                          truncations, truncation_values)
  log_rhos = _log_rhos(fn, log_rhos, rewards)
  values = _checks.to_float(fn, "values", values, rewards.dtype)
  _checks.check_rank(fn, "values", values, 2, "[T, B]")
  _checks.check_same_shape(fn, ["rewards", "values"], [rewards, values])
  lambda_ = _checks.to_float(fn, "lambda_", lambda_, rewards.dtype)
  _checks.check_rank(fn, "lambda_", lambda_, (0, 2), "(scalar or [T, B])")
  cs = lambda_ * tf.minimum(tf.exp(log_rhos), 1.0)
  next_values = _sequence.next_values(values, bootstrap_value, truncated, truncation_values)
  # D_t = Q_ret_t - Q_t = (r_t + discount_t V_{t+1} - Q_t) + discount_t c_{t+1} D_{t+1}.
  next_cs = _sequence.shift_in(cs, tf.zeros_like(bootstrap_value))
  coef = _sequence.continuation(discounts, truncated) * next_cs
  deltas = rewards + discounts * next_values - q_values
  targets = q_values + _sequence.reverse_accumulate(deltas, coef,
                                                    tf.zeros_like(bootstrap_value))
  return tf.stop_gradient(targets)


def acer_policy_loss(log_pi, log_mu, actions, q_values, q_ret, *, c=10.0) -> LossOutput:
  """ACER's truncated importance-weighted policy loss with bias correction (discrete actions).

  rho(a) = pi(a|x) / mu(a|x),  V(x) = sum_a pi(a|x) Q(x, a),
  loss = -min(c, rho(a_t)) (Q_ret - V(x)) log pi(a_t|x)
         - sum_a pi(a|x) [1 - c / rho(a)]_+ (Q(x, a) - V(x)) log pi(a|x),
  whose negative gradient is ACER's g_acer (the trust-region projection, if used, is
  `trust_region.acer_trust_region_projection` applied to the gradient w.r.t. phi(x)).

  Wang et al. 2017, "Sample Efficient Actor-Critic with Experience Replay", arXiv:1611.01224,
  eq. 9 (truncation with bias correction); c = 10 in the paper. Off-policy (actions from mu).
  All weights - rho, pi(a) in the expectation, Q_ret, Q and V - are wrapped in
  `tf.stop_gradient`; the gradient flows only through `log_pi`.

  Args:
    log_pi: `[..., A]` (e.g. `[T, B, A]`), log pi(a|x_t) for every action.
    log_mu: `[..., A]`, log mu(a|x_t) for every action (behaviour policy, from replay).
    actions: `[...]` int, the taken actions a_t.
    q_values: `[..., A]`, Q(x_t, a) for every action.
    q_ret: `[...]`, Retrace targets Q_ret(x_t, a_t) (`retrace_targets`).
    c: truncation threshold (Python float or scalar tensor).

  Returns:
    `LossOutput(loss [...], AcerPolicyLossExtra(importance_weights, truncated_loss,
    bias_correction_loss, values))`.
  """
  fn = "acer_policy_loss"
  log_pi = _checks.to_float(fn, "log_pi", log_pi, None)
  dtype = log_pi.dtype
  log_mu = _checks.to_float(fn, "log_mu", log_mu, dtype)
  q_values = _checks.to_float(fn, "q_values", q_values, dtype)
  q_ret = _checks.to_float(fn, "q_ret", q_ret, dtype)
  actions = tf.convert_to_tensor(actions)
  _checks.check_min_rank(fn, "log_pi", log_pi, 2, "[..., A]")
  _checks.check_same_shape(fn, ["log_pi", "log_mu", "q_values"], [log_pi, log_mu, q_values])
  if log_pi.shape.rank is not None:
    _checks.check_rank(fn, "actions", actions, log_pi.shape.rank - 1, "[...]")
    _checks.check_rank(fn, "q_ret", q_ret, log_pi.shape.rank - 1, "[...]")
  _checks.check_same_shape(fn, ["log_pi[..., 0]", "actions", "q_ret"],
                           [log_pi[..., 0], actions, q_ret])
  if not actions.dtype.is_integer:
    raise TypeError(f"{fn}: `actions` must be integers, got {actions.dtype.name}.")
  c = _checks.to_float(fn, "c", c, dtype)
  _checks.check_scalar(fn, "c", c)

  pi = tf.stop_gradient(tf.exp(log_pi))
  rhos = tf.stop_gradient(tf.exp(log_pi - log_mu))  # [..., A]
  q_values = tf.stop_gradient(q_values)
  values = tf.reduce_sum(pi * q_values, axis=-1)  # [...]
  one_hot = tf.one_hot(actions, tf.shape(log_pi)[-1], dtype=dtype)
  # multiply_no_nan: other actions may have pi(a) = 0, i.e. log pi(a) = -inf.
  rho_taken = tf.reduce_sum(tf.math.multiply_no_nan(rhos, one_hot), axis=-1)
  log_pi_taken = tf.reduce_sum(tf.math.multiply_no_nan(log_pi, one_hot), axis=-1)
  truncated_weight = tf.minimum(c, rho_taken) * (tf.stop_gradient(q_ret) - values)
  truncated_loss = -truncated_weight * log_pi_taken
  correction_weight = pi * tf.nn.relu(1.0 - c / rhos) * (q_values - values[..., tf.newaxis])
  bias_correction_loss = -tf.reduce_sum(tf.math.multiply_no_nan(log_pi, correction_weight),
                                        axis=-1)
  return LossOutput(loss=truncated_loss + bias_correction_loss, extra=AcerPolicyLossExtra(
      importance_weights=rho_taken, truncated_loss=truncated_loss,
      bias_correction_loss=bias_correction_loss, values=values))
