r"""Serves a Reverb replay table of one environment's transitions until killed.

  python -m launchers.replay_server --env=Pendulum-v1 --port=8000 --max_size=1000000 \
      --prioritized --checkpoint_dir=/tmp/replay

Actors and learners in other processes connect with `--replay_address=host:8000`: actors write
with `agents.common.replay.NStepTransitionWriter(reverb.Client(address), --table, n_step,
discount)`, learners read `agents.common.replay.make_dataset(address, --table, batch_size)`.
The table's signature comes from the environment's specs (`off_policy.table_signature`: packed
float32 vectors for continuous control, a `replay.Transition` of columns otherwise). The
server stores transitions as the writers make them: N and gamma are the writers' (the
trainer's `--n_step` and `--discount`), not the server's.
With `--checkpoint_dir`, the server restarts from the newest checkpoint in that directory
(written by `replay.checkpoint(client)`, which a trainer asks for at each of its checkpoints).
A trainer checks the table's insert count, which the checkpoints keep: a server restarted
without its checkpoint, or from one older than the trainer's, stops the run with one line.
"""

import sys

from absl import app
from absl import flags

from agents.common import config as config_lib
from agents.common import environments
from agents.common import off_policy
from agents.common import replay
from agents.common import wrappers
from launchers import flags as flags_lib

_ENV = flags.DEFINE_string('env', 'CartPole-v1', 'Gymnasium environment id (sets the signature).')
_FRAME_STACK = flags.DEFINE_integer('frame_stack', 0, "The trainer's --frame_stack (the "
                                    'observation shape).', lower_bound=0, upper_bound=64)
_ENV_KWARGS = flags.DEFINE_list('env_kwargs', [], "The trainer's --env_kwargs.")
_PORT = flags.DEFINE_integer('port', 0, 'Port to serve on (0: pick a free one).')
_TABLE = flags.DEFINE_string('table', replay.DEFAULT_TABLE, 'Name of the table.')
_MAX_SIZE = flags.DEFINE_integer('max_size', 1_000_000, 'Items the table holds (FIFO removal).')
_PRIORITIZED = flags.DEFINE_bool('prioritized', False, 'Prioritized (else uniform) sampling.')
_PRIORITY_EXPONENT = flags.DEFINE_float('priority_exponent', 0.6,
                                        'alpha of prioritized sampling (with --prioritized).')
_SAMPLES_PER_INSERT = flags.DEFINE_float(
    'samples_per_insert', 0.0, 'Samples-per-insert ratio the rate limiter keeps (0: none, only '
    'the minimum size).')
_MIN_SIZE_TO_SAMPLE = flags.DEFINE_integer('min_size_to_sample', 1,
                                           'Items needed before the first sample.')
_CHECKPOINT_DIR = flags.DEFINE_string('checkpoint_dir', None,
                                      'Directory of server checkpoints (restores the newest).')


def _options() -> wrappers.EnvOptions:
  """The environment options the trainer's flags set (they fix the observation's shape)."""
  return wrappers.EnvOptions(frame_stack=_FRAME_STACK.value,
                             env_kwargs=wrappers.parse_env_kwargs(_ENV_KWARGS.value))


def _validate() -> None:
  try:
    environments.check_env_id(_ENV.value)
    environments.environment_spec(_ENV.value, _options())  # Also checks the options.
  except config_lib.ConfigError as error:
    flag = 'env' if error.field == 'env_id' else error.field
    raise ValueError(f'--{flag}={error.value!r}: {error.allowed}') from None
  checks = [
      ('port', 0 <= _PORT.value < 65536, 'must be in [0, 65535]'),
      ('max_size', _MAX_SIZE.value >= 1, 'must be >= 1'),
      ('priority_exponent', _PRIORITY_EXPONENT.value >= 0.0, 'must be >= 0'),
      ('samples_per_insert', _SAMPLES_PER_INSERT.value >= 0.0, 'must be >= 0'),
      ('min_size_to_sample', 1 <= _MIN_SIZE_TO_SAMPLE.value <= _MAX_SIZE.value,
       'must be in [1, --max_size]'),
      ('table', bool(_TABLE.value), 'must not be empty'),
  ]
  for name, ok, message in checks:
    if not ok:
      raise ValueError(f'--{name}={getattr(flags.FLAGS, name)!r} {message}')


def main(argv):
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  try:
    _validate()
  except ValueError as error:
    flags_lib.fail(str(error))
  env = environments.make_environment(_ENV.value, options=_options())
  signature, packed = off_policy.table_signature(env.observation_spec(), env.action_spec())
  env.close()
  limits = dict(samples_per_insert=_SAMPLES_PER_INSERT.value or None,
                min_size_to_sample=_MIN_SIZE_TO_SAMPLE.value)
  if _PRIORITIZED.value:
    table = replay.make_prioritized_table(_TABLE.value, _MAX_SIZE.value, signature,
                                          _PRIORITY_EXPONENT.value, **limits)
  else:
    table = replay.make_uniform_table(_TABLE.value, _MAX_SIZE.value, signature, **limits)
  server = replay.make_server([table], port=_PORT.value or None,
                              checkpoint_dir=_CHECKPOINT_DIR.value)
  print(f'serving table {_TABLE.value!r} for {_ENV.value} at localhost:{server.port} '
        f'(prioritized={_PRIORITIZED.value}, packed={packed})', flush=True)
  server.wait()


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parse_flags))
