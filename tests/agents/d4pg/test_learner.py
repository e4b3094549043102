"""The D4PG learner on a fixed batch: finite metrics, every network moves, targets track
softly, the critic fits a fixed target, the config checks its support."""

import dm_env
from dm_env import specs
import numpy as np
import reverb
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import learning
from agents.common import replay
from agents.d4pg import config as d4pg_config
from agents.d4pg import learner as learner_lib
import losses
from networks import critics
from networks.torso import layer_seed

OBS = specs.Array((3,), np.float32)
ACTION = specs.BoundedArray((2,), np.float32, -2.0, 2.0)


def _learner(config):
  networks = []
  for _ in range(2):
    networks.append((
        critics.make_deterministic_actor(OBS, ACTION, config.hidden_sizes,
                                         seed=layer_seed(0, 'actor')),
        critics.make_distributional_q_network(OBS, ACTION, config.num_atoms, config.v_min,
                                              config.v_max, config.hidden_sizes,
                                              seed=layer_seed(0, 'critic'))))
  (actor, critic), (target_actor, target_critic) = networks
  learner = learner_lib.D4PGLearner(
      actor, critic, target_actor, target_critic, tf.keras.optimizers.Adam(1e-3),
      tf.keras.optimizers.Adam(1e-3), ACTION, config, tf.distribute.get_strategy(), seed=0)
  return learner, actor, critic, target_actor, target_critic


def _batch(size=16, seed=0):
  rng = np.random.default_rng(seed)
  return replay.Transition(
      observation=rng.normal(size=(size, 3)).astype(np.float32),
      action=rng.uniform(-2, 2, size=(size, 2)).astype(np.float32),
      reward=rng.normal(size=size).astype(np.float32),
      discount=np.full(size, 0.99**5, np.float32),
      next_observation=rng.normal(size=(size, 3)).astype(np.float32), extras={})


