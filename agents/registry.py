"""Every agent the launchers train (`python -m launchers.<name>`): its config, `--tuned` settings,
builder and defaults."""

from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

import tensorflow as tf

from agents.a2c import builder as a2c_builder
from agents.a2c import config as a2c_config
from agents.a3c import builder as a3c_builder
from agents.a3c import config as a3c_config
from agents.acer import builder as acer_builder
from agents.acer import config as acer_config
from agents.acktr import builder as acktr_builder
from agents.acktr import config as acktr_config
from agents.actor_critic import builder as actor_critic_builder
from agents.actor_critic import config as actor_critic_config
from agents.common import config as config_lib
from agents.common import core
from agents.common import environments
from agents.common import multi_agent
from agents.common import wrappers
from agents.d4pg import builder as d4pg_builder
from agents.d4pg import config as d4pg_config
from agents.ddpg import builder as ddpg_builder
from agents.dpg import builder as dpg_builder
from agents.maddpg import builder as maddpg_builder
from agents.maddpg import config as maddpg_config
from agents.dpg import config as dpg_config
from agents.ddpg import config as ddpg_config
from agents.off_policy_ac import builder as off_policy_ac_builder
from agents.off_policy_ac import config as off_policy_ac_config
from agents.ppo import builder as ppo_builder
from agents.ppo import config as ppo_config
from agents.reinforce import builder as reinforce_builder
from agents.reinforce import config as reinforce_config
from agents.sac import builder as sac_builder
from agents.sac import config as sac_config
from agents.soft_q import builder as soft_q_builder
from agents.soft_q import config as soft_q_config
from agents.td3 import config as td3_config
from agents.trpo import builder as trpo_builder
from agents.trpo import config as trpo_config


class Launcher(NamedTuple):
  """What `python -m launchers.<name>` needs of an agent.

  Attributes:
    config_cls: the config dataclass (every field is a flag).
    tuned: per-environment settings applied by `--tuned`.
    make_agent: the builder, `(config, context) -> core.Agent`.
    default_env: `--env`'s default.
    default_num_steps: `--num_steps`'s default.
    make_actor_policy: for an agent with actor processes (a config with `num_actors`), the
      builder of an actor process's exploring policy, `(config, context) -> policy`.
  """
  config_cls: Any
  tuned: Mapping[str, Mapping[str, Any]]
  make_agent: Callable[..., Any]
  default_env: str
  default_num_steps: int
  make_actor_policy: Optional[Callable[..., Any]] = None


def _launcher(config_module, config_name: str, builder_module, default_env: str,
              default_num_steps: int) -> Launcher:
  """The `Launcher` of an agent's config and builder modules."""
  return Launcher(getattr(config_module, config_name), config_module.TUNED,
                  builder_module.make_agent, default_env, default_num_steps,
                  getattr(builder_module, 'make_actor_policy', None))


# name -> Launcher: `python -m launchers.<name>`.
AGENTS = {
    'ppo': _launcher(ppo_config, 'PPOConfig', ppo_builder, 'CartPole-v1', 100_000),
    'a2c': _launcher(a2c_config, 'A2CConfig', a2c_builder, 'CartPole-v1', 200_000),
    'a3c': _launcher(a3c_config, 'A3CConfig', a3c_builder, 'CartPole-v1', 300_000),
    'acer': _launcher(acer_config, 'ACERConfig', acer_builder, 'CartPole-v1', 200_000),
    'acktr': _launcher(acktr_config, 'ACKTRConfig', acktr_builder, 'CartPole-v1', 200_000),
    'trpo': _launcher(trpo_config, 'TRPOConfig', trpo_builder, 'CartPole-v1', 200_000),
    'reinforce': _launcher(reinforce_config, 'ReinforceConfig', reinforce_builder,
                           'CartPole-v1', 300_000),
    'actor_critic': _launcher(actor_critic_config, 'ActorCriticConfig', actor_critic_builder,
                              'CartPole-v1', 300_000),
    'ddpg': _launcher(ddpg_config, 'DDPGConfig', ddpg_builder, 'Pendulum-v1', 20_000),
    'td3': _launcher(td3_config, 'TD3Config', ddpg_builder, 'Pendulum-v1', 20_000),
    'sac': _launcher(sac_config, 'SACConfig', sac_builder, 'Pendulum-v1', 20_000),
    'soft_q': _launcher(soft_q_config, 'SoftQConfig', soft_q_builder, 'MultiGoal-v0', 30_000),
    'maddpg': _launcher(maddpg_config, 'MADDPGConfig', maddpg_builder, 'mpe2/simple_spread_v3',
                        200_000),
    'd4pg': _launcher(d4pg_config, 'D4PGConfig', d4pg_builder, 'Pendulum-v1', 20_000),
    'dpg': _launcher(dpg_config, 'DPGConfig', dpg_builder, 'Pendulum-v1', 50_000),
    'off_policy_ac': _launcher(off_policy_ac_config, 'OffPolicyActorCriticConfig',
                               off_policy_ac_builder, 'CartPole-v1', 300_000),
}


