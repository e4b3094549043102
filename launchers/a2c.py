"""A2C, the synchronous A3C (Mnih et al. 2016).

`python -m launchers.a2c --env=CartPole-v1 --tuned --num_steps=200000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('a2c')
