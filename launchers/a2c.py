r"""Trains A2C (synchronous A3C, Mnih et al. 2016) on a gymnasium environment.

  python -m launchers.a2c --env=CartPole-v1 --tuned --num_steps=200000 --seed=0

Every field of `agents.a2c.config.A2CConfig` is a flag (`--helpfull` lists them).
"""

import sys

from absl import app

from agents.a2c import builder
from agents.a2c import config as a2c_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 200_000)
_CONFIG = flags_lib.define_config_flags(a2c_config.A2CConfig)


def main(argv):
  common.train('a2c', argv, _SHARED, _CONFIG, a2c_config.A2CConfig,
               a2c_config.TUNED, builder.make_agent)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
