"""ACKTR (Wu et al. 2017): A2C with a K-FAC natural-gradient step in a trust region.

`python -m launchers.acktr --env=CartPole-v1 --tuned --num_steps=200000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('acktr')
