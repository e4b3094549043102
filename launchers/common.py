"""Runtime set-up and reporting shared by the launchers."""

import dataclasses
import json
import os
import signal
import sys
import time
from typing import Any, Callable, Dict, Mapping

from absl import flags
from dm_env import specs
import tensorflow as tf

from agents.common import distribute
from agents.common import environments
from agents.common import off_policy
from agents.common import on_policy
from agents.common import seeding
from launchers import flags as flags_lib


def setup_runtime(shared: Mapping[str, flags.FlagHolder], seed: int) -> tf.distribute.Strategy:
  """Logical CPUs, seeds and op determinism, then the strategy (in that order)."""
  if shared['logical_cpus'].value:
    distribute.split_logical_cpus(shared['logical_cpus'].value)
  seeding.set_global_seeds(seed, deterministic_ops=shared['deterministic_ops'].value)
  return distribute.make_strategy(shared['strategy'].value, tpu=shared['tpu'].value)


def _interrupt(signum, frame):
  del signum, frame
  raise KeyboardInterrupt


def run_and_report(train: Callable[[], Dict[str, Any]], settings: on_policy.RunSettings) -> None:
  """Runs `train`, prints the final evaluation and where the outputs are.

  Ctrl-C (SIGINT) and SIGTERM (e.g. a preempted job) save a checkpoint and exit with status 130.
  The handlers are installed explicitly: a process started in the background by a
  non-interactive shell inherits an ignored SIGINT.
  """
  signal.signal(signal.SIGINT, _interrupt)
  signal.signal(signal.SIGTERM, _interrupt)
  try:
    record = train()
  except KeyboardInterrupt:
    sys.exit(130)
  print(json.dumps({k: record[k] for k in ('env_steps', 'mean_return', 'std_return',
                                           'episodes', 'wall_time_s')}))
  print(f'Final evaluation over {record["episodes"]} episodes: '
        f'{record["mean_return"]:.1f} +/- {record["std_return"]:.1f} after '
        f'{record["env_steps"]:,} env steps ({record["wall_time_s"]:.1f} s).')
  print(f'Outputs in {os.path.abspath(settings.logdir)}: config.json, metrics.csv, TensorBoard '
        'events, checkpoints/, learning_curve.png, evaluation.json')


def parse_run(name: str, argv, shared: Mapping[str, flags.FlagHolder],
              config_flags: Mapping[str, flags.FlagHolder], config_cls,
              tuned: Mapping[str, Mapping[str, Any]], check_budget: Callable[[Any, Any], None]):
  """The shared settings and the agent's config from the flags, or one line naming the bad
  flag and exit status 2 (before anything is written). `check_budget(settings, config)` raises
  ValueError when --num_steps is too small for the agent."""
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  try:
    settings = flags_lib.run_settings(name, shared)
    environments.check_env_id(settings.env_id)
    config = flags_lib.build_config(
        config_cls, config_flags, tuned.get(settings.env_id, {}) if shared['tuned'].value else {})
    check_budget(settings, config)
  except ValueError as error:
    flags_lib.fail(str(error))
  return settings, config


