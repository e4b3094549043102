"""Return and advantage estimators on time-major `[T, B]` sequences.

Alignment (used by every function here): `rewards[t]` and `discounts[t]` belong to the transition
`s_t -> s_{t+1}`; `discounts[t] = gamma * (1 - terminal_{t+1})` is 0 when `s_{t+1}` is terminal;
`values[t] = V(s_t)` for `t < T` and `bootstrap_value = V(s_T)` has shape `[B]`.

Truncation (a time-limit cut) is kept apart from termination. `truncations[t] = 1` says the
episode was cut right after step `t`: `s_{t+1}` in the batch already belongs to a *new* episode,
but the cut state was not terminal, so `discounts[t]` is still `gamma`. `truncation_values[t]`
is the value of the real final observation of the cut episode (read only where truncated). At a
truncated step the one-step target is `r_t + discounts[t] * truncation_values[t]` and the
recursion (return / n-step / lambda accumulation) is cut there: nothing from `t + 1` flows back.

The estimators are differentiable functions of their inputs (no stop-gradient here); losses that
use them as targets stop the gradient themselves.
"""

from typing import NamedTuple, Tuple

import tensorflow as tf

from losses import _checks
from losses import _sequence


class AdvantagesAndTargets(NamedTuple):
  """Output of `generalized_advantage_estimation_with_targets`.

  Attributes:
    advantages: `[T, B]` GAE advantages `A_t`.
    value_targets: `[T, B]` `A_t + V(s_t)`, the lambda-return used as the critic target.
  """
  advantages: tf.Tensor
  value_targets: tf.Tensor


def discounted_returns(rewards, discounts, bootstrap_value, *, truncations=None,
                       truncation_values=None) -> tf.Tensor:
  """Bootstrapped discounted returns (the Monte Carlo return of a truncated rollout).

  G_t = r_t + discounts_t * G_{t+1},   G_T = bootstrap_value,
  and at a truncated step G_t = r_t + discounts_t * truncation_values_t.

  Sutton & Barto (2018), eq. 3.9. Policy-agnostic (on-policy use: REINFORCE, A2C/A3C targets).

  Args:
    rewards: `[T, B]`, `r_t` for the transition `s_t -> s_{t+1}`.
    discounts: `[T, B]`, `gamma * (1 - terminal_{t+1})` for the same transition.
    bootstrap_value: `[B]`, `V(s_T)` (ignored where a termination comes first).
    truncations: optional `[T, B]` float/bool, 1 where the episode was cut by a time limit
      right after step `t` (given together with `truncation_values`).
    truncation_values: optional `[T, B]`, value of the real final observation of the cut
      episode at the truncated steps; ignored elsewhere.

  Returns:
    `[T, B]` returns `G_t`. Differentiable in all inputs (no stop-gradient).
  """
  fn = "discounted_returns"
  (rewards, discounts, _, bootstrap_value, truncated,
   truncation_values) = _sequence.prepare(fn, rewards, discounts, None, bootstrap_value,
                                          truncations, truncation_values)
  x = rewards
  if truncated is not None:
    x = rewards + discounts * tf.where(truncated, truncation_values,
                                       tf.zeros_like(truncation_values))
  return _sequence.reverse_accumulate(x, _sequence.continuation(discounts, truncated),
                                      bootstrap_value)


def td_error(rewards, discounts, values, bootstrap_value, *, truncations=None,
             truncation_values=None) -> tf.Tensor:
  """One-step temporal-difference errors.

  delta_t = r_t + discounts_t * V(s_{t+1}) - V(s_t),  with V(s_T) = bootstrap_value and
  V(s_{t+1}) replaced by truncation_values_t at a truncated step.

  Sutton (1988); Sutton & Barto (2018), eq. 6.5.

  Args:
    rewards: `[T, B]`, `r_t` for `s_t -> s_{t+1}`.
    discounts: `[T, B]`, `gamma * (1 - terminal_{t+1})`.
    values: `[T, B]`, `V(s_t)`.
    bootstrap_value: `[B]`, `V(s_T)`.
    truncations: optional `[T, B]`, 1 where a time limit cut the episode after step `t`.
    truncation_values: optional `[T, B]`, value of the real final observation there.

  Returns:
    `[T, B]` TD errors `delta_t`. Differentiable in all inputs (no stop-gradient).
  """
  fn = "td_error"
  (rewards, discounts, values, bootstrap_value, truncated,
   truncation_values) = _sequence.prepare(fn, rewards, discounts, values, bootstrap_value,
                                          truncations, truncation_values)
  next_values = _sequence.next_values(values, bootstrap_value, truncated, truncation_values)
  return rewards + discounts * next_values - values


