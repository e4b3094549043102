"""Tests for networks.critics."""

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from networks import critics

OBS_SPEC = specs.Array((5,), np.float32)
ACTION_SPEC = specs.BoundedArray((2,), np.float32, [-2.0, 0.0], [2.0, 3.0])


def _inputs(batch=6):
  return tf.random.normal([batch, 5]), tf.random.uniform([batch, 2])


def _assert_grads_reach_all(test, tape, loss, variables):
  grads = tape.gradient(loss, variables)
  test.assertNotEmpty(variables)
  for var, grad in zip(variables, grads):
    test.assertIsNotNone(grad, var.name)
    test.assertGreater(np.abs(grad.numpy()).sum(), 0.0, var.name)


class QNetworkTest(tf.test.TestCase, parameterized.TestCase):

  def test_q_network_shape_and_gradients(self):
    critic = critics.make_q_network(OBS_SPEC, ACTION_SPEC, hidden_sizes=(16,))
    obs, act = _inputs()
    with tf.GradientTape() as tape:
      q = critic(obs, act)
      loss = tf.reduce_mean(tf.square(q - 1.0))
    self.assertEqual(q.shape, (6,))
    _assert_grads_reach_all(self, tape, loss, critic.trainable_variables)

  def test_q_depends_on_action(self):
    critic = critics.QNetwork(hidden_sizes=(16,))
    obs, act = _inputs()
    self.assertNotAllClose(critic(obs, act), critic(obs, act + 1.0))

  def test_leading_dims(self):
    critic = critics.QNetwork(hidden_sizes=(8,))
    self.assertEqual(
        critic(tf.zeros([3, 4, 5]), tf.zeros([3, 4, 2])).shape, (3, 4))

  def test_twin_q_networks_are_independent(self):
    critic = critics.make_q_network(OBS_SPEC, ACTION_SPEC, hidden_sizes=(16,),
                                    twin=True)
    self.assertIsInstance(critic, critics.TwinQNetwork)
    obs, act = _inputs()
    with tf.GradientTape() as tape:
      q1, q2 = critic(obs, act)
      loss = tf.reduce_mean(tf.square(q1 - 1.0) + tf.square(q2 + 1.0))
    self.assertEqual(q1.shape, (6,))
    self.assertEqual(q2.shape, (6,))
    self.assertNotAllClose(q1, q2)
    ids1 = {id(v) for v in critic.q1_network.trainable_variables}
    ids2 = {id(v) for v in critic.q2_network.trainable_variables}
    self.assertEmpty(ids1 & ids2)
    self.assertLen(critic.trainable_variables, len(ids1) + len(ids2))
    _assert_grads_reach_all(self, tape, loss, critic.trainable_variables)

  def test_tf_function_with_unknown_batch(self):
    critic = critics.make_q_network(OBS_SPEC, ACTION_SPEC, twin=True,
                                    hidden_sizes=(8,))

    @tf.function(input_signature=[tf.TensorSpec([None, 5]),
                                  tf.TensorSpec([None, 2])])
    def min_q(obs, act):
      return tf.minimum(*critic(obs, act))

    for batch in (1, 4):
      self.assertEqual(min_q(*_inputs(batch)).shape, (batch,))
    self.assertEqual(min_q.experimental_get_tracing_count(), 1)

  @parameterized.named_parameters(
      ('discrete', specs.DiscreteArray(3)),
      ('unbounded', specs.Array((2,), np.float32)),
      ('rank2', specs.BoundedArray((2, 2), np.float32, -1.0, 1.0)))
  def test_rejects_non_continuous_action_specs(self, spec):
    with self.assertRaisesRegex(ValueError, 'BoundedArray'):
      critics.make_q_network(OBS_SPEC, spec)


class DistributionalQNetworkTest(tf.test.TestCase):

  def test_logits_support_and_gradients(self):
    critic = critics.make_distributional_q_network(
        OBS_SPEC, ACTION_SPEC, num_atoms=11, v_min=-5.0, v_max=5.0,
        hidden_sizes=(16,))
    obs, act = _inputs()
    with tf.GradientTape() as tape:
      out = critic(obs, act)
      target = tf.one_hot(tf.fill([6], 3), 11)
      loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(
          labels=target, logits=out.logits))
    logits, support = out
    self.assertEqual(logits.shape, (6, 11))
    self.assertAllClose(support, np.linspace(-5.0, 5.0, 11))
    self.assertAllClose(critic.support, support)
    probs = tf.nn.softmax(logits).numpy()
    self.assertAllClose(out.q_values(), probs @ np.linspace(-5.0, 5.0, 11),
                        atol=1e-5)
    self.assertEqual(out.q_values().shape, (6,))
    _assert_grads_reach_all(self, tape, loss, critic.trainable_variables)

  def test_rejects_bad_support(self):
    with self.assertRaises(ValueError):
      critics.DistributionalQNetwork(num_atoms=1)
    with self.assertRaises(ValueError):
      critics.DistributionalQNetwork(v_min=1.0, v_max=1.0)


