"""The training run of an off-policy agent on Reverb replay: act, insert, sample, update.

One process runs the loop below; the replay table lives in an in-process Reverb server
(default) or in another process (`--replay_address=host:port`, see launchers/replay_server.py):

    for every env step:
      a_t = uniform random while t < learning_starts, else actor.select(o_t) (compiled)
      step the environment; the N-step writer inserts (o, a, R, d, o') into the table
      after learning_starts: `updates_per_step` learner steps, each one compiled function that
        samples a batch from the table's `tf.data` dataset and updates every network (with
        prioritized replay, the batch's new priorities are then written back to the table)

The table's rate limiter states the replay ratio: `batch_size * updates_per_step` samples per
insert, sampling starts at `learning_starts` items. Checkpoints hold the networks, optimizers,
counters and RNGs (`tf.train.CheckpointManager`) and, next to them, a Reverb checkpoint of the
table, so re-running the same command resumes with its replay.
"""

import dataclasses
import glob
import os
import shutil
import time
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import dm_env
import numpy as np
import reverb
import tensorflow as tf

from agents.common import checkpointing
from agents.common import config as config_lib
from agents.common import distribute
from agents.common import logger as logger_lib
from agents.common import on_policy
from agents.common import replay as replay_lib


@dataclasses.dataclass(frozen=True)
class OffPolicyConfig:
  """Replay and training-loop settings shared by the off-policy agents (DDPG, TD3, SAC).

  Attributes:
    replay_size: transitions the replay table holds (the oldest are removed first).
    batch_size: transitions per gradient update (global, over all replicas).
    learning_starts: env steps taken with uniformly random actions before the first update;
      also the table's minimum size for sampling.
    updates_per_step: gradient updates per environment step; the table's rate limiter keeps
      batch_size * updates_per_step samples per insert.
    n_step: N of the N-step transitions written to replay (1: one-step TD targets).
    discount: gamma.
    jit_compile: compile the learner step and action selection with XLA (the learner step is a
      plain graph under a distribution strategy). Off by default: on CPU, XLA's matmuls are
      slower than the oneDNN kernels of a plain graph (benchmarks/off_policy_speed.py).
    prioritized_replay: sample transitions in proportion to p_i^alpha, p_i = |TD error| + eps
      (Schaul et al. 2016, arXiv:1511.05952, eq. 1); new transitions get the largest priority
      set so far; the critic losses are weighted by the importance weights (eq. 2, normalized
      by the batch maximum).
    priority_exponent: alpha of prioritized replay (0: uniform).
    importance_exponent: beta of the importance weights, kept constant (the paper anneals it
      towards 1; 0: no correction, 1: full correction).
    priority_epsilon: eps added to |TD error| so that no transition stops being sampled.
  """
  replay_size: int = 1_000_000
  batch_size: int = 256
  learning_starts: int = 10_000
  updates_per_step: int = 1
  n_step: int = 1
  discount: float = 0.99
  jit_compile: bool = False
  prioritized_replay: bool = False
  priority_exponent: float = 0.6
  importance_exponent: float = 0.4
  priority_epsilon: float = 1e-6

  def __post_init__(self):
    config_lib.check_positive(self, 'replay_size', 'batch_size', 'learning_starts',
                              'updates_per_step', 'n_step', 'priority_epsilon')
    config_lib.check_in_range(self, 'discount', 0.0, 1.0)
    config_lib.check_non_negative(self, 'priority_exponent')
    config_lib.check_in_range(self, 'importance_exponent', 0.0, 1.0)
    if self.learning_starts > self.replay_size:
      raise config_lib.ConfigError('learning_starts', self.learning_starts,
                                   f'must be <= --replay_size={self.replay_size}')

  @property
  def samples_per_insert(self) -> float:
    """The replay ratio the table's rate limiter keeps."""
    return float(self.batch_size * self.updates_per_step)


