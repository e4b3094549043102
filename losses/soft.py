"""Maximum-entropy ("soft") losses: SAC (v1 and v2), its temperature, and Soft Q-learning.

All functions here are off-policy (transitions from replay). One-step transitions use `[B]`
tensors: `rewards[b]` for `s -> s'`, `discounts[b] = gamma * (1 - terminal(s'))`; a time-limit
cut keeps `discount = gamma` and uses the real final observation as `s'`.
"""

from typing import NamedTuple

import tensorflow as tf

from losses import _checks
from losses.base import LossOutput


class SoftQLossExtra(NamedTuple):
  """Diagnostics of `soft_q_loss`, per element.

  Attributes:
    td_error: `target - Q(s, a)` (no gradient).
  """
  td_error: tf.Tensor


class SoftValueLossExtra(NamedTuple):
  """Diagnostics of `soft_value_loss`, per element.

  Attributes:
    targets: the soft value target `Q(s, a) - alpha log pi(a|s)` (no gradient).
    td_error: `target - V(s)` (no gradient).
  """
  targets: tf.Tensor
  td_error: tf.Tensor


class SoftPolicyLossExtra(NamedTuple):
  """Diagnostics of `soft_policy_loss`, per element.

  Attributes:
    entropy: `-log pi(a|s)`, a one-sample entropy estimate (no gradient).
    q_values: `Q(s, a)` at the reparameterised action (no gradient).
  """
  entropy: tf.Tensor
  q_values: tf.Tensor


class TemperatureLossExtra(NamedTuple):
  """Diagnostics of `temperature_loss`.

  Attributes:
    alpha: scalar `exp(log_alpha)` (no gradient).
    entropy: per element `-log pi(a|s)`, the entropy estimate compared with the target.
  """
  alpha: tf.Tensor
  entropy: tf.Tensor


def soft_bellman_target(rewards, discounts, q1_next, q2_next, log_pi_next, *,
                        alpha) -> tf.Tensor:
  """SAC's soft Bellman backup with twin target critics.

  y = r + discount * (min(Q'_1(s', a'), Q'_2(s', a')) - alpha log pi(a'|s')),  a' ~ pi(.|s').

  Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications", arXiv:1812.05905,
  section 4.1 (soft Q backup with V(s') = E_{a'~pi}[Q(s', a') - alpha log pi(a'|s')]), with the
  minimum over two target critics of its section 5 / Algorithm 1. Off-policy. The target, and
  `alpha`, are wrapped in `tf.stop_gradient`.

  Args:
    rewards: `[B]`, r for s -> s'.
    discounts: `[B]`, gamma * (1 - terminal(s')).
    q1_next: `[B]`, Q'_1(s', a') from the first target critic, a' sampled from pi(.|s').
    q2_next: `[B]`, Q'_2(s', a').
    log_pi_next: `[B]`, log pi(a'|s') of the same a'.
    alpha: temperature, Python float or scalar tensor (e.g. `exp(log_alpha)`).

  Returns:
    `[B]` targets y (no gradient).
  """
  fn = "soft_bellman_target"
  rewards, discounts, q1_next, q2_next, log_pi_next = _checks.batch_floats(
      fn, ["rewards", "discounts", "q1_next", "q2_next", "log_pi_next"],
      [rewards, discounts, q1_next, q2_next, log_pi_next])
  alpha = _checks.scalar_float(fn, "alpha", alpha, rewards.dtype)
  soft_value = tf.minimum(q1_next, q2_next) - alpha * log_pi_next
  return tf.stop_gradient(rewards + discounts * soft_value)


def soft_q_loss(q_values, targets) -> LossOutput:
  """Soft Q-function regression onto a soft Bellman target.

  loss = 0.5 (Q(s, a) - y)^2.

  Haarnoja et al. 2018, "Soft Actor-Critic", arXiv:1801.01290, eq. 7 (J_Q), with y from
  eq. 8 (r + gamma V_target(s')) for SAC v1 or `soft_bellman_target` for SAC v2. Off-policy.
  `targets` are wrapped in `tf.stop_gradient`. Call it once per critic (or on stacked
  `[2, B]` twin-critic values with `targets[None]` broadcast by the caller).

  Args:
    q_values: `[B]` (or any shape), Q(s, a) for replayed (s, a).
    targets: same shape, y.

  Returns:
    `LossOutput(loss, SoftQLossExtra(td_error))`, with the input shape.
  """
  fn = "soft_q_loss"
  q_values, targets = _checks.same_shape_floats(fn, ["q_values", "targets"], [q_values, targets])
  td_error = tf.stop_gradient(targets) - q_values
  return LossOutput(loss=0.5 * tf.square(td_error),
                    extra=SoftQLossExtra(td_error=tf.stop_gradient(td_error)))


