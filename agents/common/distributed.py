"""K actor processes feeding one learner through Reverb (D4PG, Barth-Maron et al. 2018; Ape-X,
Horgan et al. 2018), on the same pieces as the one-process off-policy agents.

    actor process i (role 'actor')              learner process (role 'learner')
      pull weights ◀── 'weights' table (1 item) ◀── publish: policy variables, env steps,
      act, N-step transitions ──▶ 'replay' table ──▶     stop flag, max priority
      at each episode end ──▶ 'reports' queue:     env steps = transitions inserted; learner
        (actor, episode return, length) ───────▶  steps per env step, periodic evaluation,
                                                   checkpoints: `loop.run`'s, unchanged

Every channel is a Reverb table on one server: the learner's in-process server (one machine:
`--num_actors=K` starts K actor processes next to it) or a server process of its own
(`--role=replay`, then `--role=learner` and `--role=actor` at its `--replay_address`, on any
machines). In the learner's `loop.run`, the actors are one `RemoteActors`: its `act` returns
the transitions inserted into the table since its last call as env steps (every env step
becomes one N-step transition; the last N - 1 of an episode when it ends) and the episodes
the actors reported, so budgets, logging, evaluation, checkpoints and resume are the one
loop's, and a checkpoint of the table holds every step the run has counted (a resumed learner
restarts its actors on fresh episodes). The learner takes `updates_per_step` updates per
counted step, which is what the table's rate limiter allows: actors the learner cannot keep
up with wait on their inserts (back-pressure, not a fault: an actor waits as long as its
server answers).

Every actor explores with the same noise as the one-process agent (D4PG's Gaussian sigma; no
per-actor scales), seeded by the run's seed, its index and the step it starts at. Actors act
uniformly at random until the published step count passes `learning_starts`. They may take a
few steps past the run's budget (counted by no one) before they see the stop flag.

Supervision (`Supervisor`): an actor process that exits before the run ends is reported and
started again, up to `MAX_RESTARTS` times per actor; past that the run stops with one line
naming the actor and its log (`logdir/actors/actor_<i>.log`). Actor processes die with the
learner (PR_SET_PDEATHSIG) and the learner stops every one on its way out (SIGTERM, then
SIGKILL), so none outlives the run. An actor whose server stops answering for
`off_policy.SERVER_TIMEOUT_S` exits with one line.
"""

import ctypes
import math
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import reverb
import tensorflow as tf
import tree

from agents.common import checkpointing
from agents.common import config as config_lib
from agents.common import core
from agents.common import environments as environments_lib
from agents.common import off_policy
from agents.common import replay as replay_lib

WEIGHTS_TABLE = 'weights'
REPORTS_TABLE = 'reports'
# The longest the learner waits for any actor's report: a new actor process needs ~10 s to
# import TensorFlow and build its policy on the development machine.
ACTOR_TIMEOUT_S = 120.0
# Restarts per actor before the run stops.
MAX_RESTARTS = 3
# The reports queue's capacity (an actor's report blocks when it is full).
_MAX_REPORTS = 1_000_000


def weights_signature(variables: Sequence[tf.Variable]) -> Dict[str, Any]:
  """The 'weights' item: the acting policy's variables (in `variables`' order), the run's env
  steps, the stop flag and the learner's largest priority (new transitions' priority)."""
  return {
      'variables': tuple(tf.TensorSpec(v.shape, v.dtype) for v in variables),
      'env_steps': tf.TensorSpec((), tf.int64),
      'stop': tf.TensorSpec((), tf.bool),
      'max_priority': tf.TensorSpec((), tf.float32),
  }


def channel_tables(variables: Sequence[tf.Variable]) -> List[reverb.Table]:
  """The tables besides the transitions': 'weights' (the newest item only) and 'reports' (a
  queue of float64 `[actor, episode return, episode length]`, one per finished episode)."""
  weights = reverb.Table(
      name=WEIGHTS_TABLE, sampler=reverb.selectors.Lifo(), remover=reverb.selectors.Fifo(),
      max_size=1, rate_limiter=reverb.rate_limiters.MinSize(1),
      signature=weights_signature(variables))
  reports = reverb.Table.queue(REPORTS_TABLE, _MAX_REPORTS,
                               signature=tf.TensorSpec((3,), tf.float64, name='report'))
  return [weights, reports]


