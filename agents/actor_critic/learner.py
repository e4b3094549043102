"""One-step actor-critic learner: one compiled update per environment step (TD(0) critic)."""

from typing import Dict

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.actor_critic import config as config_lib
from agents.common import core
from agents.common import transitions
from agents.common import learning
import losses


class ActorCriticLearner(tf.Module):
  """The one-step actor-critic of Sutton & Barto 2018, section 13.5 (episodic box).

  On-policy and online: every environment step is one update of both networks, from the
  transition just taken by the current policy. For B environments (B = 1 in the book),

    delta_b = R_b + gamma (1 - terminated_b) v(S'_b) - v(S_b)     (`losses.returns.td_error`)
    L_w     = (1/B) sum_b 0.5 (stop_grad(R_b + gamma_b v(S'_b)) - v(S_b))^2
              -> grad = -(1/B) sum_b delta_b grad v(S_b)
    L_theta = (1/B) sum_b -I_b stop_grad(delta_b) ln pi(A_b|S_b) - c_e H(pi(.|S_b))
    I_b     = gamma^t of environment b's episode (the actor's `discount_weight`),

  so with SGD the steps are exactly the book's w += alpha^w delta grad v and
  theta += alpha^theta I delta grad ln pi. delta uses the parameters before either step.

  Args:
    network: an `ActorCritic` with separate torsos.
    config: the `ActorCriticConfig` (its optimizer and step sizes alpha^theta, alpha^w make
      the learner's two optimizers).
    observation_spec: fixes the compiled signature.
    action_spec: idem.
  """

  def __init__(self, network, config: config_lib.ActorCriticConfig,
               observation_spec: specs.Array, action_spec: specs.Array):
    super().__init__(name='actor_critic_learner')
    if network.shared_torso:
      raise ValueError('ActorCriticLearner: the actor and the critic must be separate networks')
    self._network = network
    self._actor_optimizer, self._critic_optimizer = learning.separate_optimizers(network, config)
    self._config = config
    b = config.num_envs
    self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')
    obs = tf.TensorSpec((b,) + tuple(observation_spec.shape),
                        tf.as_dtype(np.dtype(observation_spec.dtype)))
    vec = tf.TensorSpec((b,), tf.float32)
    signature = transitions.Transition(
        observation=obs,
        action=tf.TensorSpec((b,) + tuple(action_spec.shape),
                             tf.as_dtype(np.dtype(action_spec.dtype))),
        reward=vec, next_observation=obs, terminated=vec, truncated=vec, discount_weight=vec)
    # Without AutoGraph: tracing does not convert every function it reaches (faster); one call
    # per environment step, so XLA fuses its few hundred small ops.
    self._update = tf.function(self._update_graph, input_signature=[signature],
                               autograph=False, jit_compile=config.jit_compile)
    self._update_direct = core.per_step(self._update)

  def step(self, transition: transitions.Transition) -> Dict[str, tf.Tensor]:
    """One update of the critic and the actor from one transition per environment.

    Returns:
      A flat dict of scalars: td_error (mean delta), policy_loss, value_loss, entropy,
      discount_weight (mean I used), actor_grad_norm, critic_grad_norm.
    """
    return self._update_direct(transitions.Transition(*transition))

  def _update_graph(self, transition: transitions.Transition) -> Dict[str, tf.Tensor]:
    config = self._config
    b = config.num_envs
    mean = lambda x: tf.nn.compute_average_loss(x, global_batch_size=b)
    discounts = config.discount * (1.0 - transition.terminated)
    next_value = self._network.value(transition.next_observation)
    weight = transition.discount_weight if config.discount_weighting else tf.ones([b])
    with tf.GradientTape(persistent=True) as tape:
      distribution, value = self._network(transition.observation)
      # [1, B] sequences of one step: delta = R + gamma_t v(S') - v(S).
      delta = losses.returns.td_error(transition.reward[None], discounts[None], value[None],
                                      next_value)[0]
      critic = losses.value.value_loss(value, transition.reward + discounts * next_value)
      policy = losses.policy_gradient.policy_gradient_loss(
          distribution.log_prob(transition.action), weight * delta)
      entropy = losses.policy_gradient.entropy_loss(distribution.entropy())
      actor_loss = mean(policy.loss + config.entropy_coef * entropy.loss)
      critic_loss = mean(critic.loss)
    actor_variables = self._network.policy_variables
    critic_variables = self._network.value_variables
    actor_gradients = tape.gradient(actor_loss, actor_variables)
    critic_gradients = tape.gradient(critic_loss, critic_variables)
    del tape
    actor_grad_norm = learning.apply_global_gradients(self._actor_optimizer, actor_gradients,
                                                      actor_variables)
    critic_grad_norm = learning.apply_global_gradients(self._critic_optimizer, critic_gradients,
                                                       critic_variables)
    self.num_updates.assign_add(1)
    return {
        'td_error': tf.reduce_mean(delta),
        'policy_loss': mean(policy.loss),
        'value_loss': critic_loss,
        'entropy': mean(entropy.extra.entropy),
        'discount_weight': tf.reduce_mean(weight),
        'actor_grad_norm': actor_grad_norm,
        'critic_grad_norm': critic_grad_norm,
    }
