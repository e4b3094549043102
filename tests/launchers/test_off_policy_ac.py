"""The off-policy actor-critic launcher as a user runs it: bad flags, a short run."""

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=CartPole-v1', '--num_envs=2', '--num_steps_per_env=8', '--hidden_sizes=16',
          '--eval_episodes=1', '--eval_every=0', '--log_every=64']


class OffPolicyActorCriticLauncherTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('off_policy_ac', _SMALL, {
        'behaviour_epsilon': ['--behaviour_epsilon=1.5'],
        'trace_lambda': ['--trace_lambda=-0.1'],
        'env': ['--env=Pendulum-v1'],  # Continuous actions.
        'num_envs': ['--num_envs=0'],
    })

  def test_short_run_writes_its_outputs(self):
    logdir = self.create_tempdir()
    result = testing.run('off_policy_ac', logdir, *_SMALL, '--num_steps=320')
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 320)
    self.assertEqual(record['updates'], 20)
    self.assert_outputs(logdir)