class _Channel:
  """One writer of single-step items into a table, each confirmed within a timeout."""

  def __init__(self, client: reverb.Client, table: str, timeout_s: float):
    self._writer = client.trajectory_writer(num_keep_alive_refs=1)
    self._table = table
    self._timeout_s = timeout_s

  def put(self, data: Any, priority: float = 1.0) -> None:
    self._writer.append(data)
    self._writer.create_item(self._table, priority,
                             tree.map_structure(lambda column: column[-1], self._writer.history))
    replay_lib.wait_in_slices(lambda ms: self._writer.flush(timeout_ms=ms), self._timeout_s)

  def close(self) -> None:
    self._writer.close()


class WeightsPublisher:
  """The learner's side of the 'weights' table: `publish` replaces its item."""

  def __init__(self, replay: off_policy.Replay, variables: Sequence[tf.Variable],
               max_priority: Optional[tf.Variable] = None):
    self._replay = replay
    self._variables = list(variables)
    self._max_priority = max_priority
    self._channel = _Channel(replay.client, WEIGHTS_TABLE, off_policy.SERVER_TIMEOUT_S)

  def publish(self, env_steps: int, stop: bool = False) -> None:
    """Publishes the variables now, with the run's `env_steps` and the stop flag.

    Raises:
      core.RunStopped: if the server does not take it within `SERVER_TIMEOUT_S`.
    """
    max_priority = 1.0 if self._max_priority is None else float(self._max_priority.numpy())
    try:
      self._channel.put({'variables': tuple(v.numpy() for v in self._variables),
                         'env_steps': np.int64(env_steps), 'stop': np.bool_(stop),
                         'max_priority': np.float32(max_priority)})
    except reverb.errors.DeadlineExceededError:
      raise self._replay.stall('took no weights') from None

  def close(self) -> None:
    self._channel.close()


class WeightsSubscriber:
  """An actor's side of the 'weights' table: `pull` copies the newest item into its variables."""

  def __init__(self, client: reverb.Client, address: str, variables: Sequence[tf.Variable]):
    self._client = client
    self._address = address
    self._variables = list(variables)
    self.env_steps, self.stop, self.max_priority = 0, False, 1.0

  def pull(self) -> bool:
    """Reads the newest weights if there are any; returns whether there were."""
    stalled = lambda: core.RunStopped(f'the replay server at {self._address} did not answer '
                                      f'within {off_policy.SERVER_TIMEOUT_S:g} s')
    info = replay_lib.call_with_timeout(lambda: self._client.server_info(),
                                        off_policy.SERVER_TIMEOUT_S, stalled)
    if not info[WEIGHTS_TABLE].current_size:
      return False
    sample = replay_lib.call_with_timeout(
        lambda: next(self._client.sample(WEIGHTS_TABLE, 1, emit_timesteps=False,
                                         unpack_as_table_signature=True)),
        off_policy.SERVER_TIMEOUT_S, stalled)
    for variable, value in zip(self._variables, sample.data['variables'], strict=True):
      variable.assign(value)
    self.env_steps = int(sample.data['env_steps'])
    self.stop = bool(sample.data['stop'])
    self.max_priority = float(sample.data['max_priority'])
    return True


# Set by an actor process's watchdog when its server stopped answering (the stop it requests
# is then a fault, not the end of the run).
SERVER_LOST = threading.Event()


class _Watchdog:
  """An actor process's view of its server, read by a daemon thread every `period_s`: once the
  learner publishes the stop flag, or the server has not answered for `SERVER_TIMEOUT_S`, it
  requests the process's stop (`core.Interrupts.request`), so that an actor waiting on the
  rate limiter (back-pressure, for as long as the server answers) still ends. `SERVER_LOST`
  says which it was."""

  def __init__(self, address: str, period_s: float = 1.0):
    self._address = address
    self._period_s = period_s
    threading.Thread(target=self._watch, daemon=True, name='actor_watchdog').start()

  def _watch(self) -> None:
    client = reverb.Client(self._address)
    answered = time.monotonic()
    while True:
      time.sleep(self._period_s)
      try:
        stop = False
        if client.server_info(timeout=5)[WEIGHTS_TABLE].current_size:
          sample = next(client.sample(WEIGHTS_TABLE, 1, emit_timesteps=False,
                                      unpack_as_table_signature=True))
          stop = bool(sample.data['stop'])
        answered = time.monotonic()
      except Exception:  # pylint: disable=broad-except
        stop = False
        if time.monotonic() - answered >= off_policy.SERVER_TIMEOUT_S:
          SERVER_LOST.set()
          stop = True
      if stop:
        core.Interrupts.request()
        return


def inserted(info: Dict[str, Any]) -> int:
  """Transitions inserted into the replay table since it was made (checkpoints keep the count),
  from `client.server_info()`."""
  return int(info[replay_lib.DEFAULT_TABLE].rate_limiter_info.insert_stats.completed)


