"""D4PG learner: the distributional critic's cross-entropy to the projected N-step target, the
deterministic policy gradient through the critic's mean, soft target updates."""

from typing import Dict

import tensorflow as tf

from agents.common import off_policy_learner
from agents.common import replay
from agents.d4pg import config as config_lib
import losses


class D4PGLearner(off_policy_learner.OffPolicyLearner):
  """Updates a deterministic actor and a categorical critic (Barth-Maron et al. 2018).

  Every update, on a batch of N-step transitions (s, a, R, d, s') from replay (d = gamma^N,
  0 at terminations):
    p' = softmax Z_w'(s', mu'(s'))                          (the target networks)
    critic: minimize mean_i w_i CE(Phi(R + d z, p'), softmax Z_w(s, a))   (eq. 7; Phi projects
            onto the support z, `losses.distributional.categorical_td_loss`; w_i the
            importance weights of prioritized replay, 1 without it)
    actor:  minimize -mean Q(s, mu(s)), Q = sum_j z_j softmax(Z_w(s, mu(s)))_j  (eq. 6)
    targets: theta' <- tau theta + (1 - tau) theta'
  The actor step follows the critic step and sees the updated critic. With prioritized replay
  the new priority of a transition is its cross-entropy.

  Args:
    actor, critic: the online `DeterministicActor` and `DistributionalQNetwork`.
    target_actor, target_critic: networks of the same architectures holding the targets.
    actor_optimizer, critic_optimizer: Keras optimizers built in the strategy's scope.
    config: the `D4PGConfig`.
    strategy: the strategy the variables were created under.
    seed: the learner's seed (no sampling of its own today).
  """

  delayed_metrics = ('actor_loss', 'actor_grad_norm')

  def __init__(self, actor, critic, target_actor, target_critic,
               actor_optimizer: tf.keras.optimizers.Optimizer,
               critic_optimizer: tf.keras.optimizers.Optimizer,
               config: config_lib.D4PGConfig, strategy: tf.distribute.Strategy, seed: int):
    super().__init__(strategy, config.batch_size, seed, config.jit_compile, name='d4pg_learner',
                     prioritized=config.prioritized_replay,
                     priority_epsilon=config.priority_epsilon)
    self._actor, self._critic = actor, critic
    self._target_actor, self._target_critic = target_actor, target_critic
    self._actor_optimizer = actor_optimizer
    self._critic_optimizer = critic_optimizer
    self._config = config

  def _train(self, transition: replay.Transition) -> Dict[str, tf.Tensor]:
    next_action = self._target_actor(transition.next_observation, training=False)
    target = self._target_critic(transition.next_observation, next_action)
    target_probs = tf.nn.softmax(target.logits)
    with tf.GradientTape() as tape:
      online = self._critic(transition.observation, transition.action)
      out = losses.distributional.categorical_td_loss(
          online.logits, transition.reward, transition.discount, target_probs, online.support)
      critic_loss = self.mean(self.weighted(out.loss, transition))
    norm = self.apply(self._critic_optimizer, tape, critic_loss,
                      self._critic.trainable_variables)
    metrics = {
        'critic_loss': critic_loss,
        'q_value': self.mean(out.extra.q_values),
        'target_q_value': self.mean(out.extra.target_q_values),
        'critic_grad_norm': norm,
    }
    self.add_priorities(metrics, out.loss)
    return metrics

  def _train_delayed(self, transition: replay.Transition) -> Dict[str, tf.Tensor]:
    with tf.GradientTape() as tape:
      action = self._actor(transition.observation, training=True)
      q_value = self._critic(transition.observation, action).q_values()
      actor_loss = self.mean(
          losses.policy_gradient.deterministic_policy_gradient_loss(q_value).loss)
    norm = self.apply(self._actor_optimizer, tape, actor_loss, self._actor.trainable_variables)
    return {'actor_loss': actor_loss, 'actor_grad_norm': norm}

  def _update_targets(self) -> None:
    tau = self._config.tau
    off_policy_learner.soft_update(self._target_actor.variables, self._actor.variables, tau)
    off_policy_learner.soft_update(self._target_critic.variables, self._critic.variables, tau)
