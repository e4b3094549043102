"""The compiled learner step shared by the off-policy agents (DDPG, TD3, SAC).

A subclass writes up to three functions:
  - `_train(transition)`: runs in replica context on one replica's share of the batch; computes
    the losses (per-example, averaged over the global batch), applies the gradients and returns
    a dict of scalar metrics;
  - `_train_delayed(transition)` (optional): the same, run only on every `delay`-th update
    after `_train` (TD3's delayed policy updates); returns the metrics named by
    `delayed_metrics`;
  - `_update_targets()`: the soft target updates (and anything else that must be written once,
    not per replica), run in cross-replica context after the training functions.

`step_from(iterator)` then is one `tf.function`: the next batch, the training functions under
`strategy.run`, the metrics averaged over replicas, `_update_targets()` and `num_updates += 1`.
The delay is decided outside `strategy.run` (a replica function may not hold a gradient
all-reduce inside a conditional). Without a distribution strategy the whole update (everything
but reading the batch) is one XLA program when `jit_compile` is set.

With prioritized replay that function also returns the sampled items' keys and new
priorities (`key`, `priority`: [global batch], gathered over replicas) and keeps the largest
priority so far in `max_priority`.

`step(experience)`, the learner interface the training loop calls, samples the table the
learner was `connect`ed to (the actor's `experience` is None: it wrote to the table) and writes
the new priorities back.
"""

import types
from typing import Any, Callable, Dict, Iterator, Sequence

import tensorflow as tf

from agents.common import core
from agents.common import distribute
from agents.common import learning


def soft_update(targets: Sequence[tf.Variable], sources: Sequence[tf.Variable],
                tau: float) -> None:
  """theta' <- tau theta + (1 - tau) theta', element by element (Lillicrap et al. 2015, Alg. 1).

  Non-trainable variables (e.g. batch-norm moving statistics) are averaged the same way.
  """
  for target, source in zip(targets, sources, strict=True):
    target.assign(tau * source + (1.0 - tau) * target)


