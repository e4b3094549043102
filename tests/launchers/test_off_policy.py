"""The DDPG, TD3 and SAC launchers as a user runs them: bad flags fail fast, a finished run
resumes with its replay table, and the replay can live in another process."""

import os
import re
import subprocess
import sys

import reverb

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=Pendulum-v1', '--hidden_sizes=16,16', '--batch_size=16',
          '--learning_starts=100', '--replay_size=5000', '--eval_episodes=1']


class BadFlagsTest(testing.LauncherTestCase):

  def test_sac_bad_flags_fail_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('sac', _SMALL, {
        'version': ['--version=v3'],
        'tau': ['--tau=0'],
        'learning_starts': ['--learning_starts=0'],
        'num_steps': ['--num_steps=100'],  # No update would run.
        'env': ['--env=CartPole-v1'],  # Discrete actions.
        'min_log_std': ['--min_log_std=3'],  # Not below --max_log_std.
        'importance_exponent': ['--prioritized_replay', '--importance_exponent=2'],
        'priority_exponent': ['--priority_exponent=-1'],
    })

  def test_ddpg_and_td3_bad_flags_fail_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('ddpg', _SMALL, {
        'exploration_noise': ['--exploration_noise=pink'],
        'learning_starts': ['--replay_size=50'],  # Above --replay_size.
        'strategy': ['--strategy=multi_worker'],
    })
    self.assert_bad_flags_fail('td3', _SMALL, {
        'policy_delay': ['--policy_delay=0'],
        'target_noise': ['--target_noise=-0.1'],
        'replay_address': ['--replay_address=localhost:1'],  # Nothing serves there.
    })


class ResumeTest(testing.LauncherTestCase):

  def test_sac_resumes_with_its_replay_table(self):
    self.assert_resumes_with_a_larger_budget('sac', _SMALL, 'critic_loss')

  def test_td3_resume_restores_the_replay_table(self):
    logdir = self.create_tempdir()
    flags = [*_SMALL, '--eval_every=0', '--checkpoint_every=500']
    first = testing.run('td3', logdir, '--num_steps=600', *flags)
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    self.assertTrue(os.listdir(os.path.join(logdir, 'replay')))
    second = testing.run('td3', logdir, '--num_steps=800', *flags)
    self.assertEqual(second.returncode, 0, second.stderr[-2000:])
    self.assertIn('at 600 env steps (600 transitions in replay)', second.stdout)
    self.assertEqual(testing.evaluation(logdir)['env_steps'], 800)


class StrategyTest(testing.LauncherTestCase):

  def test_sac_trains_mirrored_on_two_logical_cpus(self):
    logdir = self.create_tempdir()
    result = testing.run('sac', logdir, *_SMALL, '--num_steps=300', '--eval_every=0',
                         '--strategy=mirrored', '--logical_cpus=2')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 300)
    self.assertEqual(record['updates'], 201)


class PrioritizedReplayTest(testing.LauncherTestCase):

  def test_td3_trains_from_an_in_process_prioritized_table(self):
    logdir = self.create_tempdir()
    result = testing.run('td3', logdir, *_SMALL, '--num_steps=300', '--eval_every=0',
                         '--prioritized_replay')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 300)
    self.assertEqual(record['updates'], 201)
    with open(os.path.join(logdir, 'metrics.csv')) as f:
      header = f.readline()
    self.assertIn('critic_loss', header)
    self.assertNotIn('priority', header)  # Written back to the table, not logged.


class RemoteReplayTest(testing.LauncherTestCase):

  def test_ddpg_trains_from_a_replay_server_in_another_process(self):
    server = subprocess.Popen(
        [sys.executable, '-m', 'launchers.replay_server', '--env=Pendulum-v1', '--port=0',
         '--max_size=5000'], cwd=testing.ROOT, env=testing.ENV, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    self.addCleanup(server.kill)
    line = server.stdout.readline()
    address = re.search(r'at (localhost:\d+)', line).group(1)
    logdir = self.create_tempdir()
    result = testing.run('ddpg', logdir, *_SMALL, '--num_steps=300', '--eval_every=0',
                         f'--replay_address={address}')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertEqual(testing.evaluation(logdir)['env_steps'], 300)
    self.assertGreater(testing.evaluation(logdir)['updates'], 0)
    info = reverb.Client(address).server_info()
    self.assertEqual(info['replay'].current_size, 300)
    self.assertFalse(os.path.exists(os.path.join(logdir, 'replay')))
    # The server samples uniformly: a prioritized run is refused before it starts.
    refused = testing.run('ddpg', self.create_tempdir(), *_SMALL, '--num_steps=300',
                          f'--replay_address={address}', '--prioritized_replay')
    self.assertNotEqual(refused.returncode, 0)
    self.assertIn('--prioritized_replay', refused.stderr)
