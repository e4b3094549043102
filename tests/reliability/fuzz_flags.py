"""`python -m tests.reliability.fuzz_flags <agent>`: every flag of one launcher given bad values,
in one process; prints one JSON list of {flag, value, status, stderr, wrote}.

The launcher's `main` runs as from the command line up to the point where a valid run would
start working (`setup_runtime`, patched to stop there): a case that reaches it was accepted.
`status` is the exit status, 'accepted', or 'raised <Exception>' for an uncaught error.
"""

import contextlib
import io
import json
import os
import sys
import tempfile

from absl import flags

from launchers import common
from launchers import flags as flags_lib

_BAD = {
    flags.IntegerParser: ['abc', '1.5', '1e23', str(10**30), '-1'],
    flags.FloatParser: ['abc', 'nan', 'inf', '-inf', '1e400'],
    flags.BooleanParser: ['maybe'],
    flags.EnumParser: ['bogus'],
    flags.ListParser: ['a,b', '1.5', '0', '-4'],
}
_BAD_STRINGS = {'env': ['NoSuchEnv-v0', 'CartPole'], 'tpu': [], 'logdir': [],
                'replay_address': ['not an address']}


class _Accepted(Exception):
  pass


def _accept(*unused_args, **unused_kwargs):
  raise _Accepted()


def cases(holders):
  """(argv tail, flag named) pairs: bad values of every flag, an unknown flag, an argument."""
  for name in holders:
    flag = flags.FLAGS[name]
    values = next((v for parser, v in _BAD.items() if isinstance(flag.parser, parser)), None)
    if values is None:
      values = _BAD_STRINGS.get(name, ['bogus'])
    for value in values:
      yield [f'--{name}={value}'], name
  yield ['--no_such_flag=1'], 'no_such_flag'


def main():
  agent = sys.argv[1]
  main = common.define(agent)
  common.setup_runtime = _accept
  holders = main.flags
  results = []
  for tail, name in cases(holders):
    logdir = os.path.join(tempfile.mkdtemp(), 'run')
    flags.FLAGS.unparse_flags()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
      try:
        main(flags_lib.parse_flags([agent, f'--logdir={logdir}', *tail]))
        status = 0
      except SystemExit as exit_:
        status = exit_.code
      except _Accepted:
        status = 'accepted'
      except Exception as error:  # pylint: disable=broad-except
        status = f'raised {type(error).__name__}: {error}'
    results.append(dict(flag=name, value=tail[0], status=status, stderr=stderr.getvalue(),
                        wrote=os.path.exists(logdir)))
  print(json.dumps(results))


if __name__ == '__main__':
  main()
