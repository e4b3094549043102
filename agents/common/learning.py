"""Pieces every learner's compiled update shares: batching, the global gradient step, metrics."""

from typing import Callable, Optional, Sequence, Tuple, Union

import tensorflow as tf

from agents.common import config as config_lib
from agents.common import distribute
from agents.common import rollout as rollout_lib
from agents.common import running_stats
import losses


def gae(rollout: rollout_lib.Rollout, *, discount: float, lambda_: float,
        rewards: Optional[tf.Tensor] = None) -> losses.returns.AdvantagesAndTargets:
  """GAE(gamma, lambda) advantages and lambda-return value targets of a [T, B] rollout.

  discounts_t = gamma (1 - terminated_t); a time-limit cut bootstraps from the value of the real
  final observation (`rollout.truncation_value`) and stops the trace there.

  Args:
    rollout: the on-policy rollout (values V(s_t) as estimated while acting).
    discount: gamma.
    lambda_: the GAE lambda.
    rewards: [T, B] rewards to use instead of `rollout.reward` (e.g. scaled ones).

  Returns:
    `AdvantagesAndTargets(advantages [T, B], value_targets [T, B])`.
  """
  return losses.returns.generalized_advantage_estimation_with_targets(
      rollout.reward if rewards is None else rewards, discount * (1.0 - rollout.terminated),
      rollout.value, rollout.bootstrap_value, lambda_=lambda_, truncations=rollout.truncated,
      truncation_values=rollout.truncation_value)


def standardize(x: tf.Tensor) -> tf.Tensor:
  """(x - mean(x)) / (std(x) + 1e-8) over all elements (e.g. advantages of a whole batch)."""
  mean, variance = tf.nn.moments(x, axes=list(range(x.shape.rank)))
  return (x - mean) / (tf.sqrt(variance) + 1e-8)


def minibatch_indices(seed: tf.Tensor, size: int, minibatch_size: int,
                      index: tf.Tensor) -> tf.Tensor:
  """Indices of minibatch `index` of one shuffled epoch over `size` examples.

  The permutation is a stateless function of `seed` ([2] integers), so an epoch's minibatches
  can be drawn one at a time (inside a compiled loop) and a resumed run repeats nothing.
  """
  order = tf.argsort(tf.random.stateless_uniform([size], seed=seed))
  return order[index * minibatch_size:(index + 1) * minibatch_size]


def copy_variables(targets: Sequence[tf.Variable], sources: Sequence[tf.Variable]) -> None:
  """targets <- sources, element by element (e.g. pi_old <- pi before an update)."""
  for target, source in zip(targets, sources, strict=True):
    target.assign(source)


class AnnealedLearningRate(tf.keras.optimizers.schedules.LearningRateSchedule):
  """initial * (1 - progress()), the linear decay to 0 over a run.

  The optimizer owns its learning rate through this schedule, evaluated at every
  `apply_gradients`; `progress` reads the learner's own counters (e.g. updates done times the
  env steps per update, over the run's horizon), so a resumed run continues the schedule.
  Called without a step it is a zero-argument schedule (K-FAC's) giving the same value.

  Args:
    initial: the learning rate at progress 0.
    progress: a graph-callable returning the fraction of the horizon done (float32 scalar).
  """

  def __init__(self, initial: float, progress: Callable[[], tf.Tensor]):
    self._initial = float(initial)
    self._progress = progress

  def __call__(self, step=None):
    del step  # The optimizer's own iteration count; progress comes from the learner.
    return self._initial * (1.0 - self._progress())

  def get_config(self):
    return {'initial': self._initial}


def learning_rate(initial: float, anneal: bool, progress: Callable[[], tf.Tensor]
                  ) -> Union[float, AnnealedLearningRate]:
  """`initial`, or `AnnealedLearningRate(initial, progress)` when `anneal`."""
  return AnnealedLearningRate(initial, progress) if anneal else initial


def current_learning_rate(learning_rate: Union[float, AnnealedLearningRate]) -> tf.Tensor:
  """What an optimizer given `learning_rate` applies now, as a float32 scalar (the learners'
  `learning_rate` metric): the schedule at the learner's progress, or the constant."""
  if isinstance(learning_rate, AnnealedLearningRate):
    return learning_rate()
  return tf.convert_to_tensor(learning_rate, tf.float32)


def progress(done: tf.Tensor, horizon: int) -> tf.Tensor:
  """min(done / horizon, 1) as float32 (computed in float64), for schedules."""
  fraction = tf.cast(done, tf.float64) / float(horizon)
  return tf.cast(tf.minimum(fraction, 1.0), tf.float32)


