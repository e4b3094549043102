"""Reverb replay: transition tables from env specs, an N-step writer, datasets and priorities.

The same code serves an in-process server (`make_server(...)`, clients at
`f'localhost:{server.port}'`) and a server in another process or machine
(`python -m launchers.replay_server`, clients at `--replay_address=host:port`): every function
below takes a `reverb.Client` or a server address, never the server object.

Items are single transitions `(o_t, a_t, R_t, d_t, o_{t+n}, extras_t)` with

    R_t = sum_{k=0}^{m-1} gamma^k (prod_{j<k} discount_{t+j+1}) r_{t+k+1}
    d_t = gamma^m prod_{k=0}^{m-1} discount_{t+k+1}

where `m = n` inside an episode and `m < n` for the last transitions of an episode. A
termination (dm_env discount 0) makes `d_t = 0`: nothing is bootstrapped past it. A time-limit
truncation is a LAST step with discount 1, so `d_t = gamma^m > 0`: the learner bootstraps
from `o_{t+m}` as if the episode had gone on. The learner's target is `R_t + d_t V(o_{t+n})`.
"""

import collections
import queue
import threading
import time
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import dm_env
from dm_env import specs
import numpy as np
import reverb
from reverb.platform import checkpointers_lib
import tensorflow as tf
import tree

from agents.common import core

# The default table name used by the launchers and `launchers/replay_server.py`.
DEFAULT_TABLE = 'replay'


class Transition(NamedTuple):
  """One (N-step) transition as stored in and sampled from a table.

  Attributes:
    observation: o_t, shape and dtype of the observation spec.
    action: a_t, shape and dtype of the action spec.
    reward: R_t, the discounted sum of the next m <= n rewards (float32 scalar; [N], one per
      agent, for the joint transitions of N agents).
    discount: d_t = gamma^m * prod of the m env discounts (float32 scalar, or [N] per agent; 0
      after a termination, gamma^m after a time-limit truncation).
    next_observation: o_{t+m}, the observation to bootstrap from.
    extras: a dict of per-step extras recorded with a_t (e.g. behaviour log-probs); may be
      empty.
  """
  observation: Any
  action: Any
  reward: Any
  discount: Any
  next_observation: Any
  extras: Any


def _tensor_spec(spec: specs.Array, name: Optional[str] = None) -> tf.TensorSpec:
  return tf.TensorSpec(tuple(spec.shape), tf.as_dtype(spec.dtype), name=name or spec.name)


def transition_signature(observation_spec: specs.Array, action_spec: specs.Array,
                         extras_spec: Optional[Mapping[str, specs.Array]] = None) -> Transition:
  """The table signature of one transition, one `tf.TensorSpec` per field.

  Args:
    observation_spec: the environment's dm_env observation spec.
    action_spec: the environment's dm_env action spec.
    extras_spec: optional dict name -> dm_env spec (or `tf.TensorSpec`) of per-step extras.

  Returns:
    A `Transition` of `tf.TensorSpec`s; reward and discount are float32 scalars.
  """
  extras = {}
  for name, spec in (extras_spec or {}).items():
    extras[name] = spec if isinstance(spec, tf.TensorSpec) else _tensor_spec(spec, name)
  return Transition(
      observation=_tensor_spec(observation_spec, 'observation'),
      action=_tensor_spec(action_spec, 'action'),
      reward=tf.TensorSpec((), tf.float32, name='reward'),
      discount=tf.TensorSpec((), tf.float32, name='discount'),
      next_observation=_tensor_spec(observation_spec, 'next_observation'),
      extras=extras)


def can_pack(observation_spec: specs.Array, action_spec: specs.Array) -> bool:
  """Whether transitions of these specs can be stored packed: rank-1 float32 observations and
  actions (continuous control)."""
  return all(len(spec.shape) == 1 and np.dtype(spec.dtype) == np.float32
             for spec in (observation_spec, action_spec))


