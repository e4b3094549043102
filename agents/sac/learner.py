"""SAC learner (v1 and v2): soft Q regression, reparameterized policy loss, temperature,
Polyak-averaged targets; one compiled function per update."""

from typing import Dict

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import off_policy_learner
from agents.common import replay
from agents.sac import config as config_lib
import losses


class SACLearner(off_policy_learner.OffPolicyLearner):
  """Updates SAC's policy, twin critics, temperature (v2) or value network (v1).

  Per update, on transitions (s, a, R, d, s') from replay, with fresh reparameterized samples
  a_s ~ pi(.|s) and a' ~ pi(.|s'):
    v2: y = R + d (min_i Q'_i(s', a') - alpha log pi(a'|s'))     (`losses.soft.soft_bellman_target`)
    v1: y = R + d V'(s');  V(s) regressed onto min_i Q_i(s, a_s) - alpha log pi(a_s|s)
        (`losses.soft.soft_value_loss`)
    critics: 0.5 (Q_i(s, a) - y)^2 for i = 1, 2                    (`losses.soft.soft_q_loss`)
    policy: alpha log pi(a_s|s) - min_i Q_i(s, a_s)                (`losses.soft.soft_policy_loss`)
    alpha (v2 with auto_alpha): -alpha (log pi(a_s|s) + H_target)  (`losses.soft.temperature_loss`)
    targets: theta' <- tau theta + (1 - tau) theta' (the critics in v2, V in v1).
  All gradients are taken at the same parameters, then applied. With prioritized replay the
  critic losses are weighted by the importance weights and |y - Q_1(s, a)| gives new priorities.

  Args:
    policy: a `critics.StochasticActor`.
    critic: a `critics.TwinQNetwork`.
    target_critic: the v2 target critics (None in v1).
    value, target_value: v1's soft value network and its target (None in v2).
    log_alpha: a scalar variable, log of the temperature.
    optimizers: dict of Keras optimizers: 'policy', 'critic', and 'alpha' (v2, auto_alpha) or
      'value' (v1).
    action_spec: gives |A| for the default target entropy.
    config: the `SACConfig`.
    strategy: the strategy the variables were created under.
    seed: seeds the policy samples.
  """

  def __init__(self, policy, critic, target_critic, value, target_value,
               log_alpha: tf.Variable, optimizers: Dict[str, tf.keras.optimizers.Optimizer],
               action_spec: specs.BoundedArray, config: config_lib.SACConfig,
               strategy: tf.distribute.Strategy, seed: int):
    super().__init__(strategy, config.batch_size, seed, config.jit_compile, name='sac_learner',
                     prioritized=config.prioritized_replay,
                     priority_epsilon=config.priority_epsilon)
    if (config.version == 'v1') != (value is not None and target_value is not None):
      raise ValueError('SACLearner: pass value and target_value exactly for version v1')
    if (config.version == 'v2') != (target_critic is not None):
      raise ValueError('SACLearner: pass target_critic exactly for version v2')
    self._policy, self._critic, self._target_critic = policy, critic, target_critic
    self._value, self._target_value = value, target_value
    self.log_alpha = log_alpha
    self._optimizers = optimizers
    self._config = config
    self._target_entropy = float(-np.prod(action_spec.shape) if config.target_entropy is None
                                 else config.target_entropy)

  def _sample(self, observation: tf.Tensor, salt: int):
    """A reparameterized action [B, A] and its log-probability [B]."""
    distribution = self._policy(observation)
    return distribution.experimental_sample_and_log_prob(seed=self.sampling_seed(salt))

  def _train(self, transition: replay.Transition) -> Dict[str, tf.Tensor]:
    config = self._config
    observation, next_observation = transition.observation, transition.next_observation
    alpha = tf.exp(self.log_alpha)
    metrics = {}

    if config.version == 'v2':
      next_action, next_log_pi = self._sample(next_observation, 0)
      targets = losses.soft.soft_bellman_target(
          transition.reward, transition.discount,
          *self._target_critic(next_observation, next_action), next_log_pi, alpha=alpha)
    else:
      targets = tf.stop_gradient(transition.reward +
                                 transition.discount * self._target_value(next_observation))

    with tf.GradientTape(persistent=True) as tape:
      q1, q2 = self._critic(observation, transition.action)
      critic_loss = self.mean(self.weighted(losses.soft.soft_q_loss(q1, targets).loss +
                                            losses.soft.soft_q_loss(q2, targets).loss,
                                            transition))
      action, log_pi = self._sample(observation, 1)
      policy_q = tf.minimum(*self._critic(observation, action))
      policy_loss = self.mean(losses.soft.soft_policy_loss(log_pi, policy_q, alpha=alpha).loss)
      if config.version == 'v1':
        value_output = losses.soft.soft_value_loss(self._value(observation), policy_q, log_pi,
                                                   alpha=alpha)
        value_loss = self.mean(value_output.loss)
      if config.auto_alpha:
        alpha_output = losses.soft.temperature_loss(self.log_alpha, log_pi,
                                                    target_entropy=self._target_entropy)
        alpha_loss = self.mean(alpha_output.loss)

    metrics['critic_grad_norm'] = self.apply(self._optimizers['critic'], tape, critic_loss,
                                             self._critic.trainable_variables)
    metrics['policy_grad_norm'] = self.apply(self._optimizers['policy'], tape, policy_loss,
                                             self._policy.trainable_variables)
    if config.version == 'v1':
      self.apply(self._optimizers['value'], tape, value_loss, self._value.trainable_variables)
      metrics['value_loss'] = value_loss
    if config.auto_alpha:
      self.apply(self._optimizers['alpha'], tape, alpha_loss, [self.log_alpha])
      metrics['alpha_loss'] = alpha_loss
    del tape
    metrics.update(critic_loss=critic_loss, policy_loss=policy_loss, alpha=alpha,
                   entropy=self.mean(-log_pi), q_value=self.mean(q1))
    self.add_priorities(metrics, targets - q1)
    return metrics

  def _update_targets(self) -> None:
    if self._config.version == 'v2':
      off_policy_learner.soft_update(self._target_critic.variables, self._critic.variables,
                                     self._config.tau)
    else:
      off_policy_learner.soft_update(self._target_value.variables, self._value.variables,
                                     self._config.tau)
