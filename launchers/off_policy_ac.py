"""Off-policy actor-critic (Degris, White & Sutton 2012), discrete actions.

`python -m launchers.off_policy_ac --env=CartPole-v1 --num_steps=300000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('off_policy_ac')
