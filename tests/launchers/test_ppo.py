"""The PPO launcher as a user runs it: bad flags, resume after SIGKILL, Ctrl-C, seeding."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENV = {**os.environ, 'PYTHONPATH': _ROOT, 'TF_CPP_MIN_LOG_LEVEL': '3'}
# Small CartPole runs: 4 envs x 32 steps = 128 env steps per iteration.
_SMALL = ['--env=CartPole-v1', '--num_envs=4', '--num_steps_per_env=32', '--minibatch_size=64',
          '--num_epochs=2', '--eval_episodes=2', '--eval_every=0', '--log_every=128']


def _command(logdir, *flags):
  return [sys.executable, '-m', 'launchers.ppo', f'--logdir={logdir}', *_SMALL, *flags]


def _run(logdir, *flags, timeout=300):
  return subprocess.run(_command(logdir, *flags), cwd=_ROOT, env=_ENV, capture_output=True,
                        text=True, timeout=timeout)


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
        'learning_rate': ['--learning_rate=-1'],
        'clip_epsilon': ['--clip_epsilon=0'],
        'num_envs': ['--num_envs=0'],
        'strategy': ['--strategy=warp'],
        'env': ['--env=NoSuchEnv-v0'],
        'discount': ['--discount=1.5'],
        'hidden_sizes': ['--hidden_sizes=64,x'],
        'minibatch_size': ['--minibatch_size=100'],
        'num_steps': ['--num_steps=100'],  # Less than one iteration (4 x 32).
        'objective': ['--objective=trust_me'],
    }
    tmp = self.create_tempdir()
    processes = {}
    for name, flags in cases.items():
      logdir = os.path.join(tmp, name)
      processes[name] = (logdir, subprocess.Popen(
          _command(logdir, *flags), cwd=_ROOT, env=_ENV, stdout=subprocess.PIPE,
          stderr=subprocess.PIPE, text=True))
    errors = {}
    for name, (logdir, process) in processes.items():
      _, errors[name] = process.communicate(timeout=120)
      with self.subTest(name):
        self.assertNotEqual(process.returncode, 0)
        self.assertIn(f'--{name}', errors[name])
        self.assertNotIn('Traceback', errors[name])
        self.assertFalse(os.path.exists(logdir), f'{logdir} was written')
    # An unknown choice lists the allowed values; an unknown env suggests close ids.
    self.assertIn('mirrored', errors['strategy'])


@pytest.mark.slow
class ResumeTest(_TestCase):

  def test_sigkill_then_rerun_resumes_from_last_checkpoint(self):
    logdir = self.create_tempdir()
    flags = ['--num_steps=12800', '--checkpoint_every=1280']
    process = subprocess.Popen(_command(logdir, *flags), cwd=_ROOT, env=_ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = os.path.join(logdir, 'checkpoints', 'checkpoint')
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
      if os.path.exists(index) and 'ckpt-2560' in open(index).read() or (
          os.path.exists(index) and 'ckpt-3840' in open(index).read()):
        break
      time.sleep(0.2)
    self.assertIsNone(process.poll(), 'the run finished before it could be killed')
    process.send_signal(signal.SIGKILL)
    process.wait()
    self.assertFalse(os.path.exists(os.path.join(logdir, 'evaluation.json')))
    killed_rows = len(_rows(logdir))

    result = _run(logdir, *flags)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn('Resumed from', result.stdout)
    resumed_at = int(result.stdout.split('Resumed from')[1].split(' at ')[1].split(' ')[0]
                     .replace(',', ''))
    self.assertGreaterEqual(resumed_at, 2560)
    self.assertLess(resumed_at, 12800)
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      record = json.load(f)
    self.assertEqual(record['env_steps'], 12800)
    self.assertIn('ckpt', record['resumed_from'])
    # The CSV continues the killed run without repeating steps.
    steps = [int(float(r['env_steps'])) for r in _rows(logdir) if r['loss']]
    self.assertEqual(steps, sorted(set(steps)))
    self.assertEqual(steps[-1], 12800)
    self.assertGreater(killed_rows, 0)
    self.assertTrue(os.path.exists(os.path.join(logdir, 'learning_curve.png')))

  def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(self):
    self._interrupt(signal.SIGINT)

  def test_sigterm_saves_a_checkpoint_and_exits_cleanly(self):
    self._interrupt(signal.SIGTERM)

  def _interrupt(self, signum):
    logdir = self.create_tempdir()
    # The child starts with SIGINT ignored, as a background job of a non-interactive shell
    # does: the launcher must still stop on it.
    ignore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)
    process = subprocess.Popen(_command(logdir, '--num_steps=1000000', '--checkpoint_every=100000'),
                               cwd=_ROOT, env=_ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=ignore_sigint)
    csv_path = os.path.join(logdir, 'metrics.csv')
    deadline = time.time() + 240
    while time.time() < deadline and not os.path.exists(csv_path):
      time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    self.assertEqual(process.returncode, 130, stderr[-2000:])
    self.assertIn('Interrupted: saved', stdout)
    self.assertNotIn('Traceback', stderr)
    self.assertTrue(os.path.exists(os.path.join(logdir, 'checkpoints', 'checkpoint')))


@pytest.mark.slow
class SeedingTest(_TestCase):

  def test_same_seed_same_metrics(self):
    tmp = self.create_tempdir()
    runs = []
    for name in ('a', 'b'):
      result = _run(os.path.join(tmp, name), '--num_steps=1024', '--seed=3')
      self.assertEqual(result.returncode, 0, result.stderr[-2000:])
      rows = _rows(os.path.join(tmp, name))
      runs.append([{k: v for k, v in r.items() if k not in ('wall_time_s', 'steps_per_s')}
                   for r in rows])
    self.assertEqual(runs[0], runs[1])
    self.assertGreater(len(runs[0]), 3)


@pytest.mark.slow
class LearningTest(_TestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    logdir = self.create_tempdir()
    result = subprocess.run(
        [sys.executable, '-m', 'launchers.ppo', '--env=CartPole-v1', '--tuned',
         '--num_steps=40000', '--seed=0', f'--logdir={logdir}', '--eval_every=0'],
        cwd=_ROOT, env=_ENV, capture_output=True, text=True, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      record = json.load(f)
    self.assertGreaterEqual(record['mean_return'], 400.0)
    for name in ('config.json', 'metrics.csv', 'learning_curve.png', 'checkpoints'):
      self.assertTrue(os.path.exists(os.path.join(logdir, name)), name)
