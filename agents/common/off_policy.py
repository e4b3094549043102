"""The off-policy agents' runtime pieces on Reverb: the replay connection, the actor that feeds
it, and the assembly of an agent (DDPG, TD3, SAC).

    ReplayActor.act: a_t = uniform random while t < learning_starts, else policy.select(o_t);
      one environment step; the N-step writer inserts (o, a, R, d, o') into the table
    OffPolicyLearner.step: after learning_starts, `updates_per_step` per env step, each one
      compiled update on the next batch of the table's `tf.data` dataset (with prioritized
      replay, the batch's new priorities are then written back to the table)

The table lives in an in-process Reverb server (default) or in another process
(`--replay_address=host:port`, see launchers/replay_server.py). Its rate limiter states the
replay ratio: `batch_size * updates_per_step` samples per insert, sampling starts at
`learning_starts` items; the learner starts once the table holds them (never before: a sample
the table cannot serve would block).

The run's checkpoint and an in-process table's are one unit: before the run writes
`checkpoints/ckpt-N`, the table is checkpointed into `replay/ckpt-N` (the writer flushed
first), and the run's checkpoint records the table's item and insert counts; once `ckpt-N` is
written, the `replay/ckpt-*` of run checkpoints no longer on disk (rotated out by
`max_to_keep`) are deleted. A resumed run loads `replay/ckpt-N` of the checkpoint it restores
(an older one when the newest is damaged), or is refused when that folder is missing or
incomplete. A remote table is checked against the recorded counts after a restore and before
every metrics row: one whose insert count went down (a restarted server, even one refilled
since) or that holds fewer items stops the run with a line that says what was lost.
"""

import glob
import os
import queue
import shutil
import threading
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import dm_env
import numpy as np
import reverb
import tensorflow as tf

from agents.common import checkpointing
from agents.common import config as config_lib
from agents.common import core
from agents.common import distribute
from agents.common import environments as environments_lib
from agents.common import replay as replay_lib


# The longest any call waits for the replay server: a sample the rate limiter holds back, an
# insert, a flush. The loop samples only once the table can serve (`Agent.ready_to_learn`), so
# a longer wait means the run is stuck: it stops with one line instead of blocking forever.
SERVER_TIMEOUT_S = 30.0


class Replay:
  """A connection to the replay table, and the in-process server if there is one.

  Args:
    client: the `reverb.Client`.
    address: 'host:port' of the server.
    server: the in-process server, or None when the table is served by another process.
    packed: whether items are `replay.pack_transition` vectors (see
      `replay.packed_transition_signature`).
  """

  def __init__(self, client: reverb.Client, address: str, server: Optional[reverb.Server],
               packed: bool = False):
    self.client = client
    self.address = address
    self.server = server
    self.packed = packed

  def counts(self, timeout_s: int = 30) -> Tuple[int, int]:
    """The table's items now, and the items inserted into it since it was made (a count its
    checkpoints keep, which only a new table starts again from 0).

    Raises:
      core.RunStopped: if the server does not answer within `timeout_s`.
    """
    try:
      info = self.client.server_info(timeout=timeout_s)
    except reverb.errors.DeadlineExceededError:
      raise core.RunStopped(f'the replay server at {self.address} did not answer within '
                            f'{timeout_s} s') from None
    table = info[replay_lib.DEFAULT_TABLE]
    return int(table.current_size), int(table.rate_limiter_info.insert_stats.completed)

  def size(self, timeout_s: int = 30) -> int:
    """Items in the table now (`core.RunStopped` as in `counts`)."""
    return self.counts(timeout_s)[0]

  def stall(self, what: str) -> core.RunStopped:
    """The error for `what` (e.g. 'gave no batch') having waited past its timeout: names a
    server that no longer answers, or else the table's size.

    Raises:
      KeyboardInterrupt: if a stop was requested (`core.Interrupts`) while the call waited, so
        that the signal ends the run with its checkpoint rather than as a fault.
    """
    core.check_interrupt()
    try:
      size = self.size(timeout_s=5)
    except core.RunStopped as error:
      return error
    return core.RunStopped(f'the replay table at {self.address} {what} within {SERVER_TIMEOUT_S:g} '
                           f's though its server answers ({size:,} items)')

  def update_priorities(self, keys, priorities) -> None:
    """Sets the priorities of the sampled items `keys` ([B] uint64) to `priorities` ([B]);
    none of them when one is NaN or infinite (the loop stops at, or skips, the update whose
    metrics are not finite). A remote server gets `SERVER_TIMEOUT_S` to take them.

    Raises:
      core.RunStopped: if a remote server has not taken them within `SERVER_TIMEOUT_S`.
    """
    priorities = np.asarray(priorities, np.float64)
    if not np.all(np.isfinite(priorities)):
      return
    update = lambda: replay_lib.update_priorities(self.client, replay_lib.DEFAULT_TABLE, keys,
                                                  priorities)
    if self.server is not None:
      update()
      return
    replay_lib.call_with_timeout(update, SERVER_TIMEOUT_S,
                                 lambda: self.stall('took no priorities'))

  def close(self) -> None:
    """Stops an in-process server. Call it before dropping a dataset iterator of the table: a
    sampler waiting on the rate limiter would keep the iterator's destructor waiting."""
    if self.server is not None:
      self.server.stop()
      self.server = None


