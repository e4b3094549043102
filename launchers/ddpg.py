r"""Trains DDPG (Lillicrap et al. 2015) on a gymnasium environment with continuous actions.

  python -m launchers.ddpg --env=Pendulum-v1 --tuned --num_steps=20000 --seed=0

Every field of `agents.ddpg.config.DDPGConfig` is a flag (`--helpfull` lists them).
"""

import sys

from absl import app

from agents.ddpg import builder
from agents.ddpg import config as ddpg_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('Pendulum-v1', 20_000)
_CONFIG = flags_lib.define_config_flags(ddpg_config.DDPGConfig)
_REPLAY_ADDRESS = flags_lib.define_replay_address_flag()


def main(argv):
  common.train('ddpg', argv, _SHARED, _CONFIG, ddpg_config.DDPGConfig, ddpg_config.TUNED,
               builder.make_agent, replay_address=_REPLAY_ADDRESS)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
