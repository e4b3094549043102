"""MADDPG: the centralized critic's inputs, actor gradients that stay with their own agent,
learner steps on a tiny two-agent environment (continuous and discrete actions, ensembles,
inferred policies, independent critics), and the builder's refusals."""

import tempfile

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from agents.common import config as common_config
from agents.common import core
from agents.common import multi_agent
from agents.maddpg import builder
from agents.maddpg import config as maddpg_config
from agents.maddpg import learner as learner_lib
from tests.agents.common import fake_envs


def _make_env(seed=None):
  return multi_agent.ParallelEnvironment(fake_envs.TwoAgents(), seed=seed, name='two')


def _spec():
  env = _make_env()
  return core.EnvironmentSpec(env.observation_spec(), env.action_spec())


def _context(**overrides):
  fields = dict(env_id='mpe2/two', spec=_spec(), seed=0, env_seed=0, num_steps=10_000,
                strategy=tf.distribute.get_strategy(), logdir=tempfile.mkdtemp())
  fields.update(overrides)
  return core.BuildContext(**fields)


def _config(**overrides):
  # One update per step: the rate limiter lets a few batches through right after
  # learning_starts (with the paper's 100 steps per update, not one of 16 after 20 steps).
  return maddpg_config.MADDPGConfig(**{**dict(
      batch_size=16, learning_starts=20, train_every=1, hidden_sizes=(8,), replay_size=1000),
      **overrides})


def _batch(layout, rng, size=16):
  observations = [rng.normal(size=(size, o)).astype(np.float32)
                  for o in layout.observation_sizes]
  actions = []
  for discrete, a in zip(layout.discrete, layout.action_sizes):
    if discrete:
      actions.append(np.eye(a, dtype=np.float32)[rng.integers(a, size=size)])
    else:
      actions.append(rng.uniform(size=(size, a)).astype(np.float32))
  return [tf.constant(o) for o in observations], [tf.constant(a) for a in actions]


class CriticInputTest(tf.test.TestCase):

  def test_centralized_inputs_hold_every_agent_in_order(self):
    observations = [tf.constant([[1.0, 2.0]]), tf.constant([[3.0]]), tf.constant([[4.0, 5.0]])]
    actions = [tf.constant([[10.0]]), tf.constant([[20.0, 21.0]]), tf.constant([[30.0]])]
    for agent in range(3):
      x, a = learner_lib.critic_inputs(observations, actions, agent, centralized=True)
      self.assertAllEqual(x, [[1, 2, 3, 4, 5]])
      self.assertAllEqual(a, [[10, 20, 21, 30]])
    x, a = learner_lib.critic_inputs(observations, actions, 1, centralized=False)
    self.assertAllEqual(x, [[3]])
    self.assertAllEqual(a, [[20, 21]])

  def test_critic_sizes_follow_the_switch(self):
    for centralized, sizes in ((True, [6 + 5, 6 + 5]), (False, [2 + 2, 4 + 3])):
      parts = builder.make_components(_spec(), _config(centralized_critic=centralized),
                                      tf.distribute.get_strategy(), seed=0)
      first = [p.critic.trainable_variables[0].shape[0] for p in parts.networks]
      self.assertEqual(first, sizes)

  def test_critic_sees_each_agent_in_its_place(self):
    # Q_0 of the real learner changes when any one agent's observation or action changes.
    parts = builder.make_components(_spec(), _config(), tf.distribute.get_strategy(), seed=0)
    observations, actions = _batch(parts.layout, np.random.default_rng(0), size=4)
    critic = parts.networks[0].critic
    base = critic(*learner_lib.critic_inputs(observations, actions, 0, True))
    for j in range(2):
      moved = list(observations)
      moved[j] = moved[j] + 1.0
      self.assertNotAllClose(base, critic(*learner_lib.critic_inputs(moved, actions, 0, True)))
      moved = list(actions)
      moved[j] = moved[j] * 0.0
      self.assertNotAllClose(base, critic(*learner_lib.critic_inputs(observations, moved, 0,
                                                                     True)))


class ActorGradientTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(dict(ensemble_size=1), dict(ensemble_size=2))
  def test_actor_gradient_reaches_only_its_own_policy(self, ensemble_size):
    parts = builder.make_components(_spec(), _config(ensemble_size=ensemble_size),
                                    tf.distribute.get_strategy(), seed=0)
    observations, actions = _batch(parts.layout, np.random.default_rng(1))
    sub_policy = tf.constant(np.random.default_rng(2).integers(ensemble_size, size=(16, 2)),
                             tf.int32)
    for agent in range(2):
      variables = [[v for a in p.actors for v in a.trainable_variables] for p in parts.networks]
      with tf.GradientTape() as tape:
        loss = parts.learner.actor_loss(agent, observations, actions, sub_policy)
      gradients = tape.gradient(loss, variables)
      for other in range(2):
        if other == agent:
          self.assertTrue(all(g is not None for g in gradients[other]))
          self.assertGreater(sum(float(tf.reduce_sum(tf.abs(g))) for g in gradients[other]), 0)
        else:
          self.assertTrue(all(g is None for g in gradients[other]), other)

  def test_each_row_trains_only_its_sub_policy(self):
    parts = builder.make_components(_spec(), _config(ensemble_size=2),
                                    tf.distribute.get_strategy(), seed=0)
    observations, actions = _batch(parts.layout, np.random.default_rng(1))
    only_first = tf.zeros([16, 2], tf.int32)
    actors = parts.networks[0].actors
    with tf.GradientTape() as tape:
      loss = parts.learner.actor_loss(0, observations, actions, only_first)
    first, second = tape.gradient(loss, [actors[0].trainable_variables,
                                         actors[1].trainable_variables])
    self.assertGreater(sum(float(tf.reduce_sum(tf.abs(g))) for g in first), 0)
    self.assertEqual(sum(float(tf.reduce_sum(tf.abs(g))) for g in second), 0)


class LearnerStepTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('maddpg', {}),
      ('deterministic_policy', dict(continuous_policy='deterministic')),
      ('independent_ddpg', dict(centralized_critic=False)),
      ('ensemble', dict(ensemble_size=2)),
      ('inferred_policies', dict(infer_policies=True)),
  )
  def test_steps_are_finite_and_change_every_variable(self, overrides):
    agent = builder.make_agent(_config(**overrides), _context(), make_environment=_make_env)
    learner = agent.learners[0]
    variables = [v for p in learner._networks  # pylint: disable=protected-access
                 for network in (*p.actors, p.critic, *(a for a in p.approximations if a))
                 for v in network.trainable_variables]
    before = [v.numpy() for v in variables]
    try:
      actor = agent.actors[0]
      actor.reset(0)
      for _ in range(20):  # learning_starts; then act and learn in turn, as the loop does.
        actor.act(1)
      self.assertTrue(agent.ready_to_learn())
      for _ in range(3):
        actor.act(1)
        metrics = learner.step(None)
        for name, value in metrics.items():
          self.assertTrue(np.isfinite(value), name)
      self.assertIn('q_value_picker_0', metrics)
      for old, variable in zip(before, variables):
        self.assertNotAllClose(old, variable, msg=variable.name)
      result = agent.evaluate(2, 0)
      self.assertEqual(len(result.returns), 2)
      self.assertIn('return_mover', result.details)
    finally:
      agent.close()

  def test_replayed_transitions_hold_each_agent_reward_and_discount(self):
    # Random steps (learning_starts) through the real writer and table; one batch back.
    config = _config(batch_size=4, learning_starts=10)
    agent = builder.make_agent(config, _context(), make_environment=_make_env)
    try:
      agent.actors[0].reset(0)
      for _ in range(10):
        agent.actors[0].act(1)
      agent.actors[0].flush()
      learner = agent.learners[0]
      batch = next(learner._input.make_iterator())  # pylint: disable=protected-access
      self.assertEqual(batch.reward.shape, (4, 2))
      self.assertEqual(batch.discount.shape, (4, 2))
      mover_x = batch.observation[:, 1]
      picker_t = batch.observation[:, 2]
      next_mover_x = batch.next_observation[:, 1]
      mover_push = tf.reduce_sum(batch.action[:, :2], axis=-1)
      self.assertAllClose(next_mover_x, mover_x + mover_push, atol=1e-5)
      self.assertAllClose(batch.reward[:, 0], -(next_mover_x - 1.0) ** 2, atol=1e-4)
      picks = tf.argmax(batch.action[:, 2:], axis=-1)
      # The picker's reward while it is in the episode (it terminates after its 3rd step).
      active = picker_t < 3
      self.assertAllClose(tf.boolean_mask(batch.reward[:, 1], active),
                          tf.boolean_mask(tf.cast(picks, tf.float32) - 1.0, active))
      gamma = config.discount
      expected = np.where(picker_t.numpy() >= 2, 0.0, gamma)
      self.assertAllClose(batch.discount[:, 1], expected)
      self.assertAllClose(batch.discount[:, 0], np.full(4, gamma))
    finally:
      agent.close()


