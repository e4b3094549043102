"""A3C learner: the shared (global) parameters, the shared optimizer and a segment's loss."""

from typing import Dict, NamedTuple, Sequence, Tuple

import tensorflow as tf

from agents.a2c import learner as a2c_learner
from agents.a3c import config as config_lib
from agents.common import distribute
from agents.common import learning
import losses


class Segment(NamedTuple):
  """One worker's segment: at most t_max steps of one environment, padded to [T, 1] (T = t_max).

  Index t is the step taken from observation[t]; steps t >= length are padding (mask 0, zeros).
  A segment ends after t_max steps, at the end of an episode, or where the run's budget ends.

  Attributes:
    observation: [T, 1, ...] observations s_t.
    action: [T, 1, ...] actions a_t as sampled by the local policy.
    reward: [T, 1] rewards r_t.
    terminated: [T, 1] 1.0 where s_{t+1} is terminal (nothing is bootstrapped past it).
    truncated: [T, 1] 1.0 where a time limit cut the episode after step t (bootstrapped).
    mask: [T, 1] 1.0 on the `length` real steps.
    value: [T, 1] V(s_t) of the local parameters while acting (0 on padding).
    bootstrap_value: [1] V of the observation after the last real step: the paper's V(s_t)
      for a segment cut by t_max (or the budget), V(final observation) after a time limit;
      unused after a termination (R = 0).
    length: scalar int32, the number of real steps (1 <= length <= T).
    start_update: scalar int64, the global update count when the local copy was synced.
  """
  observation: tf.Tensor
  action: tf.Tensor
  reward: tf.Tensor
  terminated: tf.Tensor
  truncated: tf.Tensor
  mask: tf.Tensor
  value: tf.Tensor
  bootstrap_value: tf.Tensor
  length: tf.Tensor
  start_update: tf.Tensor


def segment_returns(segment: Segment, discount: float) -> tf.Tensor:
  """Algorithm S3's returns: R = bootstrap, then R <- r_i + gamma R for i = length-1, ..., 0.

  R_t = r_t + gamma_t R_{t+1}, gamma_t = gamma (1 - terminated_t), and R_length = V(s_length)
  unless s_length is terminal (a time-limit cut bootstraps from V(final observation), which is
  the observation after the last step). Computed by `losses.returns.n_step_returns` with n = T:
  the end of the segment is passed as a truncation at step length - 1 with value
  `bootstrap_value`, and padding has discount 0 so nothing flows back from it.

  Args:
    segment: a `Segment` ([T, 1] fields).
    discount: gamma.

  Returns:
    [T, 1] returns R_t (0 on padding).
  """
  num_steps = segment.reward.shape[0]
  last = tf.one_hot(segment.length - 1, num_steps, dtype=tf.float32)[:, None]
  cut = last * (1.0 - segment.terminated)
  return losses.returns.n_step_returns(
      segment.reward, discount * (1.0 - segment.terminated) * segment.mask, segment.value,
      tf.zeros_like(segment.bootstrap_value), n=num_steps, truncations=cut,
      truncation_values=cut * segment.bootstrap_value[None, :])


