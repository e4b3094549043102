"""The one training loop: act, learn, log, evaluate, checkpoint, resume, stop on a signal.

Every agent runs through `run`. With one actor the loop interleaves it with its learner in
this thread:

    restore the latest checkpoint (env steps, learner steps, every trackable of the agent)
    actor.set_state(its saved state), or actor.reset(env_steps)
    while env steps < num_steps:
      acted = actor.act(num_steps - env_steps)            # a rollout, episodes, a transition
      once env steps >= learning_starts (and the agent is ready): learner.step(...), k times
      every eval_every / log_every / checkpoint_every env steps: evaluate / log / checkpoint
    checkpoint, final evaluation, evaluation.json, learning_curve.png

With several actors (A3C's workers) each actor and its learner run in a thread of their own,
claiming their steps from a shared budget, and this thread does the logging, evaluation and
checkpoints. SIGINT and SIGTERM save a checkpoint and raise KeyboardInterrupt; re-running with
the same logdir resumes.

Faults stop a run with `RunStopped` (one line) and keep the latest checkpoint as it is: a NaN
or infinite observation or reward from an environment, a non-finite learner metric (a loss or a
gradient norm: a non-finite gradient is not applied, see `learning.apply_global_gradients`; with
`on_nonfinite='skip'` the run counts such updates and goes on), and variables that are not
finite when a checkpoint is due (no checkpoint is ever written from them).
"""

import dataclasses
import glob
import json
import math
import os
import pickle
import queue
import shutil
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from agents.common import checkpointing
from agents.common import config as config_lib
from agents.common import core
from agents.common import environments
from agents.common import evaluation
from agents.common import logger as logger_lib
from agents.common import plotting
from agents.common import wrappers

_POLL_S = 0.05


@dataclasses.dataclass(frozen=True)
class RunSettings:
  """What every run sets besides the agent's config (the launchers' shared flags).

  Attributes:
    agent: the agent's name, e.g. 'ppo'.
    env_id: the gymnasium id.
    num_steps: environment steps to train for.
    seed: the run's seed.
    logdir: where the run writes everything; re-running with the same logdir resumes.
    strategy: the `tf.distribute` strategy's name (recorded in config.json).
    eval_episodes: episodes of the final (and periodic) deterministic evaluation.
    eval_every: evaluate every this many env steps (0: only at the end).
    checkpoint_every: checkpoint every this many env steps (and at the end and on a signal).
    log_every: write metrics every this many env steps.
    on_nonfinite: 'stop' the run at the first non-finite learner metric, or 'skip' (its
      non-finite gradient was not applied; the run counts it in the metrics and goes on).
    env_options: how the environments are made (`wrappers.EnvOptions`).
  """
  agent: str
  env_id: str
  num_steps: int
  seed: int
  logdir: str
  strategy: str = 'default'
  eval_episodes: int = 10
  eval_every: int = 10_000
  checkpoint_every: int = 10_000
  log_every: int = 1_000
  on_nonfinite: str = 'stop'
  env_options: wrappers.EnvOptions = wrappers.EnvOptions()

  def __post_init__(self):
    config_lib.check_numbers(self)
    if self.on_nonfinite not in ('stop', 'skip'):
      raise config_lib.ConfigError(self, 'on_nonfinite', "must be 'stop' or 'skip'")
    for name in ('num_steps', 'eval_episodes', 'checkpoint_every', 'log_every'):
      if getattr(self, name) < 1:
        raise config_lib.ConfigError(self, name, 'must be >= 1')
    for name in ('seed', 'eval_every'):
      if getattr(self, name) < 0:
        raise config_lib.ConfigError(self, name, 'must be >= 0')


def check_budget(settings: RunSettings, config: Any) -> None:
  """Raises ConfigError naming `num_steps` if the run would end before its first update."""
  needed = config.min_num_steps
  if settings.num_steps < needed:
    raise config_lib.ConfigError(
        settings, 'num_steps', f'must be >= {needed:,}, the env steps before the first update '
        f'of this {type(config).__name__}')


