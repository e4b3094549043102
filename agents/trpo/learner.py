"""TRPO learner: natural-gradient step with a KL trust region, then Adam epochs on the value."""

from typing import Callable, Dict, NamedTuple, Optional, Sequence

import tensorflow as tf

from agents.common import distribute
from agents.common import learning
from agents.common import rollout as rollout_lib
from agents.common import running_stats
from agents.trpo import config as config_lib
import losses


class _Batch(NamedTuple):
  """Flat [N] training batch built from a [T, B] rollout (N = T * B)."""
  observation: tf.Tensor  # Normalized with the statistics the actor used.
  action: tf.Tensor
  advantage: tf.Tensor
  value_target: tf.Tensor
  old_value: tf.Tensor


def _dot(xs: Sequence[tf.Tensor], ys: Sequence[tf.Tensor]) -> tf.Tensor:
  return tf.add_n([tf.reduce_sum(x * y) for x, y in zip(xs, ys)])


class TRPOLearner(tf.Module):
  """Updates a policy with TRPO and fits a separate value function with Adam.

  Schulman et al. 2015, arXiv:1502.05477 (section 6, appendix C), advantages by GAE
  (Schulman et al. 2016, arXiv:1506.02438). On-policy: the rollout was collected by the current
  policy pi_old. One call to `step`:

    A_t = GAE(gamma, lambda) (normalized),  V^targ_t = A_t(unnormalized) + V(s_t),
    L(theta) = mean[exp(log pi_theta(a|s) - log pi_old(a|s)) A],  g = grad L(theta_old),
    F v = grad_theta (grad_theta mean KL[pi_old || pi_theta] . v) + damping v  (double backprop),
    s = CG(F, g) ~ F^-1 g,  beta = sqrt(2 delta / s^T F s),
    theta = theta_old + c^k beta s for the first k < max_backtracks with
      L(theta) - L(theta_old) > max(0, accept_ratio * c^k beta g.s) and
      mean KL[pi_old || pi_theta] <= kl_tolerance * delta;  theta = theta_old if none is.

  Then `value_epochs` epochs of shuffled minibatch Adam steps on 0.5 (V(s) - V^targ)^2.
  The parameter vector is handled as the list of policy variables (the conjugate gradient and
  step-size functions of `losses.trust_region` accept nests); pi_old lives in `old_network`,
  a copy taken at the start of the update, which also restores a rejected step.

  The whole update is one `tf.function` traced without AutoGraph (explicit `tf.while_loop`
  for the conjugate gradient, the line search and the value epochs), and with
  `config.jit_compile` one XLA program.

  Args:
    network: an `ActorCritic` with separate policy and value torsos.
    old_network: a network of the same architecture, overwritten with pi_old at each update.
    config: the `TRPOConfig`.
    strategy: must be the default strategy.
    seed: seeds the value minibatch shuffling.
    observation_normalizer: running observation statistics shared with the actor, or None.

  Raises:
    ConfigError: under a distribution strategy (naming `RunSettings.strategy`).
    ValueError: with a shared torso.
  """

  def __init__(self, network, old_network, config: config_lib.TRPOConfig,
               strategy: tf.distribute.Strategy, seed: int,
               observation_normalizer: Optional[running_stats.RunningMeanStd] = None):
    super().__init__(name='trpo_learner')
    distribute.require_default_strategy(
        strategy, 'TRPO', 'its conjugate-gradient solve and line search run on one device')
    if network.shared_torso:
      raise ValueError('TRPOLearner: the policy and value networks must not share a torso')
    self._network = network
    self._old_network = old_network
    # Adam fits the value function; the policy moves only by the trust-region step.
    self._value_optimizer = tf.keras.optimizers.Adam(learning_rate=config.value_learning_rate,
                                                     epsilon=config.adam_epsilon)
    self._config = config
    self._normalizer = observation_normalizer
    self._seed = tf.constant(seed, tf.int64)
    self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')
    self._value_optimizer.build(network.value_variables)
    self._train = tf.function(self._train_graph, jit_compile=config.jit_compile,
                              autograph=False)

  @property
  def optimizer(self) -> tf.keras.optimizers.Optimizer:
    return self._value_optimizer

  def step(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    """One TRPO iteration on `rollout`; returns its diagnostics.

    Args:
      rollout: a [T, B] `Rollout` collected with the current parameters.

    Returns:
      A flat dict of scalars: surrogate_improvement (L(theta) - L(theta_old) of the step taken,
      0 if rejected), expected_improvement (g^T step predicted for the last step tried),
      kl (mean KL[pi_old || pi] after the update), step_size (c^k beta of the step taken, 0 if
      rejected), line_search_steps (steps tried), accepted (1 or 0), entropy (of the new
      policy), value_loss (mean over the Adam steps), explained_variance (of the value targets
      by the rollout's values), grad_norm (|g|) and cg_residual (|F s - g| / |g|).
    """
    return self._update(rollout)

  # Graph code is written with explicit tf.while_loop / tf.where: without AutoGraph, tracing
  # does not convert every function it reaches (losses, Keras, TFP), which is much faster.
  @tf.function(autograph=False)
  def _update(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    metrics = self._train(rollout)
    if self._normalizer is not None:
      # Statistics move after the update, so the update sees the ones the actor used.
      self._normalizer.update(rollout.observation)
    self.num_updates.assign_add(1)
    return metrics

  def _train_graph(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    batch = self._make_batch(rollout)
    metrics = self._policy_step(batch)
    metrics.update(self._fit_value(batch))
    metrics['explained_variance'] = learning.explained_variance(batch.value_target,
                                                               batch.old_value)
    return metrics

  def _make_batch(self, rollout: rollout_lib.Rollout) -> _Batch:
    config = self._config
    advantages, value_targets = learning.gae(rollout, discount=config.discount,
                                             lambda_=config.gae_lambda)
    if config.normalize_advantages:
      advantages = learning.standardize(advantages)
    flat = learning.flatten_time_batch
    observation = flat(rollout.observation)
    if self._normalizer is not None:
      observation = self._normalizer.normalize(observation)
    return _Batch(observation=observation, action=flat(rollout.action),
                  advantage=flat(advantages), value_target=flat(value_targets),
                  old_value=flat(rollout.value))

  def fisher_vector_product(self, observation: tf.Tensor,
                            old_distribution) -> Callable[[Sequence[tf.Tensor]], list]:
    """v -> (F + damping I) v at the current policy parameters, F the Hessian of mean KL.

    F v = grad_theta (grad_theta mean_s KL[pi_old(.|s) || pi_theta(.|s)] . v), evaluated at
    theta = theta_old where it equals the Fisher information matrix times v.

    Args:
      observation: [N, ...] (normalized) observations s.
      old_distribution: pi_old(.|s), batch shape [N], with constant parameters.
    """
    variables = list(self._network.policy_variables)
    damping = self._config.cg_damping

    def product(vector):
      with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
          kl = tf.reduce_mean(old_distribution.kl_divergence(self._network.policy(observation)))
        grads = inner.gradient(kl, variables,
                               unconnected_gradients=tf.UnconnectedGradients.ZERO)
        grad_dot_vector = _dot(grads, vector)
      hessian_vector = outer.gradient(grad_dot_vector, variables,
                                      unconnected_gradients=tf.UnconnectedGradients.ZERO)
      return [h + damping * v for h, v in zip(hessian_vector, vector)]

    return product

  def _policy_step(self, batch: _Batch) -> Dict[str, tf.Tensor]:
    """The natural-gradient step with backtracking line search (updates the policy in place)."""
    config = self._config
    variables = list(self._network.policy_variables)
    old_variables = list(self._old_network.policy_variables)
    learning.copy_variables(old_variables, variables)
    old_distribution = self._old_network.policy(batch.observation)
    log_mu = tf.stop_gradient(old_distribution.log_prob(batch.action))

    def surrogate_and_kl():
      distribution = self._network.policy(batch.observation)
      policy = losses.trust_region.surrogate_loss(
          distribution.log_prob(batch.action), log_mu, batch.advantage)
      kl = tf.reduce_mean(old_distribution.kl_divergence(distribution))
      return -tf.reduce_mean(policy.loss), kl, distribution

    with tf.GradientTape() as tape:
      surrogate_old, _, _ = surrogate_and_kl()
    gradient = tape.gradient(surrogate_old, variables,
                             unconnected_gradients=tf.UnconnectedGradients.ZERO)
    fisher_product = self.fisher_vector_product(batch.observation, old_distribution)
    direction = losses.trust_region.conjugate_gradient(
        fisher_product, gradient, iterations=config.cg_iterations,
        residual_tol=config.cg_residual_tol)
    fisher_direction = fisher_product(direction)
    beta = losses.trust_region.trust_region_step_size(direction, fisher_direction,
                                                      max_kl=config.max_kl)
    # A zero gradient (e.g. all advantages 0) gives s = 0 and beta = inf: take no step.
    beta = tf.where(tf.math.is_finite(beta), beta, 0.0)
    expected_full = beta * _dot(gradient, direction)
    max_kl = config.kl_tolerance * config.max_kl

    def try_step(fraction):
      for variable, old, d in zip(variables, old_variables, direction):
        variable.assign(old + fraction * beta * d)
      surrogate, kl, _ = surrogate_and_kl()
      return surrogate - surrogate_old, kl

    def body(k, accepted, fraction, improvement, expected, kl):
      del accepted, fraction, improvement, expected, kl
      fraction = tf.pow(tf.constant(config.backtrack_coef), tf.cast(k, tf.float32))
      improvement, kl = try_step(fraction)
      expected = fraction * expected_full
      accepted = tf.reduce_all(tf.stack([
          tf.math.is_finite(improvement), tf.math.is_finite(kl), improvement > 0.0,
          improvement >= config.accept_ratio * expected, kl <= max_kl]))
      return k + 1, accepted, fraction, improvement, expected, kl

    zero = tf.constant(0.0)
    steps, accepted, fraction, improvement, expected, _ = tf.while_loop(
        lambda k, accepted, *_: tf.logical_and(k < config.max_backtracks,
                                               tf.logical_not(accepted)),
        body, (tf.constant(0), tf.constant(False), zero, zero, zero, zero))
    # The accepted step, or theta_old (tf.where: a non-finite direction must not leak in).
    for variable, old, d in zip(variables, old_variables, direction):
      variable.assign(tf.where(accepted, old + fraction * beta * d, old))
    _, kl, distribution = surrogate_and_kl()
    residual = [fv - g for fv, g in zip(fisher_direction, gradient)]
    grad_norm = tf.sqrt(_dot(gradient, gradient))
    return {
        'surrogate_improvement': tf.where(accepted, improvement, zero),
        'expected_improvement': expected,
        'kl': kl,
        'step_size': tf.where(accepted, fraction * beta, zero),
        'line_search_steps': tf.cast(steps, tf.float32),
        'accepted': tf.cast(accepted, tf.float32),
        'entropy': tf.reduce_mean(distribution.entropy()),
        'grad_norm': grad_norm,
        'cg_residual': tf.sqrt(_dot(residual, residual)) / (grad_norm + 1e-12),
    }

  def _fit_value(self, batch: _Batch) -> Dict[str, tf.Tensor]:
    """`value_epochs` epochs of shuffled minibatch Adam steps on the lambda-return targets."""
    config = self._config
    variables = list(self._network.value_variables)
    size = config.value_minibatch_size
    num_minibatches = config.batch_size // size
    num_steps = config.value_epochs * num_minibatches

    def body(counter, total):
      epoch, index = counter // num_minibatches, counter % num_minibatches
      seed = tf.stack([self._seed, self.num_updates * config.value_epochs
                       + tf.cast(epoch, tf.int64)])
      indices = learning.minibatch_indices(seed, config.batch_size, size, index)
      with tf.GradientTape() as tape:
        value = self._network.value(tf.gather(batch.observation, indices))
        loss = tf.reduce_mean(losses.value.value_loss(
            value, tf.gather(batch.value_target, indices)).loss)
      learning.apply_global_gradients(self._value_optimizer, tape.gradient(loss, variables),
                                      variables)
      return counter + 1, total + loss

    _, total = tf.while_loop(lambda counter, _: counter < num_steps, body,
                             (tf.constant(0), tf.constant(0.0)))
    return {'value_loss': total / max(num_steps, 1)}
