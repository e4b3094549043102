"""The actor_critic launcher as a user runs it: bad flags fail fast, a re-run resumes, it learns."""

import pytest

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=CartPole-v1', '--hidden_sizes=16', '--eval_episodes=2']


class BadFlagsTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('actor_critic', _SMALL, {
        'optimizer': ['--optimizer=rmsprop'],
        'critic_learning_rate': ['--critic_learning_rate=0'],
        'num_steps': ['--num_steps=1', '--num_envs=2'],  # Less than one step of each env.
        'hidden_sizes': ['--hidden_sizes=a,b'],
        'env': ['--env=CartPoel-v1'],
        'eval_episodes': ['--eval_episodes=0'],
        'strategy': ['--strategy=warp'],
    })


class ResumeTest(testing.LauncherTestCase):

  def test_rerun_with_a_larger_budget_continues_from_the_checkpoint(self):
    self.assert_resumes_with_a_larger_budget('actor_critic', _SMALL, metric='policy_loss')

  def test_a_changed_config_is_refused(self):
    self.assert_changed_config_is_refused('actor_critic', _SMALL)


@pytest.mark.slow
class LearningTest(testing.LauncherTestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    self.assert_learns('actor_critic', 30000, 100.0)
