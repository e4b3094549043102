"""Policy-gradient losses: REINFORCE / advantage actor-critic, off-policy actor-critic,
entropy regularisation and deterministic policy gradients.

`log_pi` is log pi(a_t|s_t) of the taken action under the policy being optimised; `log_mu`
under the behaviour policy. Shapes are any matching shape (`[T, B]` or `[B]`); each loss keeps
it.
"""

from typing import NamedTuple

import tensorflow as tf

from losses import _checks
from losses.base import LossOutput


class PolicyGradientExtra(NamedTuple):
  """Diagnostics of `policy_gradient_loss`, per element.

  Attributes:
    advantages: the (stop-gradiented) advantages that weighted the score function.
  """
  advantages: tf.Tensor


class ImportanceWeightedPolicyGradientExtra(NamedTuple):
  """Diagnostics of `importance_weighted_policy_gradient_loss`, per element.

  Attributes:
    importance_weights: rho = pi / mu before truncation.
    truncated_importance_weights: the weights actually used, min(rho_bar, rho) or rho.
  """
  importance_weights: tf.Tensor
  truncated_importance_weights: tf.Tensor


class EntropyExtra(NamedTuple):
  """Diagnostics of `entropy_loss`, per element.

  Attributes:
    entropy: the policy entropy H(pi(.|s_t)) that was passed in.
  """
  entropy: tf.Tensor


class DeterministicPolicyGradientExtra(NamedTuple):
  """Diagnostics of `deterministic_policy_gradient_loss`, per element.

  Attributes:
    q_values: Q(s, mu(s)) (no gradient).
  """
  q_values: tf.Tensor


class DeterministicPolicyGradientDqdaExtra(NamedTuple):
  """Diagnostics of `deterministic_policy_gradient_dqda_loss`.

  Attributes:
    dqda: `[..., A]` the (clipped) action gradient that was applied.
    dqda_norm: `[...]` the L2 norm of `dqda` over the action dimension, before clipping.
  """
  dqda: tf.Tensor
  dqda_norm: tf.Tensor


def policy_gradient_loss(log_pi, advantages) -> LossOutput:
  """Score-function (REINFORCE / advantage actor-critic) policy-gradient loss.

  loss = -log pi(a_t|s_t) * A_t,   so  grad loss = -A_t grad log pi(a_t|s_t).

  Williams 1992 (REINFORCE, A_t = G_t or G_t - b(s_t)); Sutton et al. 2000 (policy gradient
  theorem); Mnih et al. 2016, arXiv:1602.01783 (A3C/A2C, A_t = n-step return - V(s_t)).
  On-policy: actions must come from pi. `advantages` are wrapped in `tf.stop_gradient`.

  Args:
    log_pi: `[T, B]` or `[B]`, log pi(a_t|s_t).
    advantages: same shape, A_t (or the return G_t for plain REINFORCE).

  Returns:
    `LossOutput(loss, PolicyGradientExtra(advantages))`, with the input shape.
  """
  fn = "policy_gradient_loss"
  log_pi, advantages = _checks.same_shape_floats(fn, ["log_pi", "advantages"], [log_pi, advantages])
  advantages = tf.stop_gradient(advantages)
  return LossOutput(loss=-log_pi * advantages,
                    extra=PolicyGradientExtra(advantages=advantages))


def importance_weighted_policy_gradient_loss(log_pi, log_mu, advantages, *,
                                             clip_rho_threshold=None) -> LossOutput:
  """Off-policy actor-critic (Off-PAC) importance-weighted policy-gradient loss.

  rho_t = pi(a_t|s_t) / mu(a_t|s_t),  rho_bar_t = min(clip_rho_threshold, rho_t) (or rho_t),
  loss = -rho_bar_t * A_t * log pi(a_t|s_t),  so  grad loss = -rho_bar_t A_t grad log pi.

  Degris, White & Sutton 2012, "Off-Policy Actor-Critic", arXiv:1205.4839, section 2 (the
  approximate off-policy gradient g(u) = E_{s~d^mu, a~mu}[rho(s,a) psi(s,a) Q^pi(s,a)], with
  Q^pi replaced by an advantage estimate as in their Off-PAC algorithm); truncation of rho as
  in ACER / IMPALA. Off-policy:
  actions from mu. `rho` (computed from `log_pi` and `log_mu`) and `advantages` are wrapped in
  `tf.stop_gradient`, so the gradient is exactly the weighted score function.

  Args:
    log_pi: `[T, B]` or `[B]`, log pi(a_t|s_t) under the target policy.
    log_mu: same shape, log mu(a_t|s_t) under the behaviour policy.
    advantages: same shape, advantage (or Q) estimates for (s_t, a_t).
    clip_rho_threshold: optional truncation level rho_bar (None: plain rho).

  Returns:
    `LossOutput(loss, ImportanceWeightedPolicyGradientExtra(importance_weights,
    truncated_importance_weights))`, with the input shape.
  """
  fn = "importance_weighted_policy_gradient_loss"
  log_pi, log_mu, advantages = _checks.same_shape_floats(
      fn, ["log_pi", "log_mu", "advantages"], [log_pi, log_mu, advantages])
  rho = tf.stop_gradient(tf.exp(log_pi - log_mu))
  rho_bar = rho
  if clip_rho_threshold is not None:
    threshold = _checks.to_float(fn, "clip_rho_threshold", clip_rho_threshold, rho.dtype)
    _checks.check_scalar(fn, "clip_rho_threshold", threshold)
    rho_bar = tf.minimum(threshold, rho)
  loss = -rho_bar * tf.stop_gradient(advantages) * log_pi
  return LossOutput(loss=loss, extra=ImportanceWeightedPolicyGradientExtra(
      importance_weights=rho, truncated_importance_weights=rho_bar))


