"""Initial weights depend on the network's seed alone (issue: seeded initializers)."""

from dm_env import specs
import numpy as np
import tensorflow as tf

from networks import actor_critic
from networks import critics
from networks import torso

OBS = specs.Array((3,), np.float32)
DISCRETE = specs.DiscreteArray(2)
BOX = specs.BoundedArray((2,), np.float32, -1.0, 1.0)


def _weights(network):
  return [v.numpy() for v in network.variables]


def _build_all(seed):
  return [
      actor_critic.make_actor_critic(OBS, DISCRETE, (8, 8), seed=seed),
      actor_critic.make_actor_critic(OBS, BOX, (8,), shared_torso=True, seed=seed),
      critics.make_deterministic_actor(OBS, BOX, (8,), seed=seed),
      critics.make_stochastic_actor(OBS, BOX, (8,), seed=seed),
      critics.make_q_network(OBS, BOX, (8,), twin=True, seed=seed),
      critics.make_value_network(OBS, (8,), seed=seed),
      critics.make_distributional_q_network(OBS, BOX, 5, -1.0, 1.0, (8,), seed=seed),
  ]


class SeededInitializersTest(tf.test.TestCase):

  def test_same_seed_same_weights_whatever_the_global_seed_and_build_order(self):
    tf.random.set_seed(1)
    first = [_weights(n) for n in _build_all(seed=7)]
    tf.random.set_seed(2)
    torso.MLP((8,), seed=3)(tf.zeros([1, 3]))  # Extra layers created before.
    second = [_weights(n) for n in reversed(_build_all(seed=7))][::-1]
    for a, b in zip(first, second):
      self.assertEqual(len(a), len(b))
      for x, y in zip(a, b):
        self.assertAllEqual(x, y)

  def test_different_seeds_give_different_kernels(self):
    for a, b in zip(_build_all(seed=0), _build_all(seed=1)):
      kernels = [(x, y) for x, y in zip(_weights(a), _weights(b)) if x.ndim == 2]
      self.assertNotEmpty(kernels)
      for x, y in kernels:
        self.assertNotAllClose(x, y)

  def test_parts_of_one_network_are_not_copies(self):
    twin = critics.make_q_network(OBS, BOX, (8,), twin=True, seed=0)
    q1, q2 = twin.q1_network, twin.q2_network
    self.assertNotAllClose(q1.variables[0], q2.variables[0])
    mlp = torso.MLP((8, 8), seed=0)
    mlp(tf.zeros([1, 8]))
    self.assertNotAllClose(mlp.variables[0], mlp.variables[2])

  def test_layer_seed_depends_on_seed_and_path(self):
    self.assertEqual(torso.layer_seed(3, 'a', 'b'), torso.layer_seed(3, 'a', 'b'))
    seeds = {torso.layer_seed(3, 'a', 'b'), torso.layer_seed(4, 'a', 'b'),
             torso.layer_seed(3, 'a'), torso.layer_seed(3, 'b', 'a')}
    self.assertLen(seeds, 4)
    self.assertTrue(all(0 <= s < 2**31 for s in seeds))


if __name__ == '__main__':
  tf.test.main()