class OffPolicyAgent(NamedTuple):
  """What the run needs from an agent's builder.

  Attributes:
    actor: has `select(observations [1, ...]) -> actions [1, A]` (exploration included),
      `mode(observations [N, ...]) -> actions [N, A]` (the deterministic policy) and `reset()`
      (called at every episode start, e.g. for Ornstein-Uhlenbeck noise).
    learner: has `step(iterator) -> dict of scalar tensors` (one update from the next batch)
      and `num_updates` (a scalar variable).
    trackables: everything to checkpoint, by name.
  """
  actor: Any
  learner: Any
  trackables: Dict[str, Any]


class Replay(NamedTuple):
  """A connection to the replay table.

  Attributes:
    client: the `reverb.Client`.
    address: 'host:port' of the server.
    server: the in-process server, or None when the table is served by another process.
    packed: whether items are `replay.pack_transition` vectors (see
      `replay.packed_transition_signature`).
  """
  client: reverb.Client
  address: str
  server: Optional[reverb.Server]
  packed: bool = False


def table_signature(observation_spec, action_spec) -> Tuple[Any, bool]:
  """The signature of the agents' table, and whether it is packed (one float32 column when
  the specs allow it, the cheapest to sample)."""
  if replay_lib.can_pack(observation_spec, action_spec):
    return replay_lib.packed_transition_signature(observation_spec, action_spec), True
  return replay_lib.transition_signature(observation_spec, action_spec), False


def replay_directory(logdir: str) -> str:
  """Where an in-process server keeps its Reverb checkpoints."""
  return os.path.join(logdir, 'replay')


def make_replay(config: OffPolicyConfig, observation_spec, action_spec, logdir: str,
                address: Optional[str] = None) -> Replay:
  """Starts an in-process table (restored from `logdir/replay` if there is a checkpoint), or
  connects to `address` and checks that it serves a compatible table.

  Raises:
    ValueError: naming --replay_address if the remote server cannot be reached or its table's
      signature does not match the environment, naming --prioritized_replay if its sampler is
      not the one the config asks for.
  """
  signature, packed = table_signature(observation_spec, action_spec)
  if address is None:
    limits = dict(samples_per_insert=config.samples_per_insert,
                  min_size_to_sample=config.learning_starts)
    if config.prioritized_replay:
      table = replay_lib.make_prioritized_table(
          replay_lib.DEFAULT_TABLE, config.replay_size, signature,
          priority_exponent=config.priority_exponent, **limits)
    else:
      table = replay_lib.make_uniform_table(replay_lib.DEFAULT_TABLE, config.replay_size,
                                            signature, **limits)
    server = replay_lib.make_server([table], checkpoint_dir=replay_directory(logdir))
    address = f'localhost:{server.port}'
    return Replay(reverb.Client(address), address, server, packed)
  client = reverb.Client(address)
  try:
    info = client.server_info(timeout=10)
  except Exception as error:  # pylint: disable=broad-except
    raise ValueError(f'--replay_address={address!r}: no Reverb server answered ({error})')
  if replay_lib.DEFAULT_TABLE not in info:
    raise ValueError(f'--replay_address={address!r}: the server has no table '
                     f'{replay_lib.DEFAULT_TABLE!r} (tables: {sorted(info)})')
  served = info[replay_lib.DEFAULT_TABLE].signature
  try:
    compatible = served is not None and all(tf.nest.flatten(tf.nest.map_structure(
        lambda a, b: a.is_compatible_with(b), served, signature, check_types=False)))
  except (TypeError, ValueError):  # Another structure.
    compatible = False
  if not compatible:
    raise ValueError(f'--replay_address={address!r}: the table does not hold transitions of '
                     'this environment (start launchers/replay_server.py with the same --env)')
  served_prioritized = info[replay_lib.DEFAULT_TABLE].sampler_options.HasField('prioritized')
  if served_prioritized != config.prioritized_replay:
    raise ValueError(f'--prioritized_replay={str(config.prioritized_replay).lower()}: the table at '
                     f'--replay_address={address!r} samples '
                     f"{'by priority' if served_prioritized else 'uniformly'} (start "
                     'launchers/replay_server.py with the matching --prioritized)')
  return Replay(client, address, None, packed)


