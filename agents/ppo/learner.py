"""PPO learner: K epochs of minibatch Adam on one rollout, compiled as a single tf.function."""

from typing import Dict, NamedTuple, Optional

import tensorflow as tf

from agents.common import config as common_config
from agents.common import distribute
from agents.common import learning
from agents.common import rollout as rollout_lib
from agents.common import running_stats
from agents.ppo import config as config_lib
import losses


class _Batch(NamedTuple):
  """Flat [N] training batch built from a [T, B] rollout (N = T * B)."""
  observation: tf.Tensor
  action: tf.Tensor
  log_mu: tf.Tensor
  advantage: tf.Tensor
  value_target: tf.Tensor
  old_value: tf.Tensor


class PPOLearner(learning.RolloutLearner):
  """Updates an actor-critic network with PPO (Schulman et al. 2017, eq. 9).

  The policy term is the clipped surrogate (eq. 7) or, with `objective='kl_penalty'`, the
  KL-penalized surrogate (eq. 8) whose coefficient beta adapts after each update (section 4).

  One call to `step` is one iteration of Algorithm 1 after the rollout: GAE advantages and
  value targets are computed on the whole [T, B] rollout, then K epochs of shuffled minibatches
  are run, every step of which is executed under `strategy.run` on each replica's shard of the
  batch, with per-example losses averaged over the global minibatch size, gradients summed
  across replicas, clipped by global norm and applied by Adam. The whole loop is one graph.

  The learner owns its Adam optimizer; with `anneal_learning_rate` (and `anneal_clip_epsilon`)
  the learning rate (and epsilon) decay linearly to 0 as the updates done approach `horizon`
  env steps (counted from the learner's update count, so a resumed run continues them).

  Args:
    network: an `ActorCritic` (observations -> (distribution, value)), built in strategy scope.
    config: the `PPOConfig`.
    strategy: the `tf.distribute.Strategy` the variables were created under.
    seed: seeds minibatch shuffling.
    horizon: env steps (of this process) over which the schedules anneal.
    observation_normalizer: running observation statistics shared with the actor, or None.
    reward_scaler: a `RewardScaler` applied to the rewards before GAE, or None.
    old_network: for `objective='kl_penalty'`, a network of the same architecture that holds
      pi_old during an update (copied from `network` at its start) for the analytic KL.
  """

  def __init__(self, network, config: config_lib.PPOConfig, strategy: tf.distribute.Strategy,
               seed: int, horizon: int,
               observation_normalizer: Optional[running_stats.RunningMeanStd] = None,
               reward_scaler: Optional[running_stats.RewardScaler] = None,
               old_network=None):
    super().__init__(network, config, strategy, horizon, observation_normalizer,
                     name='ppo_learner')
    if (config.objective == 'kl_penalty') != (old_network is not None):
      raise ValueError("PPOLearner: pass old_network exactly when objective='kl_penalty'")
    learning.check_no_process_state(strategy, config, 'normalize_observations',
                                    'normalize_rewards', 'objective')
    replicas = learning.local_replicas(strategy)
    if config.minibatch_size % replicas or config.batch_size % replicas:
      raise common_config.ConfigError(
          config, 'minibatch_size', f'must be a multiple of the number of replicas ({replicas})')
    # Sizes in the config are per process; with W workers a minibatch step averages over the
    # W minibatches of all workers (Heess et al. 2017's synchronous gradient averaging).
    self._global_minibatch = config.minibatch_size * distribute.num_workers(strategy)
    self._reward_scaler = reward_scaler
    self._old_network = old_network
    self._seed = tf.constant(seed, tf.int64)
    with strategy.scope():
      self.kl_beta = tf.Variable(config.kl_beta, dtype=tf.float32, trainable=False,
                                 name='kl_beta')
      self._optimizer = tf.keras.optimizers.Adam(learning_rate=self._learning_rate,
                                                 epsilon=config.adam_epsilon)
      self._optimizer.build(network.trainable_variables)
    self._num_minibatches = config.batch_size // config.minibatch_size
    self._num_steps = float(config.num_epochs * self._num_minibatches)
    # Without a distribution strategy the whole K-epoch loop (Adam included) is one XLA program.
    # Under a strategy, synchronization points (all-reduce, optimizer) may not sit inside loops
    # or nested functions of the replica function, so the loop runs in cross-replica context and
    # each minibatch step is one `strategy.run`.
    self._fused_epochs = None
    if distribute.is_default_strategy(strategy):
      self._fused_epochs = tf.function(self._epochs_in_replica, jit_compile=config.jit_compile,
                                       autograph=False)

  def step(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    """Runs K epochs over `rollout` and returns the mean training diagnostics.

    Args:
      rollout: a [T, B] `Rollout` collected with the current parameters.

    Returns:
      A flat dict of scalars: loss, policy_loss, value_loss, entropy, approx_kl, clip_fraction,
      ratio, grad_norm, explained_variance, learning_rate, clip_epsilon; with the KL penalty
      also kl (mean KL[pi_old, pi] after the update) and kl_beta (the beta it used).
    """
    return self._update(rollout)

  # Graph code here is written with explicit tf.while_loop: without AutoGraph, tracing does not
  # convert every function it reaches (losses, Keras, TFP), which halves the time to trace.
  @tf.function(autograph=False)
  def _update(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    config = self._config
    learning_rate = learning.current_learning_rate(self._learning_rate)
    epsilon = config.clip_epsilon * (1.0 - self.progress() if config.anneal_clip_epsilon else 1.0)

    if self._old_network is not None:
      learning.copy_variables(self._old_network.variables, self._network.variables)
    batch = self._make_batch(rollout)
    seed = tf.stack([self._seed, self.num_updates])
    per_replica = learning.shard(batch, self._strategy)
    if self._fused_epochs is not None:
      metrics = self._strategy.run(self._fused_epochs, args=(per_replica, epsilon, seed))
    else:
      metrics = self._epochs_across_replicas(per_replica, epsilon, seed)
    if self._old_network is not None:
      # Section 4: d = E[KL[pi_old, pi]] after the epochs drives the next update's beta.
      observation = self._normalize(batch.observation)
      kl = tf.reduce_mean(self._old_network.policy(observation).kl_divergence(
          self._network.policy(observation)))
      metrics['kl'] = kl
      metrics['kl_beta'] = self.kl_beta.read_value()
      self.kl_beta.assign(losses.trust_region.adaptive_kl_coefficient(
          self.kl_beta, kl, target=config.kl_target))
    self._count_update(rollout)

    metrics['explained_variance'] = learning.explained_variance(batch.value_target,
                                                               batch.old_value)
    metrics['learning_rate'] = learning_rate
    metrics['clip_epsilon'] = tf.convert_to_tensor(epsilon)
    return metrics

  def _make_batch(self, rollout: rollout_lib.Rollout) -> _Batch:
    config = self._config
    rewards = rollout.reward
    if self._reward_scaler is not None:
      rewards = self._reward_scaler(rewards, tf.maximum(rollout.terminated, rollout.truncated))
    advantages, value_targets = learning.gae(rollout, discount=config.discount,
                                             lambda_=config.gae_lambda, rewards=rewards)
    if config.normalize_advantages:
      advantages = learning.standardize(advantages)
    flat = learning.flatten_time_batch
    return _Batch(
        observation=flat(rollout.observation), action=flat(rollout.action),
        log_mu=flat(rollout.log_prob), advantage=flat(advantages),
        value_target=flat(value_targets), old_value=flat(rollout.value))

  def _epochs_in_replica(self, batch: _Batch, epsilon: tf.Tensor,
                         seed: tf.Tensor) -> Dict[str, tf.Tensor]:
    """K epochs of minibatch steps, looping inside the (single) replica."""
    return self._loop(lambda epoch, i: self._train_step(batch, epsilon, seed, epoch, i))

  def _epochs_across_replicas(self, per_replica: _Batch, epsilon: tf.Tensor,
                              seed: tf.Tensor) -> Dict[str, tf.Tensor]:
    """K epochs of minibatch steps, one `strategy.run` per step (cross-replica context)."""
    def step(epoch, i):
      metrics = self._strategy.run(self._train_step,
                                   args=(per_replica, epsilon, seed, epoch, i))
      return {k: self._strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
              for k, v in metrics.items()}
    return self._loop(step)

  def _loop(self, step) -> Dict[str, tf.Tensor]:
    """Runs `step(epoch, minibatch)` for K epochs x M minibatches; returns its mean metrics."""
    num_minibatches = tf.constant(self._num_minibatches, tf.int64)

    def body(counter, totals):
      metrics = step(counter // num_minibatches, counter % num_minibatches)
      return counter + 1, {k: totals[k] + metrics[k] for k in totals}

    totals = {name: tf.constant(0.0) for name in _METRICS}
    _, totals = tf.while_loop(lambda counter, _: counter < int(self._num_steps), body,
                              (tf.constant(0, tf.int64), totals))
    return {k: v / self._num_steps for k, v in totals.items()}

  def _train_step(self, batch: _Batch, epsilon: tf.Tensor, seed: tf.Tensor, epoch: tf.Tensor,
                  index: tf.Tensor) -> Dict[str, tf.Tensor]:
    """One Adam step on minibatch `index` of `epoch`, drawn from this replica's shard.

    Each replica shuffles its shard with its own stateless seed, so the global minibatch is
    the union of equal local slices; the gradient is the global one, clipped, applied once.
    """
    config = self._config
    replicas = self._strategy.num_replicas_in_sync
    local = learning.local_replicas(self._strategy)
    local_minibatch = config.minibatch_size // local
    context = tf.distribute.get_replica_context()
    replica_id = tf.cast(context.replica_id_in_sync_group, tf.int64)
    epoch_seed = tf.stack([seed[0], (seed[1] * config.num_epochs + epoch) * replicas + replica_id])
    indices = learning.minibatch_indices(epoch_seed, config.batch_size // local,
                                         local_minibatch, index)
    minibatch = tf.nest.map_structure(lambda x: tf.gather(x, indices), batch)

    gradients, metrics = self._loss_and_gradients(minibatch, epsilon)
    grad_norm = learning.apply_global_gradients(
        self._optimizer, gradients, self._network.trainable_variables, self._strategy,
        config.max_grad_norm)
    metrics['grad_norm'] = grad_norm / replicas  # Every replica holds the global norm.
    return metrics

  def _loss_and_gradients(self, minibatch: _Batch, epsilon: tf.Tensor):
    """This replica's share of the loss gradient, and its share of the diagnostics."""
    config = self._config
    mean = lambda x: tf.nn.compute_average_loss(x, global_batch_size=self._global_minibatch)
    observation = self._normalize(minibatch.observation)
    with tf.GradientTape() as tape:
      distribution, value = self._network(observation)
      log_pi = distribution.log_prob(minibatch.action)
      if self._old_network is None:
        policy = losses.trust_region.clipped_surrogate_loss(
            log_pi, minibatch.log_mu, minibatch.advantage, epsilon=epsilon)
        clip_fraction = policy.extra.clip_fraction
      else:
        kl = self._old_network.policy(observation).kl_divergence(distribution)
        policy = losses.trust_region.kl_penalty_loss(
            log_pi, minibatch.log_mu, minibatch.advantage, kl, beta=self.kl_beta)
        clip_fraction = tf.cast(tf.abs(policy.extra.ratio - 1.0) > epsilon, tf.float32)
      if config.value_clip_epsilon > 0:
        critic = losses.value.value_loss(
            value, minibatch.value_target, old_values=minibatch.old_value,
            clip_epsilon=config.value_clip_epsilon)
      else:
        critic = losses.value.value_loss(value, minibatch.value_target)
      entropy = losses.policy_gradient.entropy_loss(distribution.entropy())
      per_example = (policy.loss + config.value_coef * critic.loss
                     + config.entropy_coef * entropy.loss)
      loss = mean(per_example)
    gradients = tape.gradient(loss, self._network.trainable_variables)
    metrics = {
        'loss': loss,
        'policy_loss': mean(policy.loss),
        'value_loss': mean(critic.loss),
        'entropy': mean(entropy.extra.entropy),
        'approx_kl': mean(policy.extra.approx_kl),
        'clip_fraction': mean(clip_fraction),
        'ratio': mean(policy.extra.ratio),
    }
    return gradients, metrics


_METRICS = ('loss', 'policy_loss', 'value_loss', 'entropy', 'approx_kl', 'clip_fraction', 'ratio',
            'grad_norm')