class JointPolicyTest(tf.test.TestCase):

  def test_each_kind_acts_in_its_own_way(self):
    for policy in ('softmax', 'deterministic'):
      parts = builder.make_components(_spec(), _config(continuous_policy=policy),
                                      tf.distribute.get_strategy(), seed=0)
      observation = tf.constant(np.random.default_rng(0).normal(size=(64, 6)), tf.float32)
      k = tf.zeros([64, 2], tf.int32)
      explored = parts.policy.select(observation, k).numpy()
      mode = parts.policy.mode(observation, k).numpy()
      mover, picker = explored[:, :2], explored[:, 2:]
      # The picker (discrete): one-hot samples that vary; its mode is the argmax of its logits.
      self.assertTrue(np.all(picker.sum(axis=1) == 1.0) and np.all((picker == 0) | (picker == 1)))
      logits = parts.networks[1].actors[0](observation[:, 2:]).logits_parameter().numpy()
      self.assertAllEqual(mode[:, 2:], np.eye(3)[logits.argmax(axis=1)])
      if policy == 'softmax':
        # Relaxed Gumbel-softmax samples: points of the simplex; the mode is softmax(logits).
        self.assertAllClose(mover.sum(axis=1), np.ones(64), atol=1e-5)
        mover_logits = parts.networks[0].actors[0](observation[:, :2]).logits_parameter()
        self.assertAllClose(mode[:, :2], tf.nn.softmax(mover_logits), atol=1e-6)
      else:
        self.assertTrue(np.all((mover >= 0.0) & (mover <= 1.0)))
        self.assertAllClose(mode[:, :2], parts.networks[0].actors[0](observation[:, :2]))
      self.assertNotAllClose(explored[:, :2], mode[:, :2])


class RefusalTest(tf.test.TestCase):

  def test_softmax_policy_needs_unit_bounds(self):
    from dm_env import specs  # pylint: disable=import-outside-toplevel
    spec = _spec()
    action = dict(spec.action)
    action['mover_0'] = specs.BoundedArray((2,), np.float32, -1.0, 1.0)
    with self.assertRaisesRegex(common_config.ConfigError, 'continuous_policy'):
      builder.make_components(core.EnvironmentSpec(spec.observation, action), _config(),
                              tf.distribute.get_strategy(), seed=0)
    builder.make_components(core.EnvironmentSpec(spec.observation, action),
                            _config(continuous_policy='deterministic'),
                            tf.distribute.get_strategy(), seed=0)

  def test_single_agent_environment_is_refused(self):
    from agents.common import environments  # pylint: disable=import-outside-toplevel
    with self.assertRaisesRegex(common_config.ConfigError, 'needs a multi-agent environment'):
      builder.make_components(environments.environment_spec('Pendulum-v1'), _config(),
                              tf.distribute.get_strategy(), seed=0)

  def test_config_refusals(self):
    with self.assertRaisesRegex(common_config.ConfigError, 'infer_policies'):
      _config(infer_policies=True, centralized_critic=False)
    with self.assertRaisesRegex(common_config.ConfigError, 'prioritized_replay'):
      _config(prioritized_replay=True)
    with self.assertRaisesRegex(common_config.ConfigError, 'ensemble_size'):
      _config(ensemble_size=0)

  def test_remote_replay_is_refused(self):
    with self.assertRaisesRegex(common_config.ConfigError, 'replay_address'):
      builder.make_agent(_config(), _context(replay_address='localhost:1'),
                         make_environment=_make_env)


if __name__ == '__main__':
  tf.test.main()