def n_step_returns(rewards, discounts, values, bootstrap_value, *, n: int, truncations=None,
                   truncation_values=None) -> tf.Tensor:
  """n-step bootstrapped returns.

  G^(n)_t = sum_{k=0}^{m-1} (prod_{j<k} discounts_{t+j}) r_{t+k}
            + (prod_{j<m} discounts_{t+j}) V(s_{t+m}),   m = min(n, T - t),
  with V(s_T) = bootstrap_value. If a truncation at step t+k (k < m) comes first, the sum stops
  there and bootstraps with truncation_values_{t+k}. Computed by the recursion
  G^(i)_t = r_t + discounts_t * G^(i-1)_{t+1} (G^(0) = V) applied min(n, T) times.

  Sutton & Barto (2018), eq. 7.1; the D4PG / A3C n-step target.

  Args:
    rewards: `[T, B]`, `r_t` for `s_t -> s_{t+1}`.
    discounts: `[T, B]`, `gamma * (1 - terminal_{t+1})`.
    values: `[T, B]`, `V(s_t)` (the bootstrap values of the shorter sums).
    bootstrap_value: `[B]`, `V(s_T)`.
    n: positive Python int, the number of steps.
    truncations: optional `[T, B]`, 1 where a time limit cut the episode after step `t`.
    truncation_values: optional `[T, B]`, value of the real final observation there.

  Returns:
    `[T, B]` n-step returns. Differentiable in all inputs (no stop-gradient).
  """
  fn = "n_step_returns"
  if isinstance(n, bool) or not isinstance(n, int) or n < 1:
    raise ValueError(f"{fn}: `n` must be a positive Python int, got {n!r}.")
  (rewards, discounts, values, bootstrap_value, truncated,
   truncation_values) = _sequence.prepare(fn, rewards, discounts, values, bootstrap_value,
                                          truncations, truncation_values)
  num_steps = rewards.shape[0]
  # The recursion reaches the full return after T applications; more would change nothing.
  iterations = n if num_steps is None else min(n, num_steps)
  returns = values
  for _ in range(iterations):  # over n (a static hyper-parameter), never over T
    next_returns = _sequence.shift_in(returns, bootstrap_value)
    if truncated is not None:
      next_returns = tf.where(truncated, truncation_values, next_returns)
    returns = rewards + discounts * next_returns
  return returns


def generalized_advantage_estimation(rewards, discounts, values, bootstrap_value, *, lambda_,
                                     truncations=None, truncation_values=None) -> tf.Tensor:
  """Generalized advantage estimation, GAE(gamma, lambda).

  delta_t = r_t + discounts_t * V(s_{t+1}) - V(s_t)
  A_t     = delta_t + discounts_t * lambda_ * A_{t+1},     A_T = 0,
  i.e. A_t = sum_l (prod_{j<l} discounts_{t+j} lambda_) delta_{t+l} (Schulman et al. 2016,
  "High-Dimensional Continuous Control Using Generalized Advantage Estimation",
  arXiv:1506.02438, eqs. 11-16). At a truncated step delta_t bootstraps with
  truncation_values_t and A_t = delta_t (the trace is cut). lambda_=0 gives the TD error,
  lambda_=1 gives the discounted return minus V(s_t). On-policy estimator (PPO, TRPO, A2C).

  Args:
    rewards: `[T, B]`, `r_t` for `s_t -> s_{t+1}`.
    discounts: `[T, B]`, `gamma * (1 - terminal_{t+1})`.
    values: `[T, B]`, `V(s_t)`.
    bootstrap_value: `[B]`, `V(s_T)`.
    lambda_: scalar (Python float or tensor) or `[T, B]` tensor, the trace decay.
    truncations: optional `[T, B]`, 1 where a time limit cut the episode after step `t`.
    truncation_values: optional `[T, B]`, value of the real final observation there.

  Returns:
    `[T, B]` advantages `A_t`. Differentiable in all inputs (no stop-gradient); the policy
    losses stop the gradient into advantages.
  """
  fn = "generalized_advantage_estimation"
  return _gae(fn, rewards, discounts, values, bootstrap_value, lambda_, truncations,
              truncation_values)[0]


