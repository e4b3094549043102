"""DDPG/TD3 learner: one compiled update on a fake batch, checked against a numpy re-derivation
of the target and the soft update; TD3's delay and smoothing; mirrored equals default."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import replay
from agents.ddpg import builder
from agents.ddpg import config as ddpg_config
from agents.td3 import config as td3_config

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_ACTION_SPEC = specs.BoundedArray((2,), np.float32, [-1.0, -2.0], [1.0, 2.0], name='action')


def fake_batch(size=8, seed=0):
  rng = np.random.default_rng(seed)
  return replay.Transition(
      observation=rng.normal(size=(size, 3)).astype(np.float32),
      action=rng.uniform([-1, -2], [1, 2], size=(size, 2)).astype(np.float32),
      reward=rng.normal(size=size).astype(np.float32),
      discount=np.where(rng.uniform(size=size) < 0.25, 0.0, 0.99).astype(np.float32),
      next_observation=rng.normal(size=(size, 3)).astype(np.float32), extras={})


def small(config_cls, **kwargs):
  return config_cls(hidden_sizes=(16, 16), batch_size=8, learning_starts=8, **kwargs)


_SPEC = core.EnvironmentSpec(_OBS_SPEC, _ACTION_SPEC)


def make(config, seed=0):
  return builder.make_components(_SPEC, config, tf.distribute.get_strategy(), seed)


def values(variables):
  return [v.numpy().copy() for v in variables]


class DDPGLearnerTest(parameterized.TestCase):

  @parameterized.parameters(False, True)
  def test_update_is_finite_and_changes_actor_and_critic(self, jit_compile):
    agent = make(small(ddpg_config.DDPGConfig, jit_compile=jit_compile))
    actor_before = values(agent.actor_network.trainable_variables)
    critic_before = values(agent.critic.trainable_variables)
    metrics = agent.learner.update(fake_batch())
    for name, value in metrics.items():
      self.assertTrue(np.isfinite(value.numpy()), name)
    for before, after in ((actor_before, agent.actor_network.trainable_variables),
                          (critic_before, agent.critic.trainable_variables)):
      self.assertTrue(any(not np.allclose(b, a.numpy()) for b, a in zip(before, after)))
    self.assertEqual(int(agent.learner.num_updates.numpy()), 1)

  def test_critic_target_and_soft_update_match_numpy(self):
    config = small(ddpg_config.DDPGConfig, tau=0.1, critic_weight_decay=0.0)
    agent = make(config)
    # Move the online networks away from the targets, so the soft update is visible.
    for variable in agent.actor_network.trainable_variables + agent.critic.trainable_variables:
      variable.assign_add(0.05 * tf.ones_like(variable))
    learner = agent.learner
    target_actor, target_critic = learner._target_actor, learner._target_critic
    batch = fake_batch()
    expected_target = batch.reward + batch.discount * target_critic(
        batch.next_observation, target_actor(batch.next_observation)).numpy()
    target_before = values(target_critic.variables)
    online_before = values(agent.critic.variables)
    metrics = learner.update(batch)
    np.testing.assert_allclose(metrics['target'].numpy(), expected_target.mean(), rtol=1e-5)
    # The critic moved first, then the targets took a tau step towards it.
    online_after = values(agent.critic.variables)
    for old_target, new_online, new_target in zip(target_before, online_after,
                                                   target_critic.variables):
      np.testing.assert_allclose(new_target.numpy(), 0.1 * new_online + 0.9 * old_target,
                                 rtol=1e-5, atol=1e-6)
    self.assertTrue(any(not np.allclose(a, b) for a, b in zip(online_before, online_after)))

  def test_critic_loss_matches_numpy_with_weight_decay(self):
    config = small(ddpg_config.DDPGConfig, critic_weight_decay=0.01)
    agent = make(config)
    learner, batch = agent.learner, fake_batch()
    target = batch.reward + batch.discount * learner._target_critic(
        batch.next_observation, learner._target_actor(batch.next_observation)).numpy()
    q = agent.critic(batch.observation, batch.action).numpy()
    l2 = sum(np.sum(v.numpy() ** 2) for v in agent.critic.trainable_variables
             if 'kernel' in v.name)
    expected = np.mean(0.5 * (q - target) ** 2) + 0.5 * 0.01 * l2
    np.testing.assert_allclose(learner.update(batch)['critic_loss'].numpy(), expected, rtol=1e-5)

  @parameterized.parameters(False, True)
  def test_prioritized_replay_weights_the_critic_loss_and_returns_priorities(self, jit_compile):
    config = small(ddpg_config.DDPGConfig, critic_weight_decay=0.0, prioritized_replay=True,
                   priority_epsilon=0.01, jit_compile=jit_compile)
    agent = make(config)
    learner = agent.learner
    weights = np.linspace(0.2, 1.0, 8).astype(np.float32)
    keys = np.arange(100, 108, dtype=np.uint64)
    batch = fake_batch()._replace(extras=dict(key=keys, importance_weight=weights))
    target = batch.reward + batch.discount * learner._target_critic(
        batch.next_observation, learner._target_actor(batch.next_observation)).numpy()
    q = agent.critic(batch.observation, batch.action).numpy()
    metrics = learner.update(batch)
    np.testing.assert_allclose(metrics['critic_loss'].numpy(),
                               np.mean(weights * 0.5 * (q - target) ** 2), rtol=1e-5)
    np.testing.assert_allclose(metrics['priority'].numpy(), np.abs(target - q) + 0.01,
                               rtol=1e-5)
    np.testing.assert_array_equal(metrics['key'].numpy(), keys)
    self.assertAlmostEqual(float(learner.max_priority.numpy()),
                           max(1.0, float(np.max(np.abs(target - q) + 0.01))), places=5)

  def test_without_prioritized_replay_no_priorities_are_returned(self):
    metrics = make(small(ddpg_config.DDPGConfig)).learner.update(fake_batch())
    self.assertNotIn('priority', metrics)
    self.assertNotIn('key', metrics)

  def test_step_samples_the_connected_table_and_writes_priorities_back(self):
    config = small(ddpg_config.DDPGConfig, critic_weight_decay=0.0, prioritized_replay=True,
                   priority_epsilon=0.01)
    learner = make(config).learner
    with self.assertRaisesRegex(ValueError, 'connect'):
      learner.step()
    keys = np.arange(100, 108, dtype=np.uint64)
    batch = fake_batch()._replace(extras=dict(key=keys,
                                              importance_weight=np.ones(8, np.float32)))
    iterators, written = [], []

    def make_iterator():
      iterators.append(iter(tf.data.Dataset.from_tensors(batch).repeat()))
      return iterators[-1]

    learner.connect(make_iterator, lambda k, p: written.append((k, p)))
    target = batch.reward + batch.discount * learner._target_critic(
        batch.next_observation, learner._target_actor(batch.next_observation)).numpy()
    q = learner._critic(batch.observation, batch.action).numpy()
    metrics = learner.step()
    # The keys and priorities went to the table, not into the metrics.
    self.assertNotIn('key', metrics)
    self.assertNotIn('priority', metrics)
    self.assertIn('critic_loss', metrics)
    self.assertLen(written, 1)
    np.testing.assert_array_equal(written[0][0], keys)
    np.testing.assert_allclose(written[0][1], np.abs(target - q) + 0.01, rtol=1e-5)
    learner.step()
    self.assertLen(iterators, 1)  # Made at the first step, then kept.
    self.assertLen(written, 2)
    self.assertEqual(int(learner.num_updates.numpy()), 2)

  def test_step_without_prioritized_replay_writes_no_priorities(self):
    learner = make(small(ddpg_config.DDPGConfig)).learner
    written = []
    learner.connect(lambda: iter(tf.data.Dataset.from_tensors(fake_batch()).repeat()),
                    lambda k, p: written.append((k, p)))
    metrics = learner.step()
    self.assertEqual(written, [])
    self.assertNotIn('priority', metrics)
    self.assertEqual(int(learner.num_updates.numpy()), 1)

  def test_observation_batch_norm_updates_moving_statistics(self):
    agent = make(small(ddpg_config.DDPGConfig, observation_batch_norm=True))
    moving_mean = [v for v in agent.actor_network.variables if 'moving_mean' in v.name][0]
    before = moving_mean.numpy().copy()
    agent.learner.update(fake_batch())
    self.assertFalse(np.allclose(before, moving_mean.numpy()))

  def test_ou_noise_persists_within_an_episode_and_resets(self):
    agent = make(small(ddpg_config.DDPGConfig, exploration_noise='ou', exploration_sigma=0.2))
    observation = np.zeros((1, 3), np.float32)
    mode = agent.policy.mode(observation).numpy()
    agent.policy.reset()
    noise = [agent.policy.select(observation).numpy() - mode for _ in range(3)]
    # x_1 = sigma e_1, x_2 = (1 - theta) x_1 + sigma e_2: correlated, not i.i.d.
    self.assertGreater(np.abs(noise[0]).sum(), 0)
    agent.policy.reset()
    self.assertTrue(np.allclose(agent.policy._ou_state.numpy(), 0.0))

  def test_actions_stay_inside_the_bounds(self):
    agent = make(small(ddpg_config.DDPGConfig, exploration_noise='gaussian',
                       exploration_sigma=5.0))
    actions = agent.policy.select(np.random.normal(size=(256, 3)).astype(np.float32)).numpy()
    self.assertTrue(np.all(actions >= [-1, -2]) and np.all(actions <= [1, 2]))
    self.assertGreater(np.mean(np.isclose(np.abs(actions), [1, 2])), 0.5)


class TD3LearnerTest(parameterized.TestCase):

  def test_td3_fields_belong_to_td3_and_ddpg_keeps_its_values(self):
    td3_fields = {'twin_critics', 'policy_delay', 'target_noise', 'target_noise_clip'}
    self.assertEmpty(td3_fields & {f.name for f in dataclasses.fields(ddpg_config.DDPGConfig)})
    self.assertLessEqual(td3_fields, {f.name for f in dataclasses.fields(td3_config.TD3Config)})
    config = small(ddpg_config.DDPGConfig)
    self.assertEqual((config.twin_critics, config.policy_delay, config.target_noise),
                     (False, 1, 0.0))
    # One critic: a single [B] Q tensor, not a pair.
    q = make(config).critic(fake_batch().observation, fake_batch().action)
    self.assertEqual(q.shape, (8,))

  def test_actor_and_targets_update_every_second_step(self):
    agent = make(small(td3_config.TD3Config))
    learner = agent.learner
    actor_snapshots, target_snapshots = [], []
    for i in range(4):
      actor_snapshots.append(values(agent.actor_network.trainable_variables))
      target_snapshots.append(values(learner._target_critic.variables))
      learner.update(fake_batch(seed=i))
    actor_snapshots.append(values(agent.actor_network.trainable_variables))
    target_snapshots.append(values(learner._target_critic.variables))
    changed = lambda a, b: any(not np.allclose(x, y) for x, y in zip(a, b))
    # Updates 0 and 2 move the actor and the targets; updates 1 and 3 only the critics.
    self.assertEqual([changed(actor_snapshots[i], actor_snapshots[i + 1]) for i in range(4)],
                     [True, False, True, False])
    self.assertEqual([changed(target_snapshots[i], target_snapshots[i + 1]) for i in range(4)],
                     [True, False, True, False])

  def test_clipped_double_q_target_with_smoothing_bounds(self):
    # With target noise, the target lies between the ones of the extreme smoothed actions.
    agent = make(small(td3_config.TD3Config, target_noise=0.0))
    batch = fake_batch()
    learner = agent.learner
    next_action = learner._target_actor(batch.next_observation)
    q1, q2 = learner._target_critic(batch.next_observation, next_action)
    expected = batch.reward + batch.discount * np.minimum(q1.numpy(), q2.numpy())
    np.testing.assert_allclose(learner.update(batch)['target'].numpy(), expected.mean(),
                               rtol=1e-5)

  def test_twin_critics_are_both_trained(self):
    agent = make(small(td3_config.TD3Config))
    q1_before = values(agent.critic.q1_network.trainable_variables)
    q2_before = values(agent.critic.q2_network.trainable_variables)
    agent.learner.update(fake_batch())
    for before, network in ((q1_before, agent.critic.q1_network),
                            (q2_before, agent.critic.q2_network)):
      self.assertTrue(any(not np.allclose(b, v.numpy())
                          for b, v in zip(before, network.trainable_variables)))


class MirroredTest(parameterized.TestCase):

  def test_mirrored_on_two_cpus_equals_default(self):
    script = textwrap.dedent('''
        import json, sys
        import numpy as np
        import tensorflow as tf
        from agents.common import distribute
        from agents.ddpg import builder
        from agents.td3 import config as td3_config
        from tests.agents.ddpg import test_learner as t
        distribute.split_logical_cpus(2)
        out = {}
        for name in ('default', 'mirrored'):
          strategy = distribute.make_strategy(name)
          # Prioritized: importance weights per replica, priorities and keys gathered back.
          config = t.small(td3_config.TD3Config, target_noise=0.0, prioritized_replay=True)
          tf.keras.utils.set_random_seed(0)
          agent = builder.make_components(t._SPEC, config, strategy, 0)
          batch = t.fake_batch()._replace(extras=dict(
              key=np.arange(8, dtype=np.uint64),
              importance_weight=np.linspace(0.3, 1.0, 8).astype(np.float32)))
          dataset = tf.data.Dataset.from_tensors(batch).repeat()
          if name == 'mirrored':
            dataset = strategy.experimental_distribute_dataset(dataset)
          iterator = iter(dataset)
          for _ in range(3):
            metrics = agent.learner.step_from(iterator)
          out[name] = [float(np.sum(v.numpy())) for v in agent.actor_network.variables +
                       agent.critic.variables]
          out[name + '_priority'] = metrics['priority'].numpy().tolist()
          out[name + '_key'] = metrics['key'].numpy().tolist()
        print(json.dumps(out))
    ''')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    result = subprocess.run([sys.executable, '-c', script], cwd=root, capture_output=True,
                            text=True, timeout=300,
                            env={**os.environ, 'PYTHONPATH': root, 'TF_CPP_MIN_LOG_LEVEL': '3'})
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    out = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(out['mirrored'], out['default'], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out['mirrored_priority'], out['default_priority'], rtol=1e-4,
                               atol=1e-5)
    self.assertEqual(out['mirrored_key'], list(range(8)))
    self.assertEqual(out['default_key'], list(range(8)))


if __name__ == '__main__':
  tf.test.main()
