"""COPDAC-Q: compatible features against their closed form, one update against a numpy
re-derivation of eqs. 19-22, the tile coding's active features, the config's checks."""

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import transitions
from agents.dpg import config as dpg_config
from agents.dpg import learner as learner_lib
from networks import features

OBS = specs.BoundedArray((3,), np.float32, [-1.0, -1.0, -8.0], [1.0, 1.0, 8.0])
ACTION = specs.BoundedArray((2,), np.float32, -2.0, 2.0)


def _policy(kind='linear', seed=0):
  phi = features.make_features(kind, OBS, num_tilings=4, tiles=3)
  return learner_lib.CompatiblePolicy(phi, OBS, ACTION, behaviour_sigma=0.5, seed=seed,
                                      jit_compile=False)


def _batch(size=5, seed=0):
  rng = np.random.default_rng(seed)
  observation = rng.uniform(OBS.minimum, OBS.maximum, size=(size, 3)).astype(np.float32)
  next_observation = rng.uniform(OBS.minimum, OBS.maximum, size=(size, 3)).astype(np.float32)
  return transitions.Transition(
      observation=observation, action=rng.uniform(-2, 2, (size, 2)).astype(np.float32),
      reward=rng.normal(size=size).astype(np.float32), next_observation=next_observation,
      terminated=np.array([0, 1, 0, 0, 0][:size], np.float32),
      truncated=np.array([0, 0, 1, 0, 0][:size], np.float32),
      discount_weight=np.ones(size, np.float32))


def _phi(observation):
  """ScaledObservation by hand: [2 (x - low) / (high - low) - 1, 1]."""
  low, high = OBS.minimum, OBS.maximum
  return np.concatenate([2 * (observation - low) / (high - low) - 1,
                         np.ones((len(observation), 1))], axis=1)


class CompatibleFeaturesTest(tf.test.TestCase):

  def test_equal_the_policy_jacobian_times_the_action_offset(self):
    policy = _policy()
    rng = np.random.default_rng(1)
    policy.theta.assign(rng.normal(size=(4, 2)).astype(np.float32))
    batch = _batch()
    got = learner_lib.compatible_features(policy, batch.observation, batch.action).numpy()
    # mu_k = sum_i phi_i theta_ik, so d mu_j / d theta_ik = phi_i [j = k] and
    # phi(s, a)_ik = sum_j (d mu_j / d theta_ik)(a_j - mu_j) = phi_i (a_k - mu_k).
    phi = _phi(batch.observation)
    mu = phi @ policy.theta.numpy()
    expected = phi[:, :, None] * (batch.action - mu)[:, None, :]
    self.assertAllClose(got, expected, atol=1e-5)

  def test_advantage_is_the_compatible_features_times_w(self):
    policy = _policy()
    config = dpg_config.DPGConfig(features='linear', jit_compile=False)
    learner = learner_lib.COPDACQLearner(policy, config, OBS, ACTION)
    rng = np.random.default_rng(2)
    policy.theta.assign(rng.normal(size=(4, 2)).astype(np.float32))
    learner.w.assign(rng.normal(size=(4, 2)).astype(np.float32))
    batch = _batch()
    phi_sa = learner_lib.compatible_features(policy, batch.observation, batch.action).numpy()
    expected = np.einsum('bik,ik->b', phi_sa, learner.w.numpy())
    self.assertAllClose(learner.advantage(batch.observation, batch.action), expected,
                        atol=1e-5)
    mu = policy.mu(batch.observation)
    self.assertAllClose(learner.advantage(batch.observation, mu), np.zeros(5), atol=1e-6)