class OffPolicyLearner(tf.Module):
  """Base of the off-policy learners: one compiled `step_from(iterator)` per gradient update.

  Args:
    strategy: the strategy the variables were created under.
    global_batch_size: the batch size over all replicas (for the loss averages).
    seed: seeds the learner's sampling (stateless: the seed, the update count, the replica).
    jit_compile: compile the update with XLA (used without a distribution strategy).
    name: the module's name.
    delay: `_train_delayed` runs on every `delay`-th update.
    prioritized: batches come from prioritized replay: their `extras` hold `key` and
      `importance_weight` ([B] each, see `off_policy.make_iterator`).
    priority_epsilon: added to |TD error| to give an item's new priority.
  """

  # Metrics returned by `_train_delayed` (zeros on the updates that skip it).
  delayed_metrics = ()

  def __init__(self, strategy: tf.distribute.Strategy, global_batch_size: int, seed: int,
               jit_compile: bool, name: str, delay: int = 1, prioritized: bool = False,
               priority_epsilon: float = 1e-6):
    super().__init__(name=name)
    self._prioritized = bool(prioritized)
    self._priority_epsilon = float(priority_epsilon)
    self._delay = int(delay)
    self._strategy = strategy
    self._global_batch_size = global_batch_size
    self._seed = int(seed)
    self._default = distribute.is_default_strategy(strategy)
    with strategy.scope():
      self.num_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_updates')
      if self._prioritized:
        # New transitions enter the table with the largest priority seen (Schaul et al. 2016).
        self.max_priority = tf.Variable(1.0, trainable=False, name='max_priority')
    update = tf.function(self._update_default, jit_compile=jit_compile, autograph=False)
    self._compiled_update = update
    self.step_from = tf.function(self._step, autograph=False)
    self.update = tf.function(self._update_on_batch, autograph=False)
    # Not checkpointed: the dataset iterator lives outside the module's tracked attributes.
    self._input = types.SimpleNamespace(make_iterator=None, write_priorities=None,
                                        iterator=None)

  def connect(self, make_iterator: Callable[[], Iterator[Any]],
              write_priorities: Callable[[Any, Any], None]) -> None:
    """Where `step` samples from: `make_iterator()` (called at the first step) gives batches;
    `write_priorities(keys, priorities)` receives prioritized replay's new priorities."""
    self._input.make_iterator = make_iterator
    self._input.write_priorities = write_priorities

  def disconnect(self) -> None:
    """Drops the dataset iterator (after the replay server it samples has stopped)."""
    self._input.iterator = None

  def step(self, experience: Any = None) -> Dict[str, tf.Tensor]:
    """One update from the next batch of the connected table; returns its metrics."""
    del experience  # The actor wrote it to the table.
    source = self._input
    if source.iterator is None:
      if source.make_iterator is None:
        raise ValueError(f'{self.name}: connect() the learner to a replay table first')
      source.iterator = source.make_iterator()
    try:
      if isinstance(source.iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
        metrics = self.step_from(source.iterator)  # The next batch read inside the graph.
      else:  # E.g. batches a thread reads from a remote table.
        metrics = self.update(next(source.iterator))
    except tf.errors.OutOfRangeError:  # The dataset's rate-limiter timeout ended it.
      core.check_interrupt()  # A signal that came during the wait ends the run as signals do.
      raise core.RunStopped(f'{self.name}: the replay table gave no batch within its sampling '
                            'timeout (rate limiter or server stuck)') from None
    if self._prioritized:
      source.write_priorities(metrics.pop('key').numpy(), metrics.pop('priority').numpy())
    return metrics

  # To be written by the subclasses.
  def _train(self, transition) -> Dict[str, tf.Tensor]:
    raise NotImplementedError

  def _train_delayed(self, transition) -> Dict[str, tf.Tensor]:
    del transition
    return {}

  def _update_targets(self) -> None:
    raise NotImplementedError

  def delayed_update_due(self) -> tf.Tensor:
    """Whether this update (numbered from 0) runs `_train_delayed`."""
    return tf.equal(self.num_updates % self._delay, 0)

  # Shared helpers.
  def mean(self, per_example: tf.Tensor) -> tf.Tensor:
    """Averages per-example losses over the global batch (sum over replicas gives the mean)."""
    return tf.nn.compute_average_loss(per_example, global_batch_size=self._global_batch_size)

  def weighted(self, per_example: tf.Tensor, transition) -> tf.Tensor:
    """Per-example losses [B] times the importance weights of prioritized replay (as they are
    without prioritized replay)."""
    if not self._prioritized:
      return per_example
    return per_example * transition.extras['importance_weight']

  def add_priorities(self, metrics: Dict[str, tf.Tensor], td_error: tf.Tensor) -> None:
    """Puts the new priorities |td_error| + epsilon ([B]) into `metrics` (prioritized replay)."""
    if self._prioritized:
      metrics['priority'] = tf.abs(td_error) + self._priority_epsilon

  def sampling_seed(self, salt: int) -> tf.Tensor:
    """A stateless-RNG seed [2] (int32) that differs per update, per replica and per `salt`."""
    context = tf.distribute.get_replica_context()
    replica = 0 if context is None else context.replica_id_in_sync_group
    replica = tf.cast(replica, tf.int64)
    replicas = self._strategy.num_replicas_in_sync
    counter = ((self.num_updates * replicas + replica) * 16 + salt) % (2**31 - 1)
    return tf.cast(tf.stack([tf.constant(self._seed, tf.int64), counter]), tf.int32)

  def apply(self, optimizer: tf.keras.optimizers.Optimizer, tape: tf.GradientTape,
            loss: tf.Tensor, variables: Sequence[tf.Variable]) -> tf.Tensor:
    """Applies d loss / d variables (summed over replicas); returns the global gradient norm."""
    return learning.apply_global_gradients(optimizer, tape.gradient(loss, variables), variables,
                                           self._strategy, max_grad_norm=0.0)

  # The step.
  def _delayed(self, run) -> Dict[str, tf.Tensor]:
    """`run()` on the due updates; zeros for `delayed_metrics` otherwise."""
    if not self.delayed_metrics:
      run()
      return {}
    if self._delay == 1:
      return run()
    skipped = lambda: {name: tf.constant(0.0) for name in self.delayed_metrics}
    return tf.cond(self.delayed_update_due(), run, skipped)

  def _train_with_keys(self, transition) -> Dict[str, tf.Tensor]:
    """`_train`'s metrics, with prioritized replay also the batch's Reverb keys (uint64)."""
    metrics = self._train(transition)
    if self._prioritized:
      metrics['key'] = transition.extras['key']
    return metrics

  def _train_with_int64_keys(self, transition) -> Dict[str, tf.Tensor]:
    """`_train_with_keys` for `strategy.run`: keys as int64 bit patterns, since
    `strategy.gather` refuses uint64."""
    metrics = self._train_with_keys(transition)
    if self._prioritized:
      metrics['key'] = tf.bitcast(metrics['key'], tf.int64)
    return metrics

  def _finish(self, metrics: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    if self._prioritized:
      self.max_priority.assign(tf.maximum(self.max_priority, tf.reduce_max(metrics['priority'])))
    self._update_targets()
    self.num_updates.assign_add(1)
    return metrics

  def _update_default(self, transition) -> Dict[str, tf.Tensor]:
    metrics = self._train_with_keys(transition)
    metrics.update(self._delayed(lambda: self._train_delayed(transition)))
    return self._finish(metrics)

  def _run(self, fn, transition) -> Dict[str, tf.Tensor]:
    metrics = self._strategy.run(fn, args=(transition,))
    return {k: (self._strategy.gather(v, axis=0) if k in ('key', 'priority') else
                self._strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None))
            for k, v in metrics.items()}

  def _update_on_batch(self, transition) -> Dict[str, tf.Tensor]:
    """One update from a batch already in hand (per-replica values under a strategy)."""
    if self._default:
      return self._compiled_update(transition)
    metrics = self._run(self._train_with_int64_keys, transition)
    if self._prioritized:
      metrics['key'] = tf.bitcast(metrics['key'], tf.uint64)
    metrics.update(self._delayed(lambda: self._run(self._train_delayed, transition)))
    return self._finish(metrics)

  def _step(self, iterator) -> Dict[str, tf.Tensor]:
    """One update from the next batch of `iterator`."""
    return self._update_on_batch(next(iterator))
