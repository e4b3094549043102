"""The TRPO launcher as a user runs it: bad flags fail fast; the tuned settings learn CartPole."""

import os

import pytest

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=CartPole-v1', '--num_envs=4', '--num_steps_per_env=16',
          '--value_minibatch_size=16', '--eval_episodes=2']


class BadFlagsTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('trpo', _SMALL, {
        'max_kl': ['--max_kl=0'],
        'backtrack_coef': ['--backtrack_coef=1.5'],
        'value_minibatch_size': ['--value_minibatch_size=7'],  # Does not divide 4 x 16.
        'strategy': ['--strategy=warp'],
        'num_steps': ['--num_steps=10'],  # Less than one update (4 x 16).
    })

  def test_distribution_strategy_fails_naming_the_flag(self):
    logdir = os.path.join(self.create_tempdir(), 'run')
    result = testing.run('trpo', logdir, *_SMALL, '--strategy=one_device', timeout=120)
    self.assertEqual(result.returncode, 2, result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and not line.startswith(('WARNING', 'I0000'))]
    self.assertEqual(len(lines), 1, result.stderr)
    self.assertIn('--strategy', lines[0])
    self.assertFalse(os.path.exists(os.path.join(logdir, 'config.json')))


@pytest.mark.slow
class LearningTest(testing.LauncherTestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    logdir = self.create_tempdir()
    result = testing.run('trpo', logdir, '--env=CartPole-v1', '--tuned', '--num_steps=20480',
                         '--seed=0', '--eval_every=0')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 20480)
    self.assertGreaterEqual(record['mean_return'], 195.0)  # Random: ~20.
    self.assert_outputs(logdir)