class UpdateTest(tf.test.TestCase):

  def test_one_update_matches_equations_19_to_22(self):
    config = dpg_config.DPGConfig(features='linear', discount=0.9, actor_learning_rate=0.3,
                                  critic_learning_rate=0.2, value_learning_rate=0.1,
                                  jit_compile=False)
    policy = _policy()
    learner = learner_lib.COPDACQLearner(policy, config, OBS, ACTION)
    rng = np.random.default_rng(3)
    theta, w, v = (rng.normal(size=s).astype(np.float32) for s in ((4, 2), (4, 2), (4, 1)))
    policy.theta.assign(theta)
    learner.w.assign(w)
    learner.v.assign(v)
    batch = _batch()
    metrics = learner.step(batch)

    phi, phi_next = _phi(batch.observation), _phi(batch.next_observation)
    mu = phi @ theta
    offset = batch.action - mu
    advantage = np.einsum('bi,bk,ik->b', phi, offset, w)
    value, next_value = (phi @ v)[:, 0], (phi_next @ v)[:, 0]
    delta = (batch.reward + 0.9 * (1 - batch.terminated) * next_value - value - advantage)
    jacobian_w = phi @ w  # grad_theta mu(s)^T w, [B, A]
    theta_step = np.einsum('bi,bk->ik', phi, jacobian_w) / 5          # eq. 20
    w_step = np.einsum('b,bi,bk->ik', delta, phi, offset) / 5         # eq. 21
    v_step = np.einsum('b,bi->i', delta, phi)[:, None] / 5            # eq. 22
    # Linear features: one active feature (the bias) scales nothing.
    self.assertAllClose(policy.theta, theta + 0.3 * theta_step, atol=1e-5)
    self.assertAllClose(learner.w, w + 0.2 * w_step, atol=1e-5)
    self.assertAllClose(learner.v, v + 0.1 * v_step, atol=1e-5)
    self.assertAllClose(metrics['td_error'], delta.mean(), atol=1e-5)
    self.assertEqual(int(learner.num_updates.numpy()), 1)

  def test_behaviour_actions_are_noisy_around_mu_and_capped(self):
    policy = _policy()
    policy.theta.assign(np.full((4, 2), 0.5, np.float32))
    observation = np.zeros((2000, 3), np.float32)
    action = policy.step(observation)[0].numpy()
    mu = policy.mu(observation).numpy()
    self.assertTrue(np.all(action <= 2.0) and np.all(action >= -2.0))
    self.assertAllClose(np.mean(action - mu, axis=0), [0, 0], atol=0.1)
    self.assertAllClose(np.std(action, axis=0), [1.0, 1.0], atol=0.1)  # 0.5 of half-range 2.
    self.assertAllClose(policy.mode(observation[:1]), np.clip(mu[:1], -2, 2))


class TileCodingTest(tf.test.TestCase):

  def test_one_active_tile_per_tiling_and_a_bias(self):
    phi = features.make_features('tiles', OBS, num_tilings=4, tiles=3)
    self.assertEqual(phi.size, 4 * 4**3 + 1)
    rng = np.random.default_rng(4)
    x = rng.uniform(OBS.minimum - 1, OBS.maximum + 1, size=(50, 3)).astype(np.float32)
    out = phi(x).numpy()
    self.assertEqual(out.shape, (50, phi.size))
    self.assertTrue(np.all(out.sum(axis=1) == 5))  # 4 tilings + bias, also outside the box.
    self.assertTrue(np.all(out[:, -1] == 1))
    per_tiling = out[:, :-1].reshape(50, 4, 64).sum(axis=2)
    self.assertTrue(np.all(per_tiling == 1))

  def test_one_dimension_by_hand(self):
    # [0, 1] in 2 intervals, 2 tilings offset by (0, 1/2) of an interval: 3 cells each.
    spec = specs.BoundedArray((1,), np.float32, 0.0, 1.0)
    phi = features.make_features('tiles', spec, num_tilings=2, tiles=2)
    out = phi(np.array([[0.1], [0.3], [0.6], [1.0]], np.float32)).numpy()
    # Tiling 0 cells: [0, .5), [.5, 1), [1]; tiling 1 (shifted by 1/4): [0, .25), [.25, .75), ...
    expected = np.array([[1, 0, 0, 1, 0, 0, 1],
                         [1, 0, 0, 0, 1, 0, 1],
                         [0, 1, 0, 0, 1, 0, 1],
                         [0, 0, 1, 0, 0, 1, 1]], np.float32)
    self.assertAllEqual(out, expected)

  def test_unbounded_observations_are_refused(self):
    with self.assertRaisesRegex(ValueError, 'finite bounds'):
      features.make_features('tiles', specs.BoundedArray((2,), np.float32, -np.inf, np.inf))
    with self.assertRaisesRegex(ValueError, 'bounded'):
      features.make_features('linear', specs.Array((2,), np.float32))


class ConfigTest(tf.test.TestCase):

  def test_checks_and_docs(self):
    config_lib.check_documented(dpg_config.DPGConfig)
    with self.assertRaisesRegex(config_lib.ConfigError, 'DPGConfig.features'):
      dpg_config.DPGConfig(features='fourier')
    with self.assertRaisesRegex(config_lib.ConfigError, 'DPGConfig.behaviour_sigma'):
      dpg_config.DPGConfig(behaviour_sigma=0.0)
    self.assertEqual(dpg_config.DPGConfig().active_features, 9)


if __name__ == '__main__':
  tf.test.main()
