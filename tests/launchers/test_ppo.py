"""The PPO launcher as a user runs it: bad flags, resume after SIGKILL, Ctrl-C, seeding."""

import csv
import os
import signal
import subprocess
import time

import pytest

from tests.launchers import launcher_testing as testing

# Small CartPole runs: 4 envs x 32 steps = 128 env steps per iteration.
_SMALL = ['--env=CartPole-v1', '--num_envs=4', '--num_steps_per_env=32', '--minibatch_size=64',
          '--num_epochs=2', '--eval_episodes=2', '--eval_every=0', '--log_every=128']


def _command(logdir, *flags):
  return testing.command('ppo', logdir, *_SMALL, *flags)


def _run(logdir, *flags):
  return testing.run('ppo', logdir, *_SMALL, *flags)


def _rows(logdir):
  with open(os.path.join(logdir, 'metrics.csv'), newline='') as f:
    return list(csv.DictReader(f))


class BadFlagsTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    errors = self.assert_bad_flags_fail('ppo', _SMALL, {
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
    })
    # An unknown choice lists the allowed values.
    self.assertIn('mirrored', errors['strategy'])


@pytest.mark.slow
class ResumeTest(testing.LauncherTestCase):

  def test_sigkill_then_rerun_resumes_from_last_checkpoint(self):
    logdir = self.create_tempdir()
    flags = ['--num_steps=12800', '--checkpoint_every=1280']
    process = subprocess.Popen(_command(logdir, *flags), cwd=testing.ROOT, env=testing.ENV,
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
    record = testing.evaluation(logdir)
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
                               cwd=testing.ROOT, env=testing.ENV, stdout=subprocess.PIPE,
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
class SeedingTest(testing.LauncherTestCase):

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
class LearningTest(testing.LauncherTestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    # Seeds 0, 1, 2 evaluate 500 at 50k steps (at 40k: 258.9, 500.0, 412.1).
    logdir = self.create_tempdir()
    result = testing.run('ppo', logdir, '--env=CartPole-v1', '--tuned', '--num_steps=50000',
                         '--seed=0', '--eval_every=0')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertGreaterEqual(testing.evaluation(logdir)['mean_return'], 475.0)
    self.assert_outputs(logdir)
