"""ACER learner: on-policy and replayed segment updates with Retrace, truncated importance
weights with bias correction, and the efficient trust region (discrete actions)."""

import types
from typing import Dict, NamedTuple, Optional

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.acer import actor as actor_lib
from agents.acer import config as config_lib
from agents.common import learning
from agents.common import off_policy
from agents.common import replay as replay_lib
import losses

# Added to probabilities before their logarithm: a probability of 0 would make the importance
# weight 0/0 and the gradient 1/0.
_EPSILON = 1e-6


class Sequences(NamedTuple):
  """A time-major batch of B segments of T steps, as replay stores them.

  Attributes:
    observation: [T + 1, B, ...] x_0 .. x_T (x_T: the observation after the last step).
    action: [T, B] actions a_t.
    reward: [T, B] rewards r_t.
    terminated: [T, B] 1.0 where x_{t+1} is terminal.
    truncated: [T, B] 1.0 where a time limit cut the episode after step t.
    truncation_value: [T, B] where `truncated`, E_mu Q of the real final observation as
      estimated when acting (that observation is not stored); else 0.
    behaviour_probs: [T, B, A] mu(.|x_t), the policy that acted.
  """
  observation: tf.Tensor
  action: tf.Tensor
  reward: tf.Tensor
  terminated: tf.Tensor
  truncated: tf.Tensor
  truncation_value: tf.Tensor
  behaviour_probs: tf.Tensor


def sequence_signature(observation_spec: specs.Array, action_spec: specs.DiscreteArray,
                       length: int) -> Sequences:
  """The replay table's signature: one segment of `length` steps (no batch dimension)."""
  scalar = tf.TensorSpec([length], tf.float32)
  return Sequences(
      observation=tf.TensorSpec((length + 1,) + tuple(observation_spec.shape),
                                tf.as_dtype(np.dtype(observation_spec.dtype))),
      action=tf.TensorSpec([length], tf.as_dtype(np.dtype(action_spec.dtype))),
      reward=scalar, terminated=scalar, truncated=scalar, truncation_value=scalar,
      behaviour_probs=tf.TensorSpec([length, int(action_spec.num_values)], tf.float32))


def projected_policy_gradient(objective_gradient: tf.Tensor, probs: tf.Tensor,
                              average_probs: tf.Tensor, delta: float) -> tf.Tensor:
  """ACER's efficient trust-region step on the policy's probability vectors phi(x).

  k = d KL[pi_avg(.|x) || pi(.|x)] / d phi = -pi_avg / phi, and the projection
  z* = g - max(0, (k^T g - delta) / ||k||^2) k (Wang et al. 2017, eq. 12-13) of the gradient g
  of the policy objective (`losses.trust_region.acer_trust_region_projection`).

  Args:
    objective_gradient: [..., A] g, the gradient of the objective to increase w.r.t. phi.
    probs: [..., A] phi(x), the policy's probabilities.
    average_probs: [..., A] the average policy's probabilities.
    delta: the trust-region bound.

  Returns:
    [..., A] z*, with k^T z* <= delta.
  """
  kl_gradient = -average_probs / (probs + _EPSILON)
  return losses.trust_region.acer_trust_region_projection(objective_gradient, kl_gradient,
                                                          delta=delta)