class D4PGLearnerTest(tf.test.TestCase):

  def test_update_is_finite_and_moves_every_network(self):
    config = d4pg_config.D4PGConfig(hidden_sizes=(16,), num_atoms=11, v_min=-10.0, v_max=10.0,
                                    batch_size=16, prioritized_replay=False, tau=0.1)
    learner, actor, critic, target_actor, target_critic = _learner(config)
    before = [[v.numpy() for v in n.variables] for n in (actor, critic, target_actor,
                                                         target_critic)]
    metrics = learner.update(_batch())
    for name in ('critic_loss', 'actor_loss', 'critic_grad_norm', 'actor_grad_norm', 'q_value'):
      self.assertTrue(np.isfinite(metrics[name].numpy()), name)
    for old, network in zip(before, (actor, critic, target_actor, target_critic)):
      self.assertTrue(any(not np.array_equal(o, v.numpy())
                          for o, v in zip(old, network.variables)))
    # theta' <- tau theta + (1 - tau) theta' from equal starting points: theta' moved by
    # (1 - tau) times nothing and tau times the online step, so it sits between them.
    for t, o, b in zip(target_critic.variables, critic.variables, before[3]):
      self.assertAllClose(t.numpy(), 0.1 * o.numpy() + 0.9 * b, atol=1e-6)

  def test_critic_fits_a_terminal_reward_distribution(self):
    # With discount 0 the target is the reward itself: Q(s, a) must move towards it.
    config = d4pg_config.D4PGConfig(hidden_sizes=(16,), num_atoms=21, v_min=-10.0, v_max=10.0,
                                    batch_size=16, prioritized_replay=False)
    learner, _, critic, _, _ = _learner(config)
    batch = _batch()._replace(reward=np.full(16, 4.0, np.float32),
                              discount=np.zeros(16, np.float32))
    losses_seen = [float(learner.update(batch)['critic_loss']) for _ in range(600)]
    self.assertLess(losses_seen[-1], losses_seen[0])
    q = critic(batch.observation, batch.action).q_values().numpy()
    self.assertAllClose(q, np.full(16, 4.0), atol=0.3)

  def test_prioritized_update_returns_cross_entropy_priorities(self):
    config = d4pg_config.D4PGConfig(hidden_sizes=(16,), num_atoms=11, v_min=-10.0, v_max=10.0,
                                    batch_size=16)
    learner, *_ = _learner(config)
    batch = _batch()
    batch = batch._replace(extras={'key': tf.constant(np.arange(16, dtype=np.uint64)),
                                   'importance_weight': tf.ones(16)})
    metrics = learner.update(batch)
    self.assertEqual(metrics['priority'].shape, (16,))
    self.assertTrue(np.all(metrics['priority'].numpy() > 0))

  def test_n_step_targets_projected_at_a_termination_and_a_truncation(self):
    # A 3-step episode through the N-step writer (N = 5, so every item is a shortened tail),
    # then the projection of R + d z onto the support: at a termination d = 0 and the target
    # is R alone; at a time-limit truncation d = gamma^m and the target distribution is
    # shifted and shrunk. Compared with a numpy projection (Bellemare et al. 2017, Alg. 1).
    gamma, rewards = 0.9, [1.0, -2.0, 3.0]
    support = np.linspace(-10.0, 10.0, 11)
    target_probs = np.random.default_rng(0).dirichlet(np.ones(11), size=3)
    for terminated in (True, False):
      server = reverb.Server([replay.make_uniform_table(
          'replay', 100, replay.transition_signature(OBS, ACTION), max_times_sampled=1)])
      client = reverb.Client(f'localhost:{server.port}')
      writer = replay.NStepTransitionWriter(client, 'replay', n_step=5, discount=gamma)
      observation = np.zeros(3, np.float32)
      writer.observe_first(dm_env.restart(observation))
      for t, r in enumerate(rewards):
        last = t == len(rewards) - 1
        step = (dm_env.termination(r, observation) if terminated else
                dm_env.truncation(r, observation)) if last else dm_env.transition(r, observation)
        writer.observe(np.zeros(2, np.float32), step)
      writer.flush()
      items = [sample.data for sample in client.sample(
          'replay', 3, emit_timesteps=False, unpack_as_table_signature=True)]
      server.stop()
      # Step t's item has m = 3 - t steps to the episode's end.
      returns = [sum(gamma**k * r for k, r in enumerate(rewards[t:])) for t in range(3)]
      discounts = [0.0 if terminated else gamma**(3 - t) for t in range(3)]
      sampled = sorted((float(i.reward), float(i.discount)) for i in items)
      np.testing.assert_allclose(sampled, sorted(zip(returns, discounts)), rtol=1e-6)
      out = losses.distributional.categorical_td_loss(
          np.zeros((3, 11), np.float32), np.array(returns, np.float32),
          np.array(discounts, np.float32), target_probs.astype(np.float32),
          support.astype(np.float32))
      expected = np.zeros((3, 11))
      for b in range(3):
        for j in range(11):
          tz = np.clip(returns[b] + discounts[b] * support[j], -10.0, 10.0)
          position = (tz + 10.0) / 2.0
          low, high = int(np.floor(position)), int(np.ceil(position))
          if low == high:
            expected[b, low] += target_probs[b, j]
          else:
            expected[b, low] += target_probs[b, j] * (high - position)
            expected[b, high] += target_probs[b, j] * (position - low)
      self.assertAllClose(out.extra.target_probs, expected, atol=1e-5)
      if terminated:  # All the mass on the two atoms around R.
        self.assertAllClose(out.extra.target_q_values, returns, atol=1e-5)

  def test_config_checks_its_support(self):
    with self.assertRaisesRegex(config_lib.ConfigError, 'D4PGConfig.v_max'):
      d4pg_config.D4PGConfig(v_min=1.0, v_max=1.0)
    with self.assertRaisesRegex(config_lib.ConfigError, 'D4PGConfig.num_atoms'):
      d4pg_config.D4PGConfig(num_atoms=1)
    with self.assertRaisesRegex(config_lib.ConfigError, 'critic_weight_decay'):
      d4pg_config.D4PGConfig(critic_weight_decay=0.01)
    config_lib.check_documented(d4pg_config.D4PGConfig)


if __name__ == '__main__':
  tf.test.main()
