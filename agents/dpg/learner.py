"""COPDAC-Q (Silver et al. 2014, section 4.3): a deterministic actor, its compatible linear
advantage and a state-value baseline, updated online from each behaviour transition."""

from typing import Dict

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import learning
from agents.common import policies
from agents.common import transitions
from agents.dpg import config as config_lib
from networks import heads


class CompatiblePolicy(tf.Module):
  """mu_theta(s) = theta^T phi(s) on fixed features, and the Gaussian behaviour policy around it.

  Args:
    feature_layer: phi, observations [B, d] -> features [B, n] (`networks.features`).
    action_spec: the bounds (actions are capped to them, as in the paper's section 5.2).
    observation_spec: fixes the compiled signatures.
    behaviour_sigma: sigma_beta in units of half the action range.
    seed: seeds the behaviour noise.
    jit_compile: compile `step` and `mode` with XLA.
  """

  def __init__(self, feature_layer: tf.keras.layers.Layer, observation_spec: specs.Array,
               action_spec: specs.BoundedArray, behaviour_sigma: float, seed: int,
               jit_compile: bool = True):
    super().__init__(name='compatible_policy')
    self.features = feature_layer
    low, high = heads.action_bounds(action_spec)
    self._low, self._high = tf.constant(low), tf.constant(high)
    self._sigma = tf.constant(behaviour_sigma * (high - low) / 2.0)
    # theta starts at 0, as linear policies usually do: mu(s) = 0 everywhere.
    self.theta = tf.Variable(tf.zeros((feature_layer.size, low.shape[0])), name='theta')
    self._rng = tf.random.Generator.from_seed(seed)
    self.step = policies.compiled(self._step, observation_spec, jit_compile)
    self.mode = policies.compiled(self._mode, observation_spec, jit_compile)

  def mu(self, observations: tf.Tensor) -> tf.Tensor:
    """The deterministic policy before capping, [B, A] (what the compatible features use)."""
    return tf.matmul(self.features(observations), self.theta)

  def _step(self, observations: tf.Tensor):
    """(behaviour actions [B, A],): clip(mu(s) + sigma_beta N(0, 1), low, high)."""
    mu = self.mu(observations)
    noise = self._sigma * self._rng.normal(tf.shape(mu))
    return (tf.clip_by_value(mu + noise, self._low, self._high),)

  def _mode(self, observations: tf.Tensor) -> tf.Tensor:
    """The target policy's actions, capped to the bounds [B, A]."""
    return tf.clip_by_value(self.mu(observations), self._low, self._high)


def compatible_features(policy: CompatiblePolicy, observations, actions) -> tf.Tensor:
  """phi(s, a) = grad_theta mu_theta(s) (a - mu_theta(s)) per example: [B, *theta.shape].

  For a policy linear in its parameters these are explicit; they are computed here with
  autodiff (one gradient per example, through `tf.vectorized_map`), so any differentiable mu
  gives its own compatible features.
  """
  observations = tf.convert_to_tensor(observations)
  actions = tf.convert_to_tensor(actions, tf.float32)

  def one(args):
    observation, action = args
    with tf.GradientTape() as tape:
      mu = policy.mu(observation[None])[0]
      projected = tf.reduce_sum(mu * tf.stop_gradient(action - mu))
    return tape.gradient(projected, policy.theta)

  return tf.vectorized_map(one, (observations, actions))