def _record(settings: RunSettings, config: Any, horizon: int) -> Dict[str, Any]:
  record = {'agent': settings.agent, 'env': settings.env_id, 'seed': settings.seed,
            'num_steps': settings.num_steps, 'horizon': horizon, 'strategy': settings.strategy,
            'env_options': settings.env_options.record(), 'config': dataclasses.asdict(config)}
  return json.loads(json.dumps(record))  # Tuples as lists, as they come back from disk.


def schedule_horizon(settings: RunSettings, config: Any) -> int:
  """The env steps that schedules anneal over: the first run's `num_steps` in this logdir.

  A resumed run keeps its schedules: the learning rate and clip range continue from where they
  were instead of restarting. A run whose config anneals may not change `num_steps` (past the
  horizon its annealed step sizes would be 0).

  Raises:
    ConfigError: naming `num_steps` for an annealing run resumed with another budget.
  """
  path = os.path.join(settings.logdir, 'config.json')
  if not os.path.exists(path):
    return settings.num_steps
  with open(path) as f:
    previous = json.load(f)
  horizon = int(previous.get('horizon', previous.get('num_steps', settings.num_steps)))
  annealed = [name for name, value in dataclasses.asdict(config).items()
              if name.startswith('anneal_') and value is True]
  if annealed and settings.num_steps != horizon:
    raise config_lib.ConfigError(
        settings, 'num_steps', f'the run in logdir {settings.logdir!r} anneals '
        f"{', '.join(n[len('anneal_'):] for n in annealed)} to 0 over {horizon:,} env steps (its "
        f'first num_steps); resume it with num_steps={horizon} or start a new logdir')
  return horizon


def write_config(settings: RunSettings, config: Any, horizon: int) -> None:
  """Writes `config.json`, after `check_config`."""
  record = check_config(settings, config, horizon)
  os.makedirs(settings.logdir, exist_ok=True)
  with open(os.path.join(settings.logdir, 'config.json'), 'w') as f:
    json.dump(record, f, indent=2)


def check_config(settings: RunSettings, config: Any, horizon: int) -> Dict[str, Any]:
  """Checks that a `config.json` already in the logdir (a resumed run) has the same config;
  returns the record to write.

  Raises:
    ConfigError: naming `logdir` if it holds a run of another agent, env, seed or config; the
      message names the first field that differs.
  """
  path = os.path.join(settings.logdir, 'config.json')
  record = _record(settings, config, horizon)
  if os.path.exists(path):
    with open(path) as f:
      previous = json.load(f)
    previous.setdefault('env_options', wrappers.EnvOptions().record())  # Older runs.
    for key in ('agent', 'env', 'seed', 'env_options'):
      if previous.get(key) != record[key]:
        raise config_lib.ConfigError(
            settings, 'logdir', f'holds a run with {key} {previous.get(key)!r} (this run: '
            f'{record[key]!r}); pick a new logdir or rerun with the same settings')
    old, new = previous.get('config', {}), record['config']
    for name in sorted(set(old) | set(new)):
      if old.get(name) != new.get(name):
        raise config_lib.ConfigError(
            settings, 'logdir', f'holds a run with {name}={old.get(name)!r} (this run: '
            f'{new.get(name)!r}); pick a new logdir or rerun with the same settings')
  return record


# What a run writes into its logdir (`clear_run` removes exactly these).
RUN_OUTPUTS = ('config.json', logger_lib.CSV_NAME, 'evaluation.json', 'learning_curve.png',
               'checkpoints', 'replay')


def logdir_problem(logdir: str) -> Optional[str]:
  """Why a run cannot write into `logdir` (a file, a folder under a file, not writable), or
  None. Creates nothing."""
  path = os.path.abspath(logdir)
  if os.path.exists(path) and not os.path.isdir(path):
    return 'is a file, not a folder'
  existing = path
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    return f'{existing} is a file, not a folder'
  if not os.access(existing, os.W_OK | os.X_OK):
    return f'{existing} is not writable'
  return None