def table_signature(observation_spec, action_spec, reward_size: int = 1) -> Tuple[Any, bool]:
  """The signature of the agents' table, and whether it is packed (one float32 column when
  the specs allow it, the cheapest to sample; always for joint transitions of
  `reward_size` > 1 agents)."""
  if replay_lib.can_pack(observation_spec, action_spec):
    return replay_lib.packed_transition_signature(observation_spec, action_spec,
                                                  reward_size), True
  if reward_size != 1:
    raise ValueError('table_signature: joint transitions need rank-1 float32 observations '
                     'and actions')
  return replay_lib.transition_signature(observation_spec, action_spec), False


def replay_directory(logdir: str) -> str:
  """Where an in-process server keeps its Reverb checkpoints."""
  return os.path.join(logdir, 'replay')


def replay_checkpoint(logdir: str, step: int) -> str:
  """The folder of the table's checkpoint that belongs to the run's checkpoint `ckpt-<step>`."""
  return os.path.join(replay_directory(logdir), f'ckpt-{step}')


def _incoming(logdir: str) -> str:
  """Where the server writes a checkpoint before it is renamed `ckpt-<step>`."""
  return os.path.join(replay_directory(logdir), 'incoming')


def transition_table(config: config_lib.OffPolicyConfig, signature: Any) -> reverb.Table:
  """The agents' transition table: the config's size, sampler (uniform or prioritized) and
  rate limiter (`samples_per_insert`, sampling from `learning_starts` items, the default
  slack of `replay.make_rate_limiter`)."""
  limits = dict(samples_per_insert=config.samples_per_insert,
                min_size_to_sample=config.learning_starts)
  if config.prioritized_replay:
    return replay_lib.make_prioritized_table(
        replay_lib.DEFAULT_TABLE, config.replay_size, signature,
        priority_exponent=config.priority_exponent, **limits)
  return replay_lib.make_uniform_table(replay_lib.DEFAULT_TABLE, config.replay_size, signature,
                                       **limits)


def make_replay(config: config_lib.OffPolicyConfig, observation_spec, action_spec, logdir: str,
                address: Optional[str] = None, restore_step: Optional[int] = None,
                extra_tables: Sequence[reverb.Table] = (), reward_size: int = 1) -> Replay:
  """Starts an in-process table, or connects to `address` and checks that it serves a
  compatible table.

  Args:
    config: the agent's config (table size, sampler, rate limiter).
    observation_spec: the environment's observation spec (the table's signature).
    action_spec: the environment's action spec.
    logdir: the run's directory (an in-process table's checkpoints live in `logdir/replay`).
    address: 'host:port' of a server in another process, or None for an in-process one.
    restore_step: the env step of the run checkpoint the run will resume from (None: a new
      run); an in-process table then starts from `replay_checkpoint(logdir, restore_step)`.
    extra_tables: more tables for an in-process server (e.g. `distributed`'s weights and
      reports); a remote server must serve tables of the same names.
    reward_size: rewards (and discounts) per transition: the number of agents of joint
      transitions, 1 otherwise.

  Raises:
    ConfigError: naming `logdir` if the table checkpoint to resume from is missing or
      incomplete; naming `replay_address` if the remote server cannot be reached or its
      table's signature does not match the environment; naming `prioritized_replay` if its
      sampler is not the one the config asks for.
  """
  signature, packed = table_signature(observation_spec, action_spec, reward_size)
  if address is None:
    return serve_table(transition_table(config, signature), logdir, restore_step, extra_tables,
                       packed=packed)
  client = reverb.Client(address)
  refuse = lambda why: config_lib.ConfigError('RunSettings', 'replay_address', why, address)
  try:
    info = client.server_info(timeout=10)
  except Exception as error:  # pylint: disable=broad-except
    raise refuse(f'no Reverb server answered ({error})') from None
  for name in (replay_lib.DEFAULT_TABLE, *(t.name for t in extra_tables)):
    if name not in info:
      raise refuse(f'the server has no table {name!r} (tables: {sorted(info)})')
  served = info[replay_lib.DEFAULT_TABLE].signature
  try:
    compatible = served is not None and all(tf.nest.flatten(tf.nest.map_structure(
        lambda a, b: a.is_compatible_with(b), served, signature, check_types=False)))
  except (TypeError, ValueError):  # Another structure.
    compatible = False
  if not compatible:
    raise refuse('the table does not hold transitions of this environment (serve a table '
                 'made for the same environment)')
  served_prioritized = info[replay_lib.DEFAULT_TABLE].sampler_options.HasField('prioritized')
  if served_prioritized != config.prioritized_replay:
    raise config_lib.ConfigError(
        config, 'prioritized_replay', f'the table at {address!r} samples '
        f"{'by priority' if served_prioritized else 'uniformly'} (serve a table with the "
        'matching sampler)')
  return Replay(client, address, None, packed)