def generalized_advantage_estimation_with_targets(
    rewards, discounts, values, bootstrap_value, *, lambda_, truncations=None,
    truncation_values=None) -> AdvantagesAndTargets:
  """GAE advantages and the matching critic targets `A_t + V(s_t)` (the lambda-return).

  Same estimator, arguments and alignment as `generalized_advantage_estimation`
  (Schulman et al. 2016, arXiv:1506.02438, eqs. 11-16).

  Returns:
    `AdvantagesAndTargets(advantages [T, B], value_targets [T, B])`.
  """
  fn = "generalized_advantage_estimation_with_targets"
  advantages, values = _gae(fn, rewards, discounts, values, bootstrap_value, lambda_,
                            truncations, truncation_values)
  return AdvantagesAndTargets(advantages=advantages, value_targets=advantages + values)


def _gae(fn, rewards, discounts, values, bootstrap_value, lambda_, truncations,
         truncation_values) -> Tuple[tf.Tensor, tf.Tensor]:
  (rewards, discounts, values, bootstrap_value, truncated,
   truncation_values) = _sequence.prepare(fn, rewards, discounts, values, bootstrap_value,
                                          truncations, truncation_values)
  lambda_ = _checks.to_float(fn, "lambda_", lambda_, rewards.dtype)
  _checks.check_rank(fn, "lambda_", lambda_, (0, 2), "(scalar or [T, B])")
  next_values = _sequence.next_values(values, bootstrap_value, truncated, truncation_values)
  deltas = rewards + discounts * next_values - values
  coef = _sequence.continuation(discounts, truncated) * lambda_
  advantages = _sequence.reverse_accumulate(deltas, coef, tf.zeros_like(bootstrap_value))
  return advantages, values


def lambda_returns(rewards, discounts, values, bootstrap_value, *, lambda_, truncations=None,
                   truncation_values=None) -> tf.Tensor:
  """TD(lambda) returns.

  G^lambda_t = r_t + discounts_t * ((1 - lambda_) V(s_{t+1}) + lambda_ G^lambda_{t+1}),
  G^lambda_T = bootstrap_value: the recursive form of the lambda-return (Sutton & Barto 2018,
  section 12.1; Schulman et al. 2016, arXiv:1506.02438, section 5). At a truncated step
  G^lambda_t = r_t + discounts_t * truncation_values_t. Equals V(s_t) + GAE(gamma, lambda)_t;
  lambda_=0 is the one-step TD target, lambda_=1 the bootstrapped Monte Carlo return.

  Args:
    rewards: `[T, B]`, `r_t` for `s_t -> s_{t+1}`.
    discounts: `[T, B]`, `gamma * (1 - terminal_{t+1})`.
    values: `[T, B]`, `V(s_t)`.
    bootstrap_value: `[B]`, `V(s_T)`.
    lambda_: scalar (Python float or tensor) or `[T, B]` tensor.
    truncations: optional `[T, B]`, 1 where a time limit cut the episode after step `t`.
    truncation_values: optional `[T, B]`, value of the real final observation there.

  Returns:
    `[T, B]` lambda-returns. Differentiable in all inputs (no stop-gradient).
  """
  fn = "lambda_returns"
  advantages, values = _gae(fn, rewards, discounts, values, bootstrap_value, lambda_,
                            truncations, truncation_values)
  return advantages + values