def read_reports(replay: off_policy.Replay, info: Optional[Dict[str, Any]] = None) -> np.ndarray:
  """Takes every report in the queue: float64 `[n, 3]` rows `[actor, return, length]`.
  `info`: a `server_info()` just read (else read here)."""
  if info is None:
    info = replay.client.server_info(timeout=int(off_policy.SERVER_TIMEOUT_S))
  count = int(info[REPORTS_TABLE].current_size)
  if not count:
    return np.zeros((0, 3))
  samples = replay_lib.call_with_timeout(
      lambda: [s.data for s in replay.client.sample(REPORTS_TABLE, count, emit_timesteps=False,
                                                     unpack_as_table_signature=True)],
      off_policy.SERVER_TIMEOUT_S, lambda: replay.stall('gave no reports'))
  return np.stack(samples).reshape(-1, 3)


def _die_with_parent() -> None:
  """In a child between fork and exec: SIGKILL when the parent dies (Linux's
  PR_SET_PDEATHSIG), so that no actor outlives a learner killed with SIGKILL."""
  try:
    ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
  except (OSError, AttributeError):
    pass  # Not Linux: the learner's own shutdown and the actors' server timeout remain.


class Supervisor:
  """Starts the actor processes and keeps them running.

  Args:
    command: the command line of actor i (`['python', '-m', ..., '--actor_id=i']`).
    num_actors: K.
    log_dir: actor i writes its output to `log_dir/actor_<i>.log`.
    max_restarts: restarts per actor before `poll` stops the run.
  """

  def __init__(self, command: Callable[[int], List[str]], num_actors: int, log_dir: str,
               max_restarts: int = MAX_RESTARTS):
    self._command = command
    self._log_dir = log_dir
    self._max_restarts = max_restarts
    self.processes: List[Optional[subprocess.Popen]] = [None] * num_actors
    self.restarts = [0] * num_actors
    os.makedirs(log_dir, exist_ok=True)

  def log_path(self, i: int) -> str:
    return os.path.join(self._log_dir, f'actor_{i}.log')

  def _start(self, i: int) -> None:
    with open(self.log_path(i), 'a') as log:
      self.processes[i] = subprocess.Popen(
          self._command(i), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
          start_new_session=True,  # A terminal's Ctrl-C reaches the learner, which stops them.
          preexec_fn=_die_with_parent)

  def start(self) -> None:
    for i in range(len(self.processes)):
      self._start(i)

  @property
  def pids(self) -> List[int]:
    return [p.pid for p in self.processes if p is not None]

  def poll(self) -> None:
    """Restarts actors that exited.

    Raises:
      core.RunStopped: for an actor that exited more than `max_restarts` times.
    """
    for i, process in enumerate(self.processes):
      if process is None or process.poll() is None:
        continue
      status = process.returncode
      if self.restarts[i] >= self._max_restarts:
        raise core.RunStopped(
            f'actor {i} (pid {process.pid}) exited with status {status}, '
            f'{self.restarts[i] + 1} times; its output is in {self.log_path(i)}')
      self.restarts[i] += 1
      print(f'Warning: actor {i} (pid {process.pid}) exited with status {status}; starting it '
            f'again (restart {self.restarts[i]} of {self._max_restarts}; its output is in '
            f'{self.log_path(i)}).', flush=True)
      self._start(i)

  def stop(self, grace_s: float = 10.0) -> None:
    """SIGTERM to every actor, SIGKILL to those still running after `grace_s`; waits for all."""
    running = [p for p in self.processes if p is not None and p.poll() is None]
    for process in running:
      process.terminate()
    deadline = time.monotonic() + grace_s
    for process in running:
      try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
      except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class InsertCount(tf.Module):
  """The replay table's insert count that the run's env steps have counted up to; in the
  run's checkpoint, so that a resumed learner counts the transitions its table holds beyond
  its checkpointed step (and learns on them) instead of dropping them (its samples would then
  lag the rate limiter's ratio for good, and hold the actors back)."""

  def __init__(self):
    super().__init__(name='insert_count')
    self.value = tf.Variable(-1, dtype=tf.int64, trainable=False, name='value')