def serve_table(table: reverb.Table, logdir: str, restore_step: Optional[int] = None,
                extra_tables: Sequence[reverb.Table] = (), packed: bool = False) -> Replay:
  """Starts an in-process server for `table` (named `replay.DEFAULT_TABLE`), restored from the
  run's table checkpoint `replay_checkpoint(logdir, restore_step)` when resuming.

  Raises:
    ConfigError: naming `logdir` if the table checkpoint to resume from is missing or
      incomplete.
  """
  initial = None
  if restore_step is not None:
    initial = replay_checkpoint(logdir, restore_step)
    if not os.path.exists(os.path.join(initial, 'DONE')):
      raise config_lib.ConfigError(
          'RunSettings', 'logdir', f'its checkpoint at {restore_step:,} env steps has no '
          f'complete replay checkpoint ({initial}); put that folder back, or start the run '
          'over', logdir)
  shutil.rmtree(_incoming(logdir), ignore_errors=True)  # What a kill left mid-save.
  server = replay_lib.make_server([table, *extra_tables], checkpoint_dir=_incoming(logdir),
                                  initial_checkpoint=initial)
  address = f'localhost:{server.port}'
  return Replay(reverb.Client(address), address, server, packed)


def save_replay(replay: Replay, logdir: str, step: int) -> str:
  """Checkpoints the table; an in-process server's checkpoint becomes `replay/ckpt-<step>`.

  Raises:
    core.RunStopped: if a remote server has not written its checkpoint within
      `SERVER_TIMEOUT_S` (the call has no timeout of its own: it runs in a daemon thread).
  """
  if replay.server is None:
    return replay_lib.call_with_timeout(
        lambda: replay_lib.checkpoint(replay.client), SERVER_TIMEOUT_S,
        lambda: replay.stall('wrote no checkpoint'))
  path = replay_lib.checkpoint(replay.client).rstrip('/')
  target = replay_checkpoint(logdir, step)
  shutil.rmtree(target, ignore_errors=True)
  os.replace(path, target)
  return target


def drop_unused_replay(logdir: str) -> None:
  """Deletes the in-process table's checkpoints that belong to no run checkpoint on disk
  (rotated out by `max_to_keep`, renamed `*.damaged`, or never written: a kill between the
  two saves), so that a run that falls back to an older checkpoint finds its table."""
  keep = {os.path.abspath(replay_checkpoint(logdir, step))
          for step in checkpointing.checkpoint_steps(logdir)}
  for old in glob.glob(os.path.join(replay_directory(logdir), 'ckpt-*')):
    if os.path.abspath(old) not in keep:
      shutil.rmtree(old, ignore_errors=True)


class ReplayRecord(tf.Module):
  """What the run's checkpoint records about the table at the checkpoint: `items`, its size,
  and `inserts`, the items inserted since the table was made (see `Replay.counts`)."""

  def __init__(self):
    super().__init__(name='replay_record')
    self.items = tf.Variable(0, dtype=tf.int64, trainable=False, name='items')
    self.inserts = tf.Variable(0, dtype=tf.int64, trainable=False, name='inserts')



