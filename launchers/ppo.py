"""PPO (Schulman et al. 2017): the clipped or the adaptive-KL surrogate.

`python -m launchers.ppo --env=CartPole-v1 --tuned --num_steps=100000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('ppo')
