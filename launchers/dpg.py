"""DPG: COPDAC-Q, the compatible off-policy deterministic actor-critic (Silver et al. 2014).

`python -m launchers.dpg --env=Pendulum-v1 --num_steps=50000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('dpg')
