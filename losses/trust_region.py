"""Trust-region policy losses and helpers: TRPO, PPO (clip and KL penalty), ACER's projection.

`log_pi` is the log-probability of the taken action under the policy being optimised (carries
the gradient); `log_mu` under the policy that collected the data (`pi_old` in PPO/TRPO; always
stop-gradiented). Shapes are any matching shape (`[T, B]` or `[B]`); each loss keeps it.
"""

from typing import Callable, NamedTuple

import tensorflow as tf

from losses import _checks
from losses.base import LossOutput


class SurrogateExtra(NamedTuple):
  """Diagnostics of `surrogate_loss`, per element.

  Attributes:
    ratio: `r = pi / mu`.
    approx_kl: `(r - 1) - log r`, the non-negative k3 estimator of KL(mu || pi).
  """
  ratio: tf.Tensor
  approx_kl: tf.Tensor


class ClippedSurrogateExtra(NamedTuple):
  """Diagnostics of `clipped_surrogate_loss`, per element.

  Attributes:
    ratio: `r = pi / mu`.
    clip_fraction: float indicator `|r - 1| > epsilon` (its mean is PPO's clip fraction).
    approx_kl: `(r - 1) - log r`, the non-negative k3 estimator of KL(mu || pi).
  """
  ratio: tf.Tensor
  clip_fraction: tf.Tensor
  approx_kl: tf.Tensor


class KLPenaltyExtra(NamedTuple):
  """Diagnostics of `kl_penalty_loss`, per element.

  Attributes:
    ratio: `r = pi / mu`.
    kl: the KL term that was penalised (as passed in).
    approx_kl: `(r - 1) - log r`, a sample estimate of KL(mu || pi) for comparison.
  """
  ratio: tf.Tensor
  kl: tf.Tensor
  approx_kl: tf.Tensor


def _ratio_inputs(fn, log_pi, log_mu, advantages):
  log_pi, log_mu, advantages = _checks.same_shape_floats(
      fn, ["log_pi", "log_mu", "advantages"], [log_pi, log_mu, advantages])
  log_ratio = log_pi - tf.stop_gradient(log_mu)
  ratio = tf.exp(log_ratio)
  approx_kl = (ratio - 1.0) - log_ratio
  return ratio, approx_kl, tf.stop_gradient(advantages)


def surrogate_loss(log_pi, log_mu, advantages) -> LossOutput:
  """TRPO's importance-sampled surrogate objective, negated.

  loss = -r * A,   r = pi(a|s) / mu(a|s) = exp(log_pi - log_mu).

  Schulman et al. 2015, "Trust Region Policy Optimization", arXiv:1502.05477, eq. 14 (the
  sample estimate of L_{theta_old}(theta)). Its gradient at pi = mu is the vanilla policy
  gradient. Off-policy correct for any mu (mu = pi_old on-policy); the trust region (KL <= delta)
  is enforced by the caller with `conjugate_gradient` and `trust_region_step_size`.
  `log_mu` and `advantages` are wrapped in `tf.stop_gradient` inside.

  Args:
    log_pi: `[T, B]` or `[B]`, log pi(a_t|s_t) under the optimised policy.
    log_mu: same shape, log mu(a_t|s_t) under the behaviour (old) policy.
    advantages: same shape, advantage estimates A_t (e.g. GAE).

  Returns:
    `LossOutput(loss, SurrogateExtra(ratio, approx_kl))`, all with the input shape.
  """
  fn = "surrogate_loss"
  ratio, approx_kl, advantages = _ratio_inputs(fn, log_pi, log_mu, advantages)
  return LossOutput(loss=-ratio * advantages,
                    extra=SurrogateExtra(ratio=ratio, approx_kl=approx_kl))


