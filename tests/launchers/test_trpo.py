"""The TRPO launcher as a user runs it: bad flags fail fast; the tuned settings learn CartPole."""

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
  return [sys.executable, '-m', 'launchers.trpo', '--env=CartPole-v1', '--num_envs=4',
          '--num_steps_per_env=16', '--value_minibatch_size=16', '--eval_episodes=2',
          f'--logdir={logdir}', *flags]


class _TestCase(unittest.TestCase):

  def create_tempdir(self) -> str:
    path = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


class BadFlagsTest(_TestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    cases = {
        'max_kl': ['--max_kl=0'],
        'backtrack_coef': ['--backtrack_coef=1.5'],
        'value_minibatch_size': ['--value_minibatch_size=7'],  # Does not divide 4 x 16.
        'strategy': ['--strategy=warp'],
        'num_steps': ['--num_steps=10'],  # Less than one update (4 x 16).
    }
    tmp = self.create_tempdir()
    processes = {}
    for name, flags in cases.items():
      logdir = os.path.join(tmp, name)
      processes[name] = (logdir, subprocess.Popen(
          _command(logdir, *flags), cwd=_ROOT, env=_ENV, stdout=subprocess.PIPE,
          stderr=subprocess.PIPE, text=True))
    for name, (logdir, process) in processes.items():
      _, error = process.communicate(timeout=120)
      with self.subTest(name):
        self.assertNotEqual(process.returncode, 0)
        lines = [line for line in error.splitlines() if line.strip()]
        self.assertIn(f'--{name}', lines[0])
        self.assertNotIn('Traceback', error)
        if name != 'strategy':  # absl's own enum check adds a second line (a --help hint).
          self.assertEqual(len(lines), 1, error)
        self.assertFalse(os.path.exists(logdir), f'{logdir} was written')

  def test_distribution_strategy_fails_naming_the_flag(self):
    logdir = os.path.join(self.create_tempdir(), 'run')
    result = subprocess.run(_command(logdir, '--strategy=one_device'), cwd=_ROOT, env=_ENV,
                            capture_output=True, text=True, timeout=120)
    self.assertEqual(result.returncode, 2, result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and not line.startswith(('WARNING', 'I0000'))]
    self.assertEqual(len(lines), 1, result.stderr)
    self.assertIn('--strategy', lines[0])
    self.assertFalse(os.path.exists(os.path.join(logdir, 'config.json')))


@pytest.mark.slow
class LearningTest(_TestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    logdir = self.create_tempdir()
    result = subprocess.run(
        [sys.executable, '-m', 'launchers.trpo', '--env=CartPole-v1', '--tuned',
         '--num_steps=20480', '--seed=0', f'--logdir={logdir}', '--eval_every=0'],
        cwd=_ROOT, env=_ENV, capture_output=True, text=True, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      record = json.load(f)
    self.assertEqual(record['env_steps'], 20480)
    self.assertGreaterEqual(record['mean_return'], 195.0)  # Random: ~20.
    for name in ('config.json', 'metrics.csv', 'learning_curve.png', 'checkpoints'):
      self.assertTrue(os.path.exists(os.path.join(logdir, name)), name)