def soft_value_loss(values, q_values, log_pi, *, alpha=1.0) -> LossOutput:
  """SAC v1's soft state-value regression.

  loss = 0.5 (V(s) - (Q(s, a) - alpha log pi(a|s)))^2,   a ~ pi(.|s) freshly sampled.

  Haarnoja et al. 2018, arXiv:1801.01290, eq. 5 (there alpha = 1 and rewards are scaled
  instead); Q is the minimum of the two critics (section 4.2). Off-policy states, on-policy
  actions. The target `Q - alpha log pi` (including `alpha`) is wrapped in `tf.stop_gradient`.

  Args:
    values: `[B]`, V_psi(s).
    q_values: `[B]`, Q(s, a) at a ~ pi(.|s) (usually min of the two critics).
    log_pi: `[B]`, log pi(a|s) of the same a.
    alpha: temperature (Python float or scalar tensor); 1 in the SAC v1 paper.

  Returns:
    `LossOutput(loss, SoftValueLossExtra(targets, td_error))`, with the input shape.
  """
  fn = "soft_value_loss"
  values, q_values, log_pi = _checks.same_shape_floats(fn, ["values", "q_values", "log_pi"],
                                         [values, q_values, log_pi])
  alpha = _checks.scalar_float(fn, "alpha", alpha, values.dtype)
  targets = tf.stop_gradient(q_values - alpha * log_pi)
  td_error = targets - values
  return LossOutput(loss=0.5 * tf.square(td_error), extra=SoftValueLossExtra(
      targets=targets, td_error=tf.stop_gradient(td_error)))


def soft_policy_loss(log_pi, q_values, *, alpha) -> LossOutput:
  """SAC's reparameterised policy loss.

  loss = alpha log pi(a|s) - Q(s, a),   a = f_phi(eps; s) (reparameterised sample).

  Haarnoja et al. 2018, arXiv:1801.01290, eq. 12 (alpha = 1 there) and arXiv:1812.05905,
  section 4.2 (with alpha). Off-policy states, on-policy reparameterised actions. The gradient
  flows into BOTH `log_pi` and `q_values` (through the action: that path is the
  reparameterisation gradient, so do not stop it); differentiate with respect to the policy's
  variables only. `alpha` is wrapped in `tf.stop_gradient`.

  Args:
    log_pi: `[B]`, log pi(a|s) of a = f_phi(eps; s) (e.g. tanh-Gaussian `log_prob`).
    q_values: `[B]`, Q(s, a) at the same a (SAC v2: min of the two critics).
    alpha: temperature, Python float or scalar tensor.

  Returns:
    `LossOutput(loss, SoftPolicyLossExtra(entropy, q_values))`, with the input shape.
  """
  fn = "soft_policy_loss"
  log_pi, q_values = _checks.same_shape_floats(fn, ["log_pi", "q_values"], [log_pi, q_values])
  alpha = tf.stop_gradient(_checks.scalar_float(fn, "alpha", alpha, log_pi.dtype))
  return LossOutput(loss=alpha * log_pi - q_values, extra=SoftPolicyLossExtra(
      entropy=tf.stop_gradient(-log_pi), q_values=tf.stop_gradient(q_values)))


def temperature_loss(log_alpha, log_pi, *, target_entropy) -> LossOutput:
  """SAC's automatic temperature adjustment loss.

  loss = -alpha (log pi(a|s) + H_target),   alpha = exp(log_alpha),  a ~ pi(.|s).

  Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications", arXiv:1812.05905,
  eq. 18 (J(alpha) = E[-alpha log pi(a|s) - alpha H_target]); optimising `log_alpha` keeps
  alpha positive. d loss / d log_alpha = -alpha (log pi + H_target): alpha grows when the
  entropy -log pi is below the target. `log_pi` is wrapped in `tf.stop_gradient`; the gradient
  flows only into `log_alpha`.

  Args:
    log_alpha: scalar, the learned log-temperature (a tensor/variable read).
    log_pi: `[B]` (or any shape), log pi(a|s) of fresh samples a ~ pi(.|s).
    target_entropy: the target entropy H_target (Python float or scalar), e.g. -|A|.

  Returns:
    `LossOutput(loss, TemperatureLossExtra(alpha, entropy))`; `loss` has the shape of log_pi.
  """
  fn = "temperature_loss"
  log_alpha = _checks.to_float(fn, "log_alpha", log_alpha, None)
  _checks.check_scalar(fn, "log_alpha", log_alpha)
  log_pi = tf.stop_gradient(_checks.to_float(fn, "log_pi", log_pi, log_alpha.dtype))
  _checks.check_min_rank(fn, "log_pi", log_pi, 1, "([B] or [T, B])")
  target_entropy = _checks.scalar_float(fn, "target_entropy", target_entropy, log_alpha.dtype)
  alpha = tf.exp(log_alpha)
  loss = -alpha * (log_pi + target_entropy)
  return LossOutput(loss=loss, extra=TemperatureLossExtra(alpha=tf.stop_gradient(alpha),
                                                          entropy=-log_pi))