class RemoteActors(core.Actor):
  """The actor processes as the learner's loop sees them: `act` publishes fresh weights, then
  returns the transitions inserted since the last call as env steps (waiting for at least
  one) and the episodes the actors reported.

  Args:
    replay: the connection to the server.
    publisher: publishes the acting policy's variables.
    learning_starts: weights are published at every call once the run is past it (before,
      the policy does not change).
    supervisor: the actor processes this process started, or None (`--role=learner`).
  """

  def __init__(self, replay: off_policy.Replay, publisher: WeightsPublisher,
               learning_starts: int, supervisor: Optional[Supervisor] = None):
    self._replay = replay
    self._publisher = publisher
    self._learning_starts = learning_starts
    self._supervisor = supervisor
    self._env_steps = 0
    self.counted = InsertCount()
    self._started = False

  def _server_info(self) -> Dict[str, Any]:
    try:
      return self._replay.client.server_info(timeout=int(off_policy.SERVER_TIMEOUT_S))
    except reverb.errors.DeadlineExceededError:
      raise core.RunStopped(f'the replay server at {self._replay.address} did not answer '
                            f'within {off_policy.SERVER_TIMEOUT_S:g} s') from None

  def reset(self, env_steps: int) -> None:
    """Publishes the weights, then starts the actor processes (once). A resumed run counts on
    from the insert count of its checkpoint; a new one from the table's count now."""
    self._env_steps = env_steps
    now, restored = inserted(self._server_info()), int(self.counted.value.numpy())
    self.counted.value.assign(restored if 0 <= restored <= now else now)
    self._publisher.publish(env_steps)
    if self._supervisor is not None and not self._started:
      self._supervisor.start()
      print(f'Started {len(self._supervisor.pids)} actor process(es): pids '
            f"{', '.join(map(str, self._supervisor.pids))}.", flush=True)
    self._started = True

  def act(self, max_steps: int) -> core.Acted:
    if self._env_steps >= self._learning_starts:
      self._publisher.publish(self._env_steps)
    deadline = time.monotonic() + ACTOR_TIMEOUT_S
    while True:
      core.check_interrupt()
      if self._supervisor is not None:
        self._supervisor.poll()
      info = self._server_info()
      new = inserted(info) - int(self.counted.value.numpy())
      if new > 0:
        break
      if time.monotonic() >= deadline:
        who = (f'see {self._supervisor.log_path(0)}' if self._supervisor is not None else
               f'are actors writing to the server at {self._replay.address}?')
        raise core.RunStopped(f'no actor inserted a transition for {ACTOR_TIMEOUT_S:g} s '
                              f'({who})')
      time.sleep(0.005)
    steps = min(new, max_steps)
    self.counted.value.assign_add(steps)
    self._env_steps += steps
    reports = read_reports(self._replay, info)
    return core.Acted(None, steps, [float(r) for r in reports[:, 1]],
                      [int(n) for n in reports[:, 2]])

  def close(self) -> None:
    """Publishes the stop flag (for actors on other machines), stops this process's actors."""
    try:
      self._publisher.publish(self._env_steps, stop=True)
    except (core.RunStopped, reverb.errors.ReverbError, RuntimeError):
      pass  # The server is gone: its actors stop on their own.
    if self._supervisor is not None:
      self._supervisor.stop()
    self._publisher.close()


def make_agent(config: config_lib.OffPolicyConfig, context: core.BuildContext, policy,
               learner) -> core.Agent:
  """An off-policy agent that acts in this process (`config.num_actors == 0` and no
  `--role`), or the learner of K actor processes (see the module docstring).

  `policy` is the exploring policy (its `network_variables` are what actors pull, its `mode`
  the evaluation policy, `reseed(seed)` restarts its noise); `learner` an `OffPolicyLearner`.
  """
  if config.num_actors == 0 and context.role != 'learner':
    return off_policy.make_agent(config, context, policy, learner)
  spec = context.spec
  replay = off_policy.make_replay(
      config, spec.observation, spec.action, context.logdir, context.replay_address,
      checkpointing.newest_intact_step(context.logdir),
      extra_tables=channel_tables(policy.network_variables))
  supervisor = None
  if context.role != 'learner':
    address = replay.address
    supervisor = Supervisor(lambda i: context.actor_command(address, i), config.num_actors,
                            os.path.join(context.logdir, 'actors'))
  publisher = WeightsPublisher(replay, policy.network_variables,
                               getattr(learner, 'max_priority', None))
  actors = RemoteActors(replay, publisher, config.learning_starts, supervisor)
  off_policy.connect(learner, replay, config, context)

  def close():
    actors.close()
    replay.close()
    learner.disconnect()

  def report():
    restarts = sum(supervisor.restarts) if supervisor is not None else 0
    return {'replay_items': replay.size(), 'actor_restarts': restarts}

  fields = off_policy.replay_state(config.learning_starts, context, replay, policy, learner,
                                   flush=lambda: None)
  fields['report'] = report
  fields['state'] = {**fields['state'], 'insert_count': actors.counted}
  return core.Agent(actors=[actors], learners=[learner], policy=core.mode_policy(policy),
                    learning_starts=config.learning_starts,
                    learner_steps_per_act=config.updates_per_step, learn_per_env_step=True,
                    close=close, **fields)