def packed_transition_signature(observation_spec: specs.Array, action_spec: specs.Array,
                                reward_size: int = 1) -> tf.TensorSpec:
  """The signature of packed transitions: one float32 vector
  `[o_t, a_t, R_t, d_t, o_{t+n}]` of size 2 O + A + 2 R per item (R = `reward_size`: 1, or
  the number of agents of joint transitions that hold a reward and a discount per agent).

  Sampling cost grows with the number of columns (each is its own chunk), so tables of small
  continuous-control transitions store them as one column: sampling a batch of 256 Pendulum
  transitions takes ~1.5 ms of CPU instead of ~4 ms with five columns (measured on the
  development machine). Use `pack_transition` to write and `unpack_transitions` after
  sampling. Requires `can_pack(...)`.
  """
  if not can_pack(observation_spec, action_spec):
    raise ValueError('packed_transition_signature: needs rank-1 float32 observations and '
                     f'actions, got {observation_spec!r} and {action_spec!r}')
  size = 2 * observation_spec.shape[0] + action_spec.shape[0] + 2 * reward_size
  return tf.TensorSpec((size,), tf.float32, name='transition')


def pack_transition(transition: Transition) -> np.ndarray:
  """The flat float32 vector `[o, a, R, d, o']` of one transition (no extras; R and d scalars
  or vectors of the same size)."""
  if transition.extras:
    raise ValueError('pack_transition: packed transitions have no extras')
  return np.concatenate([
      np.asarray(transition.observation, np.float32).reshape(-1),
      np.asarray(transition.action, np.float32).reshape(-1),
      np.asarray(transition.reward, np.float32).reshape(-1),
      np.asarray(transition.discount, np.float32).reshape(-1),
      np.asarray(transition.next_observation, np.float32).reshape(-1)])


def unpack_transitions(data: tf.Tensor, observation_size: int, action_size: int,
                       reward_size: int = 1) -> Transition:
  """Splits packed transitions `[..., 2 O + A + 2 R]` back into a `Transition` of
  `[..., O]`, `[..., A]`, `[...]`, `[...]`, `[..., O]` tensors (extras empty); with
  `reward_size` R > 1, reward and discount are `[..., R]`."""
  observation, action, reward, discount, next_observation = tf.split(
      data, [observation_size, action_size, reward_size, reward_size, observation_size],
      axis=-1)
  if reward_size == 1:
    reward, discount = reward[..., 0], discount[..., 0]
  return Transition(observation=observation, action=action, reward=reward,
                    discount=discount, next_observation=next_observation, extras={})


def make_rate_limiter(samples_per_insert: Optional[float] = None, min_size_to_sample: int = 1,
                      error_buffer: Optional[Union[float, Tuple[float, float]]] = None
                      ) -> reverb.rate_limiters.RateLimiter:
  """A rate limiter that states the samples-per-insert ratio.

  Args:
    samples_per_insert: how many times, on average, each item is sampled. `None` means no
      ratio: `MinSize(min_size_to_sample)`, sampling never waits for inserts once the table is
      big enough. Otherwise `SampleToInsertRatio`: neither the sampler nor the inserters can
      run ahead of the ratio by more than `error_buffer`.
    min_size_to_sample: no sample is served before the table holds this many items.
    error_buffer: the allowed deviation from the ratio (a number, or an explicit `(min, max)`
      range of `inserts * samples_per_insert - samples`). Default: 10% of
      `min_size_to_sample * samples_per_insert` (Acme's tolerance), at least
      `max(1, samples_per_insert)` (Reverb's minimum, below which calls could deadlock).
  """
  if min_size_to_sample < 1:
    raise ValueError(f'make_rate_limiter: min_size_to_sample={min_size_to_sample} must be >= 1')
  if samples_per_insert is None:
    return reverb.rate_limiters.MinSize(min_size_to_sample)
  if samples_per_insert <= 0:
    raise ValueError(f'make_rate_limiter: samples_per_insert={samples_per_insert} must be > 0')
  if error_buffer is None:
    error_buffer = max(0.1 * min_size_to_sample * samples_per_insert,
                       max(1.0, samples_per_insert))
  return reverb.rate_limiters.SampleToInsertRatio(
      samples_per_insert=samples_per_insert, min_size_to_sample=min_size_to_sample,
      error_buffer=error_buffer)


def make_uniform_table(name: str, max_size: int, signature: Any,
                       samples_per_insert: Optional[float] = None, min_size_to_sample: int = 1,
                       error_buffer: Optional[Union[float, Tuple[float, float]]] = None,
                       max_times_sampled: int = 0) -> reverb.Table:
  """A table with a uniform sampler, a FIFO remover and `make_rate_limiter(...)`."""
  return reverb.Table(
      name=name, sampler=reverb.selectors.Uniform(), remover=reverb.selectors.Fifo(),
      max_size=max_size, max_times_sampled=max_times_sampled,
      rate_limiter=make_rate_limiter(samples_per_insert, min_size_to_sample, error_buffer),
      signature=signature)