def resume_problem(logdir: str) -> Optional[str]:
  """Why a run in `logdir` cannot resume, or None (nothing there, or an intact checkpoint).

  A logdir holds a run once it has metrics, an evaluation or checkpoints; resuming needs a
  checkpoint that reads back (see `checkpointing.intact_checkpoints`).
  """
  checkpoint_dir = checkpointing.directory(logdir)
  intact, damaged = checkpointing.intact_checkpoints(checkpoint_dir)
  if intact:
    return None
  if damaged:
    return f'none of its {len(damaged)} checkpoint(s) reads back ({damaged[0][1]})'
  evidence = [name for name in (logger_lib.CSV_NAME, 'evaluation.json')
              if os.path.exists(os.path.join(logdir, name))]
  if os.path.isdir(checkpoint_dir) and os.listdir(checkpoint_dir):
    evidence.append('checkpoints/ without a checkpoint')
  if evidence:
    return f"it holds a run ({', '.join(evidence)}) but no checkpoint to resume from"
  return None


def clear_run(logdir: str) -> None:
  """Removes a run's outputs (`RUN_OUTPUTS` and TensorBoard event files) from `logdir`."""
  for name in RUN_OUTPUTS:
    path = os.path.join(logdir, name)
    if os.path.isdir(path):
      shutil.rmtree(path)
    elif os.path.exists(path):
      os.remove(path)
  for path in glob.glob(os.path.join(logdir, 'events.out.tfevents.*')):
    os.remove(path)


def evaluate(agent: core.Agent, settings: RunSettings) -> evaluation.EvaluationResult:
  """`settings.eval_episodes` episodes of the agent's deterministic policy (through its own
  `evaluate` where it has one).

  Evaluation seeds are far from the training seeds, and the same at every evaluation.
  """
  seed = settings.seed + 1_000_000
  if agent.evaluate is not None:
    return agent.evaluate(settings.eval_episodes, seed)
  return evaluation.evaluate(agent.policy, settings.env_id, settings.eval_episodes, seed=seed,
                             options=settings.env_options)


