r"""Trains PPO (Schulman et al. 2017) on a gymnasium environment.

  python -m launchers.ppo --env=CartPole-v1 --tuned --num_steps=100000 --seed=0

Every field of `agents.ppo.config.PPOConfig` is a flag (`--helpfull` lists them).
"""

import sys

from absl import app

from agents.ppo import builder
from agents.ppo import config as ppo_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 100_000)
_CONFIG = flags_lib.define_config_flags(ppo_config.PPOConfig)


def main(argv):
  common.train('ppo', argv, _SHARED, _CONFIG, ppo_config.PPOConfig, ppo_config.TUNED,
               builder.make_agent)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
