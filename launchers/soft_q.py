"""Soft Q-learning (Haarnoja et al. 2017): soft Q-network and an amortized SVGD sampler.

`python -m launchers.soft_q --env=MultiGoal-v0 --tuned --num_steps=30000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('soft_q')
