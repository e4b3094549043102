"""The `main` every launcher shares: flags to settings and config, build, train, report."""

import dataclasses
import json
import os
import sys
import time
from typing import Any, Callable, List, Mapping

from absl import app
from absl import flags
from absl import logging
import dm_env
import numpy as np
import tensorflow as tf

from agents.common import checkpointing
from agents.common import config as config_lib
from agents.common import distribute
from agents.common import distributed
from agents.common import loop
from agents.common import off_policy
from agents.common import seeding
from agents.common import wrappers
from launchers import flags as flags_lib
from agents import registry

# Fields whose flag has another name.
_FLAG_NAMES = {'env_id': 'env'}


def _fail(error: ValueError) -> None:
  """Exits with one line naming the flag of a ConfigError (or the error's own message)."""
  flags_lib.fail_config(error, _FLAG_NAMES)


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
  """Numbers in one observation or action (a discrete action counts its choices; per-agent
  specs add up)."""
  if isinstance(spec, Mapping):
    return sum(_size(s) for s in spec.values())
  if isinstance(spec, dm_env.specs.DiscreteArray):
    return int(spec.num_values)
  return int(np.prod(spec.shape, dtype=np.int64))


def _physical_memory() -> float:
  return float(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES'))


def parse_run(name: str, argv, shared: Mapping[str, flags.FlagHolder],
              config_flags: Mapping[str, flags.FlagHolder], config_cls,
              tuned: Mapping[str, Mapping[str, Any]], check_logdir: bool = True):
  """The shared settings and the agent's config from the flags, or one line naming the bad
  flag and exit status 2 (before anything is written). `check_logdir=False` skips the checks
  of a run's logdir (for processes that write no run there)."""
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  try:
    settings = flags_lib.run_settings(name, shared)
    registry.check_env_id(name, settings.env_id)
    if registry.is_multi_agent(name):
      for flag in ('frame_stack', 'max_episode_steps', 'env_kwargs'):
        if shared[flag].present:
          raise config_lib.ConfigError('RunSettings', flag, 'is for gymnasium environments; '
                                       'a multi-agent one takes its own options (see --help)',
                                       shared[flag].value)
    config = flags_lib.build_config(
        config_cls, config_flags,
        registry.tuned_settings(name, settings.env_id) if shared['tuned'].value else {})
    spec = registry.environment_spec(settings.env_id, config, settings.env_options)
    config_lib.check_memory(config, _size(spec.observation), _size(spec.action),
                            available=0.8 * _physical_memory())
    loop.check_budget(settings, config)
  except ValueError as error:
    _fail(error)
  if not check_logdir:
    return settings, config
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


_ROLES = ('', 'replay', 'learner', 'actor')
# Flags of the launching process that its actor processes do not inherit.
_NOT_INHERITED = ('role', 'replay_address', 'actor_id', 'restart', 'norestart')


def define(name: str) -> Callable[[Any], None]:
  """Defines the flags of the agent `name` (a key of `registry.AGENTS`) and returns the `main`
  of its launcher; `main.flags` holds every flag's holder by name. An off-policy config
  (`OffPolicyConfig`) also gets `--replay_address`, one with actor processes (a `num_actors`
  field) `--role` and `--actor_id`."""
  launcher = registry.AGENTS[name]
  config_cls = launcher.config_cls
  shared = flags_lib.define_shared_flags(launcher.default_env, launcher.default_num_steps)
  config_flags = flags_lib.define_config_flags(config_cls)
  extra = {}
  if issubclass(config_cls, config_lib.OffPolicyConfig):
    extra['replay_address'] = flags_lib.define_replay_address_flag()
  if 'num_actors' in config_flags:
    extra['role'] = flags.DEFINE_enum(
        'role', '', _ROLES, "'' (default): the whole run here, with --num_actors actor "
        "processes; 'replay': serve the tables on --replay_address's port; 'learner': train "
        "on the server at --replay_address; 'actor': act into it.")
    extra['actor_id'] = flags.DEFINE_integer('actor_id', 0, "Index of a --role=actor process "
                                             '(its seeds).', lower_bound=0,
                                             upper_bound=config_lib.MAX_INT)

  def main(argv):
    train(name, argv, shared, config_flags, launcher, extra)

  main.flags = {**shared, **config_flags, **extra}
  main.groups = {'Run flags (every launcher)': list(shared),
                 f'{name} flags ({config_cls.__name__}, agents/{name}/config.py)':
                     list(config_flags),
                 'Distributed flags': list(extra)}
  return main


def launch(name: str) -> None:
  """`python -m launchers.<name>`: the agent's flags, parsed as absl does (with
  `flags.parse_flags`'s one-line errors, and a `--help` that lists the launcher's own flags),
  then `train`."""
  main = define(name)
  tuned = [f'{env} (every Atari game)' if env == wrappers.ATARI_TUNED else env
           for env in registry.AGENTS[name].tuned]
  notes = {'tuned': f"Tuned for: {', '.join(tuned)}." if tuned
                    else 'This agent has no tuned settings.'}
  text = lambda: flags_lib.help_text(sys.modules['__main__'].__doc__, main.groups, notes)
  sys.exit(app.run(main, flags_parser=flags_lib.parser_with_help(text)))


def _actor_command(name: str) -> Callable[[str, int], List[str]]:
  """The command line of actor i of this run: this process's flags, less the ones that are
  the launching process's own, with `--role=actor`."""
  inherited = [a for a in sys.argv[1:]
               if not any(a == f'--{f}' or a.startswith(f'--{f}=') for f in _NOT_INHERITED)]
  return lambda address, i: [sys.executable, '-m', f'launchers.{name}', *inherited,
                             '--role=actor', f'--replay_address={address}', f'--actor_id={i}']


def train(name: str, argv, shared: Mapping[str, flags.FlagHolder],
          config_flags: Mapping[str, flags.FlagHolder], launcher: registry.Launcher,
          extra: Mapping[str, flags.FlagHolder]) -> None:
  """The `main` of every launcher: validate, build, train through `loop.run`, report.

  Every invalid input fails before anything is written, with one line naming the flag and exit
  status 2. Ctrl-C (SIGINT) and SIGTERM save a checkpoint and exit with status 130. A run that
  stops on a fault (`loop.RunStopped`: a non-finite value) prints one line and exits with
  status 1, its latest checkpoint untouched. `--role=actor` and `--role=replay` run an actor
  process or a replay server instead (`agents.common.distributed`) and write nothing but the
  server's checkpoints.

  Args:
    name: the agent's name (logdir default, config.json).
    argv: the positional arguments absl passes to `main`.
    shared: the holders from `flags.define_shared_flags`.
    config_flags: the holders from `flags.define_config_flags(config_cls)`.
    launcher: the agent's entry in `registry.AGENTS`.
    extra: the holders of `--replay_address`, `--role` and `--actor_id` where defined.
  """
  address = extra['replay_address'].value if 'replay_address' in extra else ''
  role = extra['role'].value if 'role' in extra else ''
  if role and not address:
    flags_lib.fail(f"--role={role!r} needs --replay_address=host:port (of the server; "
                   'for --role=replay, the port it serves on)')
  if address:
    host, _, port = address.rpartition(':')
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or ' ' in host:
      flags_lib.fail(f'--replay_address={address!r}: must be host:port')
  settings, config = parse_run(name, argv, shared, config_flags, launcher.config_cls,
                               launcher.tuned, check_logdir=role in ('', 'learner'))
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
  try:  # A run started over keeps nothing of the old one, its schedule horizon included.
    horizon = (settings.num_steps if shared['restart'].value
               else loop.schedule_horizon(settings, config))
  except ValueError as error:
    _fail(error)
  context = registry.build_context(
      settings.env_id, config, seed=settings.seed, horizon=horizon, logdir=settings.logdir,
      env_options=settings.env_options, strategy=strategy, env_seed=env_seed,
      replay_address=address or None, role=role,
      actor_command=_actor_command(name) if not role else None)
  if role in ('actor', 'replay'):
    try:
      policy = launcher.make_actor_policy(config, context)
    except ValueError as error:
      _fail(error)
    try:
      if role == 'actor':
        sys.exit(distributed.run_actor(config, context, policy, extra['actor_id'].value))
      distributed.serve(config, context.spec, policy.network_variables,
                        int(address.rpartition(':')[2]),
                        os.path.abspath(os.path.join(settings.logdir, 'replay_server')))
    except KeyboardInterrupt:  # A signal, or an actor's stop flag / lost server.
      if distributed.SERVER_LOST.is_set():
        print(f'error: actor {extra["actor_id"].value}: the replay server at {address} did not '
              f'answer for {off_policy.SERVER_TIMEOUT_S:g} s', file=sys.stderr, flush=True)
        sys.exit(1)
      sys.exit(0)
    return
  if shared['restart'].value:
    loop.clear_run(settings.logdir)
  agent = None
  try:
    loop.check_config(settings, config, horizon)  # Before a replay table is loaded.
    agent = launcher.make_agent(config, context)
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
  except (loop.RunStopped, checkpointing.MismatchedCheckpoint) as error:
    print(f'error: {error}', file=sys.stderr, flush=True)
    sys.exit(1)
  finally:
    agent.close()
  report(record, settings)
