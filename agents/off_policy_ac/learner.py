"""Off-policy actor-critic learner: V-trace critic, importance-weighted policy gradient, one
compiled update per [T, B] rollout of the behaviour policy."""

from typing import Dict, Tuple

from dm_env import specs
import tensorflow as tf

from agents.common import learning
from agents.common import policies
from agents.common import rollout as rollout_lib
from agents.off_policy_ac import config as config_lib
from networks import distributions
import losses


class MixturePolicy(tf.Module):
  """The behaviour policy beta(a|s) = (1 - epsilon) pi(a|s) + epsilon / |A| around the target
  policy pi of an actor-critic network, for the rollout actor; `mode` is pi's greedy action.

  Args:
    network: an `ActorCritic` with a categorical policy.
    observation_spec: fixes the compiled signatures.
    num_actions: |A|.
    epsilon: the uniform policy's share.
    seed: seeds the sampling (a checkpointed generator).
  """

  def __init__(self, network, observation_spec: specs.Array, num_actions: int, epsilon: float,
               seed: int):
    super().__init__(name='mixture_policy')
    self._network = network
    self._num_actions = int(num_actions)
    self._epsilon = float(epsilon)
    self._rng = tf.random.Generator.from_seed(seed)
    self.step = policies.compiled(self._step, observation_spec)
    self.value = policies.compiled(self._value, observation_spec)
    self.mode = policies.compiled(self._mode, observation_spec)

  def behaviour_log_prob(self, logits: tf.Tensor, action: tf.Tensor) -> tf.Tensor:
    """log beta(a|s) [B] from pi's logits [B, |A|] and actions [B]."""
    log_pi = tf.nn.log_softmax(logits)
    log_beta = tf.math.log(
        (1.0 - self._epsilon) * tf.exp(log_pi) + self._epsilon / self._num_actions)
    return tf.gather(log_beta, tf.cast(action, tf.int32), batch_dims=1)

  def _step(self, observation: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(action [B], log beta(action|s) [B], V(s) [B])."""
    distribution, value = self._network(observation)
    logits = distribution.logits_parameter()
    batch = tf.shape(logits)[0]
    seeds = tf.cast(self._rng.make_seeds(3), tf.int32)
    on_policy = tf.random.stateless_categorical(logits, 1, seeds[:, 0])[:, 0]
    uniform = tf.random.stateless_uniform([batch], seeds[:, 1], 0, self._num_actions,
                                          dtype=tf.int64)
    explore = tf.random.stateless_uniform([batch], seeds[:, 2]) < self._epsilon
    action = tf.cast(tf.where(explore, uniform, on_policy), distribution.dtype)
    return action, self.behaviour_log_prob(logits, action), value

  def _value(self, observation: tf.Tensor) -> tf.Tensor:
    return self._network.value(observation)

  def _mode(self, observation: tf.Tensor) -> tf.Tensor:
    return distributions.mode(self._network.policy(observation))


class OffPolicyActorCriticLearner(tf.Module):
  """One gradient step per rollout of the behaviour policy (see `OffPolicyActorCriticConfig`).

  On a [T, B] rollout whose `log_prob` is log beta(a_t|s_t):
    log rho_t = log pi(a_t|s_t) - log beta(a_t|s_t)      (pi with the current parameters)
    v_t       = V-trace targets (rho_bar = c_bar = 1, lambda = trace_lambda)
    A_t       = r_t + gamma_t v_{t+1} - V(s_t)  (= TD error of the v's + v_t - V(s_t))
    L = mean[ -rho_t stop(A_t) log pi(a_t|s_t) + c_v 0.5 (v_t - V(s_t))^2 - c_e H(pi(.|s_t)) ]
  with gamma_t = gamma (1 - terminated); a time-limit cut bootstraps from the value of the
  real final observation (the rollout's `truncation_value`).

  Args:
    network: the `ActorCritic` (pi and V).
    config: the `OffPolicyActorCriticConfig`.
  """

  def __init__(self, network, config: config_lib.OffPolicyActorCriticConfig):
    super().__init__(name='off_policy_actor_critic_learner')
    self._network = network
    self._config = config
    self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')
    self._optimizer = tf.keras.optimizers.Adam(config.learning_rate)
    self._optimizer.build(network.trainable_variables)
    self._update = tf.function(self._update_graph, autograph=False,
                               jit_compile=config.jit_compile)

  def step(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    """One update from a rollout of the behaviour policy; returns its metrics."""
    return self._update(rollout)

  def _update_graph(self, rollout: rollout_lib.Rollout) -> Dict[str, tf.Tensor]:
    config = self._config
    flat = learning.flatten_time_batch
    shape = tf.shape(rollout.reward)
    discounts = config.discount * (1.0 - rollout.terminated)
    truncation = dict(truncations=rollout.truncated,
                      truncation_values=rollout.truncation_value)
    variables = self._network.trainable_variables
    with tf.GradientTape() as tape:
      distribution, value = self._network(flat(rollout.observation))
      log_pi = tf.reshape(distribution.log_prob(flat(rollout.action)), shape)
      value = tf.reshape(value, shape)
      log_rhos = tf.stop_gradient(log_pi) - rollout.log_prob
      targets = losses.off_policy.vtrace(
          log_rhos, discounts, rollout.reward, tf.stop_gradient(value), rollout.bootstrap_value,
          clip_rho_threshold=1.0, clip_c_threshold=1.0, lambda_=config.trace_lambda,
          **truncation).vs
      advantages = (losses.returns.td_error(rollout.reward, discounts, targets,
                                            rollout.bootstrap_value, **truncation)
                    + targets - tf.stop_gradient(value))
      policy = losses.policy_gradient.importance_weighted_policy_gradient_loss(
          log_pi, rollout.log_prob, advantages,
          clip_rho_threshold=config.pg_rho_clip or None)
      critic = losses.value.value_loss(value, targets)
      entropy = tf.reshape(distribution.entropy(), shape)
      loss = tf.reduce_mean(policy.loss + config.value_coef * critic.loss
                            - config.entropy_coef * entropy)
    gradients = tape.gradient(loss, variables)
    grad_norm = learning.apply_global_gradients(self._optimizer, gradients, variables,
                                                max_grad_norm=config.max_grad_norm)
    self.num_updates.assign_add(1)
    return {
        'loss': loss,
        'policy_loss': tf.reduce_mean(policy.loss),
        'value_loss': tf.reduce_mean(critic.loss),
        'entropy': tf.reduce_mean(entropy),
        'importance_weight': tf.reduce_mean(policy.extra.importance_weights),
        'max_importance_weight': tf.reduce_max(policy.extra.importance_weights),
        'advantage': tf.reduce_mean(advantages),
        'grad_norm': grad_norm,
    }
