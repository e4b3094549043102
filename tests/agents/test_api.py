"""Tests of the Python API: make, train, act, evaluate, resume, and the kinds of `env`."""

import json
import os
import shutil
import tempfile

from absl.testing import absltest
import gymnasium as gym
import numpy as np

from agents import api
from agents.common import config as config_lib
from agents.reinforce import config as reinforce_config

# A tiny REINFORCE: 2 episodes of CartPole-v1 per update, 16-unit networks.
_CONFIG = reinforce_config.ReinforceConfig(num_envs=2, hidden_sizes=(16,))


class ApiTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.logdir = os.path.join(tempfile.mkdtemp(), 'run')
    self.addCleanup(shutil.rmtree, os.path.dirname(self.logdir), ignore_errors=True)

  def _make(self, env='CartPole-v1', **kwargs):
    kwargs = dict(num_steps=600, logdir=self.logdir, eval_episodes=2, eval_every=0, **kwargs)
    agent = api.make('reinforce', env, kwargs.pop('config', _CONFIG), **kwargs)
    self.addCleanup(agent.close)
    return agent

  def test_train_act_and_evaluate(self):
    agent = self._make()
    record = agent.train()
    self.assertGreaterEqual(record['env_steps'], 600)
    with open(os.path.join(self.logdir, 'evaluation.json')) as f:
      self.assertEqual(json.load(f)['env_steps'], record['env_steps'])
    observation = np.zeros(4, np.float32)
    action = agent.policy(observation)
    self.assertEqual(np.shape(action), ())
    self.assertEqual(agent.policy(np.zeros((3, 4), np.float32)).shape, (3,))
    self.assertEqual(int(action), int(agent.policy(observation[None])[0]))
    result = agent.evaluate(episodes=3)
    self.assertLen(result.returns, 3)

  def test_train_continues_to_a_larger_budget(self):
    agent = self._make()
    first = agent.train()
    second = agent.train(num_steps=1200)
    self.assertGreater(second['env_steps'], first['env_steps'])
    self.assertGreaterEqual(second['env_steps'], 1200)

  def test_an_env_made_by_gymnasium_passes_its_id_and_arguments(self):
    env = gym.make('CartPole-v1', max_episode_steps=5)
    agent = self._make(env)
    self.assertEqual(agent.settings.env_id, 'CartPole-v1')
    self.assertEqual(agent.settings.env_options.max_episode_steps, 5)
    self.assertEqual(list(agent.evaluate(episodes=2).lengths), [5, 5])

  def test_an_env_function_is_registered(self):
    agent = self._make(lambda: gym.make('CartPole-v1', max_episode_steps=9).unwrapped)
    self.assertTrue(agent.settings.env_id.startswith('api/'))
    self.assertEqual(agent.spec.observation.shape, (4,))

  def test_bad_input_fails_clearly(self):
    with self.assertRaisesRegex(KeyError, 'unknown agent'):
      api.make('nope', 'CartPole-v1')
    with self.assertRaisesRegex(TypeError, 'takes a ReinforceConfig'):
      api.make('reinforce', 'CartPole-v1', object())
    with self.assertRaises(config_lib.ConfigError) as caught:
      api.make('reinforce', 'NoSuchEnv-v9')
    self.assertEqual(caught.exception.field, 'env_id')
    with self.assertRaises(config_lib.ConfigError) as caught:
      api.make('reinforce', 'MountainCar-v0', tuned=True, logdir=self.logdir)
    self.assertEqual(caught.exception.field, 'tuned')
    self.assertFalse(os.path.exists(self.logdir))

  def test_tuned_settings(self):
    agent = self._make(tuned=True, config=None)
    self.assertEqual(agent.config, reinforce_config.ReinforceConfig(
        **reinforce_config.TUNED['CartPole-v1']))


if __name__ == '__main__':
  absltest.main()
