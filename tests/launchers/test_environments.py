"""The launchers' environment flags as a user meets them: `module:id`, Atari, extras that are
missing, `--tuned` without tuned settings, and bad environment flags."""

import json
import os
import subprocess

from tests.launchers import launcher_testing

_IMAGE = 'tests.agents.common.registering_envs:WrapperTestImage-v0'


class EnvironmentFlagsTest(launcher_testing.LauncherTestCase):

  def test_module_id_with_images_trains_through_the_cnn(self):
    logdir = os.path.join(self.create_tempdir(), 'run')
    result = launcher_testing.run(
        'ppo', logdir, f'--env={_IMAGE}', '--num_steps=64', '--num_envs=2',
        '--num_steps_per_env=16', '--minibatch_size=16', '--num_epochs=1', '--hidden_sizes=',
        '--frame_stack=2', '--eval_episodes=2', '--eval_every=0', '--nojit_compile')
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assert_outputs(logdir)
    with open(os.path.join(logdir, 'config.json')) as f:
      record = json.load(f)
    self.assertEqual(record['env'], _IMAGE)
    self.assertEqual(record['env_options'],
                     dict(frame_stack=2, max_episode_steps=0, env_kwargs={}))
    self.assertEqual(launcher_testing.evaluation(logdir)['mean_return'], 5.0)  # 5 steps of 1.

  def test_atari_trains_with_the_tuned_settings(self):
    logdir = os.path.join(self.create_tempdir(), 'run')
    result = launcher_testing.run(
        'ppo', logdir, '--env=ALE/Pong-v5', '--tuned', '--num_envs=2', '--num_steps=256',
        '--max_episode_steps=50', '--eval_episodes=1', '--eval_every=0')
    self.assertEqual(result.returncode, 0, result.stderr)
    with open(os.path.join(logdir, 'config.json')) as f:
      config = json.load(f)['config']
    self.assertEqual((config['num_steps_per_env'], config['clip_epsilon'], config['hidden_sizes'],
                      config['shared_torso']), (128, 0.1, [], True))
    self.assertEqual(launcher_testing.evaluation(logdir)['episodes'], 1)

  def test_mujoco_tuned_settings_run(self):
    tmp = self.create_tempdir()
    cases = {'ppo': ['--num_steps_per_env=64', '--num_steps=64', '--minibatch_size=32'],
             'sac': ['--learning_starts=50', '--num_steps=60', '--batch_size=32'],
             'td3': ['--learning_starts=50', '--num_steps=60', '--batch_size=32']}
    processes = {agent: subprocess.Popen(
        launcher_testing.command(agent, os.path.join(tmp, agent), '--env=Hopper-v5', '--tuned',
                                 '--max_episode_steps=20', '--eval_episodes=1',
                                 '--eval_every=0', *flags),
        cwd=launcher_testing.ROOT, env=launcher_testing.ENV, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for agent, flags in cases.items()}
    for agent, process in processes.items():
      _, stderr = process.communicate(timeout=600)
      self.assertEqual(process.returncode, 0, f'{agent}: {stderr}')
      with open(os.path.join(tmp, agent, 'config.json')) as f:
        config = json.load(f)['config']
      self.assertEqual(config['hidden_sizes'], [64, 64] if agent == 'ppo' else [256, 256])

  def test_bad_environment_flags_fail_in_one_line(self):
    errors = self.assert_bad_flags_fail('ppo', ['--num_steps=64'], {
        'env': ['--env=no_such_package.envs:Thing-v0'],
        'env_kwargs': ['--env_kwargs=continuous'],
        'frame_stack': ['--frame_stack=-1'],
        'max_episode_steps': ['--max_episode_steps=-3'],
        'tuned': ['--env=MountainCar-v0', '--tuned'],
    })
    self.assertIn('ppo has no settings tuned for MountainCar-v0', errors['tuned'])
    self.assertIn('CartPole-v1', errors['tuned'])
    errors = self.assert_bad_flags_fail('ppo', ['--num_steps=64', '--env=CartPole-v1'], {
        'env_kwargs': ['--env_kwargs=no_such_argument=1'],
    })
    errors = self.assert_bad_flags_fail('maddpg', ['--env=mpe2/simple_spread_v3'], {
        'frame_stack': ['--frame_stack=4'],
    })

  def test_a_missing_extra_is_one_line_naming_it(self):
    # A `mujoco` package that fails to import stands in for one that is not installed.
    hidden = self.create_tempdir()
    os.makedirs(os.path.join(hidden, 'mujoco'))
    with open(os.path.join(hidden, 'mujoco', '__init__.py'), 'w') as f:
      f.write("raise ImportError('not installed (test)')\n")
    logdir = os.path.join(self.create_tempdir(), 'run')
    env = {**launcher_testing.ENV,
           'PYTHONPATH': f'{hidden}{os.pathsep}{launcher_testing.ROOT}'}
    result = subprocess.run(
        launcher_testing.command('sac', logdir, '--env=HalfCheetah-v5'), cwd=launcher_testing.ROOT,
        env=env, capture_output=True, text=True, timeout=300)
    self.assertEqual(result.returncode, 2, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    self.assertEqual(len(lines), 1, result.stderr)
    self.assertIn("--env='HalfCheetah-v5'", lines[0])
    self.assertIn("pip install -e '.[mujoco]'", lines[0])
    self.assertFalse(os.path.exists(logdir))


if __name__ == '__main__':
  import unittest
  unittest.main()
