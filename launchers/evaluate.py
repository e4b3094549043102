r"""Evaluate a trained run's deterministic policy again, from one of its checkpoints.

  python -m launchers.evaluate --logdir=runs/ppo/CartPole-v1/seed0
  python -m launchers.evaluate --logdir=runs/sac/Pendulum-v1/seed0 --checkpoint=10000 \
      --episodes=20 --seed=7 --record_video

The run (finished, or still training) is rebuilt from its config.json and the checkpoint
`checkpoints/ckpt-<--checkpoint>` (default: the newest intact one), and its policy plays
`--episodes` episodes on environments made as the training's evaluations were. By default the
episodes and seeds are the training's final evaluation's, so the final checkpoint gives the
returns of its evaluation.json. Prints a summary line and the result as JSON, and writes the
result to `--out` (default `<logdir>/evaluations/ckpt-<N>_episodes<E>_seed<S>.json`); the run's
own files (evaluation.json, checkpoints, metrics) are never written. `--record_video` records
every episode as an MP4 (gymnasium's RecordVideo; needs the `video` extra, moviepy) into the
folder named as `--out` without `.json`, plus `_videos`; the returns are the same as without.
See agents/restore.py.
"""

import json
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf

from agents import restore
from agents.common import config as config_lib
from agents.common import loop
from agents.common import seeding
from agents.common import video
from launchers import flags as flags_lib

_LOGDIR = flags.DEFINE_string('logdir', None, "The run's folder (it holds config.json and "
                              'checkpoints/).', required=True)
_CHECKPOINT = flags.DEFINE_integer('checkpoint', None, 'Env step N of checkpoints/ckpt-N to '
                                   'evaluate (default: the newest intact one).', lower_bound=0)
_EPISODES = flags.DEFINE_integer('episodes', None, "Episodes (default: as many as the run's "
                                 'final evaluation, else 10).', lower_bound=1,
                                 upper_bound=100_000)
_SEED = flags.DEFINE_integer('seed', None, "Episode i is seeded seed + i (default: the "
                             "training's evaluation seed, the run's seed + 1000000).",
                             lower_bound=0, upper_bound=config_lib.MAX_INT)
_RECORD_VIDEO = flags.DEFINE_bool('record_video', False, 'Record every episode as an MP4 '
                                  "(needs moviepy: pip install -e '.[video]').")
_OUT = flags.DEFINE_string('out', None, 'JSON file for the result (default: '
                           '<logdir>/evaluations/ckpt-<N>_episodes<E>_seed<S>.json).')


def _out_problem(out: str, logdir: str) -> str:
  """Why the result cannot be written to `out` ('' if it can); creates nothing."""
  path = os.path.abspath(out)
  if os.path.isdir(path):
    return 'is a folder; give a file'
  name = restore.run_output_holding(path, logdir)
  if name:
    return f"is the run's own {name}; pick another file"
  return loop.logdir_problem(os.path.dirname(path)) or ''


def _default_episodes(logdir: str) -> int:
  """The episode count of the run's final evaluation (evaluation.json), else 10."""
  try:
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      return max(1, int(json.load(f)['episodes']))
  except (OSError, ValueError, KeyError, TypeError):
    return 10


def _fail_load(error: ValueError, logdir: str) -> None:
  """Exits with one line naming the flag of a LoadError (else --logdir)."""
  if isinstance(error, restore.LoadError):
    flags_lib.fail_config(error)
  flags_lib.fail(f'--logdir={logdir!r}: {error}')


def _check(logdir: str, checkpoint: Optional[int], record_video: bool) -> Tuple[dict, int]:
  """The run's config.json record and the env step of the checkpoint to evaluate, after every
  check that needs no agent built; a problem exits with one line naming the flag."""
  try:
    record = restore.read_record(logdir)
    step, _ = restore.find_checkpoint(logdir, checkpoint)
    if record_video and restore.is_multi_agent(record):
      flags_lib.fail(f"--record_video: {record['agent']} runs on multi-agent environments, "
                     'which are evaluated without video')
    if record_video:
      video.check_renders(record['env'], restore.env_options(record))
  except video.VideoError as error:
    flags_lib.fail(f'--record_video: {error}')
  except ValueError as error:
    _fail_load(error, logdir)
  return record, step


def _summary(run: restore.LoadedRun, result, seed: int, videos: List[str]) -> Dict[str, Any]:
  """What the output file holds: the run, the checkpoint and the evaluation."""
  return {
      'logdir': os.path.abspath(run.logdir), 'agent': run.agent, 'env': run.env_id,
      'checkpoint': os.path.abspath(run.checkpoint), 'env_steps': run.step,
      'episodes': len(result.returns), 'seed': seed, 'mean_return': result.mean_return,
      'std_return': result.std_return, 'returns': [float(r) for r in result.returns],
      'lengths': [int(n) for n in result.lengths], 'wall_time_s': result.wall_time_s,
      **{k: float(v) for k, v in result.details.items()},
      'videos': [os.path.abspath(p) for p in videos],
  }


def main(argv):
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  logdir = _LOGDIR.value
  record, step = _check(logdir, _CHECKPOINT.value, _RECORD_VIDEO.value)
  episodes = _EPISODES.value or _default_episodes(logdir)
  seed = restore.evaluation_seed(record) if _SEED.value is None else _SEED.value
  out = _OUT.value or os.path.join(logdir, 'evaluations',
                                   f'ckpt-{step}_episodes{episodes}_seed{seed}.json')
  if _out_problem(out, logdir):
    flags_lib.fail(f'--out={out!r}: {_out_problem(out, logdir)}')
  logging.set_verbosity(logging.WARNING)
  tf.get_logger().setLevel('WARNING')
  seeding.set_global_seeds(int(record['seed']))
  try:
    run = restore.load(logdir, step)
  except ValueError as error:  # E.g. an environment whose package is not installed here.
    _fail_load(error, logdir)
  videos = []
  try:
    if _RECORD_VIDEO.value:
      result, videos = video.record(run.policy, run.env_id, episodes, seed,
                                    os.path.splitext(out)[0] + '_videos', run.env_options)
    else:
      result = run.evaluate(episodes, seed)
  except KeyboardInterrupt:
    sys.exit(130)  # No result written (the videos of finished episodes stay).
  finally:
    run.close()
  summary = _summary(run, result, seed, videos)
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  with open(out, 'w') as f:
    json.dump(summary, f, indent=2)
  print(f'{run.agent} on {run.env_id} at {run.step:,} env steps: {result.mean_return:.1f} +/- '
        f'{result.std_return:.1f} over {episodes} episodes (seed {seed}); wrote {out}')
  print(json.dumps(summary))


if __name__ == '__main__':
  sys.exit(app.run(main, flags_parser=flags_lib.parser_with_help(lambda: flags_lib.help_text(
      __doc__, {'Flags': ['logdir', 'checkpoint', 'episodes', 'seed', 'record_video', 'out']}))))
