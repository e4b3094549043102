"""D4PG (Barth-Maron et al. 2018), continuous actions, with K actor processes.

`python -m launchers.d4pg --env=Pendulum-v1 --tuned --num_actors=1`.
`--help` lists the flags, agents/d4pg/README.md the commands of a run across machines (`--role`).
"""

from launchers import common

if __name__ == '__main__':
  common.launch('d4pg')