def clipped_surrogate_loss(log_pi, log_mu, advantages, *, epsilon) -> LossOutput:
  """PPO's clipped surrogate objective, negated.

  r = exp(log_pi - log_mu),
  loss = -min(r A, clip(r, 1 - epsilon, 1 + epsilon) A).

  Schulman et al. 2017, "Proximal Policy Optimization Algorithms", arXiv:1707.06347, eq. 7.
  On-policy with `mu = pi_old`, the policy that collected the batch. `log_mu` and `advantages`
  are wrapped in `tf.stop_gradient` inside; the gradient flows only through `log_pi`.

  Args:
    log_pi: `[T, B]` or `[B]`, log pi_theta(a_t|s_t).
    log_mu: same shape, log pi_old(a_t|s_t) recorded at collection time.
    advantages: same shape, advantage estimates A_t (e.g. GAE, possibly normalised).
    epsilon: clip range, a Python float or scalar tensor (may be annealed).

  Returns:
    `LossOutput(loss, ClippedSurrogateExtra(ratio, clip_fraction, approx_kl))`, all with the
    input shape; reduce `clip_fraction` and `approx_kl` with a mean for logging.
  """
  fn = "clipped_surrogate_loss"
  ratio, approx_kl, advantages = _ratio_inputs(fn, log_pi, log_mu, advantages)
  epsilon = _checks.to_float(fn, "epsilon", epsilon, ratio.dtype)
  _checks.check_scalar(fn, "epsilon", epsilon)
  clipped_ratio = tf.clip_by_value(ratio, 1.0 - epsilon, 1.0 + epsilon)
  loss = -tf.minimum(ratio * advantages, clipped_ratio * advantages)
  clip_fraction = tf.cast(tf.abs(ratio - 1.0) > epsilon, ratio.dtype)
  return LossOutput(loss=loss, extra=ClippedSurrogateExtra(
      ratio=ratio, clip_fraction=clip_fraction, approx_kl=approx_kl))


def kl_penalty_loss(log_pi, log_mu, advantages, kl, *, beta) -> LossOutput:
  """PPO's KL-penalised surrogate objective, negated.

  loss = -(r A - beta * KL[pi_old(.|s), pi_theta(.|s)]),   r = exp(log_pi - log_mu).

  Schulman et al. 2017, arXiv:1707.06347, eq. 8; adapt `beta` between updates with
  `adaptive_kl_coefficient`. On-policy with `mu = pi_old`. `log_mu`, `advantages` and `beta`
  are stop-gradiented inside; `kl` keeps its gradient (compute it with
  `tfp.distributions.kl_divergence(old_dist, new_dist)` so it depends on theta).

  Args:
    log_pi: `[T, B]` or `[B]`, log pi_theta(a_t|s_t).
    log_mu: same shape, log pi_old(a_t|s_t).
    advantages: same shape, advantage estimates A_t.
    kl: same shape, KL[pi_old(.|s_t), pi_theta(.|s_t)] per state.
    beta: penalty coefficient, Python float or scalar tensor.

  Returns:
    `LossOutput(loss, KLPenaltyExtra(ratio, kl, approx_kl))`, all with the input shape.
  """
  fn = "kl_penalty_loss"
  ratio, approx_kl, advantages = _ratio_inputs(fn, log_pi, log_mu, advantages)
  kl = _checks.to_float(fn, "kl", kl, ratio.dtype)
  _checks.check_same_shape(fn, ["log_pi", "kl"], [ratio, kl])
  beta = tf.stop_gradient(_checks.to_float(fn, "beta", beta, ratio.dtype))
  _checks.check_scalar(fn, "beta", beta)
  loss = -(ratio * advantages - beta * kl)
  return LossOutput(loss=loss, extra=KLPenaltyExtra(ratio=ratio, kl=kl, approx_kl=approx_kl))


