"""DDPG (Lillicrap et al. 2015), continuous actions.

`python -m launchers.ddpg --env=Pendulum-v1 --tuned --num_steps=20000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('ddpg')