class DeterministicActorTest(tf.test.TestCase):

  def test_actions_in_bounds_and_gradients(self):
    actor = critics.make_deterministic_actor(OBS_SPEC, ACTION_SPEC,
                                             hidden_sizes=(16, 16))
    self.assertNotEmpty(actor.trainable_variables)  # built eagerly
    critic = critics.QNetwork(hidden_sizes=(16,))
    obs = tf.random.normal([32, 5]) * 100.0
    with tf.GradientTape() as tape:
      actions = actor(obs)
      loss = -tf.reduce_mean(critic(obs, actions))  # DPG actor loss
    self.assertEqual(actions.shape, (32, 2))
    self.assertAllInRange(actions[:, 0], -2.0, 2.0)
    self.assertAllInRange(actions[:, 1], 0.0, 3.0)
    _assert_grads_reach_all(self, tape, loss, actor.trainable_variables)

  def test_tf_function_with_unknown_batch(self):
    actor = critics.make_deterministic_actor(OBS_SPEC, ACTION_SPEC,
                                             hidden_sizes=(8,))
    act = tf.function(actor, input_signature=[tf.TensorSpec([None, 5])])
    self.assertEqual(act(tf.zeros([3, 5])).shape, (3, 2))
    self.assertEqual(act(tf.zeros([7, 5])).shape, (7, 2))

  def test_rejects_discrete_spec(self):
    with self.assertRaisesRegex(ValueError, 'make_deterministic_actor'):
      critics.make_deterministic_actor(OBS_SPEC, specs.DiscreteArray(2))


if __name__ == '__main__':
  tf.test.main()


class OffPolicyNetworksTest(tf.test.TestCase):
  """The SAC policy and value networks, and the DDPG observation batch norm."""

  def test_stochastic_actor_samples_inside_bounds_with_finite_log_prob(self):
    obs_spec = specs.Array((3,), np.float32)
    act_spec = specs.BoundedArray((2,), np.float32, [-1.0, 0.0], [1.0, 4.0])
    actor = critics.make_stochastic_actor(obs_spec, act_spec, (8, 8))
    distribution = actor(tf.random.normal([64, 3]))
    actions, log_prob = distribution.experimental_sample_and_log_prob(seed=(1, 2))
    self.assertEqual(actions.shape, (64, 2))
    self.assertAllInRange(actions[:, 0], -1.0, 1.0)
    self.assertAllInRange(actions[:, 1], 0.0, 4.0)
    self.assertAllEqual(tf.math.is_finite(log_prob), tf.ones([64], tf.bool))
    # log pi(a) of the pushed-forward density: the base log-density minus log|da/du|.
    loc, scale = actor.loc_and_scale(tf.zeros([1, 3]))
    u = tf.constant([[0.3, -0.2]])
    a = tf.constant([[0.0, 2.0]]) + tf.constant([[1.0, 2.0]]) * tf.tanh(u)
    base = np.sum(-0.5 * ((u - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi))
    log_det = np.sum(np.log(np.array([1.0, 2.0]) * (1 - np.tanh(u.numpy()) ** 2)))
    self.assertAllClose(actor(tf.zeros([1, 3])).log_prob(a)[0], base - log_det, rtol=1e-4)

  def test_value_network_maps_observations_to_values(self):
    value = critics.make_value_network(specs.Array((3,), np.float32), (8,))
    self.assertEqual(value(tf.zeros([5, 3])).shape, (5,))

  def test_observation_batch_norm_normalizes_in_training_mode_only(self):
    obs_spec = specs.Array((3,), np.float32)
    act_spec = specs.BoundedArray((1,), np.float32, -1.0, 1.0)
    critic = critics.make_q_network(obs_spec, act_spec, (8,), observation_batch_norm=True)
    observations = tf.random.normal([32, 3]) * 100.0 + 50.0
    actions = tf.zeros([32, 1])
    layer = critic._normalize
    # At inference with the initial moving averages (0 and 1) the input passes unchanged.
    self.assertAllClose(layer(observations, training=False), observations, rtol=1e-2)
    self.assertAllClose(tf.reduce_mean(layer(observations, training=True), axis=0),
                        tf.zeros([3]), atol=1e-3)
    self.assertEqual(critic(observations, actions, training=True).shape, (32,))
