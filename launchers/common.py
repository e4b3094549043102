"""The `main` every launcher shares: flags to settings and config, build, train, report."""

import dataclasses
import json
import os
import sys
import time
from typing import Any, Callable, Mapping, Optional

from absl import app
from absl import flags
from absl import logging
import dm_env
import numpy as np
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import core
from agents.common import distribute
from agents.common import environments
from agents.common import loop
from agents.common import seeding
from launchers import flags as flags_lib
from agents import registry

# Fields whose flag has another name.
_FLAG_NAMES = {'env_id': 'env'}


def _fail(error: ValueError) -> None:
  """Exits with one line naming the flag of a ConfigError (or the error's own message)."""
  if isinstance(error, config_lib.ConfigError):
    flag = _FLAG_NAMES.get(error.field, error.field)
    value = error.value if not isinstance(error.value, tuple) else ','.join(map(str, error.value))
    flags_lib.fail(f'--{flag}={value!r}: {error.allowed}')
  flags_lib.fail(str(error))


def setup_runtime(shared: Mapping[str, flags.FlagHolder], seed: int) -> tf.distribute.Strategy:
  """Logical CPUs, seeds and op determinism, then the strategy (in that order).

  TensorFlow's informational log lines (e.g. the devices a strategy uses) are silenced: the
  run's own progress lines are what a user reads.
  """
  logging.set_verbosity(logging.WARNING)
  tf.get_logger().setLevel('WARNING')
  if shared['logical_cpus'].value:
    distribute.split_logical_cpus(shared['logical_cpus'].value)
  seeding.set_global_seeds(seed, deterministic_ops=shared['deterministic_ops'].value)
  return distribute.make_strategy(shared['strategy'].value, tpu=shared['tpu'].value)


def _size(spec) -> int:
  """Numbers in one observation or action (a discrete action counts its choices)."""
  if isinstance(spec, dm_env.specs.DiscreteArray):
    return int(spec.num_values)
  return int(np.prod(spec.shape, dtype=np.int64))