class _GuardedIterator:
  """Batches of a remote table, read by a daemon thread, so that no call of the training
  thread blocks on the network: `next` waits in 1 s slices (a Ctrl-C stops it in between)
  and, after `SERVER_TIMEOUT_S` without a batch, stops the run naming the server's state.

  A tf.data iterator of a server that died blocks forever inside its C++ sampler; the thread
  that holds it is left behind (daemon) when the run stops.
  """

  def __init__(self, iterator, replay: Replay):
    self._replay = replay
    self._batches: queue.Queue = queue.Queue(maxsize=2)
    self._thread = threading.Thread(target=self._read, args=(iterator,), daemon=True,
                                    name='replay_sampler')
    self._thread.start()

  def _read(self, iterator) -> None:
    try:
      for batch in iterator:
        self._batches.put(batch)
    except BaseException as error:  # pylint: disable=broad-except
      self._batches.put(error)
    self._batches.put(StopIteration())

  def __iter__(self):
    return self

  def __next__(self):
    deadline = time.monotonic() + SERVER_TIMEOUT_S
    while True:
      try:
        item = self._batches.get(timeout=1.0)
      except queue.Empty:
        core.check_interrupt()
        if time.monotonic() >= deadline:
          raise self._replay.stall('gave no batch') from None
        continue
      if isinstance(item, StopIteration):
        raise self._replay.stall('gave no batch')
      if isinstance(item, BaseException):
        raise item
      return item


def make_iterator(replay: Replay, config: config_lib.OffPolicyConfig,
                  strategy: tf.distribute.Strategy, observation_spec, action_spec,
                  reward_size: int = 1):
  """An iterator of batches of `Transition`s (per-replica under a distribution strategy);
  `reward_size` as in `make_replay`.

  With `config.prioritized_replay` each batch's `extras` hold the items' Reverb `key` and their
  `importance_weight` (`replay.importance_weights` with beta = `config.importance_exponent`,
  normalized over the global batch).
  """
  # Eight batches in flight per round trip: measured 1.29 ms of CPU per batch of 256 against
  # 1.47 ms with two (benchmarks/off_policy_speed.py's setting, Pendulum transitions).
  dataset = replay_lib.make_dataset(replay.address, replay_lib.DEFAULT_TABLE, config.batch_size,
                                    max_in_flight_samples_per_worker=8 * config.batch_size,
                                    num_workers_per_iterator=1,
                                    rate_limiter_timeout_ms=int(SERVER_TIMEOUT_S * 1000))
  sizes = dict(observation_size=observation_spec.shape[0], action_size=action_spec.shape[0],
               reward_size=reward_size)

  def transitions(sample: reverb.ReplaySample) -> replay_lib.Transition:
    if replay.packed:
      transition = replay_lib.unpack_transitions(sample.data, **sizes)
    else:
      transition = sample.data
    if config.prioritized_replay:
      weights = replay_lib.importance_weights(sample.info.probability, sample.info.table_size,
                                              config.importance_exponent)
      transition = transition._replace(extras={
          **(transition.extras or {}), 'key': sample.info.key, 'importance_weight': weights})
    return transition

  dataset = dataset.map(transitions)
  if not distribute.is_default_strategy(strategy):
    dataset = strategy.experimental_distribute_dataset(dataset)
  if replay.server is None:  # A remote server may die: never block the training thread on it.
    return _GuardedIterator(iter(dataset), replay)
  return iter(dataset)


def write_guarded(call: Callable[[], Any],
                  stall: Optional[Callable[[str], Exception]]) -> None:
  """Runs `call`, a write into the table; a writer whose server took nothing within its
  timeout raises `stall('took no transition')` (e.g. `Replay.stall`, which names a server that
  no longer answers), or Reverb's DeadlineExceededError without `stall`."""
  try:
    call()
  except reverb.errors.DeadlineExceededError:
    if stall is None:
      raise
    raise stall('took no transition') from None


