"""ACER (Wang et al. 2017): actor-critic with experience replay, Retrace and a trust region.

`python -m launchers.acer --env=CartPole-v1 --num_steps=200000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('acer')
