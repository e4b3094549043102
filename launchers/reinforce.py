"""REINFORCE with reward-to-go and a learned baseline (Williams 1992).

`python -m launchers.reinforce --env=CartPole-v1 --tuned --num_steps=300000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('reinforce')
