r"""Trains the one-step actor-critic (Sutton & Barto 2018, 13.5) on a gymnasium environment.

  python -m launchers.actor_critic --env=CartPole-v1 --tuned --num_steps=300000 --seed=0

Every field of `agents.actor_critic.config.ActorCriticConfig` is a flag (`--helpfull` lists them).
"""

import sys

from absl import app

from agents.actor_critic import builder
from agents.actor_critic import config as ac_config
from launchers import common
from launchers import flags as flags_lib

_SHARED = flags_lib.define_shared_flags('CartPole-v1', 300_000)
_CONFIG = flags_lib.define_config_flags(ac_config.ActorCriticConfig)


def main(argv):
  common.train('actor_critic', argv, _SHARED, _CONFIG, ac_config.ActorCriticConfig,
               ac_config.TUNED, builder.make_agent)


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
