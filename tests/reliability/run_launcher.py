"""`python -m tests.reliability.run_launcher <agent> --flags...`: a launcher, as a user runs
it, with the faulty environments of `faulty_envs` registered."""

import runpy
import sys

from tests.reliability import faulty_envs  # pylint: disable=unused-import

if __name__ == '__main__':
  agent = sys.argv.pop(1)
  runpy.run_module(f'launchers.{agent}', run_name='__main__', alter_sys=True)
