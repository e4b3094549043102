"""DDPG and TD3 learner: critic regression onto target-network values, deterministic policy
gradient for the actor, soft target updates; one compiled function per update."""

from typing import Dict

from dm_env import specs
import tensorflow as tf

from agents.common import off_policy_learner
from agents.common import replay
from agents.ddpg import config as config_lib
import losses
from networks import heads


class DeterministicPolicyGradientLearner(off_policy_learner.OffPolicyLearner):
  """Updates a deterministic actor and its critic(s) (DDPG, Lillicrap et al. 2015; TD3,
  Fujimoto et al. 2018).

  Every update, on a batch of transitions (s, a, R, d, s') from replay:
    a~ = mu'(s') (+ clip(N(0, target_noise^2), -c, c), clipped to the bounds; TD3 eq. 15)
    y  = R + d Q'(s', a~)                           (DDPG eq. 3; d = gamma^n, 0 at terminations)
       = R + d min(Q'_1(s', a~), Q'_2(s', a~))     (with twin critics, TD3 eq. 10)
    critic: minimize mean 0.5 (Q_i(s, a) - y)^2 (+ L2 weight decay on the kernels)
  and every `policy_delay`-th update (TD3 section 5.2; DDPG: every update):
    actor: minimize -mean Q_1(s, mu(s))  (deterministic policy gradient, Silver et al. 2014)
    targets: theta' <- tau theta + (1 - tau) theta' for the actor and every critic.
  The actor step follows the critic step and sees the updated critic (TD3 Algorithm 1).
  With prioritized replay the critic losses are weighted by the importance weights and
  |y - Q_1(s, a)| gives the sampled transitions' new priorities.

  Args:
    actor, critic: the online networks (the critic is a `TwinQNetwork` with `twin_critics`).
    target_actor, target_critic: networks of the same architectures holding the targets.
    actor_optimizer, critic_optimizer: Keras optimizers built in the strategy's scope.
    action_spec: the bounds for target-action clipping.
    config: the `DDPGConfig` (or TD3's).
    strategy: the strategy the variables were created under.
    seed: seeds target policy smoothing.
  """

  def __init__(self, actor, critic, target_actor, target_critic,
               actor_optimizer: tf.keras.optimizers.Optimizer,
               critic_optimizer: tf.keras.optimizers.Optimizer,
               action_spec: specs.BoundedArray, config: config_lib.DDPGConfig,
               strategy: tf.distribute.Strategy, seed: int):
    super().__init__(strategy, config.batch_size, seed, config.jit_compile,
                     name='deterministic_policy_gradient_learner', delay=config.policy_delay,
                     prioritized=config.prioritized_replay,
                     priority_epsilon=config.priority_epsilon)
    self._actor, self._critic = actor, critic
    self._target_actor, self._target_critic = target_actor, target_critic
    self._actor_optimizer = actor_optimizer
    self._critic_optimizer = critic_optimizer
    self._config = config
    low, high = heads.action_bounds(action_spec)
    self._low, self._high = tf.constant(low), tf.constant(high)
    self._half_range = tf.constant((high - low) / 2.0)
    self.delayed_metrics = ('actor_loss', 'actor_grad_norm')
    self._critic_kernels = [v for v in critic.trainable_variables if 'kernel' in v.name]

  def _q(self, critic, observation, action, training):
    """Q values as a list of [B] tensors (one per critic)."""
    q = critic(observation, action, training=training)
    return list(q) if self._config.twin_critics else [q]

  def _train(self, transition: replay.Transition) -> Dict[str, tf.Tensor]:
    config = self._config
    observation, action = transition.observation, transition.action
    next_observation = transition.next_observation

    next_action = self._target_actor(next_observation, training=False)
    if config.target_noise > 0:
      noise = tf.random.stateless_normal(tf.shape(next_action), self.sampling_seed(0))
      noise = tf.clip_by_value(config.target_noise * noise, -config.target_noise_clip,
                               config.target_noise_clip)
      next_action = tf.clip_by_value(next_action + self._half_range * noise, self._low,
                                     self._high)
    next_q = self._q(self._target_critic, next_observation, next_action, training=False)
    if config.twin_critics:
      targets = losses.value.clipped_double_q_target(transition.reward, transition.discount,
                                                     *next_q)
    else:
      targets = tf.stop_gradient(transition.reward + transition.discount * next_q[0])

    with tf.GradientTape() as critic_tape:
      q_values = self._q(self._critic, observation, action, training=True)
      critic_loss = tf.add_n([
          self.mean(self.weighted(losses.value.value_loss(q, targets).loss, transition))
          for q in q_values])
      if config.critic_weight_decay:
        l2 = tf.add_n([tf.reduce_sum(tf.square(k)) for k in self._critic_kernels])
        # Added once over all replicas (the replicas' losses are summed).
        critic_loss += 0.5 * config.critic_weight_decay * l2 / self._strategy.num_replicas_in_sync
    critic_variables = self._critic.trainable_variables

    critic_norm = self.apply(self._critic_optimizer, critic_tape, critic_loss, critic_variables)
    metrics = {
        'critic_loss': critic_loss,
        'q_value': self.mean(q_values[0]),
        'target': self.mean(targets),
        'critic_grad_norm': critic_norm,
    }
    self.add_priorities(metrics, targets - q_values[0])
    return metrics

  def _train_delayed(self, transition: replay.Transition) -> Dict[str, tf.Tensor]:
    observation = transition.observation
    with tf.GradientTape() as tape:
      action = self._actor(observation, training=True)
      q_value = self._q(self._critic, observation, action, training=False)[0]
      actor_loss = self.mean(
          losses.policy_gradient.deterministic_policy_gradient_loss(q_value).loss)
    norm = self.apply(self._actor_optimizer, tape, actor_loss, self._actor.trainable_variables)
    return {'actor_loss': actor_loss, 'actor_grad_norm': norm}

  def _update_targets(self) -> None:
    def update():
      tau = self._config.tau
      off_policy_learner.soft_update(self._target_actor.variables, self._actor.variables, tau)
      off_policy_learner.soft_update(self._target_critic.variables, self._critic.variables, tau)
      return tf.constant(True)

    if self._config.policy_delay == 1:
      update()
    else:  # The targets move with the (delayed) policy updates; num_updates is not yet bumped.
      tf.cond(self.delayed_update_due(), update, lambda: tf.constant(False))
