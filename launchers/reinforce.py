r"""Trains REINFORCE (Williams 1992; Sutton & Barto 2018, 13.3-13.4) on a gymnasium environment.

  python -m launchers.reinforce --env=CartPole-v1 --tuned --num_steps=300000 --seed=0

Every field of `agents.reinforce.config.ReinforceConfig` is a flag (`--helpfull` lists them).
"""

import sys
import time

from absl import app

from agents.common import environments
from agents.common import episodes
from agents.common import on_policy
from agents.reinforce import builder
from agents.reinforce import config as reinforce_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 300_000)
_CONFIG = flags_lib.define_config_flags(reinforce_config.ReinforceConfig)


def main(argv):
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  try:
    settings = flags_lib.run_settings('reinforce', _SHARED)
    environments.check_env_id(settings.env_id)
    config = flags_lib.build_config(
        reinforce_config.ReinforceConfig, _CONFIG,
        reinforce_config.TUNED.get(settings.env_id, {}) if _SHARED['tuned'].value else {})
  except ValueError as error:
    flags_lib.fail(str(error))
  start_time = time.time()
  strategy = common.setup_runtime(_SHARED, settings.seed)
  collector = episodes.EpisodeCollector(settings.env_id, config.num_envs, settings.seed)
  try:
    agent = builder.make_agent(collector.observation_spec(), collector.action_spec(), config,
                               strategy, seed=settings.seed)
    on_policy.write_config(settings, config)
  except ValueError as error:
    flags_lib.fail(str(error))
  parts = episodes.EpisodicAgent(
      iterate=builder.make_iteration(agent, collector), reset=collector.reseed,
      mode=lambda observation: agent.actor.mode(observation).numpy(),
      trackables=dict(learner=agent.learner, actor=agent.actor))
  try:
    common.run_and_report(lambda: episodes.run(settings, parts, start_time), settings)
  finally:
    collector.close()


if __name__ == '__main__':
  sys.exit(app.run(main))
