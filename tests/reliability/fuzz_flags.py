"""`python -m tests.reliability.fuzz_flags <agent>`: every flag of one launcher given bad values,
in one process; prints one JSON list of {flag, value, status, stderr, wrote}.

The launcher's `main` runs as from the command line up to the point where a valid run would
start working (`setup_runtime`, patched to stop there): a case that reaches it was accepted.
`status` is the exit status, 'accepted', or 'raised <Exception>' for an uncaught error.

`python -m tests.reliability.fuzz_flags <agent> '{"name": ["--flag=value", ...], ...}'` runs
the named command lines instead (`LauncherTestCase.assert_bad_flags_fail`), each through the
launcher's whole `main`, unpatched, and prints one JSON object {name: {status, stderr}}: one
process, one TensorFlow import, for cases that each fail before any work.
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


def run_case(agent: str, main, argv_tail):
  """Parses `argv_tail` as the launcher's command line and runs its `main`; returns the exit
  status (0 when it returned, 'accepted', 'raised ...') and what it wrote to stderr."""
  flags.FLAGS.unparse_flags()
  stderr = io.StringIO()
  with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
    try:
      main(flags_lib.parse_flags([agent, *argv_tail]))
      status = 0
    except SystemExit as exit_:
      status = exit_.code
    except _Accepted:
      status = 'accepted'
    except Exception as error:  # pylint: disable=broad-except
      status = f'raised {type(error).__name__}: {error}'
  return status, stderr.getvalue()


def main():
  agent = sys.argv[1]
  main = common.define(agent)
  if len(sys.argv) > 2:
    named = json.loads(sys.argv[2])
    results = {}
    for name, argv_tail in named.items():
      status, stderr = run_case(agent, main, argv_tail)
      results[name] = dict(status=status, stderr=stderr)
    print(json.dumps(results))
    return
  common.setup_runtime = _accept
  results = []
  for tail, name in cases(main.flags):
    logdir = os.path.join(tempfile.mkdtemp(), 'run')
    status, stderr = run_case(agent, main, [f'--logdir={logdir}', *tail])
    results.append(dict(flag=name, value=tail[0], status=status, stderr=stderr,
                        wrote=os.path.exists(logdir)))
  print(json.dumps(results))


if __name__ == '__main__':
  main()