def run_actor(config: config_lib.OffPolicyConfig, context: core.BuildContext, policy,
              actor_id: int) -> int:
  """The main of an actor process: acts with `policy` (whose variables it pulls) and writes
  N-step transitions to the server at `context.replay_address` until the learner publishes the
  stop flag, a signal, or the server stops answering for `SERVER_TIMEOUT_S` (a `_Watchdog`
  thread sees both while the actor waits on the rate limiter). Returns the exit status (0:
  stopped as asked; 1: the server failed, with one line on stderr)."""
  address = context.replay_address
  client = reverb.Client(address)
  subscriber = WeightsSubscriber(client, address, policy.network_variables)
  with core.Interrupts():
    try:
      deadline = time.monotonic() + ACTOR_TIMEOUT_S
      while not subscriber.pull():
        if time.monotonic() >= deadline:
          raise core.RunStopped(f'no weights were published at {address} within '
                                f'{ACTOR_TIMEOUT_S:g} s')
        core.check_interrupt()
        time.sleep(0.1)
      _Watchdog(address)
      return _act_until_stopped(config, context, policy, actor_id, client, subscriber)
    except (core.RunStopped, environments_lib.NonFiniteError, reverb.errors.ReverbError) as error:
      print(f'error: actor {actor_id}: {error}', file=sys.stderr, flush=True)
      return 1


def _act_until_stopped(config, context, policy, actor_id: int, client: reverb.Client,
                       subscriber: WeightsSubscriber) -> int:
  start = subscriber.env_steps
  seed = int(np.random.SeedSequence([context.env_seed, actor_id, start]).generate_state(1)[0])
  policy.reseed(seed)
  packed = replay_lib.can_pack(context.spec.observation, context.spec.action)
  priority = lambda transition: subscriber.max_priority
  # No time limit on a write: the rate limiter holds actors back while the learner catches
  # up; the watchdog ends the wait if the server is gone.
  writer = replay_lib.NStepTransitionWriter(
      client, replay_lib.DEFAULT_TABLE, config.n_step, config.discount, priority=priority,
      packed=packed, timeout_s=math.inf)
  env = environments_lib.make_environment(context.env_id, seed=seed % (2**31),
                                          options=context.env_options)
  actor = off_policy.ReplayActor(env, policy, writer, config.learning_starts, seed)
  reports = _Channel(client, REPORTS_TABLE, math.inf)
  print(f'actor {actor_id}: acting from {start:,} env steps of the run (pid {os.getpid()}).',
        flush=True)
  try:
    actor.reset(start)
    since_pull = 0
    while True:
      core.check_interrupt()
      acted = actor.act(1)
      since_pull += 1
      if acted.episode_returns:
        reports.put(np.array([actor_id, acted.episode_returns[0], acted.episode_lengths[0]],
                             np.float64))
      if since_pull >= config.actor_update_period:
        subscriber.pull()
        actor.advance_to(subscriber.env_steps)
        since_pull = 0
        if subscriber.stop:
          return 0
  finally:
    reports.close()
    actor.close()


def serve(config: config_lib.OffPolicyConfig, spec: core.EnvironmentSpec,
          policy_variables: Sequence[tf.Variable], port: int, checkpoint_dir: str) -> None:
  """`--role=replay`: serves the agent's tables on `port` until SIGINT/SIGTERM (raised to the
  caller as KeyboardInterrupt, the server stopped). The server
  writes its checkpoints (asked for by the learner at each of its own) into
  `checkpoint_dir`, and starts from the newest one there."""
  signature, packed = off_policy.table_signature(spec.observation, spec.action)
  tables = [off_policy.transition_table(config, signature),
            *channel_tables(policy_variables)]
  server = replay_lib.make_server(tables, port=port, checkpoint_dir=checkpoint_dir)
  print(f'Serving the replay, weights and reports tables at localhost:{server.port} '
        f'(packed={packed}; checkpoints in {checkpoint_dir}); Ctrl-C stops it.', flush=True)
  try:
    with core.Interrupts():
      while True:
        core.check_interrupt()
        time.sleep(0.5)
  finally:
    server.stop()
