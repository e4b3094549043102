"""Tests for agents.common.policies.ActorCriticPolicy."""

import shutil
import tempfile
import types

from absl.testing import parameterized
import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.common import policies
from agents.common import environments
from agents.common import running_stats
from networks import actor_critic
from networks import distributions

BATCH = 64


def _specs(env_id):
  env = gym.make(env_id)
  obs_spec = environments.spec_from_space(env.observation_space, 'observation')
  act_spec = environments.spec_from_space(env.action_space, 'action')
  env.close()
  return obs_spec, act_spec


# (name, env id, head kwargs, action shape per env, action dtype)
CASES = (
    ('categorical', 'CartPole-v1', {}, (), tf.int32),
    ('gaussian', 'Pendulum-v1', {}, (1,), tf.float32),
    ('tanh_gaussian', 'Pendulum-v1', {'tanh_squash': True}, (1,), tf.float32),
)


def _network(env_id, head_kwargs):
  obs_spec, act_spec = _specs(env_id)
  network = actor_critic.make_actor_critic(obs_spec, act_spec, hidden_sizes=(16,),
                                           **head_kwargs)
  return network, obs_spec


def _observations(obs_spec, seed=0):
  rng = np.random.default_rng(seed)
  return tf.constant(rng.normal(size=(BATCH,) + obs_spec.shape), tf.float32)


class ActorCriticPolicyTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*CASES)
  def test_step_shapes_log_prob_and_value(self, env_id, head_kwargs, action_shape, dtype):
    network, obs_spec = _network(env_id, head_kwargs)
    actor = policies.ActorCriticPolicy(network, obs_spec, seed=1)
    obs = _observations(obs_spec)
    action, log_prob, value = actor.step(obs)
    self.assertEqual(action.shape, (BATCH,) + action_shape)
    self.assertEqual(action.dtype, dtype)
    self.assertEqual(log_prob.shape, (BATCH,))
    self.assertEqual(value.shape, (BATCH,))
    distribution, expected_value = network(obs)
    self.assertAllClose(log_prob, distribution.log_prob(action), rtol=1e-5, atol=1e-5)
    self.assertAllClose(value, expected_value, rtol=1e-6, atol=1e-6)
    self.assertAllClose(actor.value(obs), expected_value, rtol=1e-6, atol=1e-6)
    self.assertTrue(np.all(np.isfinite(log_prob.numpy())))

  @parameterized.named_parameters(*CASES)
  def test_same_seed_same_actions(self, env_id, head_kwargs, action_shape, dtype):
    del action_shape, dtype
    network, obs_spec = _network(env_id, head_kwargs)
    obs = _observations(obs_spec)
    runs = []
    for seed in (5, 5, 6):
      actor = policies.ActorCriticPolicy(network, obs_spec, seed=seed)
      runs.append([actor.step(obs)[0].numpy() for _ in range(3)])
    for a, b in zip(runs[0], runs[1]):
      self.assertAllEqual(a, b)
    # The stream advances from call to call, and another seed gives other actions.
    self.assertNotAllClose(runs[0][0], runs[0][1])
    self.assertNotAllClose(runs[0][0], runs[2][0])

  @parameterized.named_parameters(*CASES)
  def test_mode_is_deterministic(self, env_id, head_kwargs, action_shape, dtype):
    network, obs_spec = _network(env_id, head_kwargs)
    actor = policies.ActorCriticPolicy(network, obs_spec, seed=1)
    obs = _observations(obs_spec)
    mode = actor.mode(obs)
    self.assertEqual(mode.shape, (BATCH,) + action_shape)
    self.assertEqual(mode.dtype, dtype)
    self.assertAllEqual(actor.mode(obs), mode)
    self.assertAllClose(mode, distributions.mode(network.policy(obs)), rtol=1e-6, atol=1e-6)

  def test_categorical_mode_is_argmax(self):
    network, obs_spec = _network('CartPole-v1', {})
    actor = policies.ActorCriticPolicy(network, obs_spec, seed=1)
    obs = _observations(obs_spec)
    probs = network.policy(obs).probs_parameter()
    self.assertAllEqual(actor.mode(obs), tf.argmax(probs, axis=-1, output_type=tf.int32))

  def test_observation_normalizer_is_applied(self):
    network, obs_spec = _network('CartPole-v1', {})
    normalizer = running_stats.RunningMeanStd(obs_spec.shape)
    normalizer.update(_observations(obs_spec, seed=3) * 5.0 + 2.0)
    actor = policies.ActorCriticPolicy(network, obs_spec, seed=1, observation_normalizer=normalizer)
    obs = _observations(obs_spec)
    normalized = normalizer.normalize(obs)
    self.assertAllClose(actor.value(obs), network.value(normalized), rtol=1e-6, atol=1e-6)
    self.assertAllEqual(actor.mode(obs), distributions.mode(network.policy(normalized)))
    action, log_prob, value = actor.step(obs)
    self.assertAllClose(value, network.value(normalized), rtol=1e-6, atol=1e-6)
    self.assertAllClose(log_prob, network.policy(normalized).log_prob(action), rtol=1e-5,
                        atol=1e-5)
    self.assertNotAllClose(actor.value(obs), network.value(obs))

  def test_checkpointed_generator_continues_the_stream(self):
    network, obs_spec = _network('Pendulum-v1', {})
    obs = _observations(obs_spec)
    actor = policies.ActorCriticPolicy(network, obs_spec, seed=1)
    actor.step(obs)
    directory = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
    path = tf.train.Checkpoint(actor=actor).save(directory + '/ckpt')
    expected = actor.step(obs)[0]
    resumed = policies.ActorCriticPolicy(network, obs_spec, seed=999)
    tf.train.Checkpoint(actor=resumed).restore(path).assert_existing_objects_matched()
    self.assertAllEqual(resumed.step(obs)[0], expected)

  def test_make_network_follows_the_config(self):
    obs_spec, act_spec = _specs('Pendulum-v1')
    spec = types.SimpleNamespace(observation=obs_spec, action=act_spec)
    config = types.SimpleNamespace(hidden_sizes=(8,), activation='relu', init_log_std=-1.0,
                                   normalize_observations=False)
    network = policies.make_network(spec, config, seed=3, shared_torso=False)
    reference = actor_critic.make_actor_critic(obs_spec, act_spec, hidden_sizes=(8,),
                                               activation='relu', init_log_std=-1.0, seed=3)
    self.assertFalse(network.shared_torso)
    for got, want in zip(network.variables, reference.variables, strict=True):
      self.assertAllEqual(got, want)
    self.assertIsNone(policies.make_observation_normalizer(spec, config))
    config.normalize_observations = True
    self.assertIsInstance(policies.make_observation_normalizer(spec, config),
                          running_stats.RunningMeanStd)

  def test_compiled_takes_any_batch_of_the_spec(self):
    obs_spec, _ = _specs('CartPole-v1')
    double = policies.compiled(lambda observation: 2.0 * observation, obs_spec)
    for batch in (1, 3):
      self.assertAllEqual(double(tf.ones([batch, 4])), 2.0 * np.ones([batch, 4]))
    self.assertEqual(double.experimental_get_tracing_count(), 1)  # One trace for every B.

  def test_batch_size_is_free(self):
    network, obs_spec = _network('CartPole-v1', {})
    actor = policies.ActorCriticPolicy(network, obs_spec, seed=1)
    for batch in (1, 7):
      action, log_prob, value = actor.step(tf.zeros([batch, 4]))
      self.assertEqual(action.shape, (batch,))
      self.assertEqual(log_prob.shape, (batch,))
      self.assertEqual(value.shape, (batch,))


if __name__ == '__main__':
  tf.test.main()