def retrace(sequences: Sequences, probs: tf.Tensor, q_values: tf.Tensor,
            discount: float) -> tf.Tensor:
  """Q_ret of every step of `sequences` under the policy `probs` (no gradient).

  Retrace with c_t = min(1, pi(a_t|x_t) / mu(a_t|x_t)) (Wang et al. 2017, eq. 5;
  `losses.off_policy.retrace_targets`), V(x) = sum_a pi(a|x) Q(x, a); the bootstrap is V(x_T)
  and a time-limit cut bootstraps from `sequences.truncation_value`.

  Args:
    sequences: the batch ([T, B] steps).
    probs: [T + 1, B, A] pi(.|x_t) of the current policy.
    q_values: [T + 1, B, A] Q(x_t, .).
    discount: gamma.

  Returns:
    [T, B] Q_ret.
  """
  num_steps = tf.shape(sequences.action)[0]
  values = tf.reduce_sum(probs * q_values, axis=-1)
  taken = tf.one_hot(sequences.action, tf.shape(probs)[-1], dtype=probs.dtype)
  pi_taken = tf.reduce_sum(probs[:num_steps] * taken, axis=-1)
  mu_taken = tf.reduce_sum(sequences.behaviour_probs * taken, axis=-1)
  q_taken = tf.reduce_sum(q_values[:num_steps] * taken, axis=-1)
  log_rhos = tf.math.log(pi_taken + _EPSILON) - tf.math.log(mu_taken + _EPSILON)
  return losses.off_policy.retrace_targets(
      log_rhos, discount * (1.0 - sequences.terminated), sequences.reward, q_taken,
      values[:num_steps], values[num_steps], truncations=sequences.truncated,
      truncation_values=sequences.truncation_value)


