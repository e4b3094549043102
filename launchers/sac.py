"""SAC (Haarnoja et al. 2018), v2 or v1 (--version), continuous actions.

`python -m launchers.sac --env=Pendulum-v1 --tuned --num_steps=20000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('sac')
