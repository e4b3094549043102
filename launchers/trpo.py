r"""Trains TRPO (Schulman et al. 2015) on a gymnasium environment.

  python -m launchers.trpo --env=CartPole-v1 --tuned --num_steps=200000 --seed=0

Every field of `agents.trpo.config.TRPOConfig` is a flag (`--helpfull` lists them). TRPO runs
only under `--strategy=default`.
"""

import sys

from absl import app

from agents.trpo import builder
from agents.trpo import config as trpo_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 200_000)
_CONFIG = flags_lib.define_config_flags(trpo_config.TRPOConfig)


def main(argv):
  common.train('trpo', argv, _SHARED, _CONFIG, trpo_config.TRPOConfig,
               trpo_config.TUNED, builder.make_agent)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
