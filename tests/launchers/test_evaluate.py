"""`python -m launchers.evaluate` on a trained run, as a user runs it: the run's final evaluation
again, another checkpoint, videos, and bad flags that fail before anything is written."""

import importlib.util
import json
import os
import shutil
import subprocess
import unittest

from tests.agents import trained_runs
from tests.launchers import launcher_testing as testing


def _evaluate(*flags: str) -> subprocess.CompletedProcess:
  return subprocess.run(testing.command('evaluate', *flags), cwd=testing.ROOT, env=testing.ENV,
                        capture_output=True, text=True, timeout=300)


def _read(path: str):
  with open(path) as f:
    return json.load(f)


class EvaluateTest(testing.LauncherTestCase):

  def setUp(self):
    super().setUp()
    # A copy of the run: evaluations/ is written into it.
    self.logdir = os.path.join(self.create_tempdir(), 'run')
    shutil.copytree(trained_runs.ppo_cartpole().logdir, self.logdir)
    self.before = trained_runs.fingerprint(self.logdir)

  def test_the_final_checkpoint_gives_the_final_evaluation_again(self):
    result = _evaluate(self.logdir)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    out = os.path.join(self.logdir, 'evaluations', 'ckpt-64_episodes2_seed1000000.json')
    self.assertIn(f'wrote {out}', result.stdout)
    record = _read(out)
    self.assertEqual(json.loads(result.stdout.strip().splitlines()[-1]), record)
    training = testing.evaluation(self.logdir)
    self.assertEqual(record['returns'], training['returns'])
    self.assertEqual((record['env_steps'], record['episodes'], record['seed']),
                     (64, 2, 1_000_000))
    self.assertEqual(os.listdir(os.path.join(self.logdir, 'evaluations')),
                     [os.path.basename(out)])
    # evaluation.json, checkpoints, metrics, events: byte for byte as training left them.
    self.assertEqual(trained_runs.fingerprint(self.logdir), self.before)

  def test_checkpoint_episodes_seed_and_out(self):
    out = os.path.join(self.create_tempdir(), 'sub', 'early.json')
    result = _evaluate(self.logdir, '--checkpoint=32', '--episodes=3', '--seed=5', f'--out={out}')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    record = _read(out)
    self.assertEqual((record['env_steps'], record['episodes'], record['seed']), (32, 3, 5))
    self.assertTrue(record['checkpoint'].endswith(os.path.join('checkpoints', 'ckpt-32')))
    self.assertEqual(len(record['returns']), 3)
    self.assertEqual(trained_runs.fingerprint(self.logdir, skip=()), self.before)

  @unittest.skipUnless(importlib.util.find_spec('moviepy'), 'needs the video extra (moviepy)')
  def test_record_video_writes_one_mp4_per_episode_with_the_same_returns(self):
    out = os.path.join(self.create_tempdir(), 'video.json')
    result = _evaluate(self.logdir, '--record_video', '--episodes=1', f'--out={out}')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertEqual(result.stderr.strip(), '')
    record = _read(out)
    video = os.path.join(os.path.dirname(out), 'video_videos', 'episode-0.mp4')
    self.assertEqual(record['videos'], [video])
    self.assertGreater(os.path.getsize(video), 0)
    # Episode 0 with the training's evaluation seed: its first evaluation episode.
    self.assertEqual(record['returns'], testing.evaluation(self.logdir)['returns'][:1])

  def test_bad_flags_fail_with_one_line_and_write_nothing(self):
    root = self.create_tempdir()
    soft_q = trained_runs.fake_run(os.path.join(root, 'soft_q'), 'soft_q', 'MultiGoal-v0')
    maddpg = trained_runs.fake_run(os.path.join(root, 'maddpg'), 'maddpg',
                                   'mpe2/simple_spread_v3')
    cases = {
        '--checkpoint=7: .* has no checkpoints/ckpt-7 \\(its checkpoints: 32, 64\\)':
            [self.logdir, '--checkpoint=7'],
        "--logdir='.*': not a run directory": [os.path.join(self.logdir, 'checkpoints')],
        'flag --episodes=0: ': [self.logdir, '--episodes=0'],
        "--out='.*evaluation.json': is the run's own evaluation.json":
            [self.logdir, f'--out={os.path.join(self.logdir, "evaluation.json")}'],
        '--record_video: (MultiGoal-v0 cannot render frames|recording videos needs moviepy)':
            [soft_q, '--record_video'],
        '--record_video: maddpg runs on multi-agent environments': [maddpg, '--record_video'],
    }
    processes = {pattern: subprocess.Popen(
        testing.command('evaluate', *flags), cwd=testing.ROOT, env=testing.ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for pattern, flags in cases.items()}
    for pattern, process in processes.items():
      _, stderr = process.communicate(timeout=300)
      with self.subTest(pattern):
        self.assertEqual(process.returncode, 2, stderr)
        self.assertRegex(stderr, f'^error: {pattern}')
        self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
    self.assertEqual(trained_runs.fingerprint(self.logdir, skip=()), self.before)
    for logdir in (soft_q, maddpg):
      self.assertEqual(sorted(os.listdir(logdir)), ['checkpoints', 'config.json'])


if __name__ == '__main__':
  unittest.main()
