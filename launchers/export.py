r"""Export a trained run's deterministic policy as a SavedModel that needs only TensorFlow.

  python -m launchers.export --logdir=runs/ppo/CartPole-v1/seed0 --out=exports/ppo_cartpole
  python -m launchers.export --logdir=runs/sac/Pendulum-v1/seed0 --checkpoint=10000 \
      --out=exports/sac_pendulum_10k

Then, in any process with TensorFlow (no project code, no TensorFlow Probability):

  import tensorflow as tf
  policy = tf.saved_model.load('exports/ppo_cartpole')
  actions = policy.policy(observations)      # [B, *obs shape] -> [B, *action shape]
  actions = policy.signatures['serving_default'](observation=observations)['action']

The run is rebuilt from its config.json and the checkpoint `checkpoints/ckpt-<--checkpoint>`
(default: the newest intact one); nothing in its logdir is written. `--out` must be a new or
empty folder. Observations are [B, *observation shape] of the observation dtype, as the run's
environments give them (after frame stacking, Atari preprocessing); actions are the mode of the
policy, int32 for discrete action spaces and float32 (not clipped to the bounds) for continuous
ones; the observation statistics of an agent that normalizes observations are part of the
graph. `<out>/assets.extra/policy.json` records the run, checkpoint, shapes, dtypes and bounds.
Multi-agent (MADDPG) runs are refused. See agents/export.py.
"""

import json
import os
import sys

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf

from agents import export
from agents import restore
from agents.common import loop
from agents.common import seeding
from launchers import flags as flags_lib

_LOGDIR = flags.DEFINE_string('logdir', None, "The run's folder (it holds config.json and "
                              'checkpoints/).', required=True)
_CHECKPOINT = flags.DEFINE_integer('checkpoint', None, 'Env step N of checkpoints/ckpt-N to '
                                   'export (default: the newest intact one).', lower_bound=0)
_OUT = flags.DEFINE_string('out', None, 'Folder for the SavedModel (new or empty).',
                           required=True)


def _out_problem(out: str, logdir: str) -> str:
  """Why the SavedModel cannot be written to `out` ('' if it can); creates nothing."""
  path = os.path.abspath(out)
  if os.path.exists(path) and not os.path.isdir(path):
    return 'is a file, not a folder'
  if os.path.isdir(path) and os.listdir(path):
    return 'is not empty; give a new or empty folder'
  name = restore.run_output_holding(path, logdir)
  if name:
    return f"is inside the run's own {name}; pick another folder"
  return loop.logdir_problem(path) or ''


def main(argv):
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  logdir, out = _LOGDIR.value, _OUT.value
  try:  # Every check before the run is built or anything is written.
    record = restore.read_record(logdir)
    step, _ = restore.find_checkpoint(logdir, _CHECKPOINT.value)
  except restore.LoadError as error:
    flags_lib.fail_config(error)
  if restore.is_multi_agent(record):
    flags_lib.fail(f"--logdir={logdir!r}: a {record['agent']} run acts with a multi-agent "
                   'policy, which is not exported (evaluate it with python -m '
                   'launchers.evaluate)')
  if _out_problem(out, logdir):
    flags_lib.fail(f'--out={out!r}: {_out_problem(out, logdir)}')
  logging.set_verbosity(logging.WARNING)
  tf.get_logger().setLevel('WARNING')
  seeding.set_global_seeds(int(record['seed']))
  try:
    run = restore.load(logdir, step)
  except ValueError as error:  # E.g. an environment whose package is not installed here.
    flags_lib.fail(f'--logdir={logdir!r}: {error}')
  try:
    metadata = export.export(run, out)
  except export.ExportError as error:
    print(f'error: {error}', file=sys.stderr, flush=True)
    sys.exit(1)
  finally:
    run.close()
  print(f'Exported {run.agent} on {run.env_id} at {run.step:,} env steps to {out}: '
        f"action = policy(observation), {metadata['observation']['dtype']} "
        f"{metadata['observation']['shape']} -> {metadata['action']['dtype']} "
        f"{metadata['action']['shape']}")
  print(json.dumps(metadata))


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parser_with_help(lambda: flags_lib.help_text(
      __doc__, {'Flags': ['logdir', 'checkpoint', 'out']}))))
