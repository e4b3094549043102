"""The reinforce launcher as a user runs it: bad flags fail fast, a re-run resumes, it learns."""

import pytest

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=CartPole-v1', '--num_envs=2', '--hidden_sizes=16', '--eval_episodes=2']


class BadFlagsTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('reinforce', _SMALL, {
        'return_type': ['--return_type=g0'],
        'truncation': ['--nobaseline'],  # A cut episode cannot be bootstrapped without V.
        'optimizer': ['--optimizer=rmsprop'],
        'hidden_sizes': ['--hidden_sizes=a,b'],
        'env': ['--env=CartPoel-v1'],
        'eval_episodes': ['--eval_episodes=0'],
        'strategy': ['--strategy=warp'],
    })


class ResumeTest(testing.LauncherTestCase):

  def test_rerun_with_a_larger_budget_continues_from_the_checkpoint(self):
    self.assert_resumes_with_a_larger_budget('reinforce', _SMALL, metric='policy_loss')

  def test_a_changed_config_is_refused(self):
    self.assert_changed_config_is_refused('reinforce', _SMALL)


@pytest.mark.slow
class LearningTest(testing.LauncherTestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    self.assert_learns('reinforce', 20000, 150.0)
