"""`--help` as a user reads it: the launcher's own flags in groups, enum values, `--tuned`'s
environments, and nothing of absl's or TensorFlow's; bad flags as a user meets them, each in a
process of its own (the launcher tests run theirs in one process)."""

import os
import subprocess

from tests.launchers import launcher_testing


def _help(module: str, flag: str = '--help') -> subprocess.CompletedProcess:
  return subprocess.run(launcher_testing.command(module, '/nonexistent', flag),
                        cwd=launcher_testing.ROOT, env=launcher_testing.ENV,
                        capture_output=True, text=True, timeout=120)


class HelpTest(launcher_testing.LauncherTestCase):

  def test_help_lists_the_launchers_own_flags_in_groups(self):
    result = _help('ppo')
    self.assertEqual(result.returncode, 0, result.stderr)
    text = result.stdout
    self.assertTrue(text.startswith('PPO (Schulman et al. 2017)'))
    run_at, agent_at = text.index('Run flags'), text.index('ppo flags (PPOConfig')
    self.assertLess(run_at, text.index('  --num_steps=100000'))
    self.assertLess(text.index('  --num_steps=100000'), agent_at)
    self.assertLess(agent_at, text.index('  --clip_epsilon=0.2'))
    self.assertIn('<default|one_device|mirrored|multi_worker|tpu>', text)
    self.assertIn('Tuned for: CartPole-v1, Pendulum-v1, HalfCheetah-v5, Hopper-v5, ALE/* '
                  '(every Atari game).', ' '.join(text.split()))
    for foreign in ('--test_srcdir', '--only_check_args', '--pdb_post_mortem', '--v='):
      self.assertNotIn(foreign, text)
    self.assertLess(len(text.splitlines()), 200)

  def test_short_forms_and_agents_without_tuned_settings(self):
    result = _help('off_policy_ac', '-h')
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn('This agent has no tuned settings.', result.stdout)
    self.assertIn('off_policy_ac flags (OffPolicyActorCriticConfig', result.stdout)

  def test_distributed_flags_have_their_group(self):
    result = _help('d4pg')
    self.assertIn('Distributed flags:', result.stdout)
    self.assertIn('--role=', result.stdout)


class BadFlagProcessTest(launcher_testing.LauncherTestCase):

  def test_bad_flags_exit_2_with_one_line_in_a_real_process(self):
    tmp = self.create_tempdir()
    cases = {'strategy': ['--strategy=warp'], 'no_such_flag': ['--no_such_flag=1'],
             'learning_rate': ['--learning_rate=-1'], 'env': ['--env=NoSuchEnv-v0']}
    processes = {name: subprocess.Popen(
        launcher_testing.command('ppo', os.path.join(tmp, name), *flags),
        cwd=launcher_testing.ROOT, env=launcher_testing.ENV, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for name, flags in cases.items()}
    for name, process in processes.items():
      stdout, stderr = process.communicate(timeout=180)
      with self.subTest(name):
        self.assertEqual(process.returncode, 2, stderr)
        self.assertEqual(stdout, '')
        lines = [line for line in stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, stderr)
        self.assertTrue(lines[0].startswith('error: '), lines[0])
        self.assertIn(f'--{name}', lines[0])
        self.assertFalse(os.path.exists(os.path.join(tmp, name)))


if __name__ == '__main__':
  import unittest
  unittest.main()