def entropy_loss(entropy) -> LossOutput:
  """Entropy regularisation loss: minimising it maximises the policy entropy.

  loss = -H(pi(.|s_t)).

  Williams & Peng 1991; Mnih et al. 2016, arXiv:1602.01783, section 4 (A3C's entropy bonus,
  scaled by beta in the learner). Gradient flows into `entropy`.

  Args:
    entropy: any shape (`[T, B]` or `[B]`), H(pi(.|s_t)), e.g. `dist.entropy()` (for
      tanh-squashed policies pass a sample estimate `-log_pi`).

  Returns:
    `LossOutput(loss, EntropyExtra(entropy))`, with the input shape.
  """
  fn = "entropy_loss"
  entropy = _checks.to_float(fn, "entropy", entropy, None)
  _checks.check_min_rank(fn, "entropy", entropy, 1, "([T, B] or [B])")
  return LossOutput(loss=-entropy, extra=EntropyExtra(entropy=entropy))


def deterministic_policy_gradient_loss(q_values) -> LossOutput:
  """Deterministic policy-gradient actor loss through the critic.

  loss = -Q(s, mu_theta(s)),  so  grad_theta loss = -grad_a Q(s, a)|_{a=mu(s)} grad_theta mu(s).

  Silver et al. 2014, "Deterministic Policy Gradient Algorithms", ICML, Theorem 1 and the
  off-policy deterministic actor-critic of section 4.2 (states from any behaviour distribution,
  no importance weights); DDPG (Lillicrap et al. 2015, arXiv:1509.02971), TD3 (uses Q_1
  only). The gradient flows into the critic too: differentiate with respect to the actor's
  variables only. For a distributional critic (D4PG) pass the expected value of Z(s, mu(s)).

  Args:
    q_values: `[B]` (or `[T, B]`), Q(s, mu_theta(s)) computed with the actor's action.

  Returns:
    `LossOutput(loss, DeterministicPolicyGradientExtra(q_values))`, with the input shape.
  """
  fn = "deterministic_policy_gradient_loss"
  q_values = _checks.to_float(fn, "q_values", q_values, None)
  _checks.check_min_rank(fn, "q_values", q_values, 1, "([B] or [T, B])")
  return LossOutput(loss=-q_values, extra=DeterministicPolicyGradientExtra(
      q_values=tf.stop_gradient(q_values)))


def deterministic_policy_gradient_dqda_loss(actions, dqda, *, dqda_clipping=None,
                                            clip_norm=False) -> LossOutput:
  """Deterministic policy gradient in the "dqda" form used by DDPG and D4PG learners.

  target = stop_gradient(a + dQ/da),  loss = 0.5 * ||target - a||^2 (summed over actions),
  so  grad_theta loss = -(dQ/da) grad_theta mu_theta(s), the DPG of Silver et al. 2014
  (Theorem 1), without differentiating through the critic. `dqda` may be clipped elementwise to
  [-c, c] (or, with `clip_norm`, rescaled to L2 norm <= c) before use.

  Compute `dqda` with a `tf.GradientTape` watching `a = mu(s)`: `dqda = tape.gradient(q, a)`
  (D4PG: q = the expected value of the categorical critic). Off-policy, like DPG.

  Args:
    actions: `[B, A]` (or `[T, B, A]`), a = mu_theta(s), carries the actor's gradient.
    dqda: same shape, grad_a Q(s, a) at a = mu(s) (stop-gradiented inside).
    dqda_clipping: optional positive clip value c (Python float or scalar tensor).
    clip_norm: if True clip the L2 norm of each `dqda` vector, else clip elementwise.

  Returns:
    `LossOutput(loss [B] (or [T, B]), DeterministicPolicyGradientDqdaExtra(dqda, dqda_norm))`.
  """
  fn = "deterministic_policy_gradient_dqda_loss"
  actions = _checks.to_float(fn, "actions", actions, None)
  dqda = tf.stop_gradient(_checks.to_float(fn, "dqda", dqda, actions.dtype))
  _checks.check_min_rank(fn, "actions", actions, 2, "([B, A] or [T, B, A])")
  _checks.check_same_shape(fn, ["actions", "dqda"], [actions, dqda])
  dqda_norm = tf.norm(dqda, axis=-1)
  if dqda_clipping is not None:
    c = _checks.to_float(fn, "dqda_clipping", dqda_clipping, actions.dtype)
    _checks.check_scalar(fn, "dqda_clipping", c)
    if clip_norm:
      dqda = tf.clip_by_norm(dqda, c, axes=[-1])
    else:
      dqda = tf.clip_by_value(dqda, -c, c)
  target = tf.stop_gradient(actions + dqda)
  loss = 0.5 * tf.reduce_sum(tf.square(target - actions), axis=-1)
  return LossOutput(loss=loss, extra=DeterministicPolicyGradientDqdaExtra(
      dqda=dqda, dqda_norm=dqda_norm))
