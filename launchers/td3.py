r"""Trains TD3 (Fujimoto et al. 2018) on a gymnasium environment with continuous actions.

  python -m launchers.td3 --env=Pendulum-v1 --tuned --num_steps=20000 --seed=0

Every field of `agents.td3.config.TD3Config` is a flag (`--helpfull` lists them).
"""

import sys

from absl import app

from agents.ddpg import builder
from agents.td3 import config as td3_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('Pendulum-v1', 20_000)
_CONFIG = flags_lib.define_config_flags(td3_config.TD3Config)
_REPLAY_ADDRESS = flags_lib.define_replay_address_flag()


def main(argv):
  common.train('td3', argv, _SHARED, _CONFIG, td3_config.TD3Config, td3_config.TUNED,
               builder.make_agent, replay_address=_REPLAY_ADDRESS)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