class ACERLearner(tf.Module):
  """Updates a `PolicyQNetwork` with ACER (Wang et al. 2017, arXiv:1611.01224, Algorithm 2).

  `step(segment)` makes the on-policy update of Algorithm 1 on the segment just collected (its
  behaviour probabilities are the current policy's), stores it in replay, then makes
  n ~ Poisson(replay_ratio) updates on batches of `num_envs` replayed segments once the
  replay holds `replay_start` env steps. One update on a [T, B] batch, with
  phi = pi_theta(.|x), N = T * B and all targets and weights without gradient:

    Q_ret = Retrace(rho = phi(a) / mu(a), V = sum_a phi(a) Q(x, a))              (eq. 5)
    J = sum_t [ min(c, rho_t) (Q_ret_t - V_t) log phi(a_t)
                + sum_a phi(a) [1 - c / rho(a)]_+ (Q(x_t, a) - V_t) log phi(a)    (eq. 9)
                + c_e H(phi) ]
    g = dJ/dphi,  z* = projection of g on k^T z <= delta, k = d KL[phi_avg || phi]/dphi (eq. 12)
    gradient = -(dphi/dtheta)^T z* / N + q_coef d/dtheta mean(0.5 (Q_ret - Q(x, a))^2)

  applied by RMSProp (global norm clipped), then theta_avg <- alpha theta_avg + (1 - alpha)
  theta. The entropy bonus is part of the projected objective, as in the OpenAI Baselines
  ACER. The learning rate decays linearly to 0 over `horizon` env steps with
  `anneal_learning_rate` (counted by on-policy updates). Runs with one replica.

  Args:
    network: the `PolicyQNetwork`.
    average_network: a `PolicyQNetwork` of the same shape (its variables are set to the
      network's here).
    config: the `ACERConfig`.
    horizon: env steps over which the learning rate anneals.
    seed: seeds the number of replay updates.
  """

  def __init__(self, network, average_network, config: config_lib.ACERConfig, horizon: int,
               seed: int = 0):
    super().__init__(name='acer_learner')
    self._network = network
    self._average_network = average_network
    self._config = config
    self._horizon = int(horizon)
    self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')
    self.replay_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='replay_updates')
    self._rng = tf.random.Generator.from_seed(seed)
    learning.copy_variables(average_network.variables, network.variables)
    self._optimizer = learning.make_optimizer(
        'rmsprop', learning.learning_rate(config.learning_rate, config.anneal_learning_rate,
                                          self.progress),
        epsilon=config.optimizer_epsilon, rmsprop_decay=config.rmsprop_decay)
    self._optimizer.build(network.trainable_variables)
    self._update = tf.function(self._update_graph, jit_compile=config.jit_compile,
                               autograph=False)
    self._behaviour = tf.function(self._behaviour_graph, autograph=False)
    # Not checkpointed: the replay connection lives outside the module's tracked attributes.
    self._io = types.SimpleNamespace(replay=None, writer=None, iterator=None, ready=False)

  def progress(self) -> tf.Tensor:
    """The fraction of the horizon done before this update (float32), for the schedule."""
    return learning.progress(self.num_updates * self._config.batch_size, self._horizon)

  def connect(self, replay: off_policy.Replay) -> None:
    """Stores segments in, and samples them from, `replay`'s table (of `sequence_signature`)."""
    self._io.replay = replay
    self._io.writer = replay.client.trajectory_writer(num_keep_alive_refs=1)

  def disconnect(self) -> None:
    """Drops the writer and the sampler (after `Replay.close`)."""
    if self._io.writer is not None:
      self._io.writer.close()
    self._io.writer = self._io.iterator = None

  def flush(self) -> None:
    """Blocks until every segment written so far is in the table."""
    writer = self._io.writer
    if writer is not None:
      replay_lib.wait_in_slices(lambda timeout_ms: writer.flush(timeout_ms=timeout_ms),
                                off_policy.SERVER_TIMEOUT_S)

  def step(self, segment: actor_lib.Segment) -> Dict[str, tf.Tensor]:
    """The on-policy update on `segment`, its insertion into replay, then the replay updates.

    Returns:
      The mean over this step's updates of: loss, policy_loss, q_loss, entropy,
      importance_weight (mean rho of the taken actions), trust_region_active (fraction of
      states whose projection moved the gradient), kl_to_average, grad_norm; and
      replay_updates (how many were made) and learning_rate.
    """
    sequences = self._behaviour(segment)
    results = [self._update(sequences)]
    self._insert(sequences)
    self.num_updates.assign_add(1)
    count = 0
    if self._io.replay is not None and self._config.replay_ratio > 0 and self._ready():
      seed = tf.cast(self._rng.make_seeds(1)[:, 0], tf.int32)
      count = int(tf.random.stateless_poisson([], seed, self._config.replay_ratio))
      for _ in range(count):
        results.append(self._update(self._sample()))
    self.replay_updates.assign_add(count)
    metrics = {name: tf.add_n([r[name] for r in results]) / len(results)
               for name in results[0]}
    metrics['replay_updates'] = tf.constant(float(count))
    metrics['learning_rate'] = self._config.learning_rate * (
        1.0 - self.progress() if self._config.anneal_learning_rate else 1.0)
    return metrics

  def _behaviour_graph(self, segment: actor_lib.Segment) -> Sequences:
    """The segment as replay stores it, with mu = the current policy's probabilities (the
    network acted with these parameters)."""
    rollout = segment.rollout
    num_steps, num_envs = rollout.action.shape[0], rollout.action.shape[1]
    observation = tf.concat([rollout.observation, segment.next_observation[tf.newaxis]], 0)
    flat = learning.flatten_time_batch(rollout.observation)
    probs = self._network.policy(flat).probs_parameter()
    return Sequences(
        observation=observation, action=rollout.action, reward=rollout.reward,
        terminated=rollout.terminated, truncated=rollout.truncated,
        truncation_value=rollout.truncation_value,
        behaviour_probs=tf.reshape(probs, [num_steps, num_envs, -1]))

  def _insert(self, sequences: Sequences) -> None:
    writer = self._io.writer
    if writer is None:
      return
    arrays = Sequences(*[np.asarray(x) for x in sequences])
    for env in range(arrays.action.shape[1]):
      writer.append(Sequences(*[x[:, env] for x in arrays]))
      item = tf.nest.map_structure(lambda column: column[-1], writer.history)
      writer.create_item(replay_lib.DEFAULT_TABLE, priority=1.0, trajectory=item)
    self.flush()

  def _ready(self) -> bool:
    if not self._io.ready:
      segments = self._io.replay.size(timeout_s=int(off_policy.SERVER_TIMEOUT_S))
      self._io.ready = segments * self._config.num_steps_per_env >= max(
          self._config.replay_start, 1)
    return self._io.ready

  def _sample(self) -> Sequences:
    if self._io.iterator is None:
      dataset = replay_lib.make_dataset(
          self._io.replay.address, replay_lib.DEFAULT_TABLE, self._config.num_envs,
          num_workers_per_iterator=1,
          rate_limiter_timeout_ms=int(off_policy.SERVER_TIMEOUT_S * 1000))
      self._io.iterator = iter(dataset)
    try:
      sample = next(self._io.iterator)
    except (StopIteration, tf.errors.OutOfRangeError):
      raise self._io.replay.stall('gave no segments') from None
    # [B, T, ...] -> [T, B, ...].
    return Sequences(*[tf.experimental.numpy.swapaxes(x, 0, 1) for x in sample.data])

  def _update_graph(self, sequences: Sequences) -> Dict[str, tf.Tensor]:
    config = self._config
    num_steps, num_envs = sequences.action.shape[0], sequences.action.shape[1]
    count = float(num_steps * num_envs)
    observation = learning.flatten_time_batch(sequences.observation)
    variables = self._network.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
      distribution, q_values = self._network.policy_and_q(observation)
      probs = tf.reshape(distribution.probs_parameter(), [num_steps + 1, num_envs, -1])
      q_values = tf.reshape(q_values, [num_steps + 1, num_envs, -1])
      phi = probs[:num_steps]
      q_ret = retrace(sequences, tf.stop_gradient(probs), tf.stop_gradient(q_values),
                      config.discount)
      log_phi = tf.math.log(phi + _EPSILON)
      policy = losses.off_policy.acer_policy_loss(
          log_phi, tf.math.log(sequences.behaviour_probs + _EPSILON), sequences.action,
          q_values[:num_steps], q_ret, c=config.truncation)
      entropy = -tf.reduce_sum(phi * log_phi, axis=-1)
      objective = tf.reduce_sum(-policy.loss + config.entropy_coef * entropy)
      taken = tf.one_hot(sequences.action, tf.shape(phi)[-1])
      q_taken = tf.reduce_sum(q_values[:num_steps] * taken, axis=-1)
      q_loss = losses.value.value_loss(q_taken, q_ret).loss
      q_objective = config.q_coef * tf.reduce_sum(q_loss) / count
    objective_gradient = tape.gradient(objective, phi)
    average_probs = tf.reshape(
        self._average_network.policy(observation).probs_parameter(),
        [num_steps + 1, num_envs, -1])[:num_steps]
    if config.trust_region:
      projected = projected_policy_gradient(objective_gradient, phi, average_probs,
                                            config.trust_region_delta)
    else:
      projected = objective_gradient
    policy_gradients = tape.gradient(phi, variables, output_gradients=-projected / count)
    q_gradients = tape.gradient(q_objective, variables)
    gradients = [_add(p, q, v) for p, q, v in zip(policy_gradients, q_gradients, variables)]
    grad_norm = learning.apply_global_gradients(self._optimizer, gradients, variables,
                                                max_grad_norm=config.max_grad_norm)
    alpha = config.average_decay
    for average, variable in zip(self._average_network.trainable_variables, variables):
      average.assign(alpha * average + (1.0 - alpha) * variable)
    moved = tf.reduce_any(tf.abs(projected - objective_gradient) > 0, axis=-1)
    kl = tf.reduce_sum(average_probs * (tf.math.log(average_probs + _EPSILON) -
                                        tf.math.log(phi + _EPSILON)), axis=-1)
    mean = lambda x: tf.reduce_sum(x) / count
    return {
        'loss': mean(policy.loss - config.entropy_coef * entropy) + q_objective,
        'policy_loss': mean(policy.loss),
        'q_loss': mean(q_loss),
        'entropy': mean(entropy),
        'importance_weight': mean(policy.extra.importance_weights),
        'trust_region_active': mean(tf.cast(moved, tf.float32)),
        'kl_to_average': mean(kl),
        'grad_norm': grad_norm,
    }


def _add(a: Optional[tf.Tensor], b: Optional[tf.Tensor], variable) -> tf.Tensor:
  if a is None and b is None:
    return tf.zeros_like(variable)
  if a is None or b is None:
    return a if b is None else b
  return a + b