class A3CLearner(tf.Module):
  """The global side of asynchronous advantage actor-critic (A3C).

  Mnih et al. 2016, arXiv:1602.01783, Algorithm S3. On-policy per segment: a worker computes,
  with its local copy theta' of the global parameters theta (copied at the segment's start),

    R_t as in `segment_returns`,  A_t = R_t - V'(s_t),
    L = (1 / t_max) sum_{t < length} [ -log pi'(a_t|s_t) stop_gradient(A_t)
                                       + c_v 0.5 (R_t - V'(s_t))^2 - c_e H(pi'(.|s_t)) ],

  (the paper's accumulated gradient d theta, scaled by 1 / t_max), and `apply` applies
  d L / d theta' to theta with the shared optimizer. Workers call `apply` from their own threads
  without locks (Hogwild, as in the paper): two updates can interleave inside RMSProp's
  read-modify-write of its statistics and of theta, and a worker's copy of theta can mix
  parameters from before and after another worker's update. Each single variable update is
  atomic (TF locks a resource variable for one assign).

  The shared optimizer (`config.optimizer`, one set of statistics for every worker) is the
  learner's; with `anneal_learning_rate` its learning rate decays linearly to 0 as the global
  env-step count approaches `horizon`.

  Args:
    network: the global `ActorCritic` (theta and theta_v).
    config: the `A3CConfig`.
    strategy: the `tf.distribute.Strategy`; A3C's workers are threads of one process, so only
      the default strategy is supported.
    horizon: env steps over which the learning rate anneals.

  Raises:
    ConfigError: naming `RunSettings.strategy` for any other strategy.
  """

  def __init__(self, network, config: config_lib.A3CConfig, strategy: tf.distribute.Strategy,
               horizon: int = 1):
    super().__init__(name='a3c_learner')
    distribute.require_default_strategy(strategy, 'A3C',
                                        'its workers are threads of one process')
    self._network = network
    self._config = config
    self._horizon = int(horizon)
    self.env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name='env_steps')
    self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')
    self._optimizer = learning.make_optimizer(
        config.optimizer,
        learning.learning_rate(config.learning_rate, config.anneal_learning_rate,
                               lambda: learning.progress(self.env_steps, self._horizon)),
        epsilon=config.optimizer_epsilon, rmsprop_decay=config.rmsprop_decay)
    self._optimizer.build(network.trainable_variables)

  @property
  def config(self) -> config_lib.A3CConfig:
    return self._config

  @property
  def network(self):
    return self._network

  @property
  def optimizer(self) -> tf.keras.optimizers.Optimizer:
    return self._optimizer

  def loss_and_gradients(self, local_network, segment: Segment
                         ) -> Tuple[Sequence[tf.Tensor], Dict[str, tf.Tensor]]:
    """The segment's loss and its gradient w.r.t. the local variables (graph code)."""
    config = self._config
    num_steps = segment.reward.shape[0]
    returns = tf.reshape(segment_returns(segment, config.discount), [-1])
    mask = tf.reshape(segment.mask, [-1])
    observation = tf.reshape(segment.observation,
                             tf.concat([[-1], tf.shape(segment.observation)[2:]], axis=0))
    action = tf.reshape(segment.action, tf.concat([[-1], tf.shape(segment.action)[2:]], axis=0))
    total = lambda x: tf.nn.compute_average_loss(x * mask, global_batch_size=num_steps)
    mean = lambda x: tf.reduce_sum(x * mask) / tf.reduce_sum(mask)
    variables = local_network.trainable_variables
    with tf.GradientTape() as tape:
      distribution, value = local_network(observation)
      advantage = returns - value
      per_example, policy, critic, entropy = a2c_learner.actor_critic_loss(
          distribution, value, action, advantage, returns, config)
      loss = total(per_example)
    gradients = tape.gradient(loss, variables)
    metrics = {
        'loss': loss,
        'policy_loss': mean(policy.loss),
        'value_loss': mean(critic.loss),
        'entropy': mean(entropy.extra.entropy),
        'advantage': mean(advantage),
    }
    return gradients, metrics

  def apply(self, gradients: Sequence[tf.Tensor], env_steps: tf.Tensor) -> Dict[str, tf.Tensor]:
    """Applies a worker's gradient to the global variables (graph code, no lock).

    Args:
      gradients: d L / d theta', in the order of `network.trainable_variables`.
      env_steps: the segment's environment steps, added to the global step counter.

    Returns:
      grad_norm (before clipping), learning_rate (the one applied), and update: the global
      update counter after this update (1 for the run's first).
    """
    variables = self._network.trainable_variables
    grad_norm = learning.apply_global_gradients(self._optimizer, gradients, variables,
                                                max_grad_norm=self._config.max_grad_norm)
    # Automatic control dependencies order ops per resource only: without these reads (ordered
    # after each variable's update) the counters could move before the update is applied.
    with tf.control_dependencies([v.read_value() for v in variables]):
      self.env_steps.assign_add(tf.cast(env_steps, tf.int64))
      update = self.num_updates.assign_add(1)
    return {'grad_norm': grad_norm,
            'learning_rate': tf.identity(self._optimizer.learning_rate), 'update': update}


class A3CWorkerLearner(tf.Module):
  """The learning half of one A3C actor-learner thread: the segment's gradient w.r.t. the
  worker's local parameters theta' (synced when the segment started), applied to the global
  theta by the shared `A3CLearner` (one compiled call, no lock).

  Args:
    learner: the shared `A3CLearner`.
    local_network: the worker's `ActorCritic` (the one its `SegmentActor` acts with).
  """

  def __init__(self, learner: A3CLearner, local_network):
    super().__init__(name='a3c_worker_learner')
    self._learner = learner
    self._network = local_network
    self._step = tf.function(self._step_graph, autograph=False,
                             jit_compile=learner.config.jit_compile)

  def step(self, segment: Segment) -> Dict[str, tf.Tensor]:
    """Applies the segment's gradient; returns loss, policy_loss, value_loss, entropy,
    advantage, grad_norm, learning_rate, segment_length and staleness (updates by other
    workers between this segment's sync and its update)."""
    return self._step(segment)

  def _step_graph(self, segment: Segment) -> Dict[str, tf.Tensor]:
    gradients, metrics = self._learner.loss_and_gradients(self._network, segment)
    metrics.update(self._learner.apply(gradients, segment.length))
    update = metrics.pop('update')
    metrics['staleness'] = tf.cast(update - segment.start_update - 1, tf.float32)
    metrics['segment_length'] = tf.cast(segment.length, tf.float32)
    return metrics
