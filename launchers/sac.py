r"""Trains SAC (Haarnoja et al. 2018; --version=v2 or v1) with continuous actions.

  python -m launchers.sac --env=Pendulum-v1 --tuned --num_steps=20000 --seed=0

Every field of `agents.sac.config.SACConfig` is a flag (`--helpfull` lists them).
"""

import sys

from absl import app

from agents.sac import builder
from agents.sac import config as sac_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('Pendulum-v1', 20_000)
_CONFIG = flags_lib.define_config_flags(sac_config.SACConfig)
_REPLAY_ADDRESS = flags_lib.define_replay_address_flag()


def main(argv):
  common.train('sac', argv, _SHARED, _CONFIG, sac_config.SACConfig, sac_config.TUNED,
               builder.make_agent, replay_address=_REPLAY_ADDRESS)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