class _Every:
  """Fires once each time the env-step count passes a multiple of `every` (never if 0)."""

  def __init__(self, every: int, step: int):
    self._every = every
    self._next = (step // every + 1) * every if every else None

  def due(self, step: int) -> bool:
    if self._next is None or step < self._next:
      return False
    self._next = (step // self._every + 1) * self._every
    return True


RunStopped = core.RunStopped


class _Run:
  """The state of one `run` call: counters, pending metrics, logger and checkpointer."""

  def __init__(self, settings: RunSettings, agent: core.Agent, start: float):
    self.settings = settings
    self.agent = agent
    self.start = start
    self.env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name='env_steps')
    self.learner_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name='learner_steps')
    problem = resume_problem(settings.logdir)
    if problem:
      raise RunStopped(f'logdir {settings.logdir!r} cannot resume: {problem}; clear it '
                       '(loop.clear_run) or pick another')
    # The actors' `get_state()`s, pickled: a resumed run continues their episodes.
    self.actor_states = tf.Variable(b'', dtype=tf.string, trainable=False, name='actor_states')
    # Seconds of training before this process (the earlier processes of a resumed run).
    self.earlier_s = tf.Variable(0.0, dtype=tf.float64, trainable=False, name='train_time_s')
    self.checkpointer = checkpointing.Checkpointer(
        settings.logdir, env_steps=self.env_steps, learner_steps=self.learner_steps,
        actor_states=self.actor_states, train_time_s=self.earlier_s, **agent.state)
    self.restored = self.checkpointer.restore()
    self.earlier = float(self.earlier_s.numpy())
    # Python counts, written into the variables before every checkpoint (cheaper per step).
    self.step = int(self.env_steps.numpy())
    self.num_learner_steps = int(self.learner_steps.numpy())
    self.log = logger_lib.Logger(settings.logdir, settings.num_steps,
                                 name=f'{settings.agent} {settings.env_id}',
                                 initial_step=self.step)
    config_path = os.path.join(settings.logdir, 'config.json')
    if not self.restored and os.path.exists(config_path):
      with open(config_path) as f:
        self.log.write_config(json.load(f))
    agent.check()
    self.ready = False  # Whether the learner has been ready (`Agent.ready_to_learn`).
    self.warned_state = False
    if self.restored:
      self.log.truncate(self.step)
      note = agent.describe()
      note = f' ({note})' if note else ''
      print(f'Resumed from {self.restored} at {self.step:,} env steps{note}.', flush=True)
    self.metrics: List[tuple] = []  # (learner step, env step, metrics) not yet read back.
    self.rows: List[Dict[str, float]] = []  # Finite metrics since the last row.
    self.skipped = 0  # Updates with a non-finite metric since the last row ('skip').
    self.returns: List[float] = []
    self.lengths: List[int] = []
    self.first_iteration_s: Optional[float] = None
    self.learning_start: Optional[tuple] = None  # (time, learner steps) of the first step.
    self.last_evaluation = None  # (learner steps, step, result) of the latest evaluation.
    self.eval_s = 0.0  # Seconds this process spent in evaluations: not training time.
    self.saved_step = self.step if self.restored else None
    self._eval = _Every(settings.eval_every, self.step)
    self._log = _Every(settings.log_every, self.step)
    self._checkpoint = _Every(settings.checkpoint_every, self.step)

  def learned(self, metrics: Mapping[str, Any]) -> None:
    self.metrics.append((self.num_learner_steps, self.step, metrics))
    if self.learning_start is None:
      self.learning_start = (time.time(), self.num_learner_steps)
    self.num_learner_steps += 1

  def acted(self, acted: core.Acted) -> None:
    self.step += acted.env_steps
    self.returns.extend(acted.episode_returns)
    self.lengths.extend(acted.episode_lengths)

  def periodic(self) -> None:
    """Evaluation, metrics and checkpoint rows that are due at the current step."""
    step = self.step
    if self.metrics and self.first_iteration_s is None:
      self.first_iteration_s = time.time() - self.start
    if self._eval.due(step) and step < self.settings.num_steps:  # The last one is `finish`'s.
      self.log_evaluation()
    if self._log.due(step):
      self.write_row()
    if self._checkpoint.due(step):
      self.save()

  def log_evaluation(self) -> evaluation.EvaluationResult:
    """Evaluates and logs the result, unless nothing changed since the last evaluation."""
    learner_steps = self.num_learner_steps
    if self.last_evaluation and self.last_evaluation[:2] == (learner_steps, self.step):
      return self.last_evaluation[2]
    started = time.time()
    result = evaluate(self.agent, self.settings)
    self.eval_s += time.time() - started
    self.last_evaluation = (learner_steps, self.step, result)
    self.log.write(self.step, {'eval_return': result.mean_return,
                               **{f'eval_{k}': v for k, v in result.details.items()}})
    return result

  def read_metrics(self) -> None:
    """Reads the pending metrics back as floats and checks them.

    Raises:
      RunStopped: at the first non-finite metric, unless `on_nonfinite` is 'skip' (then the
        update is counted in `skipped` and its non-finite values left out of the row).
    """
    for update, step, metrics in self.metrics:
      values = {k: float(v) for k, v in metrics.items()}
      bad = [k for k, v in values.items() if not math.isfinite(v)]
      if bad and self.settings.on_nonfinite == 'stop':
        self.metrics = []
        raise RunStopped(
            f'learner step {update + 1:,} (after {step:,} env steps) gave {bad[0]}='
            f"{values[bad[0]]} (its non-finite gradient was not applied; on_nonfinite='skip' "
            'goes on past such updates)')
      if bad:
        self.skipped += 1
        values = {k: v for k, v in values.items() if k not in bad}
      self.rows.append(values)
    self.metrics = []

  def can_learn(self) -> bool:
    """Whether the learner may step now: past `learning_starts`, and ready."""
    if self.step < self.agent.learning_starts:
      return False
    if not self.ready:
      self.ready = bool(self.agent.ready_to_learn())
    return self.ready

  def write_row(self) -> None:
    """The mean of the metrics since the last row, and of the episodes that ended."""
    self.agent.check()
    self.read_metrics()
    names = list(dict.fromkeys(k for r in self.rows for k in r))
    row = {k: float(np.mean([r[k] for r in self.rows if k in r])) for k in names}
    if self.skipped:
      row['skipped_updates'] = float(self.skipped)
      print(f'Warning: {self.skipped} update(s) with non-finite values skipped before '
            f'{self.step:,} env steps.', flush=True)
    row['episode_return'] = float(np.mean(self.returns)) if self.returns else math.nan
    row['episode_length'] = float(np.mean(self.lengths)) if self.lengths else math.nan
    self.log.write(self.step, row)
    self.rows, self.skipped, self.returns, self.lengths = [], 0, [], []

  def save(self) -> str:
    """Checkpoints the run, after checking the metrics of every update it holds.

    Raises:
      RunStopped: for a non-finite metric (see `read_metrics`), or variables that are not
        finite (nothing is written).
    """
    self.read_metrics()
    self.env_steps.assign(self.step)
    self.learner_steps.assign(self.num_learner_steps)
    self.actor_states.assign(self._actor_states())
    self.earlier_s.assign(self.earlier + time.time() - self.start - self.eval_s)
    try:
      path = self.checkpointer.save(self.step,
                                    before=lambda: self.agent.before_checkpoint(self.step))
    except checkpointing.NonFiniteState as error:
      raise RunStopped(str(error)) from None
    self.agent.after_checkpoint(self.step)
    self.saved_step = self.step
    return path

  def _actor_states(self) -> bytes:
    states = []
    for actor in self.agent.actors:
      state = None
      if hasattr(actor, 'get_state'):
        try:
          state = actor.get_state()
        except Exception as error:  # pylint: disable=broad-except  (e.g. unpicklable envs)
          if not self.warned_state:
            print(f'Warning: the environments\' state cannot be saved ({type(error).__name__}: '
                  f'{error}); a resumed run starts new episodes.', flush=True)
            self.warned_state = True
      states.append(state)
    return pickle.dumps(states) if any(s is not None for s in states) else b''

  def reset_actors(self) -> None:
    """Continues the actors from the restored checkpoint's states, or starts new episodes."""
    saved = self.actor_states.numpy()
    states = pickle.loads(saved) if saved else [None] * len(self.agent.actors)
    for actor, state in zip(self.agent.actors, states, strict=True):
      if state is None:
        actor.reset(self.step)
      else:
        actor.set_state(state)

  def finished_record(self) -> Optional[Dict[str, Any]]:
    """The evaluation.json of a run that already ended at its budget (rerun: nothing to do)."""
    path = os.path.join(self.settings.logdir, 'evaluation.json')
    if not self.restored or self.step < self.settings.num_steps or not os.path.exists(path):
      return None
    with open(path) as f:
      record = json.load(f)
    return record if record.get('env_steps') == self.step else None

  def finish(self) -> Dict[str, Any]:
    settings = self.settings
    train_time_s = time.time() - self.start - self.eval_s
    eval_time_s = self.eval_s
    if self.metrics or self.rows or self.returns:
      self.write_row()
    if self.saved_step != self.step:
      self.save()
    result = self.log_evaluation()
    self.log.close()
    learner_steps = self.num_learner_steps
    updates_per_s = None
    if self.learning_start is not None and time.time() > self.learning_start[0]:
      updates_per_s = ((learner_steps - self.learning_start[1])
                       / (train_time_s + self.start - self.learning_start[0]))
    record = {
        'env_steps': self.step,
        'mean_return': result.mean_return,
        'std_return': result.std_return,
        'episodes': int(len(result.returns)),
        'returns': [float(r) for r in result.returns],
        'wall_time_s': self.earlier + time.time() - self.start,
        'train_time_s': self.earlier + train_time_s,
        'eval_time_s': eval_time_s,
        'process_wall_time_s': time.time() - self.start,
        'first_iteration_s': self.first_iteration_s,
        'resumed_from': self.restored,
        'updates': learner_steps,
        'updates_per_s': updates_per_s,
        **result.details,
        **self.agent.report(),
    }
    with open(os.path.join(settings.logdir, 'evaluation.json'), 'w') as f:
      json.dump(record, f, indent=2)
    plotting.plot_learning_curve(
        os.path.join(settings.logdir, logger_lib.CSV_NAME),
        os.path.join(settings.logdir, 'learning_curve.png'),
        title=f'{settings.agent} {settings.env_id} seed {settings.seed}')
    return record


