"""MADDPG (Lowe et al. 2017) on the multi-agent particle environments (`pip install -e '.[mpe]'`);
`--nocentralized_critic` trains independent DDPG agents instead.

`python -m launchers.maddpg --env=mpe2/simple_spread_v3 --num_steps=200000`.
`--help` lists the flags.
"""

from launchers import common

if __name__ == '__main__':
  common.launch('maddpg')
