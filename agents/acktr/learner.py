"""ACKTR learner: A2C's update with a K-FAC natural-gradient step in a trust region."""

from typing import Dict, Optional

import tensorflow as tf

from agents.a2c import learner as a2c_learner
from agents.acktr import config as config_lib
from agents.common import config as common_config
from agents.common import running_stats
from networks import kfac


class ACKTRLearner(a2c_learner.A2CLearner):
  """Updates an actor-critic network with ACKTR (Wu et al. 2017, arXiv:1708.05144).

  The loss, targets and rollouts are A2C's (`A2CLearner`):
  L = mean[-log pi(a|s) A + c_v 0.5 (R - V(s))^2 - c_e H(pi(.|s))]. The step is K-FAC's
  (`networks.kfac.KFAC`) for actor and critic together: in the same forward pass the Kronecker
  factors of every dense layer are estimated from the log-likelihood of a sample of the joint
  predictive distribution,

    log pi(a~|s) + log N(v~; V(s), 1),   a~ ~ pi(.|s),  v~ = V(s) + eps,  eps ~ N(0, 1),

  so the critic's block is its Gauss-Newton matrix (sec. 3.2); the natural gradient U of the
  (clipped) gradient of L is taken with step eta = min(eta_max, sqrt(2 delta / U^T F U))
  (sec. 3.1) through momentum. The factors' eigendecompositions are recomputed after each
  `inverse_every`-th update, outside the compiled step, and used from the next update on (the
  first update is a plain gradient step). eta_max decays linearly to 0 over `horizon` env steps with
  `anneal_learning_rate`. The samples come from a checkpointed generator seeded with `fisher_seed`.

  K-FAC keeps its statistics per replica, so ACKTR runs with one replica.

  Args:
    network: an `ActorCritic` built from `networks.kfac.Dense` layers (every network of
      `networks/` is), created in strategy scope.
    config: the `ACKTRConfig`.
    strategy: the `tf.distribute.Strategy` the variables were created under (one replica).
    horizon: env steps over which eta_max anneals.
    observation_normalizer: running observation statistics shared with the actor, or None.
    fisher_seed: seeds the Fisher's samples.

  Raises:
    ConfigError: naming the run's `strategy` if it has more than one replica.
  """

  def __init__(self, network, config: config_lib.ACKTRConfig, strategy: tf.distribute.Strategy,
               horizon: int,
               observation_normalizer: Optional[running_stats.RunningMeanStd] = None,
               fisher_seed: int = 0):
    if strategy.num_replicas_in_sync > 1:
      raise common_config.ConfigError(
          'RunSettings', 'strategy', f'ACKTR keeps its K-FAC statistics in one replica; the '
          f'strategy has {strategy.num_replicas_in_sync} (use default or one_device)', value=None)
    with strategy.scope():
      self._fisher_rng = tf.random.Generator.from_seed(fisher_seed)
    super().__init__(network, config, strategy, horizon,
                     observation_normalizer=observation_normalizer)

  def _make_optimizer(self) -> kfac.KFAC:
    config = self._config
    return kfac.KFAC(self._network.trainable_variables, kfac.dense_layers(self._network),
                     learning_rate=self._learning_rate, momentum=config.momentum,
                     damping=config.damping, stat_decay=config.stat_decay,
                     trust_region=config.trust_region, inverse_every=config.inverse_every)

  def _after_step(self) -> None:
    # Eigendecompositions outside XLA (see `KFAC.refresh_inverses`); the next step uses them.
    self._optimizer.refresh_inverses()

  def _train_step(self, batch) -> Dict[str, tf.Tensor]:
    """One K-FAC step on the flat batch A2C's `_make_batch` builds."""
    config = self._config
    batch_size = tf.cast(tf.shape(batch.advantage)[0], tf.float32)
    observation = self._normalize(batch.observation)
    variables = self._network.trainable_variables
    action_seed, noise_seed = tf.unstack(tf.cast(self._fisher_rng.make_seeds(2), tf.int32),
                                         axis=1)
    with tf.GradientTape(persistent=True) as tape:
      with self._optimizer.capture(tape) as capture:
        distribution, value = self._network(observation)
      per_example, policy, critic, entropy = a2c_learner.actor_critic_loss(
          distribution, value, batch.action, batch.advantage, batch.value_target, config)
      loss = tf.reduce_sum(per_example) / batch_size
      sampled_action = tf.stop_gradient(distribution.sample(seed=action_seed))
      sampled_value = tf.stop_gradient(
          value + tf.random.stateless_normal(tf.shape(value), seed=noise_seed))
      sampled_log_likelihood = tf.reduce_sum(
          distribution.log_prob(sampled_action) - 0.5 * tf.square(sampled_value - value))
    self._optimizer.update_statistics(
        capture, tape.gradient(sampled_log_likelihood, capture.perturbations))
    gradients = tape.gradient(loss, variables)
    grad_norm = tf.linalg.global_norm(gradients)
    if config.max_grad_norm > 0:
      gradients, _ = tf.clip_by_global_norm(gradients, config.max_grad_norm,
                                            use_norm=grad_norm)
    step = self._optimizer.apply_gradients(gradients)
    mean = lambda x: tf.reduce_sum(x) / batch_size
    return {
        'loss': loss,
        'policy_loss': mean(policy.loss),
        'value_loss': mean(critic.loss),
        'entropy': mean(entropy.extra.entropy),
        'grad_norm': grad_norm,
        'step_size': step['step_size'],
        'kl_model': 0.5 * tf.square(step['step_size']) * step['quadratic'],
    }