def save_replay(replay: Replay) -> Optional[str]:
  """Writes a Reverb checkpoint of the table; an in-process server keeps only the newest."""
  path = replay_lib.checkpoint(replay.client)
  if replay.server is not None:
    parent = os.path.dirname(path.rstrip('/'))
    for old in glob.glob(os.path.join(parent, '*')):
      if os.path.abspath(old) != os.path.abspath(path.rstrip('/')) and os.path.isdir(old):
        shutil.rmtree(old, ignore_errors=True)
  return path


def check_budget(settings: on_policy.RunSettings, config: OffPolicyConfig) -> None:
  """Raises ValueError naming --num_steps if the run would end before its first update."""
  if settings.num_steps <= config.learning_starts:
    raise ValueError(f'--num_steps={settings.num_steps}: must exceed '
                     f'--learning_starts={config.learning_starts} (no update would run)')


def make_iterator(replay: Replay, config: OffPolicyConfig, strategy: tf.distribute.Strategy,
                  observation_spec, action_spec):
  """An iterator of batches of `Transition`s (per-replica under a distribution strategy).

  With `config.prioritized_replay` each batch's `extras` hold the items' Reverb `key` and their
  `importance_weight` (`replay.importance_weights` with beta = `config.importance_exponent`,
  normalized over the global batch).
  """
  # Eight batches in flight per round trip: measured 1.29 ms of CPU per batch of 256 against
  # 1.47 ms with two (benchmarks/off_policy_speed.py's setting, Pendulum transitions).
  dataset = replay_lib.make_dataset(replay.address, replay_lib.DEFAULT_TABLE, config.batch_size,
                                    max_in_flight_samples_per_worker=8 * config.batch_size,
                                    num_workers_per_iterator=1)
  sizes = dict(observation_size=observation_spec.shape[0], action_size=action_spec.shape[0])

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
  return iter(dataset)


def run(settings: on_policy.RunSettings, env: dm_env.Environment, agent: OffPolicyAgent,
        config: OffPolicyConfig, replay: Replay, strategy: tf.distribute.Strategy,
        start_time: Optional[float] = None) -> Dict[str, Any]:
  """Trains for `settings.num_steps` env steps, resuming from `logdir` if it can.

  Ctrl-C (KeyboardInterrupt) saves a checkpoint (and the replay) before it propagates. An
  in-process server is stopped before this returns: a dataset sampler waiting on the rate
  limiter would otherwise keep the iterator's destructor waiting forever.

  Args:
    settings: the run's shared settings.
    env: the training environment (dm_env; continuous actions).
    agent: the agent's actor, learner and trackables.
    config: the agent's config (its `OffPolicyConfig` fields drive the loop).
    replay: the table (see `make_replay`).
    strategy: the strategy the learner's variables live under.
    start_time: `time.time()` when the launcher started building the run.

  Returns:
    The final evaluation record (also written to `logdir/evaluation.json`), with the number
    of gradient updates, the updates per second of the training phase and the number of
    transitions in the table.
  """
  # The dataset iterator is kept here, outside `_run`'s frame, so that the in-process server
  # can be stopped before the iterator is deleted.
  keep = {}
  try:
    return _run(settings, env, agent, config, replay, strategy, start_time, keep)
  finally:
    if replay.server is not None:
      replay.server.stop()
    keep.clear()