class COPDACQLearner(tf.Module):
  """The COPDAC-Q updates (eqs. 19-22 of Silver et al. 2014; `DPGConfig` writes them out), on
  a batch of B transitions averaged, plain SGD.

  The three parameter sets: theta (the policy's), w (the compatible advantage's, shaped like
  theta) and v (the baseline's, [n, 1]). With Q^w(s, a) = A^w(s, a) + V^v(s) and
  A^w(s, a) = (a - mu(s))^T grad_theta mu(s)^T w, the Jacobian-vector product
  grad_theta mu(s)^T w is computed forward-mode (`tf.autodiff.ForwardAccumulator`), and the
  three updates are gradients of scalars:
    theta += alpha_theta grad_theta mean_B[mu(s) . stop(grad_theta mu(s)^T w)]
    w     += alpha_w     grad_theta mean_B[stop(delta) mu(s) . stop(a - mu(s))]
    v     += alpha_v     grad_v     mean_B[stop(delta) V^v(s)]
  all from the parameters before the step, each applied by plain SGD through
  `learning.apply_global_gradients` (a non-finite step is never applied). Each step size is
  divided by the number of active features. A time-limit truncation bootstraps from V(s'), a
  termination does not.

  Args:
    policy: the `CompatiblePolicy` (theta; its features are shared with V).
    config: the `DPGConfig`.
    observation_spec, action_spec: fix the compiled signature.
  """

  def __init__(self, policy: CompatiblePolicy, config: config_lib.DPGConfig,
               observation_spec: specs.Array, action_spec: specs.BoundedArray):
    super().__init__(name='copdac_q_learner')
    self._policy = policy
    self._config = config
    theta = policy.theta
    self.w = tf.Variable(tf.zeros_like(theta), name='w')
    self.v = tf.Variable(tf.zeros((theta.shape[0], 1)), name='v')
    self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')
    scale = 1.0 / config.active_features
    self._optimizers = [tf.keras.optimizers.SGD(rate * scale) for rate in (
        config.actor_learning_rate, config.critic_learning_rate, config.value_learning_rate)]
    batch = lambda spec, dtype=None: tf.TensorSpec(
        (None,) + tuple(spec.shape), dtype or tf.as_dtype(np.dtype(spec.dtype)))
    scalar = tf.TensorSpec((None,), tf.float32)
    signature = transitions.Transition(
        observation=batch(observation_spec), action=batch(action_spec, tf.float32),
        reward=scalar, next_observation=batch(observation_spec), terminated=scalar,
        truncated=scalar, discount_weight=scalar)
    self._update = tf.function(self._update_graph, input_signature=[signature],
                               autograph=False, jit_compile=config.jit_compile)

  def value(self, observations: tf.Tensor) -> tf.Tensor:
    """V^v(s) [B]."""
    return tf.matmul(self._policy.features(observations), self.v)[:, 0]

  def advantage(self, observations: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
    """A^w(s, a) = (a - mu(s))^T grad_theta mu(s)^T w [B] (0 at a = mu(s))."""
    with tf.autodiff.ForwardAccumulator(self._policy.theta, self.w) as accumulator:
      mu = self._policy.mu(observations)
    directional = accumulator.jvp(mu)  # grad_theta mu(s)^T w, [B, A].
    return tf.reduce_sum((actions - mu) * directional, axis=-1)

  def step(self, transition: transitions.Transition) -> Dict[str, tf.Tensor]:
    """One COPDAC-Q update from B transitions; returns its metrics."""
    return self._update(transitions.Transition(*[
        tf.convert_to_tensor(x, tf.float32) if i in (1, 2, 4, 5, 6) else x
        for i, x in enumerate(transition)]))

  def _update_graph(self, transition: transitions.Transition) -> Dict[str, tf.Tensor]:
    policy, gamma = self._policy, self._config.discount
    observation, action = transition.observation, transition.action
    with tf.autodiff.ForwardAccumulator(policy.theta, self.w) as accumulator:
      with tf.GradientTape(persistent=True) as tape:
        mu = policy.mu(observation)
        directional = tf.stop_gradient(accumulator.jvp(mu))  # grad_theta mu^T w [B, A]
        advantage = tf.reduce_sum(tf.stop_gradient(action - mu) * directional, axis=-1)
        value = self.value(observation)
        next_value = self.value(transition.next_observation)
        delta = tf.stop_gradient(
            transition.reward + gamma * (1.0 - transition.terminated) * next_value
            - value - advantage)                                                  # eq. 19
        actor_objective = tf.reduce_mean(tf.reduce_sum(mu * directional, axis=-1))
        critic_objective = tf.reduce_mean(
            delta * tf.reduce_sum(mu * tf.stop_gradient(action - mu), axis=-1))
        value_objective = tf.reduce_mean(delta * value)
    # Ascent on the three objectives: plain SGD on their negated gradients.
    norms = []
    for optimizer, objective, source, variable in (
        (self._optimizers[0], actor_objective, policy.theta, policy.theta),     # eq. 20
        (self._optimizers[1], critic_objective, policy.theta, self.w),          # eq. 21
        (self._optimizers[2], value_objective, self.v, self.v)):                # eq. 22
      ascent = tape.gradient(objective, source)
      norms.append(learning.apply_global_gradients(optimizer, [-ascent], [variable]))
    del tape
    self.num_updates.assign_add(1)
    return {
        'td_error': tf.reduce_mean(delta),
        'td_error_abs': tf.reduce_mean(tf.abs(delta)),
        'value': tf.reduce_mean(value),
        'advantage': tf.reduce_mean(advantage),
        'mu': tf.reduce_mean(mu),
        'theta_step_norm': norms[0],
        'w_step_norm': norms[1],
        'v_step_norm': norms[2],
        'w_norm': tf.norm(self.w),
    }