class RolloutLearner(tf.Module):
  """What the learners that update once per [T, B] rollout and anneal their learning rate over
  a horizon share (A2C, ACKTR, PPO): the update count, the schedules' progress, the learning
  rate their optimizer owns, and the observation statistics.

  `num_updates` (created under the strategy, checkpointed with the learner) counts the updates,
  so `progress()`, the fraction of the horizon done before an update (`config.batch_size` env
  steps each), and the learning rate `self._learning_rate` (`config.learning_rate`, or its
  `AnnealedLearningRate` with `config.anneal_learning_rate`) continue in a resumed run. A
  subclass builds `self._optimizer` with `self._learning_rate`, reports
  `current_learning_rate(self._learning_rate)` as its `learning_rate` metric, and ends every
  update with `_count_update(rollout)`.

  Args:
    network: the `ActorCritic` the learner updates.
    config: a `RolloutConfig` with `learning_rate` and `anneal_learning_rate`.
    strategy: the `tf.distribute.Strategy` the variables were created under.
    horizon: env steps (of this process) over which the schedules anneal.
    observation_normalizer: running observation statistics shared with the actor, or None.
    name: the module's name.
  """

  def __init__(self, network, config, strategy: tf.distribute.Strategy, horizon: int,
               observation_normalizer: Optional[running_stats.RunningMeanStd], name: str):
    super().__init__(name=name)
    self._network = network
    self._config = config
    self._strategy = strategy
    self._horizon = int(horizon)
    self._normalizer = observation_normalizer
    self._learning_rate = learning_rate(config.learning_rate, config.anneal_learning_rate,
                                        self.progress)
    with strategy.scope():
      self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')

  @property
  def optimizer(self):
    """The optimizer the subclass built (it owns the learning rate)."""
    return self._optimizer

  def progress(self) -> tf.Tensor:
    """The fraction of the horizon done before this update (float32), for the schedules."""
    return progress(self.num_updates * self._config.batch_size, self._horizon)

  def _normalize(self, observation: tf.Tensor) -> tf.Tensor:
    """Observations standardized with the running statistics, if there are any."""
    if self._normalizer is None:
      return observation
    return self._normalizer.normalize(observation)

  def _count_update(self, rollout: rollout_lib.Rollout) -> None:
    """Ends an update on `rollout`: the observation statistics move (after the update, so that
    it saw the ones the actor used) and `num_updates` counts it."""
    if self._normalizer is not None:
      self._normalizer.update(rollout.observation)
    self.num_updates.assign_add(1)


def make_optimizer(name: str, learning_rate: Union[float, AnnealedLearningRate], *,
                   epsilon: Optional[float] = None,
                   rmsprop_decay: float = 0.99) -> tf.keras.optimizers.Optimizer:
  """The optimizer a config names: 'adam', 'rmsprop' (no momentum, uncentered) or 'sgd'.

  Args:
    name: 'adam', 'rmsprop' or 'sgd' (plain theta -= lr g).
    learning_rate: the step size, or a schedule.
    epsilon: Adam's or RMSProp's epsilon (None: Keras' default).
    rmsprop_decay: RMSProp's decay of the mean square (rho).
  """
  extra = {} if epsilon is None else {'epsilon': epsilon}
  if name == 'adam':
    return tf.keras.optimizers.Adam(learning_rate=learning_rate, **extra)
  if name == 'rmsprop':
    return tf.keras.optimizers.RMSprop(learning_rate=learning_rate, rho=rmsprop_decay,
                                       momentum=0.0, centered=False, **extra)
  if name == 'sgd':
    return tf.keras.optimizers.SGD(learning_rate=learning_rate)
  raise ValueError(f"make_optimizer: unknown optimizer {name!r}; use adam, rmsprop or sgd")


def separate_optimizers(network, config) -> Tuple[tf.keras.optimizers.Optimizer,
                                                   tf.keras.optimizers.Optimizer]:
  """The two optimizers of an actor-critic network with separate torsos (REINFORCE's policy
  and baseline, the one-step actor-critic), built for their variables.

  Args:
    network: an `ActorCritic` whose policy and value share no variable.
    config: has `optimizer` (a `make_optimizer` name), `actor_learning_rate` (alpha^theta,
      for `network.policy_variables`) and `critic_learning_rate` (alpha^w, for
      `network.value_variables`).

  Returns:
    (the actor's optimizer, the critic's optimizer).
  """
  actor = make_optimizer(config.optimizer, config.actor_learning_rate)
  critic = make_optimizer(config.optimizer, config.critic_learning_rate)
  actor.build(network.policy_variables)
  critic.build(network.value_variables)
  return actor, critic