def make_prioritized_table(name: str, max_size: int, signature: Any, priority_exponent: float,
                           samples_per_insert: Optional[float] = None,
                           min_size_to_sample: int = 1,
                           error_buffer: Optional[Union[float, Tuple[float, float]]] = None,
                           max_times_sampled: int = 0) -> reverb.Table:
  """A proportional prioritized table: P(i) = p_i^alpha / sum_k p_k^alpha (alpha =
  `priority_exponent`; Schaul et al. 2016, arXiv:1511.05952, eq. 1), FIFO remover."""
  if priority_exponent < 0:
    raise ValueError(f'make_prioritized_table: priority_exponent={priority_exponent} must be >= 0')
  return reverb.Table(
      name=name, sampler=reverb.selectors.Prioritized(priority_exponent),
      remover=reverb.selectors.Fifo(), max_size=max_size, max_times_sampled=max_times_sampled,
      rate_limiter=make_rate_limiter(samples_per_insert, min_size_to_sample, error_buffer),
      signature=signature)


def make_server(tables: Sequence[reverb.Table], port: Optional[int] = None,
                checkpoint_dir: Optional[str] = None,
                initial_checkpoint: Optional[str] = None) -> reverb.Server:
  """An in-process Reverb server (port picked by portpicker when None).

  With `checkpoint_dir`, `checkpoint(client)` writes under that directory and a server built
  later with the same directory (and tables of the same names) starts from its newest
  checkpoint. `initial_checkpoint` (one checkpoint's own folder, with its DONE file) is loaded
  instead when `checkpoint_dir` holds none.
  """
  checkpointer = None
  if checkpoint_dir:
    checkpointer = checkpointers_lib.DefaultCheckpointer(
        path=checkpoint_dir, fallback_checkpoint_path=initial_checkpoint)
  return reverb.Server(tables=list(tables), port=port, checkpointer=checkpointer)


def checkpoint(client: reverb.Client) -> str:
  """Writes a checkpoint of every table of the client's server; returns its path."""
  return client.checkpoint()


def wait_in_slices(call: Callable[[Optional[int]], Any], timeout_s: Optional[float]) -> None:
  """`call(timeout_ms)` (a Reverb writer's `flush` or `end_episode`) in 1 s slices until it
  returns, for at most `timeout_s` in all (None: `call(None)`, no limit); between slices a
  Ctrl-C (`core.Interrupts`) stops the wait.

  Raises:
    reverb.errors.DeadlineExceededError: past `timeout_s`.
  """
  if timeout_s is None:
    call(None)
    return
  deadline = time.monotonic() + timeout_s
  while True:
    try:
      call(int(1000 * min(1.0, max(0.001, deadline - time.monotonic()))))
      return
    except reverb.errors.DeadlineExceededError:
      core.check_interrupt()
      if time.monotonic() >= deadline:
        raise


def call_with_timeout(function: Callable[[], Any], timeout_s: float,
                      on_timeout: Callable[[], Exception]) -> Any:
  """`function()` for a Reverb call that has no timeout of its own (a sample, a checkpoint):
  run in a daemon thread, waited for in 1 s slices (a Ctrl-C stops the wait), its exception
  re-raised here. Past `timeout_s` raises `on_timeout()`; the thread is left behind."""
  done = queue.Queue()

  def target():
    try:
      done.put((True, function()))
    except BaseException as error:  # pylint: disable=broad-except
      done.put((False, error))

  threading.Thread(target=target, daemon=True, name='reverb_call').start()
  deadline = time.monotonic() + timeout_s
  while True:
    try:
      ok, value = done.get(timeout=min(1.0, max(0.001, deadline - time.monotonic())))
    except queue.Empty:
      core.check_interrupt()
      if time.monotonic() >= deadline:
        raise on_timeout() from None
      continue
    if not ok:
      raise value
    return value


