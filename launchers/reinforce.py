r"""Trains REINFORCE (Williams 1992; Sutton & Barto 2018, 13.3-13.4) on a gymnasium environment.

  python -m launchers.reinforce --env=CartPole-v1 --tuned --num_steps=300000 --seed=0

Every field of `agents.reinforce.config.ReinforceConfig` is a flag (`--helpfull` lists them).
"""

import sys

from absl import app

from agents.reinforce import builder
from agents.reinforce import config as reinforce_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 300_000)
_CONFIG = flags_lib.define_config_flags(reinforce_config.ReinforceConfig)


def main(argv):
  common.train('reinforce', argv, _SHARED, _CONFIG, reinforce_config.ReinforceConfig,
               reinforce_config.TUNED, builder.make_agent)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
