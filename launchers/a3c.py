r"""Trains A3C (asynchronous advantage actor-critic, Mnih et al. 2016) on a gymnasium environment.

  python -m launchers.a3c --env=CartPole-v1 --num_workers=2 --num_steps=300000 --seed=0

Every field of `agents.a3c.config.A3CConfig` is a flag (`--helpfull` lists them).
"""

import sys
import time

from absl import app

from agents.a3c import builder
from agents.a3c import config as a3c_config
from agents.a3c import training
from agents.common import config as config_lib
from agents.common import environments
from agents.common import on_policy
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 300_000)
_CONFIG = flags_lib.define_config_flags(a3c_config.A3CConfig)


def main(argv):
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  try:
    settings = flags_lib.run_settings('a3c', _SHARED)
    environments.check_env_id(settings.env_id)
    config = flags_lib.build_config(
        a3c_config.A3CConfig, _CONFIG,
        a3c_config.TUNED.get(settings.env_id, {}) if _SHARED['tuned'].value else {})
    if settings.strategy != 'default':
      raise config_lib.ConfigError('strategy', settings.strategy, 'A3C runs its workers as '
                                   'threads of one process; only default is supported')
    if settings.num_steps < config.t_max:
      raise config_lib.ConfigError('num_steps', settings.num_steps,
                                   f'must be at least one segment (t_max = {config.t_max})')
  except ValueError as error:
    flags_lib.fail(str(error))

  start_time = time.time()
  strategy = common.setup_runtime(_SHARED, settings.seed)
  # Worker i's environment is seeded `seed + i` on its first reset.
  make_envs = lambda seed: [environments.make_environment(settings.env_id, seed=seed + i)
                            for i in range(config.num_workers)]
  spec_env = environments.make_environment(settings.env_id)
  try:
    agent = builder.make_agent(spec_env.observation_spec(), spec_env.action_spec(), config,
                               strategy, seed=settings.seed)
    on_policy.write_config(settings, config)
  except ValueError as error:
    flags_lib.fail(str(error))
  finally:
    spec_env.close()
  common.run_and_report(lambda: training.run(settings, agent, make_envs, start_time), settings)


if __name__ == '__main__':
  sys.exit(app.run(main))