class ReplayActor(core.Actor):
  """Acts in one environment and writes N-step transitions into the replay table.

  The first `learning_starts` steps of a run take uniformly random actions (drawn from a
  NumPy generator seeded with the seed and the step count, so a resumed run draws new ones; it
  also re-seeds the environment, so a resumed run plays new episodes);
  later steps take `policy.select(o_t)` (exploration included). Every `act` is one
  environment step; the writer inserts each transition as soon as its N-step return is known.

  Args:
    env: the training environment (dm_env; bounded continuous actions; `reseed(seed)` seeds its
      next reset, as `environments.GymnasiumToDmEnv`'s; closed by `close`).
    policy: has `select(obs [1, ...]) -> actions [1, A]` and `reset()` (at every episode start,
      e.g. for Ornstein-Uhlenbeck noise).
    writer: a `replay.NStepTransitionWriter` into the table.
    learning_starts: the random steps.
    seed: seeds the random actions.
    stall: the error to raise when the writer waited past its timeout, given what stalled
      (e.g. `Replay.stall`); None re-raises the writer's DeadlineExceededError.
  """

  def __init__(self, env: dm_env.Environment, policy, writer: replay_lib.NStepTransitionWriter,
               learning_starts: int, seed: int,
               stall: Optional[Callable[[str], Exception]] = None):
    self._env = env
    self._stall = stall
    self._policy = policy
    self._select = core.per_step(policy.select)
    self._writer = writer
    self._learning_starts = learning_starts
    self._seed = seed
    spec = env.action_spec()
    self._dtype = spec.dtype
    self._low = np.broadcast_to(spec.minimum, spec.shape).astype(spec.dtype)
    self._high = np.broadcast_to(spec.maximum, spec.shape).astype(spec.dtype)
    self._step = 0
    self._rng = np.random.default_rng([seed, 0])
    self._timestep = None
    self._episode_return, self._episode_length = 0.0, 0

  def reset(self, env_steps: int = 0) -> None:
    """Starts a new episode at step `env_steps` of the run; a resumed run (`env_steps` > 0)
    re-seeds the environment from the seed and `env_steps`, so it continues on episodes it has
    not played, the same ones each time it resumes from that step."""
    self._step = env_steps
    self._rng = np.random.default_rng([self._seed, env_steps])
    if env_steps:  # A new run's environment keeps the run's env seed.
      self._env.reseed(int(np.random.default_rng([self._seed, env_steps, 1]).integers(2**31 - 1)))
    self._new_episode()

  def _new_episode(self) -> None:
    self._timestep = self._env.reset()
    self._writer.observe_first(self._timestep)
    self._policy.reset()
    self._episode_return, self._episode_length = 0.0, 0

  def advance_to(self, env_steps: int) -> None:
    """Moves the step count (which ends the random steps) to `env_steps` of the run if that
    is further on (an actor process learns the run's count with each weights pull)."""
    self._step = max(self._step, env_steps)

  def act(self, max_steps: int) -> core.Acted:
    """One environment step."""
    del max_steps  # Always >= 1.
    if self._step < self._learning_starts:
      action = self._rng.uniform(self._low, self._high).astype(self._dtype)
    else:
      action = self._select(self._timestep.observation[None]).numpy()[0]
    self._timestep = self._env.step(action)
    write_guarded(lambda: self._writer.observe(action, self._timestep), self._stall)
    self._step += 1
    self._episode_return += float(self._timestep.reward)
    self._episode_length += 1
    if not self._timestep.last():
      return core.Acted(None, 1)
    finished = core.Acted(None, 1, [self._episode_return], [self._episode_length])
    self._new_episode()
    return finished

  def flush(self) -> None:
    """Waits until the server has confirmed every transition written so far."""
    write_guarded(self._writer.flush, self._stall)

  def close(self) -> None:
    """Closes the writer (an unfinished episode's last transitions are dropped) and the env."""
    self._writer.close()
    self._env.close()


def check_continuous(spec: core.EnvironmentSpec, agent: str) -> None:
  """Raises ConfigError naming `RunSettings.env_id` unless the actions are a bounded vector."""
  action = spec.action
  if (not isinstance(action, dm_env.specs.BoundedArray) or
      isinstance(action, dm_env.specs.DiscreteArray) or len(action.shape) != 1):
    raise config_lib.ConfigError('RunSettings', 'env_id', f'{agent} needs a continuous (Box) '
                                 f'action space, got {action!r}', value=None)


def check_strategy(config: config_lib.OffPolicyConfig, strategy: tf.distribute.Strategy) -> None:
  """Raises ConfigError for a multi-worker strategy (one learner) or a batch that does not
  split evenly over the replicas."""
  if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    raise config_lib.ConfigError(
        'RunSettings', 'strategy', 'the off-policy agents train one learner; use default, '
        'one_device, mirrored or tpu', 'multi_worker')
  if config.batch_size % strategy.num_replicas_in_sync:
    raise config_lib.ConfigError(
        config, 'batch_size',
        f'must split evenly across the {strategy.num_replicas_in_sync} replicas')


