"""A2C learner: one gradient step per [T, B] rollout, compiled as a single tf.function."""

from typing import Dict, NamedTuple, Optional

import tensorflow as tf

from agents.a2c import config as config_lib
from agents.common import config as common_config
from agents.common import distribute
from agents.common import learning
from agents.common import rollout as rollout_lib
from agents.common import running_stats
import losses


class _Batch(NamedTuple):
  """Flat [N] training batch built from a [T, B] rollout (N = T * B)."""
  observation: tf.Tensor
  action: tf.Tensor
  advantage: tf.Tensor
  value_target: tf.Tensor


class A2CLearner(learning.RolloutLearner):
  """Updates an actor-critic network with synchronous advantage actor-critic (A2C).

  Mnih et al. 2016, arXiv:1602.01783, Algorithm S3 with the N actor-learners in lockstep: on a
  rollout of t_max steps from N environments (on-policy: collected with the current
  parameters),

    R_t = r_t + gamma_t R_{t+1},  R_{t_max} = V(s_{t_max})   (or GAE: R_t = A_t + V(s_t)),
    A_t = R_t - V(s_t),
    L = mean_{t,b} [ -log pi(a_t|s_t) stop_gradient(A_t) + c_v 0.5 (R_t - V(s_t))^2
                     - c_e H(pi(.|s_t)) ],

  with gamma_t = gamma (1 - terminated_t); at a time-limit cut the return bootstraps from the
  value of the real final observation. The mean is over all N * t_max transitions
  (`tf.nn.compute_average_loss` with that global batch size), so under a distribution strategy
  each replica takes an equal slice of the batch, gradients are summed across replicas, clipped
  by their global norm and applied once, as one update of the shared parameters.

  The learner owns its optimizer (`config.optimizer`); with `anneal_learning_rate` the
  learning rate decays linearly to 0 as the updates done approach `horizon` env steps.

  Args:
    network: an `ActorCritic` (observations -> (distribution, value)), built in strategy scope.
    config: the `A2CConfig`.
    strategy: the `tf.distribute.Strategy` the variables were created under.
    horizon: env steps (of this process) over which the learning rate anneals.
    observation_normalizer: running observation statistics shared with the actor, or None.

  Raises:
    ConfigError: if the batch N * t_max does not split evenly across the replicas.
  """

  def __init__(self, network, config: config_lib.A2CConfig, strategy: tf.distribute.Strategy,
               horizon: int,
               observation_normalizer: Optional[running_stats.RunningMeanStd] = None):
    super().__init__(network, config, strategy, horizon, observation_normalizer,
                     name='a2c_learner')
    learning.check_no_process_state(strategy, config, 'normalize_observations')
    replicas = learning.local_replicas(strategy)
    if config.batch_size % replicas:
      raise common_config.ConfigError(
          config, 'num_envs', f'num_envs * num_steps_per_env = {config.batch_size} must be a '
          f'multiple of the number of replicas ({replicas})')
    # Sizes in the config are per process; with W workers one update averages over all W
    # workers' batches.
    self._global_batch = config.batch_size * distribute.num_workers(strategy)
    with strategy.scope():
      self._optimizer = self._make_optimizer()
    # Without a distribution strategy, targets and the optimizer step are one XLA program.
    # Under a strategy the targets are computed once in cross-replica context on the whole
    # rollout (they need every step of each environment) and only the step is replicated.
    self._fused_step = None
    if distribute.is_default_strategy(strategy):
      self._fused_step = tf.function(self._targets_and_step, jit_compile=config.jit_compile,
                                     autograph=False)

  def _make_optimizer(self) -> tf.keras.optimizers.Optimizer:
    """The optimizer `config.optimizer` names at the learner's learning rate (schedule), built
    for the network (in strategy scope)."""
    config = self._config
    optimizer = learning.make_optimizer(
        config.optimizer, self._learning_rate, epsilon=config.optimizer_epsilon,
        rmsprop_decay=config.rmsprop_decay)
    optimizer.build(self._network.trainable_variables)
    return optimizer

  def step(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    """Takes one gradient step on `rollout` and returns its training diagnostics.

    Args:
      rollout: a [T, B] `Rollout` collected with the current parameters.

    Returns:
      A flat dict of scalars: loss, policy_loss, value_loss, entropy, grad_norm (before
      clipping), advantage (mean), explained_variance (of the targets by the rollout's
      values) and learning_rate (the one used).
    """
    return self._update(rollout)

  # Graph code is written without AutoGraph (no Python control flow on tensors): tracing then
  # does not convert every function it reaches (losses, Keras, TFP), which is much faster.
  @tf.function(autograph=False)
  def _update(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    learning_rate = learning.current_learning_rate(self._learning_rate)
    if self._fused_step is not None:
      metrics = self._strategy.run(self._fused_step, args=(rollout,))
    else:
      batch = self._make_batch(rollout)
      per_replica = learning.shard(batch, self._strategy)
      metrics = self._strategy.run(self._train_step, args=(per_replica,))
      metrics = {k: self._strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                 for k, v in metrics.items()}
      metrics.update(_target_metrics(batch, rollout))
    self._after_step()
    self._count_update(rollout)
    metrics['learning_rate'] = learning_rate
    return metrics

  def _after_step(self) -> None:
    """Graph work after the (possibly XLA-compiled) step, outside XLA (none for A2C)."""

  def _targets_and_step(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    batch = self._make_batch(rollout)
    metrics = self._train_step(batch)
    metrics.update(_target_metrics(batch, rollout))
    return metrics

  def _make_batch(self, rollout: rollout_lib.Rollout) -> _Batch:
    """Advantages and value targets on the whole [T, B] rollout, flattened to [T * B]."""
    config = self._config
    discounts = config.discount * (1.0 - rollout.terminated)
    args = (rollout.reward, discounts, rollout.value, rollout.bootstrap_value)
    truncation = dict(truncations=rollout.truncated, truncation_values=rollout.truncation_value)
    if config.advantage_estimator == 'n_step':
      # n = t_max: every step's return runs to the end of the segment, as in Algorithm S3.
      value_targets = losses.returns.n_step_returns(*args, n=config.num_steps_per_env,
                                                    **truncation)
      advantages = value_targets - rollout.value
    else:
      advantages, value_targets = learning.gae(rollout, discount=config.discount,
                                               lambda_=config.gae_lambda)
    flat = learning.flatten_time_batch
    return _Batch(observation=flat(rollout.observation), action=flat(rollout.action),
                  advantage=flat(advantages), value_target=flat(value_targets))

  def _train_step(self, batch: _Batch) -> Dict[str, tf.Tensor]:
    """One optimizer step on this replica's slice of the batch (the global gradient)."""
    config = self._config
    replicas = self._strategy.num_replicas_in_sync
    mean = lambda x: tf.nn.compute_average_loss(x, global_batch_size=self._global_batch)
    variables = self._network.trainable_variables
    with tf.GradientTape() as tape:
      distribution, value = self._network(self._normalize(batch.observation))
      per_example, policy, critic, entropy = actor_critic_loss(
          distribution, value, batch.action, batch.advantage, batch.value_target, config)
      loss = mean(per_example)
    gradients = tape.gradient(loss, variables)
    grad_norm = learning.apply_global_gradients(self._optimizer, gradients, variables,
                                                self._strategy, config.max_grad_norm)
    return {
        'loss': loss,
        'policy_loss': mean(policy.loss),
        'value_loss': mean(critic.loss),
        'entropy': mean(entropy.extra.entropy),
        'grad_norm': grad_norm / replicas,  # Every replica holds the global norm.
    }


def actor_critic_loss(distribution, value: tf.Tensor, action: tf.Tensor, advantage: tf.Tensor,
                      value_target: tf.Tensor, config):
  """The advantage actor-critic loss of A2C and A3C (Mnih et al. 2016, Algorithm S3), per example.

    -log pi(a|s) stop_gradient(A) + c_v 0.5 (R - V(s))^2 - c_e H(pi(.|s))

  Args:
    distribution: pi(.|s), batch shape [N].
    value: [N] V(s).
    action: [N, ...] actions taken.
    advantage: [N] A (no gradient flows into it).
    value_target: [N] R.
    config: has `value_coef` (c_v) and `entropy_coef` (c_e).

  Returns:
    (per-example loss [N], and the policy, value and entropy `LossOutput`s).
  """
  policy = losses.policy_gradient.policy_gradient_loss(distribution.log_prob(action), advantage)
  critic = losses.value.value_loss(value, value_target)
  entropy = losses.policy_gradient.entropy_loss(distribution.entropy())
  per_example = policy.loss + config.value_coef * critic.loss + config.entropy_coef * entropy.loss
  return per_example, policy, critic, entropy


def _target_metrics(batch: _Batch, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
  return {
      'advantage': tf.reduce_mean(batch.advantage),
      'explained_variance': learning.explained_variance(batch.value_target,
                                                        tf.reshape(rollout.value, [-1])),
  }

