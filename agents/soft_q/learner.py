"""Soft Q-learning learner: soft Bellman regression with an importance-sampled soft value, and
the amortized SVGD update of the sampler; one compiled function per update."""

from typing import Dict

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import learning
from agents.common import off_policy_learner
from agents.common import replay
from agents.soft_q import config as config_lib
import losses


def _tile(x: tf.Tensor, count: int) -> tf.Tensor:
  """[B, ...] -> [B * count, ...], each row repeated `count` times in a row."""
  return tf.repeat(x, count, axis=0)


class SoftQLearner(off_policy_learner.OffPolicyLearner):
  """Updates a soft Q-network and its sampler (Haarnoja et al. 2017, arXiv:1702.08165,
  Algorithm 1).

  Per update, on transitions (s, a, R, d, s') from replay (d = gamma^n, 0 past a termination):
    V'(s') = alpha log (1/M) sum_m exp(Q'(s', a_m) / alpha) / U(a_m),  a_m ~ U(box)   (eq. 10)
    y = r_scale R + d V'(s');  Q loss 0.5 (Q(s, a) - y)^2                           (eq. 11)
    a_i = f(s, xi_i), xi_i ~ N(0, I), i = 1..K;
    Delta f(xi_i) = alpha svgd_direction(a, grad_a Q(s, a) / alpha)_i                (eq. 13)
    sampler gradient: -(1 / (B K)) sum_i Delta f(xi_i)^T d f(s, xi_i) / d phi          (eq. 14)
    target: theta' <- tau theta + (1 - tau) theta'.
  `losses.soft.soft_q_learning_value`, `losses.soft.soft_q_loss` and
  `losses.soft.svgd_direction` compute the three. Both gradients are taken at the same
  parameters, then applied (Adam).

  Args:
    q_network: a `critics.QNetwork`.
    target_q_network: a copy of it.
    sampler: a `critics.SamplerNetwork`.
    optimizers: {'q': ..., 'sampler': ...} Keras optimizers.
    action_spec: the action box (the uniform proposal of the soft value).
    config: the `SoftQConfig`.
    strategy: the strategy the variables were created under.
    seed: seeds the learner's samples.
  """

  def __init__(self, q_network, target_q_network, sampler,
               optimizers: Dict[str, tf.keras.optimizers.Optimizer],
               action_spec: specs.BoundedArray, config: config_lib.SoftQConfig,
               strategy: tf.distribute.Strategy, seed: int):
    super().__init__(strategy, config.batch_size, seed, config.jit_compile,
                     name='soft_q_learner', prioritized=config.prioritized_replay,
                     priority_epsilon=config.priority_epsilon)
    self._q, self._target_q, self._sampler = q_network, target_q_network, sampler
    self._optimizers = optimizers
    self._config = config
    self._low = np.asarray(action_spec.minimum, np.float32) * np.ones(action_spec.shape,
                                                                      np.float32)
    self._high = np.asarray(action_spec.maximum, np.float32) * np.ones(action_spec.shape,
                                                                       np.float32)
    # log U(a) of the uniform proposal on the box.
    self._log_uniform = float(-np.sum(np.log(self._high - self._low)))

  def soft_value(self, q_network, observation: tf.Tensor, salt: int) -> tf.Tensor:
    """V(s) [B] by importance sampling over `value_samples` uniform actions (eq. 10)."""
    config = self._config
    batch = tf.shape(observation)[0]
    count = config.value_samples
    size = self._low.shape[0]
    uniform = tf.random.stateless_uniform(tf.stack([batch * count, size]),
                                          seed=self.sampling_seed(salt))
    actions = self._low + (self._high - self._low) * uniform
    q_values = tf.reshape(q_network(_tile(observation, count), actions), [batch, count])
    return losses.soft.soft_q_learning_value(
        q_values, tf.fill(tf.shape(q_values), self._log_uniform), alpha=config.alpha)

  def stein_directions(self, observation: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
    """alpha times the SVGD direction of K particles per state towards exp(Q(s, .) / alpha).

    Args:
      observation: [B, O].
      actions: [B, K, A] particles.

    Returns:
      [B, K, A] directions (no gradient).
    """
    config = self._config
    batch, count, size = tf.shape(actions)[0], tf.shape(actions)[1], tf.shape(actions)[2]
    flat = tf.reshape(actions, [-1, size])
    with tf.GradientTape() as tape:
      tape.watch(flat)
      q_values = self._q(_tile(observation, count), flat)
    grad_q = tf.reshape(tape.gradient(q_values, flat), [batch, count, size])
    return config.alpha * losses.soft.svgd_direction(actions, grad_q / config.alpha)

  def _train(self, transition: replay.Transition) -> Dict[str, tf.Tensor]:
    config = self._config
    observation = transition.observation
    next_value = tf.stop_gradient(self.soft_value(self._target_q, transition.next_observation, 0))
    targets = config.reward_scale * transition.reward + transition.discount * next_value
    q_variables = self._q.trainable_variables
    with tf.GradientTape() as tape:
      q_values = self._q(observation, transition.action)
      q_loss = losses.soft.soft_q_loss(q_values, targets)
      q_objective = self.mean(self.weighted(q_loss.loss, transition))

    batch = tf.shape(observation)[0]
    count, size = config.particles, self._low.shape[0]
    noise = tf.random.stateless_normal(tf.stack([batch * count, size]),
                                       seed=self.sampling_seed(1))
    sampler_variables = self._sampler.trainable_variables
    with tf.GradientTape() as sampler_tape:
      actions = self._sampler(_tile(observation, count), noise)
    particles = tf.reshape(actions, [batch, count, size])
    directions = tf.reshape(self.stein_directions(observation, particles), [-1, size])
    # Ascent along the directions: the gradient of -sum_i Delta f_i . f(s, xi_i) / (B K), with
    # the batch split over replicas as the losses are.
    scale = 1.0 / float(config.batch_size * count)
    sampler_gradients = sampler_tape.gradient(actions, sampler_variables,
                                              output_gradients=-directions * scale)

    q_norm = self.apply(self._optimizers['q'], tape, q_objective, q_variables)
    sampler_norm = learning.apply_global_gradients(
        self._optimizers['sampler'], sampler_gradients, sampler_variables, self._strategy)
    metrics = {
        'q_loss': q_objective,
        'q': tf.reduce_mean(q_values),
        'soft_value': tf.reduce_mean(next_value),
        'q_grad_norm': q_norm,
        'sampler_grad_norm': sampler_norm,
        'stein_direction': tf.reduce_mean(tf.norm(directions, axis=-1)),
        'particle_spread': tf.reduce_mean(tf.math.reduce_std(particles, axis=1)),
    }
    self.add_priorities(metrics, targets - q_values)
    return metrics

  def _update_targets(self) -> None:
    off_policy_learner.soft_update(self._target_q.variables, self._q.variables, self._config.tau)