def make_agent(config: config_lib.OffPolicyConfig, context: core.BuildContext, policy,
               learner) -> core.Agent:
  """The agent of an off-policy learner: the replay table (in-process, restored from the
  logdir, or at `context.replay_address`), a `ReplayActor` that acts with `policy` and feeds
  it, and `learner` connected to it. `learner` and `policy` hold every variable to
  checkpoint; the table is checkpointed after every checkpoint of the run."""
  spec = context.spec
  replay = make_replay(config, spec.observation, spec.action, context.logdir,
                       context.replay_address, checkpointing.newest_intact_step(context.logdir))
  priority = 1.0
  if config.prioritized_replay:
    priority = lambda transition: float(learner.max_priority.numpy())
  writer = replay_lib.NStepTransitionWriter(replay.client, replay_lib.DEFAULT_TABLE,
                                            config.n_step, config.discount, priority=priority,
                                            packed=replay.packed, timeout_s=SERVER_TIMEOUT_S)
  env = environments_lib.make_environment(context.env_id, seed=context.env_seed,
                                          options=context.env_options)
  actor = ReplayActor(env, policy, writer, config.learning_starts, context.env_seed,
                      stall=replay.stall)
  connect(learner, replay, config, context)

  def close():
    actor.close()
    replay.close()  # Before the learner drops its iterator (see `Replay.close`).
    learner.disconnect()

  return core.Agent(actors=[actor], learners=[learner], policy=core.mode_policy(policy),
                    learning_starts=config.learning_starts,
                    learner_steps_per_act=config.updates_per_step, learn_per_env_step=True,
                    close=close, **replay_state(config.learning_starts, context, replay, policy,
                                                learner, flush=actor.flush))


def connect(learner, replay: Replay, config: config_lib.OffPolicyConfig,
            context: core.BuildContext) -> None:
  """Connects an `OffPolicyLearner` to the table: batches from `make_iterator`, priorities
  written back."""
  spec = context.spec
  learner.connect(
      lambda: make_iterator(replay, config, context.strategy, spec.observation, spec.action),
      replay.update_priorities)


def replay_state(learning_starts: int, context: core.BuildContext, replay: Replay, policy,
                 learner, flush: Callable[[], None], unit: str = 'transitions'
                 ) -> Dict[str, Any]:
  """The `core.Agent` fields of an agent whose experience lives in `replay`: what to checkpoint
  (`learner`, the acting `policy` and a `ReplayRecord`) and the hooks that keep the table and
  the run's checkpoints one unit (see the module docstring). The learner is ready once the
  table holds `learning_starts` items; `flush()` makes every item written so far count (e.g.
  `ReplayActor.flush`); `unit` names the items in messages."""
  record = ReplayRecord()

  def before_checkpoint(step: int):
    flush()  # The last transition is confirmed, so the table's checkpoint holds it.
    items, inserts = replay.counts()
    record.items.assign(items)
    record.inserts.assign(inserts)
    save_replay(replay, context.logdir, step)

  def after_checkpoint(step: int):
    del step  # The table's checkpoints follow the run's that are on disk.
    if replay.server is not None:
      drop_unused_replay(context.logdir)

  def ready_to_learn() -> bool:
    flush()  # Count every transition written so far.
    return replay.size() >= learning_starts

  def check():
    # A table's insert count only grows (its checkpoints keep it): one below the recorded
    # count is a new table, e.g. a server that restarted, even one refilled to its old size.
    expected, expected_inserts = int(record.items.numpy()), int(record.inserts.numpy())
    held, inserts = replay.counts()
    if inserts < expected_inserts:
      # It held the newest `expected` items: those inserted after the count it went back to
      # are gone (all of them when it came back empty).
      lost = min(expected, expected_inserts - inserts)
      raise core.RunStopped(
          f'the replay server at {replay.address} restarted: its table has taken {inserts:,} '
          f'{unit}, {expected_inserts:,} before; at least {lost:,} of the {expected:,} {unit} '
          'it held were lost')
    if held < expected:
      raise core.RunStopped(
          f'the replay table at {replay.address} holds {held:,} {unit}, {expected:,} before: '
          f'{expected - held:,} were lost (did its server restart?)')
    record.items.assign(max(expected, held))
    record.inserts.assign(inserts)

  return dict(state=dict(learner=learner, actor=policy, replay=record),
              ready_to_learn=ready_to_learn, before_checkpoint=before_checkpoint,
              after_checkpoint=after_checkpoint, check=check,
              report=lambda: {'replay_items': replay.size()},
              describe=lambda: f'{replay.size():,} {unit} in replay')
