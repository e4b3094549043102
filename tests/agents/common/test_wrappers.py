"""Tests of environment making: `module:id` ids, missing extras, Atari preprocessing, Dict
observations, frame stacking, time limits and `gym.make` arguments."""

import pickle
import sys
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import gymnasium as gym
import numpy as np

from agents.common import config as config_lib
from agents.common import environments
from agents.common import wrappers

_MODULE = 'tests.agents.common.registering_envs'
_IMAGE = f'{_MODULE}:WrapperTestImage-v0'
_DICT = f'{_MODULE}:WrapperTestDict-v0'


class IdTest(absltest.TestCase):

  def test_module_form_imports_the_module_and_makes_the_id(self):
    environments.check_env_id(_IMAGE)
    env = environments.make_environment(_IMAGE, seed=0)
    self.assertEqual(env.observation_spec().shape, (36, 36, 1))
    self.assertEqual(env.observation_spec().dtype, np.uint8)
    env.close()

  def test_a_module_that_does_not_import_is_refused_in_one_line(self):
    with self.assertRaisesRegex(config_lib.ConfigError, "cannot import 'no_such_package.envs'"):
      environments.check_env_id('no_such_package.envs:Thing-v0')

  def test_an_id_the_module_does_not_register_is_refused(self):
    with self.assertRaisesRegex(config_lib.ConfigError, 'not a registered gymnasium'):
      environments.check_env_id(f'{_MODULE}:Nothing-v0')


class ExtrasTest(parameterized.TestCase):

  @parameterized.parameters(('HalfCheetah-v5', 'mujoco', 'mujoco'),
                            ('LunarLander-v3', 'Box2D', 'box2d'),
                            ('ALE/Pong-v5', 'cv2', 'atari'))
  def test_a_missing_package_names_the_extra(self, env_id, module, extra):
    wrappers.resolve(env_id)  # Registers the Atari ids while ale-py is there.
    with mock.patch.dict(sys.modules, {module: None}):  # `import module` raises ImportError.
      with self.assertRaises(config_lib.ConfigError) as caught:
        environments.check_env_id(env_id)
    self.assertIn(f"pip install -e '.[{extra}]'", str(caught.exception))
    self.assertEqual(caught.exception.field, 'env_id')

  def test_atari_ids_without_ale_py_name_the_extra(self):
    with mock.patch.dict(gym.envs.registry, {}, clear=True), \
         mock.patch.dict(sys.modules, {'ale_py': None}):
      with self.assertRaisesRegex(config_lib.ConfigError, r"pip install -e '\.\[atari\]'"):
        environments.check_env_id('ALE/Breakout-v5')


class AtariTest(absltest.TestCase):

  def test_training_and_evaluation_preprocessing(self):
    train = wrappers.make('ALE/Pong-v5', training=True)
    evaluation = wrappers.make('ALE/Pong-v5', training=False)
    for env in (train, evaluation):
      self.assertEqual(env.observation_space.shape, (84, 84, 4))
      self.assertEqual(env.observation_space.dtype, np.uint8)
      preprocessing = env
      while not isinstance(preprocessing, gym.wrappers.AtariPreprocessing):
        preprocessing = preprocessing.env
      self.assertEqual(preprocessing.frame_skip, 4)
      self.assertEqual(preprocessing.noop_max, 30)
      self.assertEqual(preprocessing.unwrapped._frameskip, 1)
    self.assertTrue(_has_wrapper(train, gym.wrappers.TransformReward))
    self.assertFalse(_has_wrapper(evaluation, gym.wrappers.TransformReward))
    self.assertTrue(_has_wrapper(train, wrappers.EpisodicLife))
    self.assertFalse(_has_wrapper(evaluation, wrappers.EpisodicLife))
    for env in (train, evaluation):
      self.assertFalse(_find(env, gym.wrappers.AtariPreprocessing).terminal_on_life_loss)
      self.assertTrue(_has_wrapper(env, wrappers.FireReset))  # Pong's action 1 is FIRE.
    self.assertFalse(_find(train, wrappers.FireReset)._after_lost_life)  # Its resets serve.
    self.assertTrue(_find(evaluation, wrappers.FireReset)._after_lost_life)
    observation, _ = train.reset(seed=0)
    self.assertEqual(observation.shape, (84, 84, 4))
    self.assertEqual(pickle.loads(pickle.dumps(train)).observation_space, train.observation_space)
    for env in (train, evaluation):
      env.close()

  def test_stacked_frames_are_the_last_four_in_order(self):
    env = wrappers.make('ALE/Breakout-v5', training=False,
                        options=wrappers.EnvOptions(env_kwargs=(('repeat_action_probability',
                                                                 0.0),)))
    frames = []
    observation, _ = env.reset(seed=3)
    for _ in range(5):
      observation, *_ = env.step(1)
      frames.append(observation[..., -1].copy())
    np.testing.assert_array_equal(observation[..., :3], np.stack(frames[1:4], -1))
    env.close()

  def test_a_lost_life_ends_the_training_episode_but_not_the_game(self):
    env = wrappers.make('ALE/Breakout-v5', training=True)
    ale = env.unwrapped.ale
    env.reset(seed=0)
    self.assertEqual(ale.lives(), 5)
    rng = np.random.default_rng(0)
    terminated = False
    while not terminated:
      _, _, terminated, truncated, _ = env.step(int(rng.integers(4)))
      self.assertFalse(truncated)
    self.assertEqual(ale.lives(), 4)
    env.reset()
    self.assertEqual(ale.lives(), 4)  # The game went on.
    env.close()

  def test_evaluation_serves_after_a_lost_life(self):
    # A policy that never presses FIRE: its evaluation game goes on after each lost life and
    # ends with the last one, far before the time limit (27,000 agent steps) it would wait for
    # if nothing served the ball.
    for after_lost_life in (True, False):
      env = wrappers.make('ALE/Breakout-v5', training=False,
                          options=wrappers.EnvOptions(
                              env_kwargs=(('repeat_action_probability', 0.0),)))
      _find(env, wrappers.FireReset)._after_lost_life = after_lost_life
      env.reset(seed=0)
      steps, done = 0, False
      while not done and steps < 3000:
        _, _, terminated, truncated, _ = env.step(0)
        done, steps = terminated or truncated, steps + 1
      self.assertEqual(done, after_lost_life, steps)
      self.assertEqual(env.unwrapped.ale.lives(), 0 if after_lost_life else 4)
      env.close()

  def test_time_limit_counts_agent_steps(self):
    env = environments.make_environment(
        'ALE/Pong-v5', seed=0, options=wrappers.EnvOptions(max_episode_steps=3))
    env.reset()
    steps = [env.step(0) for _ in range(3)]
    self.assertTrue(steps[-1].last())
    self.assertEqual(steps[-1].discount, 1.0)  # A cut, not a termination.
    env.close()


