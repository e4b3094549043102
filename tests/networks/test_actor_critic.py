"""Tests for networks.actor_critic."""

import os
import tempfile

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from networks import actor_critic
from networks import distributions
from networks import heads

tfd = tfp.distributions

OBS_SPEC = specs.Array((4,), np.float32)
DISCRETE = specs.DiscreteArray(3)
BOUNDED = specs.BoundedArray((2,), np.float32, [-2.0, 0.0], [2.0, 3.0])

# (name, action_spec, head kwargs, expected event shape)
ACTION_CASES = (
    ('discrete', DISCRETE, {}, ()),
    ('gaussian', BOUNDED, {}, (2,)),
    ('tanh', BOUNDED, {'tanh_squash': True}, (2,)),
)


def _cases():
  for name, spec, kwargs, event_shape in ACTION_CASES:
    for shared in (True, False):
      yield (f'{name}_{"shared" if shared else "separate"}', spec, kwargs,
             event_shape, shared)


class ActorCriticTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*_cases())
  def test_shapes_and_consistency(self, action_spec, kwargs, event_shape,
                                  shared):
    model = actor_critic.make_actor_critic(
        OBS_SPEC, action_spec, hidden_sizes=(16, 16), shared_torso=shared,
        **kwargs)
    obs = tf.random.normal([5, 4])
    dist, value = model(obs)
    self.assertEqual(dist.batch_shape, (5,))
    self.assertEqual(dist.event_shape, event_shape)
    self.assertEqual(value.shape, (5,))
    actions = dist.sample()
    self.assertEqual(actions.shape, (5,) + event_shape)
    self.assertEqual(dist.log_prob(actions).shape, (5,))
    self.assertEqual(distributions.mode(dist).shape, (5,) + event_shape)
    self.assertAllClose(model.value(obs), value)
    self.assertAllClose(model.policy(obs).log_prob(actions),
                        dist.log_prob(actions))
    self.assertEqual(model.shared_torso, shared)

  @parameterized.named_parameters(*_cases())
  def test_gradients_reach_every_variable(self, action_spec, kwargs,
                                          event_shape, shared):
    del event_shape
    model = actor_critic.make_actor_critic(
        OBS_SPEC, action_spec, hidden_sizes=(8,), shared_torso=shared,
        **kwargs)
    obs = tf.random.normal([16, 4])
    actions = model.policy(obs).sample()
    with tf.GradientTape() as tape:
      dist, value = model(obs)
      loss = (-tf.reduce_mean(dist.log_prob(actions)) +
              tf.reduce_mean(tf.square(value - 1.0)))
    variables = model.trainable_variables
    grads = tape.gradient(loss, variables)
    for var, grad in zip(variables, grads):
      self.assertIsNotNone(grad, var.name)
      self.assertTrue(np.all(np.isfinite(grad.numpy())), var.name)
      self.assertGreater(np.abs(grad.numpy()).sum(), 0.0, var.name)

  @parameterized.parameters(True, False)
  def test_shared_vs_separate_variables(self, shared):
    model = actor_critic.make_actor_critic(
        OBS_SPEC, BOUNDED, hidden_sizes=(8, 8), shared_torso=shared)
    policy_ids = {id(v) for v in model.policy_variables}
    value_ids = {id(v) for v in model.value_variables}
    all_ids = {id(v) for v in model.trainable_variables}
    self.assertEqual(policy_ids | value_ids, all_ids)
    torso_vars = 4  # two Dense layers
    self.assertLen(policy_ids & value_ids, torso_vars if shared else 0)
    # Gaussian head: mean kernel/bias + log_std; value head: kernel/bias.
    self.assertLen(all_ids, (1 if shared else 2) * torso_vars + 3 + 2)

  def test_separate_torsos_are_independent(self):
    model = actor_critic.make_actor_critic(
        OBS_SPEC, DISCRETE, hidden_sizes=(8,), shared_torso=False)
    obs = tf.random.normal([5, 4])
    logits_before = model.policy(obs).logits
    value_before = model.value(obs)
    for var in model.value_torso.trainable_variables:
      var.assign_add(tf.ones_like(var))
    self.assertAllClose(model.policy(obs).logits, logits_before)
    self.assertNotAllClose(model.value(obs), value_before)

  def test_shared_torso_affects_both_heads(self):
    model = actor_critic.make_actor_critic(
        OBS_SPEC, DISCRETE, hidden_sizes=(8,), shared_torso=True)
    obs = tf.random.normal([5, 4])
    logits_before = model.policy(obs).logits
    value_before = model.value(obs)
    for var in model.policy_torso.trainable_variables:
      var.assign_add(tf.ones_like(var))
    self.assertNotAllClose(model.policy(obs).logits, logits_before)
    self.assertNotAllClose(model.value(obs), value_before)

  @parameterized.named_parameters(
      (name, spec, kwargs) for name, spec, kwargs, _ in ACTION_CASES)
  def test_tf_function_with_unknown_batch(self, action_spec, kwargs):
    model = actor_critic.make_actor_critic(OBS_SPEC, action_spec, **kwargs)
    self.assertNotEmpty(model.trainable_variables)  # built eagerly

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def step(obs):
      dist, value = model(obs)
      action = dist.sample()
      return action, dist.log_prob(action), distributions.mode(dist), value

    for batch in (1, 7):
      action, log_prob, mode, value = step(tf.random.normal([batch, 4]))
      self.assertEqual(action.shape[0], batch)
      self.assertEqual(log_prob.shape, (batch,))
      self.assertEqual(mode.shape, action.shape)
      self.assertEqual(value.shape, (batch,))
      self.assertTrue(np.all(np.isfinite(log_prob.numpy())))
    self.assertEqual(step.experimental_get_tracing_count(), 1)

  def test_init_log_std_sets_the_gaussian_std_and_is_ignored_for_discrete(self):
    model = actor_critic.make_actor_critic(OBS_SPEC, BOUNDED, init_log_std=-1.0)
    distribution = model.policy(tf.zeros([3, 4]))
    self.assertAllClose(distribution.stddev(), np.full((3, 2), np.exp(-1.0)), rtol=1e-5)
    model = actor_critic.make_actor_critic(OBS_SPEC, DISCRETE, init_log_std=-1.0)
    self.assertEqual(model.policy(tf.zeros([3, 4])).batch_shape, (3,))

  def test_empty_hidden_sizes(self):
    model = actor_critic.make_actor_critic(OBS_SPEC, DISCRETE, hidden_sizes=())
    dist, value = model(tf.random.normal([3, 4]))
    self.assertEqual(dist.logits.shape, (3, 3))
    self.assertEqual(value.shape, (3,))

  def test_image_and_float64_observations(self):
    spec = specs.Array((3, 3, 2), np.float64)
    model = actor_critic.make_actor_critic(spec, DISCRETE, hidden_sizes=(8,))
    dist, value = model(np.random.randn(5, 3, 3, 2))
    self.assertEqual(dist.batch_shape, (5,))
    self.assertEqual(value.shape, (5,))

  def test_rejects_nested_observation_spec(self):
    with self.assertRaisesRegex(ValueError, 'make_torso'):
      actor_critic.make_actor_critic({'a': OBS_SPEC}, DISCRETE)

  def test_custom_parts(self):
    from networks.torso import MLP  # pylint: disable=g-import-not-at-top
    torso = MLP((8,))
    model = actor_critic.ActorCritic(torso, heads.CategoricalHead(2),
                                     heads.ValueHead(), value_torso=torso)
    self.assertTrue(model.shared_torso)
    dist, value = model(tf.zeros([2, 3]))
    self.assertEqual(dist.batch_shape, (2,))
    self.assertEqual(value.shape, (2,))

  def test_checkpoint_round_trip(self):
    model, restored = (
        actor_critic.make_actor_critic(OBS_SPEC, BOUNDED, hidden_sizes=(8,),
                                       tanh_squash=True) for _ in range(2))
    obs = tf.random.normal([4, 4])
    path = tf.train.Checkpoint(model=model).write(
        os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), 'ckpt'))
    tf.train.Checkpoint(model=restored).read(path).assert_consumed()
    self.assertAllClose(distributions.mode(restored.policy(obs)),
                        distributions.mode(model.policy(obs)))
    self.assertAllClose(restored.value(obs), model.value(obs))


if __name__ == '__main__':
  tf.test.main()
