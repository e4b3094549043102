"""TD3 (Fujimoto et al. 2018), continuous actions.

`python -m launchers.td3 --env=Pendulum-v1 --tuned --num_steps=20000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('td3')
