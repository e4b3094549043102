r"""Trains PPO (Schulman et al. 2017) on a gymnasium environment.

  python -m launchers.ppo --env=CartPole-v1 --tuned --num_steps=100000 --seed=0

Every field of `agents.ppo.config.PPOConfig` is a flag (`--helpfull` lists them).
"""

import sys
import time

from absl import app

from agents.common import environments
from agents.common import on_policy
from agents.ppo import builder
from agents.ppo import config as ppo_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 100_000)
_CONFIG = flags_lib.define_config_flags(ppo_config.PPOConfig)


def main(argv):
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  try:
    settings = flags_lib.run_settings('ppo', _SHARED)
    environments.check_env_id(settings.env_id)
    tuned = ppo_config.TUNED.get(settings.env_id, {}) if _SHARED['tuned'].value else {}
    config = flags_lib.build_config(ppo_config.PPOConfig, _CONFIG, tuned)
    on_policy.check_budget(settings, config.batch_size)
    on_policy.write_config(settings, config)
  except ValueError as error:
    flags_lib.fail(str(error))

  start_time = time.time()
  strategy = common.setup_runtime(_SHARED, settings.seed)
  env = environments.VectorEnv(settings.env_id, config.num_envs, settings.seed)
  agent = builder.make_agent(env.observation_spec(), env.action_spec(), config, strategy,
                             seed=settings.seed)
  parts = on_policy.OnPolicyAgent(
      actor=agent.actor, update=agent.learner.update,
      trackables=dict(learner=agent.learner, actor=agent.actor))
  common.run_and_report(
      lambda: on_policy.run(settings, env, parts, config.num_steps_per_env, start_time),
      settings)
  env.close()


if __name__ == '__main__':
  sys.exit(app.run(main))
