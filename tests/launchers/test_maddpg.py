"""The MADDPG launcher as a user runs it: bad flags and unusable environments fail fast in one
line, a missing `mpe` extra is named, a short run on simple_spread writes its outputs with
every agent's evaluation, and a finished run resumes with a larger budget."""

import os
import subprocess
import sys

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=mpe2/simple_spread_v3', '--hidden_sizes=16', '--batch_size=32',
          '--learning_starts=200', '--train_every=10', '--eval_episodes=2', '--eval_every=0']


class MADDPGLauncherTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('maddpg', _SMALL, {
        'ensemble_size': ['--ensemble_size=0'],
        'train_every': ['--train_every=0'],
        'infer_policies': ['--infer_policies', '--nocentralized_critic'],
        'env': ['--env=CartPole-v1'],  # A single-agent environment.
        'replay_address': ['--replay_address=localhost:1'],
    })

  def test_single_agent_launchers_refuse_multi_agent_environments(self):
    self.assert_bad_flags_fail('ddpg', ['--num_steps=3000'], {
        'env': ['--env=mpe2/simple_spread_v3'],
    })

  def test_missing_extra_is_named_in_one_line(self):
    logdir = os.path.join(self.create_tempdir(), 'run')
    code = ("import sys; sys.modules['mpe2'] = None; sys.argv[0] = 'maddpg'; "
            "from launchers import common; common.launch('maddpg')")
    result = subprocess.run([sys.executable, '-c', code, f'--logdir={logdir}', *_SMALL],
                            cwd=testing.ROOT, env=testing.ENV, capture_output=True, text=True,
                            timeout=300)
    self.assertEqual(result.returncode, 2, result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    self.assertEqual(len(lines), 1, result.stderr[-2000:])
    self.assertIn("--env='mpe2/simple_spread_v3'", lines[0])
    self.assertIn("pip install -e '.[mpe]'", lines[0])
    self.assertFalse(os.path.exists(logdir))

  def test_short_runs_write_every_agents_evaluation(self):
    for flags in ([], ['--continuous_actions=false', '--ensemble_size=2', '--infer_policies']):
      with self.subTest(flags=flags):
        logdir = self.create_tempdir()
        result = testing.run('maddpg', logdir, *_SMALL, '--num_steps=400', *flags)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        record = testing.evaluation(logdir)
        self.assertEqual(record['env_steps'], 400)
        self.assertEqual(record['updates'], 21)  # One per 10 steps from step 200 on.
        for agent in ('agent_0', 'agent_1', 'agent_2'):
          self.assertIn(f'return_{agent}', record)
        self.assertAlmostEqual(record['return_agent'], record['mean_return'], places=4)
        self.assert_outputs(logdir)

  def test_resumes_with_a_larger_budget(self):
    self.assert_resumes_with_a_larger_budget('maddpg', _SMALL, 'critic_loss')
