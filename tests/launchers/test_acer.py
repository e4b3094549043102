"""The ACER launcher as a user runs it: bad flags fail fast; a run resumes with its replay; the
tuned settings learn CartPole."""

import os

import pytest

from agents.common import checkpointing
from tests.launchers import launcher_testing as testing

_SMALL = ['--env=CartPole-v1', '--num_envs=2', '--num_steps_per_env=5', '--hidden_sizes=16',
          '--replay_start=20', '--noanneal_learning_rate', '--eval_episodes=1', '--eval_every=0',
          '--checkpoint_every=100']


class ACERLauncherTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('acer', _SMALL, {
        'truncation': ['--truncation=0'],
        'average_decay': ['--average_decay=2'],
        'replay_size': ['--replay_size=4'],  # Less than one segment.
        'env': ['--env=Pendulum-v1'],  # Continuous actions.
        'replay_address': ['--replay_address=localhost:1'],
    })

  def test_resumed_run_continues_with_its_replay(self):
    logdir = self.create_tempdir()
    first = testing.run('acer', logdir, *_SMALL, '--num_steps=200')
    self.assertEqual(first.returncode, 0, first.stderr[-3000:])
    self.assertEqual(testing.evaluation(logdir)['replay_items'], 40)
    # The table is checkpointed beside every run checkpoint on disk, the final one included.
    steps = checkpointing.checkpoint_steps(logdir)
    self.assertEqual(steps[0], 200)
    self.assertEqual(sorted(os.listdir(os.path.join(logdir, 'replay'))),
                     sorted([f'ckpt-{step}' for step in steps] + ['incoming']))
    second = testing.run('acer', logdir, *_SMALL, '--num_steps=300')
    self.assertEqual(second.returncode, 0, second.stderr[-3000:])
    self.assertIn('at 200 env steps (40 segments in replay)', second.stdout)
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 300)
    self.assertEqual(record['replay_items'], 60)
    self.assert_outputs(logdir)


@pytest.mark.slow
class LearningTest(testing.LauncherTestCase):

  def test_cartpole_learns_with_tuned_settings(self):
    logdir = self.create_tempdir()
    result = testing.run('acer', logdir, '--env=CartPole-v1', '--tuned', '--num_steps=40000',
                         '--seed=0', '--eval_every=0')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    record = testing.evaluation(logdir)
    self.assertGreaterEqual(record['mean_return'], 100.0)  # Random: ~20.
    self.assert_outputs(logdir)
