"""The A2C launcher as a user runs it: bad flags fail fast; the tuned settings learn CartPole."""

import pytest

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=CartPole-v1', '--num_envs=4', '--num_steps_per_env=5', '--eval_episodes=2']


class BadFlagsTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('a2c', _SMALL, {
        'learning_rate': ['--learning_rate=0'],
        'optimizer': ['--optimizer=sgd'],
        'advantage_estimator': ['--advantage_estimator=monte_carlo'],
        'strategy': ['--strategy=warp'],
        'num_steps': ['--num_steps=10'],  # Less than one update (4 x 5).
    })


@pytest.mark.slow
class LearningTest(testing.LauncherTestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    logdir = self.create_tempdir()
    result = testing.run('a2c', logdir, '--env=CartPole-v1', '--tuned', '--num_steps=30000',
                         '--seed=0', '--eval_every=0')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 30000)
    self.assertGreaterEqual(record['mean_return'], 150.0)  # Random: ~20.
    self.assert_outputs(logdir)
