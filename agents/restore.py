"""A trained run's policy, rebuilt from its logdir: act, evaluate or export without retraining.

    from agents import restore

    with restore.load('runs/ppo/CartPole-v1/seed0') as run:   # the newest intact checkpoint
      actions = run.policy(observations)                     # deterministic, [B, ...] -> [B, ...]
      result = run.evaluate(episodes=10)                     # an evaluation.EvaluationResult

    run = restore.load(logdir, checkpoint=20_000)            # checkpoints/ckpt-20000

`load` reads the run's config.json (agent, env, seed, environment options, the agent's config),
builds the agent through its registered builder and restores the agent's variables (networks,
observation statistics, optimizer) from the checkpoint. It works on a finished run and on one
still training, and writes nothing into the run's logdir: the agent is built in a temporary
folder of its own (an off-policy agent's in-process Reverb table starts there, empty, instead
of loading the run's `replay/`), D4PG acts in this process (no actor processes), and the
checkpoint is only read. Environments are made by the project's own functions
(`evaluation.evaluate`, or the agent's own `evaluate` for multi-agent MADDPG) with the run's
recorded options, as the training's evaluations were.
"""

import dataclasses
import json
import os
import shutil
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple
import weakref

import numpy as np
import tensorflow as tf

from agents import registry
from agents.common import checkpointing
from agents.common import config as config_lib
from agents.common import core
from agents.common import evaluation
from agents.common import loop
from agents.common import runs
from agents.common import wrappers

CONFIG_NAME = runs.CONFIG_NAME
# The training's evaluations use seed + this (`loop.evaluate`); `evaluate`'s default too.
EVAL_SEED_OFFSET = 1_000_000


class LoadError(config_lib.ConfigError):
  """A run cannot be loaded: not a run directory, no such checkpoint, another version's files.

  A `ConfigError` of `load`'s arguments (`field`, `value`, `allowed`), which a launcher shows
  as its flag's error like any other; the message is one line naming the argument,
  `logdir='runs/x': not a run directory (no config.json)`.
  """

  def __init__(self, argument: str, value: Any, reason: str):
    super().__init__('load', argument, reason, value)
    self.args = (f'{argument}={value!r}: {reason}',)

  @property
  def argument(self) -> str:
    """The argument of `load` at fault ('logdir' or 'checkpoint')."""
    return self.field

  @property
  def reason(self) -> str:
    """What is wrong with it."""
    return self.allowed


def read_record(logdir: str) -> Dict[str, Any]:
  """The run's config.json as written by `loop.write_config` (tuples come back as lists).

  Raises:
    LoadError: naming `logdir` for a folder without a readable config.json naming an agent
      of `registry.AGENTS` and an env.
  """
  if not os.path.isdir(logdir):
    raise LoadError('logdir', logdir, 'is not a folder' if os.path.exists(logdir)
                    else 'does not exist')
  path = os.path.join(logdir, CONFIG_NAME)
  if not os.path.exists(path):
    raise LoadError('logdir', logdir, f'not a run directory (no {CONFIG_NAME})')
  try:
    with open(path) as f:
      record = json.load(f)
  except (OSError, ValueError) as error:
    raise LoadError('logdir', logdir, f'its {CONFIG_NAME} does not read back '
                    f'({str(error).splitlines()[0]})') from None
  if not isinstance(record, dict) or not {'agent', 'env', 'seed', 'config'} <= set(record):
    raise LoadError('logdir', logdir, f'its {CONFIG_NAME} lacks agent, env, seed or config')
  if record['agent'] not in registry.AGENTS:
    raise LoadError('logdir', logdir, f"a run of agent {record['agent']!r}, which this code "
                    f"does not have (it has {', '.join(registry.AGENTS)})")
  return record


def _as_tuples(value: Any) -> Any:
  """JSON lists back as the tuples the frozen config dataclasses hold."""
  if isinstance(value, list):
    return tuple(_as_tuples(v) for v in value)
  return value


def make_config(record: Dict[str, Any], logdir: str = '') -> Any:
  """The agent's config dataclass from a config.json record (`read_record`) of `logdir`.

  Raises:
    LoadError: naming `logdir` for fields the config class does not have or refuses (a run
      written by another version of the code).
  """
  config_cls = registry.AGENTS[record['agent']].config_cls
  names = {f.name for f in dataclasses.fields(config_cls)}
  unknown = sorted(set(record['config']) - names)
  if unknown:
    raise LoadError('logdir', logdir, f'its config has fields '
                    f"{', '.join(unknown)} that {config_cls.__name__} does not (written by "
                    'another version of the code?)')
  try:
    return config_cls(**{k: _as_tuples(v) for k, v in record['config'].items()})
  except (TypeError, ValueError) as error:
    raise LoadError('logdir', logdir, f'its config does not build a '
                    f'{config_cls.__name__} ({error})') from None