def tuned_settings(name: str, env_id: str) -> Mapping[str, Any]:
  """`--tuned`'s settings of agent `name` for `env_id`: the env's own, else its family's
  (`wrappers.ATARI_TUNED` for every Atari game).

  Raises:
    ConfigError: naming `tuned` when the agent has none for `env_id`.
  """
  tuned = AGENTS[name].tuned
  if env_id in tuned:
    return tuned[env_id]
  if wrappers.ATARI_TUNED in tuned and wrappers.is_atari(wrappers.resolve(env_id)):
    return tuned[wrappers.ATARI_TUNED]
  known = ', '.join(tuned) or 'none'
  raise config_lib.ConfigError('RunSettings', 'tuned', f'{name} has no settings tuned for '
                               f'{env_id} (it has them for: {known}); leave out --tuned to use '
                               'its defaults', True)


def is_multi_agent(name: str) -> bool:
  """Whether agent `name` trains a team on a multi-agent (PettingZoo) environment."""
  return bool(getattr(AGENTS[name].config_cls, 'multi_agent', False))


def check_env_id(name: str, env_id: str) -> None:
  """Checks that agent `name` can make `env_id` here: a multi-agent id for a multi-agent
  agent, else a gymnasium one (with its optional packages installed).

  Raises:
    ConfigError: naming `env_id`, in one line (the extra to install, the ids there are).
  """
  (multi_agent if is_multi_agent(name) else environments).check_env_id(env_id)


def environment_spec(env_id: str, config: Any,
                     options: wrappers.EnvOptions = wrappers.EnvOptions()
                     ) -> core.EnvironmentSpec:
  """The specs a builder gets: per-agent ones (made with `config.env_kwargs`) for a
  multi-agent config, else those of the gymnasium environment made with `options`."""
  if getattr(config, 'multi_agent', False):
    return multi_agent.environment_spec(env_id, **config.env_kwargs)
  return environments.environment_spec(env_id, options)


def build_context(env_id: str, config: Any, *, seed: int, horizon: int, logdir: str,
                  env_options: wrappers.EnvOptions = wrappers.EnvOptions(),
                  strategy: Optional[tf.distribute.Strategy] = None,
                  env_seed: Optional[int] = None, replay_address: Optional[str] = None,
                  role: str = '',
                  actor_command: Optional[Callable[[str, int], Sequence[str]]] = None
                  ) -> core.BuildContext:
  """What a builder gets besides its config (`core.BuildContext`), the environment's specs
  included: the one way the launchers, `api.make` and `restore.load` build an agent.

  Args:
    env_id: the environment the run trains on.
    config: the agent's config.
    seed: the run's seed; also the environments' unless `env_seed` is given.
    horizon: the env steps schedules anneal over (`loop.schedule_horizon`).
    logdir: where the agent may write (its replay table's checkpoints).
    env_options: how the environments are made.
    strategy: the distribution strategy (default: the current one).
    env_seed, replay_address, role, actor_command: see `core.BuildContext`.
  """
  return core.BuildContext(
      env_id=env_id, spec=environment_spec(env_id, config, env_options),
      env_options=env_options, seed=seed, env_seed=seed if env_seed is None else env_seed,
      num_steps=horizon, strategy=strategy or tf.distribute.get_strategy(), logdir=logdir,
      replay_address=replay_address, role=role, actor_command=actor_command)