def run(settings: RunSettings, agent: core.Agent,
        start_time: Optional[float] = None) -> Dict[str, Any]:
  """Trains `agent` for `settings.num_steps` env steps at most, resuming from `logdir`.

  A run never takes more environment steps than its budget: an actor is asked for at most
  what is left, and the run ends when it can take no more (e.g. less than a whole rollout).
  SIGINT and SIGTERM (installed here when called from the main thread) save a checkpoint,
  then KeyboardInterrupt propagates; the agent is left for the caller to close.

  Args:
    settings: the run's shared settings.
    agent: the actors, learners and state from the agent's builder.
    start_time: `time.time()` when the caller started building the run; timings in
      evaluation.json count from there. Defaults to now.

  Returns:
    The final evaluation record (also written to `logdir/evaluation.json`): env_steps,
    mean_return, std_return, episodes, returns, wall_time_s and train_time_s (the whole run's,
    resumed processes included, up to their last checkpoint, without the time spent in
    periodic evaluations), eval_time_s (this process's periodic evaluations),
    process_wall_time_s (this process), first_iteration_s (to the end of this process's first
    learner step), resumed_from, updates (learner steps, resumed ones included), updates_per_s (in this
    process) and the agent's `report()`. Rerunning a run that already ended returns its
    record and writes nothing.
  """
  state = _Run(settings, agent, time.time() if start_time is None else start_time)
  done = state.finished_record()
  if done is not None:
    state.log.close()
    print(f'The run in {settings.logdir} already ended at {state.step:,} env steps.', flush=True)
    return done
  with core.Interrupts():
    return _run_to_the_end(state)


