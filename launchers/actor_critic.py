r"""Trains the one-step actor-critic (Sutton & Barto 2018, 13.5) on a gymnasium environment.

  python -m launchers.actor_critic --env=CartPole-v1 --tuned --num_steps=300000 --seed=0

Every field of `agents.actor_critic.config.ActorCriticConfig` is a flag (`--helpfull` lists
them).
"""

import sys
import time

from absl import app

from agents.actor_critic import builder
from agents.actor_critic import config as ac_config
from agents.common import config as config_lib
from agents.common import environments
from agents.common import episodes
from agents.common import on_policy
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 300_000)
_CONFIG = flags_lib.define_config_flags(ac_config.ActorCriticConfig)


def main(argv):
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  try:
    settings = flags_lib.run_settings('actor_critic', _SHARED)
    environments.check_env_id(settings.env_id)
    config = flags_lib.build_config(
        ac_config.ActorCriticConfig, _CONFIG,
        ac_config.TUNED.get(settings.env_id, {}) if _SHARED['tuned'].value else {})
    if settings.num_steps < config.num_envs:
      raise config_lib.ConfigError('num_steps', settings.num_steps,
                                   f'must be at least one step of every env ({config.num_envs})')
  except ValueError as error:
    flags_lib.fail(str(error))
  start_time = time.time()
  strategy = common.setup_runtime(_SHARED, settings.seed)
  env = environments.VectorEnv(settings.env_id, config.num_envs, settings.seed)
  try:
    agent = builder.make_agent(env.observation_spec(), env.action_spec(), config, strategy,
                               seed=settings.seed)
    on_policy.write_config(settings, config)
  except ValueError as error:
    flags_lib.fail(str(error))
  loop = builder.OnlineLoop(agent, env, config)
  parts = episodes.EpisodicAgent(
      iterate=loop.iterate, reset=loop.reset,
      mode=lambda observation: agent.actor.mode(observation).numpy(),
      trackables=dict(learner=agent.learner, actor=agent.actor))
  try:
    common.run_and_report(lambda: episodes.run(settings, parts, start_time), settings)
  finally:
    env.close()


if __name__ == '__main__':
  sys.exit(app.run(main))