def _run(settings, env, agent, config, replay, strategy, start_time, keep):
  """The body of `run`; `keep['iterator']` holds the dataset iterator once it exists."""
  start = time.time() if start_time is None else start_time
  env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name='env_steps')
  checkpointer = checkpointing.Checkpointer(settings.logdir, env_steps=env_steps,
                                            **agent.trackables)
  restored = checkpointer.restore()
  step = int(env_steps.numpy())
  log = logger_lib.Logger(settings.logdir, settings.num_steps,
                          name=f'{settings.agent} {settings.env_id}', initial_step=step)
  if restored:
    log.truncate(step)
    size = replay.client.server_info()[replay_lib.DEFAULT_TABLE].current_size
    print(f'Resumed from {restored} at {step:,} env steps ({size:,} transitions in replay).',
          flush=True)

  action_spec = env.action_spec()
  low = np.broadcast_to(action_spec.minimum, action_spec.shape).astype(action_spec.dtype)
  high = np.broadcast_to(action_spec.maximum, action_spec.shape).astype(action_spec.dtype)
  # A resumed run draws warm-up actions it has not drawn before.
  rng = np.random.default_rng([settings.seed, step])
  priority = 1.0
  if config.prioritized_replay:
    priority = lambda transition: float(agent.learner.max_priority.numpy())
  writer = replay_lib.NStepTransitionWriter(replay.client, replay_lib.DEFAULT_TABLE,
                                            config.n_step, config.discount, priority=priority,
                                            packed=replay.packed)
  iterator = None

  returns: List[float] = []
  lengths: List[int] = []
  episode_return, episode_length = 0.0, 0
  first_update_s = None
  train_start = None  # (time, updates) when the first update ran in this process.
  next_log = on_policy.next_multiple(step, settings.log_every)
  next_checkpoint = on_policy.next_multiple(step, settings.checkpoint_every)
  next_eval = on_policy.next_multiple(step, settings.eval_every or settings.num_steps)
  metrics: Dict[str, tf.Tensor] = {}
  policy = lambda observation: agent.actor.mode(observation).numpy()

  def save() -> str:
    env_steps.assign(step)
    path = checkpointer.save(step)
    save_replay(replay)
    return path

  timestep = env.reset()
  writer.observe_first(timestep)
  agent.actor.reset()
  try:
    while step < settings.num_steps:
      if step < config.learning_starts:
        action = rng.uniform(low, high).astype(action_spec.dtype)
      else:
        action = agent.actor.select(timestep.observation[None]).numpy()[0]
      timestep = env.step(action)
      writer.observe(action, timestep)
      episode_return += float(timestep.reward)
      episode_length += 1
      step += 1
      if timestep.last():
        returns.append(episode_return)
        lengths.append(episode_length)
        episode_return, episode_length = 0.0, 0
        timestep = env.reset()
        writer.observe_first(timestep)
        agent.actor.reset()

      if step >= config.learning_starts:
        if iterator is None:
          iterator = make_iterator(replay, config, strategy, env.observation_spec(), action_spec)
          keep['iterator'] = iterator
        for _ in range(config.updates_per_step):
          metrics = agent.learner.step(iterator)
          if config.prioritized_replay:
            replay_lib.update_priorities(replay.client, replay_lib.DEFAULT_TABLE,
                                         metrics.pop('key').numpy(),
                                         metrics.pop('priority').numpy())
        if train_start is None:
          train_start = (time.time(), int(agent.learner.num_updates.numpy()))
          first_update_s = time.time() - start

      if step >= next_eval and settings.eval_every and step < settings.num_steps:
        result = on_policy.evaluate(policy, settings)
        log.write(step, {'eval_return': result.mean_return})
        next_eval = on_policy.next_multiple(step, settings.eval_every)
      if step >= next_log or step >= settings.num_steps:
        row = {k: float(v) for k, v in metrics.items()}
        row['episode_return'] = float(np.mean(returns)) if returns else float('nan')
        row['episode_length'] = float(np.mean(lengths)) if lengths else float('nan')
        log.write(step, row)
        returns, lengths = [], []
        next_log = on_policy.next_multiple(step, settings.log_every)
      if step >= next_checkpoint and step < settings.num_steps:
        save()
        next_checkpoint = on_policy.next_multiple(step, settings.checkpoint_every)
  except KeyboardInterrupt:
    path = save()
    log.close()
    writer.close()
    print(f'\nInterrupted: saved {path} at {step:,} env steps; rerun the same command to '
          'resume.', flush=True)
    raise
  train_time_s = time.time() - start
  num_updates = int(agent.learner.num_updates.numpy())
  updates_per_s = None
  if train_start is not None and time.time() > train_start[0]:
    updates_per_s = (num_updates - train_start[1]) / (time.time() - train_start[0])
  env_steps.assign(step)
  save_replay(replay)
  writer.close()
  replay_items = replay.client.server_info()[replay_lib.DEFAULT_TABLE].current_size
  return on_policy.finish(settings, checkpointer, log, policy, step=step, start=start,
                          train_time_s=train_time_s, first_iteration_s=first_update_s,
                          restored=restored, updates=num_updates, updates_per_s=updates_per_s,
                          replay_items=replay_items)
