"""The Soft Q-learning launcher as a user runs it: bad flags fail fast; a short run on the
multi-goal environment writes its outputs, the sampled policy's evaluation included, and
resumes with a larger budget."""

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=MultiGoal-v0', '--hidden_sizes=16', '--batch_size=16', '--particles=4',
          '--value_samples=4', '--learning_starts=100', '--eval_episodes=2', '--eval_every=0']


class SoftQLauncherTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('soft_q', _SMALL, {
        'particles': ['--particles=0'],
        'alpha': ['--alpha=-1'],
        'env': ['--env=CartPole-v1'],  # Discrete actions.
    })

  def test_short_run_writes_its_outputs(self):
    logdir = self.create_tempdir()
    result = testing.run('soft_q', logdir, *_SMALL, '--num_steps=300')
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 300)
    self.assertEqual(record['updates'], 201)
    self.assertIn('sampled_policy_return', record)
    self.assert_outputs(logdir)

  def test_resumes_with_a_larger_budget(self):
    self.assert_resumes_with_a_larger_budget('soft_q', _SMALL, 'q_loss')
