"""TRPO (Schulman et al. 2015) with GAE; default strategy only.

`python -m launchers.trpo --env=CartPole-v1 --tuned --num_steps=200000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('trpo')
