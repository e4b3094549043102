"""D4PG learner: the distributional critic's cross-entropy to the projected N-step target, the
deterministic policy gradient through the critic's mean, soft target updates."""

from typing import Dict

import tensorflow as tf

from agents.common import replay
from agents.ddpg import learner as ddpg_learner
import losses


class D4PGLearner(ddpg_learner.DeterministicPolicyGradientLearner):
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

  Built as DDPG's learner (its constructor, optimizers and soft target updates; D4PGConfig keeps
  DDPG's single critic, no policy delay and no target smoothing), with the critic's and the
  actor's losses of D4PG.
  """

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