def _run_to_the_end(state: _Run) -> Dict[str, Any]:
  try:
    try:
      state.reset_actors()
      if len(state.agent.actors) == 1:
        _train_in_this_thread(state)
      else:
        _train_in_threads(state)
    except KeyboardInterrupt:
      if state.metrics or state.rows or state.returns:
        state.write_row()  # E.g. a Ctrl-C during an evaluation: its step's training row.
      path = state.save()
      state.log.close()
      print(f'\nInterrupted: saved {path} at {state.step:,} env steps; rerun the same command to '
            'resume.', flush=True)
      raise
    return state.finish()
  except (RunStopped, environments.NonFiniteError) as error:
    state.log.close()
    latest = state.checkpointer.latest
    kept = (f'the latest checkpoint, {latest}, is kept as it was' if latest else
            'no checkpoint was written')
    raise RunStopped(f'stopped after {state.step:,} env steps: {error}; {kept}') from None


def _train_in_this_thread(state: _Run) -> None:
  agent, settings = state.agent, state.settings
  actor, learner = agent.actors[0], agent.learners[0]
  while state.step < settings.num_steps:
    core.check_interrupt()
    acted = actor.act(settings.num_steps - state.step)
    if not acted.env_steps:  # Less budget left than the actor's smallest step.
      break
    state.acted(acted)
    if state.can_learn():
      for _ in range(_learner_steps(agent, acted, state.step)):
        state.learned(learner.step(acted.experience))
    state.periodic()