def find_checkpoint(logdir: str, checkpoint: Optional[int] = None) -> Tuple[int, str]:
  """The env step N and path prefix `<logdir>/checkpoints/ckpt-N` of checkpoint N (default: the
  newest intact one), after checking that every tensor in it reads back.

  Raises:
    LoadError: naming `logdir` when it holds no intact checkpoint, or `checkpoint` when
      `ckpt-N` is missing (the message lists the steps there are) or damaged.
  """
  steps = checkpointing.checkpoint_steps(logdir)
  if checkpoint is None:
    newest = checkpointing.newest_intact_step(logdir)  # Read back whole on the way.
    if newest is None:
      reason = (f'none of its {len(steps)} checkpoint(s) reads back' if steps else
                'holds no checkpoint yet (checkpoints/ckpt-N)')
      raise LoadError('logdir', logdir, reason)
    return newest, os.path.join(checkpointing.directory(logdir), f'ckpt-{newest}')
  if checkpoint not in steps:
    listed = ', '.join(str(s) for s in sorted(steps)) or 'none'
    raise LoadError('checkpoint', checkpoint, f'{logdir} has no checkpoints/ckpt-{checkpoint} '
                    f'(its checkpoints: {listed})')
  path = os.path.join(checkpointing.directory(logdir), f'ckpt-{checkpoint}')
  problem = checkpointing.damage(path)
  if problem is not None:
    raise LoadError('checkpoint', checkpoint, f'{path} does not read back ({problem})')
  return checkpoint, path


def is_multi_agent(record: Dict[str, Any]) -> bool:
  """Whether a config.json record (`read_record`) is a multi-agent (MADDPG) run's."""
  return registry.is_multi_agent(record['agent'])


def env_options(record: Dict[str, Any]) -> wrappers.EnvOptions:
  """The environment options a config.json record (`read_record`) holds."""
  return wrappers.EnvOptions.from_record(record.get('env_options'))


def evaluation_seed(record: Dict[str, Any]) -> int:
  """The seed of the training's evaluations (`loop.evaluate`): the run's seed + 1,000,000."""
  return int(record['seed']) + EVAL_SEED_OFFSET


class LoadedRun:
  """A run's agent with the weights of one checkpoint (see `load`); close it when done.

  Attributes:
    logdir: the run's folder.
    record: its config.json (agent, env, seed, num_steps, env_options, config, ...).
    agent: the agent's name, e.g. 'ppo'.
    config: the agent's config dataclass.
    env_id: the gymnasium (or multi-agent) id the run trained on.
    env_options: its environment options (`wrappers.EnvOptions`).
    seed: the run's seed.
    spec: the environment's specs (per-agent dicts for a multi-agent run).
    step: the env step of the checkpoint loaded.
    checkpoint: its path prefix, `<logdir>/checkpoints/ckpt-<step>`.
  """

  def __init__(self, logdir: str, record: Dict[str, Any], config: Any,
               spec: core.EnvironmentSpec, step: int, checkpoint: str, built: core.Agent,
               workdir: str):
    self.logdir, self.record, self.config, self.spec = logdir, record, config, spec
    self.agent, self.env_id, self.seed = record['agent'], record['env'], record['seed']
    self.env_options = env_options(record)
    self.step, self.checkpoint = step, checkpoint
    self._built: Optional[core.Agent] = built
    self._workdir = workdir
    # The temporary folder goes at `close`, or with the object (or the process) if never closed.
    self._remove_workdir = weakref.finalize(self, shutil.rmtree, workdir, ignore_errors=True)

  @property
  def _agent(self) -> core.Agent:
    if self._built is None:
      raise RuntimeError(f'{self!r} is closed')
    return self._built

  @property
  def multi_agent(self) -> bool:
    """Whether the run trained a multi-agent (MADDPG) team on joint observations."""
    return is_multi_agent(self.record)

  @property
  def policy_function(self) -> Optional[Callable[[tf.Tensor], tf.Tensor]]:
    """The deterministic policy as the agent's compiled `tf.function` (observations [B, ...]
    -> actions [B, ...], observation statistics applied), or None for a multi-agent run
    (whose sub-policies also take an ensemble index)."""
    if self.multi_agent:
      return None
    module = self._agent.state.get('actor')
    mode = getattr(module, 'mode', None)
    if mode is None or len(getattr(mode, 'input_signature', None) or ()) != 1:
      return None
    return mode

  def policy(self, observation) -> np.ndarray:
    """The deterministic actions of the training's evaluations.

    Args:
      observation: one observation (shaped as the observation spec) or a batch [B, ...],
        as the run's environments give them (after its wrappers: frame stacking, Atari
        preprocessing); a multi-agent run takes joint observations [B, sum O_i].

    Returns:
      The action, or actions [B, ...] for a batch.
    """
    observation = np.asarray(observation)
    if self.multi_agent:
      return np.asarray(self._agent.policy(observation))
    single = observation.ndim == len(self.spec.observation.shape)
    batch = observation[None] if single else observation
    actions = np.asarray(self._agent.policy(batch.astype(self.spec.observation.dtype)))
    return actions[0] if single else actions

  def default_seed(self) -> int:
    """The seed of the training's evaluations (`loop.evaluate`): the run's seed + 1,000,000."""
    return evaluation_seed(self.record)

  def evaluate(self, episodes: int = 10, seed: Optional[int] = None
               ) -> evaluation.EvaluationResult:
    """`episodes` episodes of the deterministic policy, made as the training's evaluations
    (the default seed is theirs, so the final checkpoint gives evaluation.json's returns)."""
    seed = self.default_seed() if seed is None else seed
    agent = self._agent
    if agent.evaluate is not None:
      return agent.evaluate(episodes, seed)
    return evaluation.evaluate(agent.policy, self.env_id, episodes, seed, self.env_options)

  def close(self) -> None:
    """Releases the agent's environments and replay server, and its temporary folder."""
    built, self._built = self._built, None
    try:
      if built is not None:
        built.close()
    finally:
      self._remove_workdir()

  def __enter__(self) -> 'LoadedRun':
    return self

  def __exit__(self, *unused) -> None:
    self.close()

  def __repr__(self) -> str:
    return (f'LoadedRun({self.agent} on {self.env_id}, seed {self.seed}, {self.step:,} env '
            f'steps: {self.checkpoint})')