def flatten_time_batch(x: tf.Tensor) -> tf.Tensor:
  """Merges the leading [T, B] dims of `x` into one [T * B] dim."""
  return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], axis=0))


def local_replicas(strategy: tf.distribute.Strategy) -> int:
  """Replicas in this process: all of them, except under a multi-worker strategy."""
  return strategy.num_replicas_in_sync // distribute.num_workers(strategy)


def shard(batch, strategy: tf.distribute.Strategy):
  """Distributes this process's flat batch (a nest of [N, ...] tensors) over its replicas.

  Local replica i gets the i-th of L equal contiguous slices. Under a multi-worker strategy each
  worker passes the batch it collected, so the global batch is the union of the workers' data.
  With one replica it is the batch itself.
  """
  local = local_replicas(strategy)
  if local == 1:
    return strategy.experimental_distribute_values_from_function(lambda _: batch)
  return strategy.experimental_distribute_values_from_function(
      lambda ctx: tf.nest.map_structure(
          lambda x: tf.split(x, local)[ctx.replica_id_in_sync_group % local], batch))


def check_no_process_state(strategy: tf.distribute.Strategy, config, *names: str) -> None:
  """Raises ConfigError naming a field of `config` that keeps per-process statistics.

  Running observation/reward statistics and an adaptive KL coefficient are updated from each
  process's own data; with several workers they would drift apart. `names` are boolean fields,
  or 'objective' (set when it is 'kl_penalty').
  """
  workers = distribute.num_workers(strategy)
  for name in names:
    value = getattr(config, name)
    if workers > 1 and value in (True, 'kl_penalty'):
      raise config_lib.ConfigError(
          config, name, f'not supported with a multi-worker strategy ({workers} workers would '
          'keep different statistics)')


def apply_global_gradients(optimizer: tf.keras.optimizers.Optimizer,
                           gradients: Sequence[tf.Tensor], variables: Sequence[tf.Variable],
                           strategy: Optional[tf.distribute.Strategy] = None,
                           max_grad_norm: float = 0.0) -> tf.Tensor:
  """Every learner's gradient step: applies the global gradient once, unless it is not finite.

  Called from graph code (inside a replica function under a distribution strategy). Each replica
  passes its gradient of its share of the loss (per-example losses averaged with the global
  batch size). The gradients are summed across replicas first, so the norm that is clipped
  (when `max_grad_norm > 0`) is the one of the global gradient, and the optimizer then applies
  the same update on every replica.

  A gradient with a NaN or an infinity never reaches the variables: it is replaced by zeros, so
  the step comes from the optimizer's momentum alone (Adam moves by its first moment, RMSProp
  without momentum and SGD not at all) and every variable stays finite. The returned norm is
  then not finite, and the training loop, which checks every metric, stops the run or counts
  the update as skipped. (A conditional step would skip exactly, but an optimizer step may not
  sit inside a conditional under a distribution strategy, and the conditional changed the
  compiled update's rounding, so seeded runs would no longer repeat earlier results.)

  Args:
    optimizer: the Keras optimizer that owns the variables' slots.
    gradients: one per variable.
    variables: the variables to update.
    strategy: the strategy the variables live under (None: no distribution).
    max_grad_norm: clip the global norm to this (0: no clipping).

  Returns:
    The global gradient norm before clipping.
  """
  if strategy is not None and strategy.num_replicas_in_sync > 1:
    context = tf.distribute.get_replica_context()
    gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
  grad_norm = tf.linalg.global_norm(gradients)
  finite = tf.math.is_finite(grad_norm)
  gradients = [tf.where(finite, g, tf.zeros_like(g)) for g in gradients]
  if max_grad_norm > 0:
    gradients, _ = tf.clip_by_global_norm(gradients, max_grad_norm,
                                          use_norm=tf.where(finite, grad_norm, 0.0))
  optimizer.apply_gradients(zip(gradients, variables), skip_gradients_aggregation=True)
  return grad_norm


def explained_variance(targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
  """1 - Var[targets - predictions] / Var[targets]: 1 is perfect, <= 0 is no better than a
  constant."""
  return 1.0 - tf.math.reduce_variance(targets - predictions) / (
      tf.math.reduce_variance(targets) + 1e-8)