def soft_q_learning_value(q_values, log_q, *, alpha) -> tf.Tensor:
  """Soft Q-learning's importance-sampled soft state value.

  V(s) = alpha log E_{a~q}[exp(Q(s, a) / alpha) / q(a)]
       ~ alpha (logsumexp_i(Q(s, a_i) / alpha - log q(a_i)) - log M),   a_1..a_M ~ q,

  Haarnoja et al. 2017, "Reinforcement Learning with Deep Energy-Based Policies",
  arXiv:1702.08165, eq. 10, computed with logsumexp for stability. With q uniform on
  [-1, 1]^d pass `log_q = -d log 2`. Off-policy. Differentiable in `q_values` (no
  stop-gradient: it is usually evaluated with the target network, or stop it yourself).

  Args:
    q_values: `[B, M]`, Q(s, a_i) for M sampled actions per state.
    log_q: `[B, M]`, log-density of the sampling distribution at a_i.
    alpha: temperature, Python float or scalar tensor.

  Returns:
    `[B]` soft values.
  """
  fn = "soft_q_learning_value"
  q_values = _checks.to_float(fn, "q_values", q_values, None)
  log_q = _checks.to_float(fn, "log_q", log_q, q_values.dtype)
  _checks.check_rank(fn, "q_values", q_values, 2, "[B, M]")
  _checks.check_rank(fn, "log_q", log_q, 2, "[B, M]")
  _checks.check_same_shape(fn, ["q_values", "log_q"], [q_values, log_q])
  alpha = _checks.scalar_float(fn, "alpha", alpha, q_values.dtype)
  num_samples = tf.cast(tf.shape(q_values)[-1], q_values.dtype)
  return alpha * (tf.reduce_logsumexp(q_values / alpha - log_q, axis=-1)
                  - tf.math.log(num_samples))


def svgd_direction(particles, grad_log_p) -> tf.Tensor:
  """Stein variational gradient descent direction with an RBF kernel (median heuristic).

  phi(x_i) = 1/n sum_j [k(x_j, x_i) grad_{x_j} log p(x_j) + grad_{x_j} k(x_j, x_i)],
  k(x, x') = exp(-||x - x'||^2 / h),  grad_{x_j} k(x_j, x_i) = (2 / h)(x_i - x_j) k(x_j, x_i),
  h = med^2 / log n, med = median pairwise distance between the n particles (i != j).

  Liu & Wang 2016, "Stein Variational Gradient Descent", arXiv:1608.04471, eq. 8 / Algorithm 1
  and the bandwidth of their section 5. Soft Q-learning's sampler update (Haarnoja et al. 2017,
  arXiv:1702.08165, eq. 13) is `alpha * svgd_direction(actions, grad_a Q / alpha)`; apply it
  with `tape.gradient(actions, params, output_gradients=-direction)`. The direction and h are
  wrapped in `tf.stop_gradient`. With n = 1 the direction is `grad_log_p`.

  Args:
    particles: `[..., n, D]`, n particles (e.g. sampled actions per state) of dimension D.
    grad_log_p: `[..., n, D]`, grad_x log p(x) at each particle.

  Returns:
    `[..., n, D]` directions phi(x_i) (no gradient).
  """
  fn = "svgd_direction"
  x = _checks.to_float(fn, "particles", particles, None)
  score = _checks.to_float(fn, "grad_log_p", grad_log_p, x.dtype)
  _checks.check_min_rank(fn, "particles", x, 2, "[..., n, D]")
  _checks.check_same_shape(fn, ["particles", "grad_log_p"], [x, score])
  x = tf.stop_gradient(x)
  score = tf.stop_gradient(score)
  diffs = x[..., :, tf.newaxis, :] - x[..., tf.newaxis, :, :]  # [..., j, i, D] = x_j - x_i
  sq_dists = tf.reduce_sum(tf.square(diffs), axis=-1)  # [..., n, n], exactly 0 on the diagonal
  n = tf.shape(x)[-2]
  n_float = tf.cast(n, x.dtype)
  # The n zero self-distances sort first; the n(n-1) (even) off-diagonal ones follow, so the
  # median is the mean of the two middle ones.
  flat = tf.sort(tf.reshape(sq_dists, tf.concat([tf.shape(sq_dists)[:-2], [n * n]], 0)))
  half = (n * (n - 1)) // 2
  last = n * n - 1
  lower = tf.gather(flat, tf.minimum(n + half - 1, last), axis=-1)
  upper = tf.gather(flat, tf.minimum(n + half, last), axis=-1)
  median = 0.5 * (tf.sqrt(lower) + tf.sqrt(upper))
  log_n = tf.math.log(n_float)
  h = tf.where(n > 1, tf.square(median) / tf.maximum(log_n, 1e-12), tf.ones_like(median))
  h = tf.maximum(h, tf.cast(1e-12, x.dtype))[..., tf.newaxis, tf.newaxis]
  kernel = tf.exp(-sq_dists / h)  # [..., j, i]
  driving = tf.einsum("...ji,...jd->...id", kernel, score)
  repulsive = tf.reduce_sum(kernel[..., tf.newaxis] * (-diffs), axis=-3) * (2.0 / h)
  return tf.stop_gradient((driving + repulsive) / n_float)
