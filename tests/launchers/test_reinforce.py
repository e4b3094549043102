"""The reinforce launcher as a user runs it: bad flags fail fast, a re-run resumes, it learns."""

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
  return [sys.executable, '-m', 'launchers.reinforce', '--env=CartPole-v1', '--num_envs=2',
          '--hidden_sizes=16', '--eval_episodes=2', f'--logdir={logdir}', *flags]


def _run(logdir, *flags):
  return subprocess.run(_command(logdir, *flags), cwd=_ROOT, env=_ENV, capture_output=True,
                        text=True, timeout=300)


def _rows(logdir):
  with open(os.path.join(logdir, 'metrics.csv'), newline='') as f:
    return list(csv.DictReader(f))


class _TestCase(unittest.TestCase):

  def create_tempdir(self) -> str:
    path = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


class BadFlagsTest(_TestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    cases = {
        'return_type': ['--return_type=g0'],
        'truncation': ['--nobaseline'],  # A cut episode cannot be bootstrapped without V.
        'optimizer': ['--optimizer=rmsprop'],
        'hidden_sizes': ['--hidden_sizes=a,b'],
        'env': ['--env=CartPoel-v1'],
        'eval_episodes': ['--eval_episodes=0'],
        'strategy': ['--strategy=warp'],
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


class ResumeTest(_TestCase):

  def test_rerun_with_a_larger_budget_continues_from_the_checkpoint(self):
    logdir = self.create_tempdir()
    flags = ['--eval_every=0', '--log_every=200', '--checkpoint_every=500']
    first = _run(logdir, '--num_steps=1000', *flags)
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      record = json.load(f)
    self.assertEqual(record['env_steps'], 1000)
    for key in ('mean_return', 'std_return', 'episodes', 'wall_time_s', 'train_time_s',
                'first_iteration_s'):
      self.assertIn(key, record)
    for name in ('config.json', 'metrics.csv', 'learning_curve.png', 'checkpoints'):
      self.assertTrue(os.path.exists(os.path.join(logdir, name)), name)

    second = _run(logdir, '--num_steps=2000', *flags)
    self.assertEqual(second.returncode, 0, second.stderr[-2000:])
    self.assertIn('Resumed from', second.stdout)
    self.assertIn('at 1,000 env steps', second.stdout)
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      record = json.load(f)
    self.assertEqual(record['env_steps'], 2000)
    self.assertIn('ckpt-1000', record['resumed_from'])
    steps = [int(float(r['env_steps'])) for r in _rows(logdir) if r.get('policy_loss')]
    self.assertEqual(steps, sorted(set(steps)))  # The CSV continues, no step repeated.
    self.assertEqual(steps[-1], 2000)

  def test_a_changed_config_is_refused(self):
    logdir = self.create_tempdir()
    first = _run(logdir, '--num_steps=300', '--eval_every=0')
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    second = _run(logdir, '--num_steps=600', '--eval_every=0', '--discount=0.5')
    self.assertNotEqual(second.returncode, 0)
    self.assertIn('--logdir', second.stderr)


@pytest.mark.slow
class LearningTest(_TestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    logdir = self.create_tempdir()
    result = subprocess.run(
        [sys.executable, '-m', 'launchers.reinforce', '--env=CartPole-v1', '--tuned',
         '--num_steps=20000', '--seed=0', f'--logdir={logdir}', '--eval_every=0'],
        cwd=_ROOT, env=_ENV, capture_output=True, text=True, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      record = json.load(f)
    self.assertGreaterEqual(record['mean_return'], 150.0)  # Random: ~20.