def train_on_policy(name: str, argv, shared: Mapping[str, flags.FlagHolder],
                    config_flags: Mapping[str, flags.FlagHolder], config_cls,
                    tuned: Mapping[str, Mapping[str, Any]], make_agent) -> None:
  """The `main` of an on-policy launcher: validate, build, train, report.

  Every invalid input fails before anything is written, with one line naming the flag.

  Args:
    name: the agent's name (logdir default, config.json).
    argv: the positional arguments absl passes to `main`.
    shared: the holders from `flags.define_shared_flags`.
    config_flags: the holders from `flags.define_config_flags(config_cls)`.
    config_cls: the agent's config dataclass.
    tuned: per-environment settings applied by `--tuned`.
    make_agent: `(observation_spec, action_spec, config, strategy, seed) -> agent` with
      `.actor` and `.learner` (whose `update(rollout, progress)` trains).
  """
  settings, config = parse_run(
      name, argv, shared, config_flags, config_cls, tuned,
      lambda settings, config: on_policy.check_budget(settings, config.batch_size))

  start_time = time.time()
  strategy = setup_runtime(shared, settings.seed)
  env_seed = settings.seed
  if distribute.num_workers(strategy) > 1:
    # Distributed PPO/A2C: every worker collects its own data (its own environment seeds) and
    # writes its own outputs; worker 0 writes into --logdir, worker i into --logdir/worker<i>.
    task = strategy.cluster_resolver.task_id
    env_seed = settings.seed + 100_000 * task
    if task:
      settings = dataclasses.replace(settings, logdir=os.path.join(settings.logdir,
                                                                   f'worker{task}'))
  try:
    env = environments.VectorEnv(settings.env_id, config.num_envs, env_seed)
    agent = make_agent(env.observation_spec(), env.action_spec(), config, strategy,
                       seed=settings.seed)
    on_policy.write_config(settings, config)
  except ValueError as error:  # E.g. a batch that does not split across the replicas.
    flags_lib.fail(str(error))
  parts = on_policy.OnPolicyAgent(
      actor=agent.actor, update=agent.learner.update,
      trackables=dict(learner=agent.learner, actor=agent.actor))
  try:
    run_and_report(
        lambda: on_policy.run(settings, env, parts, config.num_steps_per_env, start_time),
        settings)
  finally:
    env.close()


def train_off_policy(name: str, argv, shared: Mapping[str, flags.FlagHolder],
                     config_flags: Mapping[str, flags.FlagHolder],
                     replay_address: flags.FlagHolder, config_cls,
                     tuned: Mapping[str, Mapping[str, Any]], make_agent) -> None:
  """The `main` of an off-policy launcher (DDPG, TD3, SAC): validate, build, train, report.

  Every invalid input fails before anything is written, with one line naming the flag.

  Args:
    name: the agent's name (logdir default, config.json).
    argv: the positional arguments absl passes to `main`.
    shared: the holders from `flags.define_shared_flags`.
    config_flags: the holders from `flags.define_config_flags(config_cls)`.
    replay_address: the `--replay_address` holder ('' for an in-process replay server).
    config_cls: the agent's config dataclass (an `off_policy.OffPolicyConfig`).
    tuned: per-environment settings applied by `--tuned`.
    make_agent: `(observation_spec, action_spec, config, strategy, seed) -> agent` with
      `.actor` and `.learner`.
  """
  settings, config = parse_run(name, argv, shared, config_flags, config_cls, tuned,
                               off_policy.check_budget)
  if shared['strategy'].value == 'multi_worker':
    flags_lib.fail("--strategy='multi_worker': the off-policy agents train one learner; use "
                   'default, one_device, mirrored or tpu')

  start_time = time.time()
  strategy = setup_runtime(shared, settings.seed)
  env = None
  replay = None
  try:
    try:
      env = environments.make_environment(settings.env_id, seed=settings.seed)
      action_spec = env.action_spec()
      if (not isinstance(action_spec, specs.BoundedArray) or
          isinstance(action_spec, specs.DiscreteArray) or len(action_spec.shape) != 1):
        raise ValueError(f'--env={settings.env_id!r}: {name} needs a continuous (Box) action '
                         f'space, got {action_spec!r}')
      agent = make_agent(env.observation_spec(), env.action_spec(), config, strategy,
                         seed=settings.seed)
      if config.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f'--batch_size={config.batch_size}: must split evenly across the '
                         f'{strategy.num_replicas_in_sync} replicas')
      replay = off_policy.make_replay(config, env.observation_spec(), env.action_spec(),
                                      settings.logdir, replay_address.value or None)
      on_policy.write_config(settings, config)
    except ValueError as error:
      flags_lib.fail(str(error))
    parts = off_policy.OffPolicyAgent(
        actor=agent.actor, learner=agent.learner,
        trackables=dict(learner=agent.learner, actor=agent.actor))
    run_and_report(
        lambda: off_policy.run(settings, env, parts, config, replay, strategy, start_time),
        settings)
  finally:
    if replay is not None and replay.server is not None:
      replay.server.stop()
    if env is not None:
      env.close()
