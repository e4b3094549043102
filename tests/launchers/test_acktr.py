"""The ACKTR launcher as a user runs it: bad flags fail fast; the tuned settings learn CartPole."""

import pytest

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=CartPole-v1', '--num_envs=4', '--num_steps_per_env=5', '--eval_episodes=2']


class BadFlagsTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('acktr', _SMALL, {
        'momentum': ['--momentum=1'],
        'stat_decay': ['--stat_decay=-0.5'],
        'inverse_every': ['--inverse_every=0'],
        'trust_region': ['--trust_region=-1'],
        'strategy': ['--strategy=warp'],
    })


@pytest.mark.slow
class LearningTest(testing.LauncherTestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    logdir = self.create_tempdir()
    result = testing.run('acktr', logdir, '--env=CartPole-v1', '--tuned', '--num_steps=40000',
                         '--seed=0', '--eval_every=0')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 40000)
    self.assertGreaterEqual(record['mean_return'], 100.0)  # Random: ~20.
    self.assert_outputs(logdir)