def adaptive_kl_coefficient(beta, kl, *, target, tolerance=1.5, factor=2.0) -> tf.Tensor:
  """PPO's adaptive KL penalty coefficient update.

  if kl < target / 1.5: beta <- beta / 2;   if kl > target * 1.5: beta <- beta * 2.

  Schulman et al. 2017, arXiv:1707.06347, section 4 (the 1.5 and 2 are the paper's constants,
  exposed as `tolerance` and `factor`). Pure: returns the new value, assign it yourself.

  Args:
    beta: scalar, current coefficient.
    kl: scalar, mean KL[pi_old, pi_new] measured after the policy update.
    target: scalar, the target KL d_targ.
    tolerance: the band multiplier (1.5 in the paper).
    factor: the multiplicative change (2 in the paper).

  Returns:
    The new scalar beta (no gradient).
  """
  fn = "adaptive_kl_coefficient"
  beta = _checks.to_float(fn, "beta", beta, None)
  kl = _checks.to_float(fn, "kl", kl, beta.dtype)
  target = _checks.to_float(fn, "target", target, beta.dtype)
  for name, x in (("beta", beta), ("kl", kl), ("target", target)):
    _checks.check_scalar(fn, name, x)
  new_beta = tf.where(kl < target / tolerance, beta / factor,
                      tf.where(kl > target * tolerance, beta * factor, beta))
  return tf.stop_gradient(new_beta)


def _dot(xs, ys) -> tf.Tensor:
  return tf.add_n([tf.reduce_sum(x * y) for x, y in zip(tf.nest.flatten(xs),
                                                         tf.nest.flatten(ys))])


def conjugate_gradient(matvec: Callable, b, *, iterations: int = 10,
                       residual_tol: float = 1e-10):
  """Solves `A x = b` for a symmetric positive-definite `A` given only `v -> A v`.

  x_0 = 0, r_0 = p_0 = b; for k < iterations while r_k.r_k >= residual_tol:
    alpha = r.r / p.Ap;  x += alpha p;  r -= alpha Ap;  p = r + (r_new.r_new / r.r) p.

  Hestenes & Stiefel (1952); used by TRPO (Schulman et al. 2015, arXiv:1502.05477, appendix C)
  to get the natural-gradient direction F^{-1} g with Fisher-vector products. Runs as a
  `tf.while_loop`, so it compiles under XLA; `matvec` may itself use a `GradientTape`.

  Args:
    matvec: function mapping a structure like `b` to `A v` (same structure, same shapes).
    b: a tensor or a (possibly nested) list/tuple of tensors, e.g. per-variable gradients.
    iterations: maximum number of CG iterations (Python int).
    residual_tol: stop when the squared residual norm drops below this.

  Returns:
    `x`, with the structure of `b`, such that `matvec(x) ~= b`.
  """
  fn = "conjugate_gradient"
  if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
    raise ValueError(f"{fn}: `iterations` must be a non-negative Python int, got "
                     f"{iterations!r}.")
  b = tf.nest.map_structure(tf.convert_to_tensor, b)
  flat_b = tf.nest.flatten(b)
  if not flat_b:
    raise ValueError(f"{fn}: `b` must contain at least one tensor.")
  dtype = flat_b[0].dtype
  x = tf.nest.map_structure(tf.zeros_like, b)
  rdotr = _dot(b, b)
  tol = tf.cast(residual_tol, dtype)

  def cond(i, x, r, p, rdotr):
    del x, r, p
    return tf.logical_and(i < iterations, rdotr >= tol)

  def body(i, x, r, p, rdotr):
    z = tf.nest.map_structure(tf.convert_to_tensor, matvec(p))
    tf.nest.assert_same_structure(z, b)
    alpha = rdotr / _dot(p, z)
    x = tf.nest.map_structure(lambda x_, p_: x_ + alpha * p_, x, p)
    r = tf.nest.map_structure(lambda r_, z_: r_ - alpha * z_, r, z)
    new_rdotr = _dot(r, r)
    mu = new_rdotr / rdotr
    p = tf.nest.map_structure(lambda r_, p_: r_ + mu * p_, r, p)
    return i + 1, x, r, p, new_rdotr

  _, x, _, _, _ = tf.while_loop(cond, body, (tf.constant(0), x, b, b, rdotr))
  return x