def _find(env, cls):
  while not isinstance(env, cls):
    env = env.env
  return env


def _has_wrapper(env, cls) -> bool:
  while isinstance(env, gym.Wrapper):
    if isinstance(env, cls):
      return True
    env = env.env
  return False


class OptionsTest(absltest.TestCase):

  def test_dict_observations_are_flattened(self):
    env = environments.make_environment(_DICT, seed=0)
    self.assertEqual(env.observation_spec().shape, (5,))  # One-hot of 3, then 2 floats.
    first = env.reset().observation  # Keys in sorted order: 'mode', 'position'.
    np.testing.assert_allclose(first, [1.0, 0.0, 0.0, 0.5, -0.5])
    np.testing.assert_allclose(env.step(0).observation, [0.0, 1.0, 0.0, 0.5, -0.5])
    env.close()

  def test_vector_frames_stack_on_a_new_leading_axis(self):
    env = environments.make_environment(_DICT, seed=0,
                                        options=wrappers.EnvOptions(frame_stack=2))
    self.assertEqual(env.observation_spec().shape, (2, 5))
    env.reset()
    observation = env.step(0).observation
    np.testing.assert_allclose(observation[1], [0.0, 1.0, 0.0, 0.5, -0.5])
    np.testing.assert_allclose(observation[0], [1.0, 0.0, 0.0, 0.5, -0.5])
    env.close()

  def test_images_stack_along_their_channels(self):
    env = environments.make_environment(_IMAGE, seed=0,
                                        options=wrappers.EnvOptions(frame_stack=3))
    self.assertEqual(env.observation_spec().shape, (36, 36, 3))
    self.assertEqual(env.observation_spec().dtype, np.uint8)
    env.reset()
    env.step(1)
    observation = env.step(0).observation  # Frames of steps 0, 1, 2: 0, 11, 20.
    np.testing.assert_array_equal(observation[0, 0], [0, 11, 20])
    env.close()

  def test_max_episode_steps_replaces_the_time_limit(self):
    env = environments.make_environment('CartPole-v1', seed=0,
                                        options=wrappers.EnvOptions(max_episode_steps=4))
    env.reset()
    steps = []
    while not steps or not steps[-1].last():
      steps.append(env.step(0 if len(steps) % 2 else 1))
    self.assertEqual(len(steps), 4)
    env.close()

  def test_env_kwargs_reach_gym_make(self):
    options = wrappers.EnvOptions(env_kwargs=wrappers.parse_env_kwargs(['continuous=True']))
    spec = environments.environment_spec('LunarLander-v3', options)
    self.assertEqual(spec.action.shape, (2,))  # Continuous LunarLander.

  def test_env_kwargs_the_env_refuses_name_the_flag(self):
    options = wrappers.EnvOptions(env_kwargs=(('no_such_argument', 1),))
    with self.assertRaises(config_lib.ConfigError) as caught:
      environments.make_environment('CartPole-v1', options=options)
    self.assertEqual(caught.exception.field, 'env_kwargs')

  def test_parse_env_kwargs(self):
    self.assertEqual(wrappers.parse_env_kwargs(['b=-9.8', 'a=True', 'c=text', 'd=(1, 2)']),
                     (('a', True), ('b', -9.8), ('c', 'text'), ('d', (1, 2))))
    for bad in (['novalue'], ['a=1', 'a=2'], ['1a=3']):
      with self.assertRaises(config_lib.ConfigError):
        wrappers.parse_env_kwargs(bad)

  def test_options_round_trip_through_the_record(self):
    options = wrappers.EnvOptions(frame_stack=4, max_episode_steps=9,
                                  env_kwargs=(('b', 2), ('a', 1.5)))
    self.assertEqual(wrappers.EnvOptions.from_record(options.record()), options)
    self.assertEqual(wrappers.EnvOptions.from_record(None), wrappers.EnvOptions())

  def test_vector_env_applies_the_options(self):
    env = environments.VectorEnv(_IMAGE, 2, seed=0, options=wrappers.EnvOptions(frame_stack=2))
    self.assertEqual(env.reset().shape, (2, 36, 36, 2))
    env.close()


if __name__ == '__main__':
  absltest.main()