def _physical_memory() -> float:
  return float(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES'))


def parse_run(name: str, argv, shared: Mapping[str, flags.FlagHolder],
              config_flags: Mapping[str, flags.FlagHolder], config_cls,
              tuned: Mapping[str, Mapping[str, Any]]):
  """The shared settings and the agent's config from the flags, or one line naming the bad
  flag and exit status 2 (before anything is written)."""
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  try:
    settings = flags_lib.run_settings(name, shared)
    environments.check_env_id(settings.env_id)
    config = flags_lib.build_config(
        config_cls, config_flags, tuned.get(settings.env_id, {}) if shared['tuned'].value else {})
    spec = environments.environment_spec(settings.env_id)
    config_lib.check_memory(config, _size(spec.observation), _size(spec.action),
                            available=0.8 * _physical_memory())
    loop.check_budget(settings, config)
  except ValueError as error:
    _fail(error)
  problem = loop.logdir_problem(settings.logdir)
  if problem is None and not shared['restart'].value:
    problem = loop.resume_problem(settings.logdir)
    if problem:
      problem += '; rerun with --restart to start it over, or pick another --logdir'
  if problem:
    flags_lib.fail(f'--logdir={settings.logdir!r}: {problem}')
  return settings, config


def report(record: Mapping[str, Any], settings: loop.RunSettings) -> None:
  """Prints the final evaluation and where the outputs are."""
  print(json.dumps({k: record[k] for k in ('env_steps', 'mean_return', 'std_return',
                                           'episodes', 'wall_time_s')}))
  print(f'Final evaluation over {record["episodes"]} episodes: '
        f'{record["mean_return"]:.1f} +/- {record["std_return"]:.1f} after '
        f'{record["env_steps"]:,} env steps ({record["wall_time_s"]:.1f} s).')
  print(f'Outputs in {os.path.abspath(settings.logdir)}: config.json, metrics.csv, TensorBoard '
        'events, checkpoints/, learning_curve.png, evaluation.json')


def define(name: str) -> Callable[[Any], None]:
  """Defines the flags of the agent `name` (a key of `registry.AGENTS`) and returns the `main`
  of its launcher; `main.flags` holds every flag's holder by name. An off-policy config
  (`OffPolicyConfig`) also gets `--replay_address`."""
  config_cls, tuned, make_agent, default_env, default_num_steps = registry.AGENTS[name]
  shared = flags_lib.define_shared_flags(default_env, default_num_steps)
  config_flags = flags_lib.define_config_flags(config_cls)
  replay_address = None
  if issubclass(config_cls, config_lib.OffPolicyConfig):
    replay_address = flags_lib.define_replay_address_flag()

  def main(argv):
    train(name, argv, shared, config_flags, config_cls, tuned, make_agent, replay_address)

  main.flags = {**shared, **config_flags}
  if replay_address is not None:
    main.flags['replay_address'] = replay_address
  return main


def launch(name: str) -> None:
  """`python -m launchers.<name>`: the agent's flags, parsed as absl does (with
  `flags.parse_flags`'s one-line errors), then `train`."""
  sys.exit(app.run(define(name), flags_parser=flags_lib.parse_flags))


def train(name: str, argv, shared: Mapping[str, flags.FlagHolder],
          config_flags: Mapping[str, flags.FlagHolder], config_cls,
          tuned: Mapping[str, Mapping[str, Any]],
          make_agent: Callable[[Any, core.BuildContext], core.Agent],
          replay_address: Optional[flags.FlagHolder] = None) -> None:
  """The `main` of every launcher: validate, build, train through `loop.run`, report.

  Every invalid input fails before anything is written, with one line naming the flag and exit
  status 2. Ctrl-C (SIGINT) and SIGTERM save a checkpoint and exit with status 130. A run that
  stops on a fault (`loop.RunStopped`: a non-finite value) prints one line and exits with
  status 1, its latest checkpoint untouched.

  Args:
    name: the agent's name (logdir default, config.json).
    argv: the positional arguments absl passes to `main`.
    shared: the holders from `flags.define_shared_flags`.
    config_flags: the holders from `flags.define_config_flags(config_cls)`.
    config_cls: the agent's config dataclass.
    tuned: per-environment settings applied by `--tuned`.
    make_agent: the agent's builder, `(config, context) -> core.Agent`.
    replay_address: the `--replay_address` holder of an off-policy launcher.
  """
  settings, config = parse_run(name, argv, shared, config_flags, config_cls, tuned)
  if replay_address is not None and replay_address.value:
    host, _, port = replay_address.value.rpartition(':')
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or ' ' in host:
      flags_lib.fail(f'--replay_address={replay_address.value!r}: must be host:port')
  start_time = time.time()
  try:
    strategy = setup_runtime(shared, settings.seed)
  except ValueError as error:
    _fail(error)
  env_seed = settings.seed
  if distribute.num_workers(strategy) > 1:
    # Every worker collects its own data (its own environment seeds) and writes its own
    # outputs; worker 0 writes into --logdir, worker i into --logdir/worker<i>.
    task = strategy.cluster_resolver.task_id
    env_seed = settings.seed + 100_000 * task
    if task:
      settings = dataclasses.replace(settings, logdir=os.path.join(settings.logdir,
                                                                   f'worker{task}'))
  if shared['restart'].value:
    loop.clear_run(settings.logdir)
  agent = None
  try:
    horizon = loop.schedule_horizon(settings, config)
    loop.check_config(settings, config, horizon)  # Before a replay table is loaded.
    context = core.BuildContext(
        env_id=settings.env_id, spec=environments.environment_spec(settings.env_id),
        seed=settings.seed, env_seed=env_seed, num_steps=horizon, strategy=strategy,
        logdir=settings.logdir,
        replay_address=(replay_address.value or None) if replay_address is not None else None)
    agent = make_agent(config, context)
    loop.write_config(settings, config, horizon)
  except ValueError as error:
    if agent is not None:
      agent.close()
    if isinstance(error, config_lib.ConfigError) and error.value is None:
      error.value = getattr(settings, error.field, None)  # E.g. the env a builder refused.
    _fail(error)
  try:
    record = loop.run(settings, agent, start_time)
  except KeyboardInterrupt:
    sys.exit(130)
  except loop.RunStopped as error:
    print(f'error: {error}', file=sys.stderr, flush=True)
    sys.exit(1)
  finally:
    agent.close()
  report(record, settings)
