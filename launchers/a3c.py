r"""Trains A3C (asynchronous advantage actor-critic, Mnih et al. 2016) on a gymnasium env.

  python -m launchers.a3c --env=CartPole-v1 --tuned --num_workers=2 --num_steps=300000 --seed=0

Every field of `agents.a3c.config.A3CConfig` is a flag (`--helpfull` lists them).
"""

import sys

from absl import app

from agents.a3c import builder
from agents.a3c import config as a3c_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 300_000)
_CONFIG = flags_lib.define_config_flags(a3c_config.A3CConfig)


def main(argv):
  common.train('a3c', argv, _SHARED, _CONFIG, a3c_config.A3CConfig, a3c_config.TUNED,
               builder.make_agent)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
