"""A3C learner: the shared (global) parameters, the shared optimizer and a segment's loss."""

from typing import Dict, NamedTuple, Sequence, Tuple

import tensorflow as tf

from agents.a3c import config as config_lib
from agents.common import distribute
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

  Args:
    network: the global `ActorCritic` (theta and theta_v).
    optimizer: the shared Keras optimizer (its statistics are shared by every worker).
    config: the `A3CConfig`.
    strategy: the `tf.distribute.Strategy`; A3C's workers are threads of one process, so only
      the default strategy is supported.

  Raises:
    ValueError: naming --strategy for any other strategy.
  """

  def __init__(self, network, optimizer: tf.keras.optimizers.Optimizer,
               config: config_lib.A3CConfig, strategy: tf.distribute.Strategy):
    super().__init__(name='a3c_learner')
    if not distribute.is_default_strategy(strategy):
      raise ValueError('--strategy: A3C runs its workers as threads of one process and '
                       'supports only --strategy=default')
    self._network = network
    self._optimizer = optimizer
    self._config = config
    self.env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name='env_steps')
    self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')
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
      policy = losses.policy_gradient.policy_gradient_loss(distribution.log_prob(action),
                                                           advantage)
      critic = losses.value.value_loss(value, returns)
      entropy = losses.policy_gradient.entropy_loss(distribution.entropy())
      loss = total(policy.loss + config.value_coef * critic.loss
                   + config.entropy_coef * entropy.loss)
    gradients = tape.gradient(loss, variables)
    metrics = {
        'loss': loss,
        'policy_loss': mean(policy.loss),
        'value_loss': mean(critic.loss),
        'entropy': mean(entropy.extra.entropy),
        'advantage': mean(advantage),
    }
    return gradients, metrics

  def apply(self, gradients: Sequence[tf.Tensor], env_steps: tf.Tensor,
            progress: tf.Tensor) -> Dict[str, tf.Tensor]:
    """Applies a worker's gradient to the global variables (graph code, no lock).

    Args:
      gradients: d L / d theta', in the order of `network.trainable_variables`.
      env_steps: the segment's environment steps, added to the global step counter.
      progress: fraction of the run done, in [0, 1]; drives linear annealing.

    Returns:
      grad_norm (before clipping), learning_rate, and update: the global update counter after
      this update (1 for the run's first).
    """
    config = self._config
    learning_rate = config.learning_rate * (
        1.0 - progress if config.anneal_learning_rate else 1.0)
    # Several workers may set it between another's assign and apply; they differ by the
    # progress of a few segments.
    self._optimizer.learning_rate.assign(learning_rate)
    grad_norm = tf.linalg.global_norm(gradients)
    if config.max_grad_norm > 0:
      gradients, _ = tf.clip_by_global_norm(gradients, config.max_grad_norm, use_norm=grad_norm)
    variables = self._network.trainable_variables
    self._optimizer.apply_gradients(zip(gradients, variables), skip_gradients_aggregation=True)
    # Automatic control dependencies order ops per resource only: without these reads (ordered
    # after each variable's update) the counters could move before the update is applied.
    with tf.control_dependencies([v.read_value() for v in variables]):
      self.env_steps.assign_add(tf.cast(env_steps, tf.int64))
      update = self.num_updates.assign_add(1)
    return {'grad_norm': grad_norm, 'learning_rate': tf.convert_to_tensor(learning_rate),
            'update': update}
