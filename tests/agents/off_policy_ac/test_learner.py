"""Off-policy actor-critic: the behaviour mixture's probabilities and samples, importance
weights from the logged behaviour probabilities, an update that is finite and moves."""

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import core
from agents.common import rollout as rollout_lib
from agents.off_policy_ac import builder
from agents.off_policy_ac import config as ac_config

OBS = specs.Array((4,), np.float32)
ACTION = specs.DiscreteArray(3)


def _parts(**overrides):
  config = ac_config.OffPolicyActorCriticConfig(hidden_sizes=(16,), jit_compile=False,
                                                **overrides)
  return config, builder.make_components(core.EnvironmentSpec(OBS, ACTION), config, seed=0)


def _rollout(log_prob, steps=4, envs=3, seed=0):
  rng = np.random.default_rng(seed)
  f32 = lambda x: tf.constant(x, tf.float32)
  return rollout_lib.Rollout(
      observation=f32(rng.normal(size=(steps, envs, 4))),
      action=tf.constant(rng.integers(0, 3, size=(steps, envs)), tf.int32),
      reward=f32(rng.normal(size=(steps, envs))),
      terminated=f32(np.zeros((steps, envs))), truncated=f32(np.zeros((steps, envs))),
      log_prob=f32(log_prob), value=f32(np.zeros((steps, envs))),
      truncation_value=f32(np.zeros((steps, envs))), bootstrap_value=f32(np.zeros(envs)))


class MixturePolicyTest(tf.test.TestCase):

  def test_behaviour_probabilities_and_samples(self):
    _, parts = _parts(behaviour_epsilon=0.4)
    observation = np.tile(np.array([[0.5, -1.0, 0.2, 0.0]], np.float32), (30000, 1))
    pi = tf.nn.softmax(parts.network.policy(observation[:1]).logits_parameter())[0].numpy()
    beta = 0.6 * pi + 0.4 / 3
    action, log_beta, _ = parts.policy.step(observation)
    self.assertAllClose(np.exp(log_beta.numpy()), beta[action.numpy()], atol=1e-6)
    frequencies = np.bincount(action.numpy(), minlength=3) / 30000
    self.assertAllClose(frequencies, beta, atol=0.015)
    self.assertEqual(int(parts.policy.mode(observation[:1])[0]), int(np.argmax(pi)))


class LearnerTest(tf.test.TestCase):

  def test_importance_weights_come_from_the_logged_behaviour_probabilities(self):
    _, parts = _parts()
    logged = np.log(np.random.default_rng(1).uniform(0.1, 0.9, size=(4, 3)))
    rollout = _rollout(logged)
    logits = parts.network.policy(
        tf.reshape(rollout.observation, (12, 4))).logits_parameter().numpy()
    log_pi = tf.nn.log_softmax(logits).numpy()[np.arange(12), rollout.action.numpy().ravel()]
    rho = np.exp(log_pi - logged.ravel())
    metrics = parts.learner.step(rollout)
    self.assertAllClose(metrics['importance_weight'], rho.mean(), rtol=1e-5)
    self.assertAllClose(metrics['max_importance_weight'], rho.max(), rtol=1e-5)

  def test_update_is_finite_and_moves_both_networks(self):
    _, parts = _parts()
    before = [v.numpy() for v in parts.network.trainable_variables]
    metrics = parts.learner.step(_rollout(np.log(np.full((4, 3), 0.3))))
    for name, value in metrics.items():
      self.assertTrue(np.isfinite(value.numpy()), name)
    moved = [not np.allclose(b, v.numpy()) for b, v in zip(before,
                                                          parts.network.trainable_variables)]
    self.assertTrue(all(moved))

  def test_continuous_actions_and_bad_epsilon_are_refused(self):
    with self.assertRaisesRegex(config_lib.ConfigError, 'discrete actions'):
      builder.make_components(core.EnvironmentSpec(OBS, specs.BoundedArray(
          (1,), np.float32, -1.0, 1.0)), ac_config.OffPolicyActorCriticConfig(), seed=0)
    with self.assertRaisesRegex(config_lib.ConfigError, 'behaviour_epsilon'):
      ac_config.OffPolicyActorCriticConfig(behaviour_epsilon=0.0)
    config_lib.check_documented(ac_config.OffPolicyActorCriticConfig)


if __name__ == '__main__':
  tf.test.main()