class NStepTransitionWriter:
  """Writes N-step transitions of one environment with `client.trajectory_writer`.

  Usage, with dm_env time steps (termination: discount 0; truncation: LAST step, discount 1):

      writer = NStepTransitionWriter(client, 'replay', n_step=3, discount=0.99)
      timestep = env.reset(); writer.observe_first(timestep)
      while not timestep.last():
        action = policy(timestep.observation)
        timestep = env.step(action)
        writer.observe(action, timestep)

  Every step t of an episode gets one item: as soon as o_{t+n} is known, and, at the episode's
  end, the shorter transitions to its last observation (see the module docstring). `n_step=1`
  writes plain transitions. Rewards and discounts may be vectors (one per agent, the joint
  time steps of several agents): the sums above run element by element. Each transition is
  appended whole (its observations are stored
  twice); that keeps items independent of the writer's history for the price of memory.

  Args:
    client: a `reverb.Client` (in-process server or `host:port`).
    table: the table (or tables) to insert into.
    n_step: n >= 1.
    discount: gamma in [0, 1].
    priority: the initial priority of new items, a float or a callable `Transition -> float`
      (e.g. the current maximum priority for prioritized replay). Ignored by uniform tables.
    max_in_flight_items: after each item, block until at most this many are unconfirmed by the
      server; this is where the rate limiter holds actors back.
    packed: write `pack_transition(...)` vectors (tables of `packed_transition_signature`).
    timeout_s: the longest any call waits for the server (None: forever); past it the call
      raises `reverb.errors.DeadlineExceededError`. The wait is cut into 1 s slices, so
      Ctrl-C (`core.Interrupts`) still stops a call that waits.
  """

  def __init__(self, client: reverb.Client, table: Union[str, Sequence[str]], n_step: int,
               discount: float, priority: Any = 1.0, max_in_flight_items: int = 1,
               packed: bool = False, timeout_s: Optional[float] = None):
    if n_step < 1:
      raise ValueError(f'NStepTransitionWriter: n_step={n_step} must be >= 1')
    if not 0.0 <= discount <= 1.0:
      raise ValueError(f'NStepTransitionWriter: discount={discount} must be in [0, 1]')
    self._tables = [table] if isinstance(table, str) else list(table)
    self._n = n_step
    self._gamma = float(discount)
    self._priority = priority
    self._max_in_flight_items = max_in_flight_items
    self._packed = packed
    self._timeout_s = timeout_s
    self._writer = client.trajectory_writer(num_keep_alive_refs=1)
    # Pending steps: (o_t, a_t, extras_t, r_{t+1}, discount_{t+1}) not yet written.
    self._pending = collections.deque()
    self._observation = None

  def observe_first(self, timestep: dm_env.TimeStep) -> None:
    """Starts an episode at a FIRST time step (drops anything pending from an unfinished one)."""
    self._pending.clear()
    self._observation = timestep.observation

  def observe(self, action: Any, next_timestep: dm_env.TimeStep,
              extras: Optional[Mapping[str, Any]] = None) -> None:
    """Records `action` taken at the last observation and the time step it led to."""
    if self._observation is None:
      raise ValueError('NStepTransitionWriter.observe: call observe_first first')
    self._pending.append((self._observation, action, dict(extras or {}),
                          np.asarray(next_timestep.reward, np.float32),
                          np.asarray(next_timestep.discount, np.float32)))
    self._observation = next_timestep.observation
    if next_timestep.last():
      while self._pending:
        self._write_oldest()
      self._wait(self._writer.end_episode)
      self._observation = None
    elif len(self._pending) == self._n:
      self._write_oldest()

  def _write_oldest(self) -> None:
    reward, bootstrap = 0.0, 1.0
    for _, _, _, r, d in self._pending:
      reward = reward + bootstrap * r.astype(np.float64)
      bootstrap = bootstrap * self._gamma * d.astype(np.float64)
    observation, action, extras, _, _ = self._pending.popleft()
    transition = Transition(
        observation=observation, action=action, reward=np.asarray(reward, np.float32),
        discount=np.asarray(bootstrap, np.float32), next_observation=self._observation,
        extras=extras)
    self._writer.append(pack_transition(transition) if self._packed else transition)
    item = tree.map_structure(lambda column: column[-1], self._writer.history)
    priority = self._priority(transition) if callable(self._priority) else self._priority
    for table in self._tables:
      self._writer.create_item(table, priority=float(priority), trajectory=item)
    self._wait(lambda timeout_ms: self._writer.flush(self._max_in_flight_items, timeout_ms))

  def _wait(self, call: Callable[[int], Any]) -> None:
    wait_in_slices(call, self._timeout_s)

  def flush(self) -> None:
    """Blocks until every item written so far is confirmed (DeadlineExceededError past
    `timeout_s`)."""
    self._wait(lambda timeout_ms: self._writer.flush(timeout_ms=timeout_ms))

  def close(self) -> None:
    """Closes the writer; the transitions of an unfinished episode are dropped."""
    self._writer.close()

  def __enter__(self) -> 'NStepTransitionWriter':
    return self

  def __exit__(self, *unused):
    self.close()


