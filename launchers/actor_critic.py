"""The one-step actor-critic (Sutton & Barto 2018, section 13.5).

`python -m launchers.actor_critic --env=CartPole-v1 --tuned --num_steps=300000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('actor_critic')
