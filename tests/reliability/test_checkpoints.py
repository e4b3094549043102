"""A run never silently starts over: damaged or missing checkpoint state, and unusable logdirs."""

import os
import shutil
import stat
import tempfile

from tests.launchers import launcher_testing
from tests.reliability import reliability_testing as testing

_PPO = ['--env=CartPole-v1', '--num_envs=4', '--num_steps_per_env=64', '--minibatch_size=64',
        '--eval_every=0', '--checkpoint_every=256', '--log_every=256']


def _training_rows(logdir: str):
  """The env steps of metrics.csv's training rows (evaluation rows are apart)."""
  return [int(float(r['env_steps'])) for r in testing.metrics_rows(logdir)
          if not r.get('eval_return')]


def _finished_run(logdir: str, num_steps: int = 1024):
  result = testing.run('ppo', logdir, *_PPO, f'--num_steps={num_steps}')
  assert result.returncode == 0, result.stderr[-2000:]
  return result


class DamagedCheckpointTest(launcher_testing.LauncherTestCase):

  def test_missing_state_file_resumes_from_the_newest_checkpoint(self):
    logdir = self.create_tempdir()
    _finished_run(logdir)
    os.remove(os.path.join(logdir, 'checkpoints', 'checkpoint'))
    result = testing.run('ppo', logdir, *_PPO, '--num_steps=1280')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn('at 1,024 env steps', result.stdout)
    steps = _training_rows(logdir)
    self.assertEqual(steps, sorted(set(steps)))  # No row written twice.

  def test_damaged_newest_checkpoint_falls_back_to_an_intact_one_with_a_warning(self):
    logdir = self.create_tempdir()
    _finished_run(logdir)
    directory = os.path.join(logdir, 'checkpoints')
    with open(os.path.join(directory, 'checkpoint'), 'w') as f:
      f.write('garbage {{{')
    data = os.path.join(directory, 'ckpt-1024.data-00000-of-00001')
    with open(data, 'r+b') as f:
      f.truncate(os.path.getsize(data) // 2)
    os.makedirs(os.path.join(directory, 'ckpt-1280_temp'))  # Left by a kill mid-save.
    result = testing.run('ppo', logdir, *_PPO, '--num_steps=1280')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn('checkpoint', result.stdout)
    self.assertRegex(result.stdout, r'Warning: checkpoint .*ckpt-1024 is damaged')
    self.assertIn('Resumed from', result.stdout)
    self.assertIn('at 768 env steps', result.stdout)
    self.assertNotIn('Traceback', result.stderr)
    self.assertTrue(os.path.exists(data + '.damaged'))
    self.assertFalse(os.path.exists(os.path.join(directory, 'ckpt-1280_temp')))
    self.assertEqual(os.path.basename(testing.checkpoints(logdir)[-1]), 'ckpt-1280')

  def test_run_without_a_readable_checkpoint_is_refused_unless_restarted(self):
    logdir = self.create_tempdir()
    _finished_run(logdir, num_steps=256)
    index = os.path.join(logdir, 'checkpoints', 'ckpt-256.index')
    with open(index, 'r+b') as f:
      f.truncate(10)
    before = sorted(os.listdir(logdir))
    refused = testing.run('ppo', logdir, *_PPO, '--num_steps=512')
    self.assertEqual(refused.returncode, 2, refused.stderr[-2000:])
    lines = testing.error_lines(refused)
    self.assertEqual(len(lines), 1, refused.stderr)
    self.assertIn('--logdir', lines[0])
    self.assertIn('--restart', lines[0])
    self.assertEqual(sorted(os.listdir(logdir)), before)

    shutil.rmtree(os.path.join(logdir, 'checkpoints'))  # A run killed before its first save.
    refused = testing.run('ppo', logdir, *_PPO, '--num_steps=512')
    self.assertEqual(refused.returncode, 2)
    self.assertIn('no checkpoint to resume from', refused.stderr)

    restarted = testing.run('ppo', logdir, *_PPO, '--num_steps=512', '--restart')
    self.assertEqual(restarted.returncode, 0, restarted.stderr[-2000:])
    self.assertNotIn('Resumed', restarted.stdout)
    steps = _training_rows(logdir)
    self.assertEqual(steps[-1], 512)
    self.assertEqual(steps, sorted(set(steps)))


class LogdirTest(launcher_testing.LauncherTestCase):

  def test_unusable_logdirs_fail_before_any_work(self):
    tmp = self.create_tempdir()
    a_file = os.path.join(tmp, 'file')
    with open(a_file, 'w') as f:
      f.write('not a folder')
    read_only = os.path.join(tmp, 'read_only')
    os.makedirs(read_only)
    os.chmod(read_only, stat.S_IRUSR | stat.S_IXUSR)
    self.addCleanup(os.chmod, read_only, stat.S_IRWXU)
    cases = {'a file': a_file, 'under a file': os.path.join(a_file, 'run'),
             'read-only': os.path.join(read_only, 'run')}
    if os.geteuid() == 0:  # root writes anywhere.
      del cases['read-only']
    for name, logdir in cases.items():
      with self.subTest(name):
        result = testing.run('ppo', logdir, *_PPO, '--num_steps=256')
        self.assertEqual(result.returncode, 2, result.stderr[-2000:])
        lines = testing.error_lines(result)
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn('--logdir', lines[0])
    self.assertEqual(sorted(os.listdir(tmp)), ['file', 'read_only'])
    self.assertEqual(os.listdir(read_only), [])


if __name__ == '__main__':
  import unittest
  unittest.main()
