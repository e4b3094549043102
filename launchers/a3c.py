"""A3C (Mnih et al. 2016): asynchronous actor-learner threads.

`python -m launchers.a3c --env=CartPole-v1 --tuned --num_workers=2 --num_steps=300000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('a3c')
