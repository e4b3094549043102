"""Shared learner helpers: batching, the global gradient step, explained variance."""

import types

import numpy as np
import tensorflow as tf

from agents.common import learning


class LearningTest(tf.test.TestCase):

  def test_flatten_time_batch_keeps_trailing_dims(self):
    x = tf.reshape(tf.range(2 * 3 * 4), [2, 3, 4])
    flat = learning.flatten_time_batch(x)
    self.assertEqual(flat.shape, (6, 4))
    self.assertAllEqual(flat[4], x[1, 1])

  def test_explained_variance(self):
    rng = np.random.default_rng(0)
    targets = rng.normal(size=100).astype(np.float32)
    predictions = targets + 0.5 * rng.normal(size=100).astype(np.float32)
    expected = 1.0 - np.var(targets - predictions) / np.var(targets)
    self.assertAllClose(learning.explained_variance(targets, predictions), expected, rtol=1e-4)
    self.assertAllClose(learning.explained_variance(targets, targets), 1.0)

  def test_shard_with_one_replica_is_the_batch(self):
    batch = {'a': tf.range(6)}
    self.assertAllEqual(learning.shard(batch, tf.distribute.get_strategy())['a'], batch['a'])

  def test_apply_global_gradients_clips_the_global_norm(self):
    variables = [tf.Variable([0.0, 0.0]), tf.Variable([0.0])]
    gradients = [tf.constant([3.0, 0.0]), tf.constant([4.0])]  # Global norm 5.
    optimizer = tf.keras.optimizers.SGD(learning_rate=1.0)
    norm = learning.apply_global_gradients(optimizer, gradients, variables,
                                           tf.distribute.get_strategy(), max_grad_norm=1.0)
    self.assertAllClose(norm, 5.0)
    self.assertAllClose(variables[0], [-0.6, 0.0])
    self.assertAllClose(variables[1], [-0.8])

  def test_make_optimizer(self):
    rmsprop = learning.make_optimizer('rmsprop', 1e-3, epsilon=1e-5, rmsprop_decay=0.9)
    self.assertIsInstance(rmsprop, tf.keras.optimizers.RMSprop)
    self.assertAllClose(rmsprop.rho, 0.9)
    self.assertAllClose(rmsprop.epsilon, 1e-5)
    self.assertIsInstance(learning.make_optimizer('adam', 1e-3), tf.keras.optimizers.Adam)
    self.assertIsInstance(learning.make_optimizer('sgd', 1e-3), tf.keras.optimizers.SGD)
    with self.assertRaisesRegex(ValueError, 'make_optimizer'):
      learning.make_optimizer('lion', 1e-3)

  def test_per_process_statistics_are_refused_with_several_workers(self):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec({'worker': ['localhost:1', 'localhost:2']}))
    two_workers = types.SimpleNamespace(cluster_resolver=resolver, num_replicas_in_sync=2)
    self.assertEqual(learning.local_replicas(two_workers), 1)
    config = lambda **kwargs: types.SimpleNamespace(
        **{'normalize_observations': False, 'objective': 'clip', **kwargs})
    with self.assertRaisesRegex(ValueError, 'normalize_observations=True: .*multi-worker'):
      learning.check_no_process_state(two_workers, config(normalize_observations=True),
                                      'normalize_observations', 'objective')
    with self.assertRaisesRegex(ValueError, "objective='kl_penalty': .*multi-worker"):
      learning.check_no_process_state(two_workers, config(objective='kl_penalty'),
                                      'normalize_observations', 'objective')
    learning.check_no_process_state(two_workers, config(), 'normalize_observations', 'objective')
    learning.check_no_process_state(tf.distribute.get_strategy(),
                                    config(normalize_observations=True), 'normalize_observations')

  def test_annealed_learning_rate_follows_the_counter(self):
    counter = tf.Variable(0, dtype=tf.int64)
    schedule = learning.AnnealedLearningRate(
        1e-3, lambda: learning.progress(counter * 10, horizon=40))
    optimizer = learning.make_optimizer('sgd', schedule)
    variable = tf.Variable(1.0)
    for expected_lr in (1e-3, 0.75e-3, 0.5e-3):
      before = variable.numpy()
      optimizer.apply_gradients([(tf.constant(1.0), variable)])
      self.assertAllClose(before - variable.numpy(), expected_lr, rtol=1e-5)
      counter.assign_add(1)
    counter.assign(100)  # Past the horizon the rate stays 0.
    self.assertAllClose(schedule(0), 0.0)
    self.assertEqual(learning.learning_rate(1e-3, False, lambda: 0.0), 1e-3)

  def test_current_learning_rate_is_the_schedules_value(self):
    counter = tf.Variable(1, dtype=tf.int64)
    schedule = learning.AnnealedLearningRate(
        1e-3, lambda: learning.progress(counter * 10, horizon=40))
    current = learning.current_learning_rate(schedule)
    self.assertEqual(current.dtype, tf.float32)
    self.assertEqual(float(current), float(schedule(0)))  # Exactly the optimizer's rate.
    self.assertEqual(float(schedule()), float(schedule(0)))  # Zero-argument (K-FAC's) call.
    constant = learning.current_learning_rate(7e-4)
    self.assertEqual(constant.dtype, tf.float32)
    self.assertEqual(float(constant), float(np.float32(7e-4)))

  def test_separate_optimizers_are_built_for_each_network(self):
    policy, value = tf.Variable([1.0, 2.0]), tf.Variable([3.0])
    network = types.SimpleNamespace(policy_variables=[policy], value_variables=[value])
    config = types.SimpleNamespace(optimizer='sgd', actor_learning_rate=0.1,
                                   critic_learning_rate=0.5)
    actor, critic = learning.separate_optimizers(network, config)
    actor.apply_gradients([(tf.ones(2), policy)])
    critic.apply_gradients([(tf.ones(1), value)])
    self.assertAllClose(policy, [0.9, 1.9])
    self.assertAllClose(value, [2.5])


if __name__ == '__main__':
  tf.test.main()
