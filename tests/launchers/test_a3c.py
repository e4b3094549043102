"""The A3C launcher as a user runs it: bad flags fail fast; it resumes; it learns CartPole."""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENV = {**os.environ, 'PYTHONPATH': _ROOT, 'TF_CPP_MIN_LOG_LEVEL': '3'}


def _command(logdir, *flags):
  return [sys.executable, '-m', 'launchers.a3c', '--env=CartPole-v1', '--num_workers=2',
          '--eval_episodes=2', f'--logdir={logdir}', *flags]


class _TestCase(unittest.TestCase):

  def create_tempdir(self) -> str:
    path = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


class BadFlagsTest(_TestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    cases = {
        'num_workers': ['--num_workers=0'],
        't_max': ['--t_max=0'],
        'learning_rate': ['--learning_rate=-1'],
        'optimizer': ['--optimizer=sgd'],
        'strategy': ['--strategy=mirrored'],  # A valid strategy that A3C does not support.
        'num_steps': ['--num_steps=3'],  # Less than one segment (t_max = 5).
        'env': ['--env=CartPole-v9'],
    }
    tmp = self.create_tempdir()
    processes = {}
    for name, flags in cases.items():
      logdir = os.path.join(tmp, name)
      processes[name] = (logdir, subprocess.Popen(
          _command(logdir, *flags), cwd=_ROOT, env=_ENV, stdout=subprocess.PIPE,
          stderr=subprocess.PIPE, text=True))
    for name, (logdir, process) in processes.items():
      _, error = process.communicate(timeout=300)
      with self.subTest(name):
        self.assertEqual(process.returncode, 2, error)
        lines = [line for line in error.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, error)
        self.assertIn(f'--{name}', lines[0])
        self.assertFalse(os.path.exists(logdir), f'{logdir} was written')


@pytest.mark.slow
class RunTest(_TestCase):

  def test_outputs_and_resume(self):
    logdir = self.create_tempdir()
    run = lambda *flags: subprocess.run(_command(logdir, '--log_every=50', *flags), cwd=_ROOT,
                                        env=_ENV, capture_output=True, text=True, timeout=300)
    first = run('--num_steps=300', '--checkpoint_every=100')
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    # The learning rate annealed to 0 over the first 300 steps: a longer budget is refused.
    longer = run('--num_steps=600')
    self.assertEqual(longer.returncode, 2)
    self.assertIn('--num_steps=600: ', longer.stderr)
    self.assertIn('anneals learning_rate to 0 over 300 env steps', longer.stderr)

    logdir = self.create_tempdir()
    first = run('--num_steps=300', '--checkpoint_every=100', '--noanneal_learning_rate')
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    second = run('--num_steps=600', '--noanneal_learning_rate')
    self.assertEqual(second.returncode, 0, second.stderr[-2000:])
    self.assertIn('Resumed from', second.stdout)
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      record = json.load(f)
    self.assertEqual(record['env_steps'], 600)
    self.assertTrue(record['resumed_from'].endswith('ckpt-300'), record['resumed_from'])
    for key in ('mean_return', 'std_return', 'episodes', 'wall_time_s', 'train_time_s',
                'first_iteration_s', 'updates', 'num_workers'):
      self.assertIn(key, record)
    self.assertGreaterEqual(record['updates'], 600 // 5)
    with open(os.path.join(logdir, 'metrics.csv'), newline='') as f:
      rows = list(csv.DictReader(f))
    steps = [float(r['env_steps']) for r in rows]
    self.assertEqual(max(steps), 600)
    self.assertIn('staleness', rows[0])
    for name in ('config.json', 'learning_curve.png', 'checkpoints'):
      self.assertTrue(os.path.exists(os.path.join(logdir, name)), name)

  def test_cartpole_learns(self):
    logdir = self.create_tempdir()
    result = subprocess.run(
        _command(logdir, '--num_steps=80000', '--seed=0', '--eval_every=0',
                 '--eval_episodes=10'),
        cwd=_ROOT, env=_ENV, capture_output=True, text=True, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      record = json.load(f)
    self.assertEqual(record['env_steps'], 80000)
    # Paper defaults with 2 workers: 500 at 70-80k steps in 4 of 4 runs on an idle machine, but
    # 148.4 once in CI under load (Hogwild threads: scheduling changes the run). A random policy
    # gets ~20; a learner that does not learn stays far below 75.
    self.assertGreaterEqual(record['mean_return'], 75.0)


if __name__ == '__main__':
  unittest.main()