def trust_region_step_size(search_direction, fisher_vector_product, *, max_kl) -> tf.Tensor:
  """TRPO's maximal step length along a search direction under the quadratic KL model.

  beta = sqrt(2 delta / (s^T F s)), so that 0.5 (beta s)^T F (beta s) = delta.

  Schulman et al. 2015, arXiv:1502.05477, appendix C. The full step is `beta * s`, then
  shrunk by a backtracking line search in the learner.

  Args:
    search_direction: `s`, a tensor or nest of tensors (the CG solution of F s = g).
    fisher_vector_product: `F s`, same structure and shapes as `search_direction`.
    max_kl: delta, the KL trust-region radius (Python float or scalar tensor).

  Returns:
    Scalar step size beta (no gradient).
  """
  fn = "trust_region_step_size"
  search_direction = tf.nest.map_structure(tf.convert_to_tensor, search_direction)
  fisher_vector_product = tf.nest.map_structure(tf.convert_to_tensor, fisher_vector_product)
  try:
    tf.nest.assert_same_structure(search_direction, fisher_vector_product)
  except (ValueError, TypeError) as e:
    raise ValueError(f"{fn}: `search_direction` and `fisher_vector_product` must have the "
                     f"same structure: {e}") from None
  for s, fs in zip(tf.nest.flatten(search_direction), tf.nest.flatten(fisher_vector_product)):
    _checks.check_same_shape(fn, ["search_direction", "fisher_vector_product"], [s, fs])
  shs = _dot(search_direction, fisher_vector_product)
  max_kl = _checks.to_float(fn, "max_kl", max_kl, shs.dtype)
  _checks.check_scalar(fn, "max_kl", max_kl)
  return tf.stop_gradient(tf.sqrt(2.0 * max_kl / shs))


def acer_trust_region_projection(gradients, kl_gradients, *, delta) -> tf.Tensor:
  """ACER's efficient trust-region update: project the gradient onto the KL half-space.

  z* = g - max(0, (k^T g - delta) / ||k||^2) k,
  the closed-form solution of  min_z 0.5 ||g - z||^2  s.t.  k^T z <= delta.

  Wang et al. 2017, "Sample Efficient Actor-Critic with Experience Replay", arXiv:1611.01224,
  eq. 12. `g` is the ACER policy gradient with respect to the distribution statistics phi(x)
  and `k = grad_phi KL[f(.|phi_avg) || f(.|phi)]` against the average policy network. The result
  is back-propagated into the network with `tape.gradient(phi, params, output_gradients=-z)`.
  If ||k|| = 0 the constraint is inactive and z* = g.

  Args:
    gradients: `[..., D]`, g per sample (D = size of phi).
    kl_gradients: `[..., D]`, k per sample.
    delta: the trust-region bound (Python float or scalar tensor).

  Returns:
    `[..., D]` projected gradients z* (no gradient flows through this function's output).
  """
  fn = "acer_trust_region_projection"
  g = _checks.to_float(fn, "gradients", gradients, None)
  k = _checks.to_float(fn, "kl_gradients", kl_gradients, g.dtype)
  _checks.check_min_rank(fn, "gradients", g, 1, "[..., D]")
  _checks.check_same_shape(fn, ["gradients", "kl_gradients"], [g, k])
  delta = _checks.to_float(fn, "delta", delta, g.dtype)
  _checks.check_scalar(fn, "delta", delta)
  k_dot_g = tf.reduce_sum(k * g, axis=-1, keepdims=True)
  k_norm_sq = tf.reduce_sum(tf.square(k), axis=-1, keepdims=True)
  scale = tf.maximum(tf.math.divide_no_nan(k_dot_g - delta, k_norm_sq), 0.0)
  return tf.stop_gradient(g - scale * k)