def _learner_steps(agent: core.Agent, acted: core.Acted, step: int) -> int:
  """Learner steps after `acted` brought the run to `step` (past `learning_starts`)."""
  if not agent.learn_per_env_step:
    return agent.learner_steps_per_act
  return agent.learner_steps_per_act * min(acted.env_steps, step - agent.learning_starts + 1)


class StepBudget:
  """Hands out environment steps to threaded actors, so that a run takes exactly its budget.

  An actor claims up to `steps_per_act` steps before acting and settles the claim after (an
  act that ends with its episode uses fewer). The lock guards only this count.
  """

  def __init__(self, remaining: int):
    self._remaining = remaining
    self._outstanding = 0
    self._condition = threading.Condition()

  def claim(self, steps: int) -> int:
    """Returns min(steps, remaining) (> 0), or 0 once the budget is spent."""
    with self._condition:
      # Steps claimed by other actors may come back unused: wait for them, do not stop early.
      while self._remaining == 0 and self._outstanding > 0:
        self._condition.wait()
      claimed = min(steps, self._remaining)
      self._remaining -= claimed
      self._outstanding += claimed
      return claimed

  def settle(self, claimed: int, used: int) -> None:
    """Records that a claim of `claimed` steps took `used` of them."""
    with self._condition:
      self._outstanding -= claimed
      self._remaining += claimed - used
      self._condition.notify_all()


def start_threads(agent: core.Agent, budget: StepBudget, stop: threading.Event,
                  report: Callable[[Any], None]) -> List[threading.Thread]:
  """One thread per (actor, learner) pair, each acting and learning until the budget or `stop`
  ends. No thread waits for another between its acts; each reports `(acted, metrics)`, or the
  exception that ended it (after setting `stop`), to `report`."""

  def loop(actor: core.Actor, learner: core.Learner) -> None:
    try:
      while not stop.is_set():
        claimed = budget.claim(agent.steps_per_act)
        if not claimed:
          return
        used = claimed
        try:
          acted = actor.act(claimed)
          used = acted.env_steps
          metrics = learner.step(acted.experience)
        finally:
          budget.settle(claimed, used)
        report((acted, {k: float(v) for k, v in metrics.items()}))
    except BaseException as error:  # pylint: disable=broad-except
      stop.set()
      report(error)

  threads = [threading.Thread(target=loop, args=pair, name=f'actor_{i}', daemon=True)
             for i, pair in enumerate(zip(agent.actors, agent.learners))]
  for thread in threads:
    thread.start()
  return threads


def _train_in_threads(state: _Run) -> None:
  """Threads act and learn; this thread logs, evaluates and checkpoints as their reports come.

  Periodic checkpoints and evaluations read the shared variables while the threads keep
  updating them; the final ones (and the one written on a signal) come after every thread
  has stopped.
  """
  results: queue.Queue = queue.Queue()
  stop = threading.Event()
  threads: Sequence[threading.Thread] = []
  try:
    threads = start_threads(state.agent, StepBudget(state.settings.num_steps - state.step), stop,
                            results.put)
    while True:
      core.check_interrupt()
      running = any(t.is_alive() for t in threads)
      try:
        items = [results.get(timeout=_POLL_S)]
      except queue.Empty:
        items = []
      while not results.empty():
        items.append(results.get_nowait())
      for item in items:
        if isinstance(item, BaseException):
          raise item
        acted, metrics = item
        state.acted(acted)
        state.learned(metrics)
      if items:
        state.periodic()
      if not running and results.empty():
        return
  finally:
    stop.set()
    for thread in threads:
      thread.join()
    # Acts that finished after the last read are in the shared variables already: count them,
    # so that a checkpoint written now (on a signal) holds every step taken.
    while not results.empty():
      item = results.get_nowait()
      if not isinstance(item, BaseException):
        state.acted(item[0])
        state.learned(item[1])