def _restore(built: core.Agent, path: str) -> None:
  """Restores every variable the agent checkpoints from `path`; the loop's own counters in
  the checkpoint, and optimizer slots not created yet, are left unread."""
  status = tf.train.Checkpoint(**built.state).restore(path)
  try:
    status.assert_existing_objects_matched()
  except AssertionError as error:
    unmatched = str(error).partition('unmatched objects:')[2].strip().splitlines()
    raise checkpointing.MismatchedCheckpoint(
        f'{path} does not match this agent (written by another version of the code?); not '
        f"in it: {' '.join(unmatched)[:200]}") from None
  status.expect_partial()


def load(logdir: str, checkpoint: Optional[int] = None) -> LoadedRun:
  """Rebuilds the run in `logdir` with the weights of one of its checkpoints.

  Args:
    logdir: a run's folder (it holds config.json and checkpoints/).
    checkpoint: the env step N of `checkpoints/ckpt-N` (default: the newest intact one).

  Returns:
    A `LoadedRun`: `policy`, `evaluate`, the config and where it came from; `close` it (or
    use it in a `with`).

  Raises:
    LoadError: not a run directory, no (intact) checkpoint, no checkpoint N (the message
      lists the steps there are), or a config this code does not build.
    MismatchedCheckpoint: a checkpoint that lacks some of the agent's variables.
    ConfigError: an environment that cannot be made here (e.g. a missing optional package).
  """
  record = read_record(logdir)
  config = make_config(record, logdir)
  step, path = find_checkpoint(logdir, checkpoint)
  build_config = config
  if getattr(config, 'num_actors', 0):
    build_config = dataclasses.replace(config, num_actors=0)  # Act here: start no processes.
  workdir = tempfile.mkdtemp(prefix='loaded_run_')
  built = None
  try:
    context = registry.build_context(
        record['env'], config, seed=int(record['seed']),
        horizon=int(record.get('horizon', record.get('num_steps', 1))), logdir=workdir,
        env_options=env_options(record))
    built = registry.AGENTS[record['agent']].make_agent(build_config, context)
    _restore(built, path)
  except BaseException:
    if built is not None:
      built.close()
    shutil.rmtree(workdir, ignore_errors=True)
    raise
  return LoadedRun(logdir, record, config, context.spec, step, path, built, workdir)


def available_checkpoints(logdir: str) -> List[int]:
  """The env steps of the run's checkpoints on disk, oldest first (intact or not)."""
  return sorted(checkpointing.checkpoint_steps(logdir))


def run_output_holding(path: str, logdir: str) -> Optional[str]:
  """The name of the run's own output (`loop.RUN_OUTPUTS`: config.json, checkpoints, ...) that
  `path` is or lies inside, or None: tools that write beside a run never write there."""
  path = os.path.abspath(path)
  for name in loop.RUN_OUTPUTS:
    own = os.path.abspath(os.path.join(logdir, name))
    if path == own or path.startswith(own + os.sep):
      return name
  return None