def make_dataset(server_address: str, table: str, batch_size: int, *,
                 prefetch: Optional[int] = tf.data.AUTOTUNE,
                 max_in_flight_samples_per_worker: Optional[int] = None,
                 num_workers_per_iterator: int = -1,
                 rate_limiter_timeout_ms: int = -1) -> tf.data.Dataset:
  """Batches of `reverb.ReplaySample(info, data)` sampled from `table`.

  `info` holds `[batch_size]` tensors: `key` (uint64, for `update_priorities`), `probability`
  (float64, P(i) at sampling time), `table_size`, `priority` and `times_sampled`; `data` has
  the table signature's structure (a `Transition` for tables of `transition_signature`) with a
  leading `[batch_size]` dimension.

  Under `tf.distribute`, build the dataset with the *global* batch size and hand it to
  `strategy.experimental_distribute_dataset(dataset)`, which splits each batch across replicas
  (batches are `drop_remainder=True`, so every replica gets `global_batch / num_replicas`
  items); in `strategy.run`, reduce per-item losses with
  `tf.nn.compute_average_loss(loss, global_batch_size=batch_size)`. With several input
  workers use `strategy.distribute_datasets_from_function` and
  `input_context.get_per_replica_batch_size(batch_size)` instead.

  Args:
    server_address: 'host:port' of the server.
    table: the table's name; it must have a signature.
    batch_size: items per batch.
    prefetch: batches to prefetch (None: no prefetch).
    max_in_flight_samples_per_worker: samples requested per round trip (default 2 x batch).
    num_workers_per_iterator: sampler threads (-1: Reverb picks; use 1 for FIFO tables).
    rate_limiter_timeout_ms: end the dataset when the rate limiter blocks sampling this long
      (-1: wait forever).
  """
  if batch_size < 1:
    raise ValueError(f'make_dataset: batch_size={batch_size} must be >= 1')
  dataset = reverb.TrajectoryDataset.from_table_signature(
      server_address=server_address, table=table,
      max_in_flight_samples_per_worker=max_in_flight_samples_per_worker or 2 * batch_size,
      num_workers_per_iterator=num_workers_per_iterator,
      rate_limiter_timeout_ms=rate_limiter_timeout_ms)
  dataset = dataset.batch(batch_size, drop_remainder=True)
  if prefetch is not None:
    dataset = dataset.prefetch(prefetch)
  return dataset


def update_priorities(client: reverb.Client, table: str, keys: Any, priorities: Any) -> None:
  """Sets the priorities of the items `keys` ([B] uint64) to `priorities` ([B]); unknown keys
  (items already removed) are ignored."""
  keys = np.asarray(keys, np.uint64).reshape(-1)
  priorities = np.asarray(priorities, np.float64).reshape(-1)
  if keys.shape != priorities.shape:
    raise ValueError(f'update_priorities: {keys.shape[0]} keys but {priorities.shape[0]} '
                     'priorities')
  client.mutate_priorities(
      table, updates={int(k): float(p) for k, p in zip(keys, priorities)})


def importance_weights(probabilities: tf.Tensor, table_size: tf.Tensor,
                       beta: Union[float, tf.Tensor]) -> tf.Tensor:
  """Importance-sampling weights of prioritized replay, normalised by their maximum.

      w_i = (N * P(i))^-beta / max_j w_j          (Schaul et al. 2016, arXiv:1511.05952, eq. 1-2)

  Args:
    probabilities: [B] P(i) of each sampled item (`info.probability`).
    table_size: [B] or scalar N, the table size at sampling time (`info.table_size`).
    beta: exponent in [0, 1] (0: no correction; 1: full correction).

  Returns:
    [B] float32 weights in (0, 1], the largest is 1 (max over this batch).
  """
  probabilities = tf.convert_to_tensor(probabilities)
  if probabilities.shape.rank != 1:
    raise ValueError(f'importance_weights: probabilities must be [B], got {probabilities.shape}')
  probabilities = tf.cast(probabilities, tf.float64)
  table_size = tf.cast(table_size, tf.float64)
  beta = tf.cast(beta, tf.float64)
  weights = tf.pow(table_size * probabilities, -beta)
  return tf.cast(weights / tf.reduce_max(weights), tf.float32)
