"""ACER: updates on a fake environment's segments, the trust-region projection, Retrace on
replayed sequences, and the builder's refusals."""

import tempfile

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.acer import builder
from agents.acer import config as acer_config
from agents.acer import learner as learner_lib
from agents.common import config as common_config
from agents.common import core
from agents.common import environments
from agents.common import off_policy
from agents.common import replay as replay_lib
from tests.agents.common import fake_envs


def setUpModule():
  fake_envs.register()


def _context(env_id='CartPole-v1', **overrides):
  fields = dict(env_id=env_id, spec=environments.environment_spec(env_id), seed=0, env_seed=0,
                num_steps=10_000, strategy=tf.distribute.get_strategy(),
                logdir=tempfile.mkdtemp())
  fields.update(overrides)
  return core.BuildContext(**fields)


def _config(**overrides):
  return acer_config.ACERConfig(**{**dict(num_envs=2, num_steps_per_env=5, hidden_sizes=(8,),
                                          replay_start=10, replay_size=1000), **overrides})


class ACERAgentTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(True, False)
  def test_updates_are_finite_and_change_every_variable(self, trust_region):
    # The fake Counter env: Discrete(3) actions, even-id envs terminate after 3 steps.
    agent = builder.make_agent(_config(trust_region=trust_region),
                               _context(fake_envs.COUNTER_ID))
    learner = agent.learners[0]
    network = learner._network  # pylint: disable=protected-access
    average = learner._average_network  # pylint: disable=protected-access
    before = [v.numpy() for v in network.trainable_variables]
    try:
      agent.actors[0].reset(0)
      replayed = 0
      for _ in range(6):
        metrics = learner.step(agent.actors[0].act(10).experience)
        for name, value in metrics.items():
          self.assertTrue(np.isfinite(value), name)
        replayed += int(metrics['replay_updates'])
      self.assertGreater(replayed, 0)
      self.assertEqual(agent.describe(), '12 segments in replay')
      for old, variable, avg in zip(before, network.trainable_variables,
                                    average.trainable_variables):
        self.assertNotAllClose(old, variable, msg=variable.name)
        self.assertNotAllClose(old, avg, msg=avg.name)
    finally:
      agent.close()

  def test_average_network_follows_the_soft_update(self):
    # One on-policy update (no replay): average' = alpha average + (1 - alpha) network'.
    config = _config(replay_ratio=0.0)
    agent = builder.make_agent(config, _context())
    learner = agent.learners[0]
    network = learner._network  # pylint: disable=protected-access
    average = learner._average_network  # pylint: disable=protected-access
    try:
      agent.actors[0].reset(0)
      for _ in range(2):
        average_before = [v.numpy() for v in average.trainable_variables]
        learner.step(agent.actors[0].act(10).experience)
        for old, avg, variable in zip(average_before, average.trainable_variables,
                                      network.trainable_variables):
          expected = config.average_decay * old + (1.0 - config.average_decay) * variable.numpy()
          self.assertAllClose(avg.numpy(), expected, atol=1e-6, msg=avg.name)
          self.assertNotAllClose(avg.numpy(), old, msg=avg.name)
    finally:
      agent.close()

  def test_on_policy_segment_has_unit_importance_weights(self):
    agent = builder.make_agent(_config(replay_ratio=0.0), _context())
    try:
      agent.actors[0].reset(0)
      for _ in range(3):
        metrics = agent.learners[0].step(agent.actors[0].act(10).experience)
        self.assertAllClose(metrics['importance_weight'], 1.0, atol=1e-4)
        self.assertEqual(metrics['replay_updates'], 0.0)
    finally:
      agent.close()

  def test_projection_satisfies_the_linearized_constraint(self):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=(4, 5)).astype(np.float32)
    average = rng.dirichlet(np.ones(3), size=(4, 5)).astype(np.float32)
    gradient = (10.0 * rng.normal(size=(4, 5, 3))).astype(np.float32)
    k = -average / (probs + 1e-6)
    projected = learner_lib.projected_policy_gradient(gradient, probs, average, 0.5).numpy()
    k_dot = (k * projected).sum(-1)
    self.assertTrue(np.all(k_dot <= 0.5 + 1e-3), k_dot)
    active = (k * gradient).sum(-1) > 0.5
    self.assertTrue(active.any() and (~active).any())
    self.assertAllClose(k_dot[active], np.full(active.sum(), 0.5), atol=1e-3)
    self.assertAllClose(projected[~active], gradient[~active])
    # A bound no gradient reaches leaves every gradient as it is.
    loose = learner_lib.projected_policy_gradient(gradient, probs, average, 1e9)
    self.assertAllClose(loose, gradient)

  def test_retrace_of_a_replayed_sequence_with_a_termination_and_a_truncation(self):
    spec = core.EnvironmentSpec(specs.Array((2,), np.float32), specs.DiscreteArray(3))
    config = _config(num_envs=1, num_steps_per_env=5, replay_start=1)
    parts = builder.make_components(spec, config, tf.distribute.get_strategy(), seed=0)
    table = replay_lib.make_uniform_table(
        replay_lib.DEFAULT_TABLE, 10, learner_lib.sequence_signature(spec.observation,
                                                                     spec.action, 5))
    replay = off_policy.serve_table(table, tempfile.mkdtemp())
    parts.learner.connect(replay)
    rng = np.random.default_rng(1)
    terminated, truncated = np.zeros((5, 1), np.float32), np.zeros((5, 1), np.float32)
    terminated[1, 0], truncated[3, 0] = 1.0, 1.0
    sequences = learner_lib.Sequences(
        observation=rng.normal(size=(6, 1, 2)).astype(np.float32),
        action=np.array([[0], [2], [1], [1], [0]], np.int32),
        reward=rng.normal(size=(5, 1)).astype(np.float32), terminated=terminated,
        truncated=truncated, truncation_value=truncated * 3.0,
        behaviour_probs=rng.dirichlet(np.ones(3), size=(5, 1)).astype(np.float32))
    try:
      parts.learner._insert(sequences)  # pylint: disable=protected-access
      replayed = parts.learner._sample()  # pylint: disable=protected-access
    finally:
      replay.close()
      parts.learner.disconnect()
    for stored, sampled in zip(sequences, replayed):
      self.assertAllClose(stored, sampled)
    probs = rng.dirichlet(np.ones(3), size=(6, 1)).astype(np.float32)
    q = rng.normal(size=(6, 1, 3)).astype(np.float32)
    q_ret = learner_lib.retrace(replayed, probs, q, 0.9).numpy()[:, 0]
    # Q_ret_t = r_t + gamma_t (V_{t+1} + c_{t+1} (Q_ret_{t+1} - Q_{t+1})), c = min(1, pi/mu).
    values = (probs[:, 0] * q[:, 0]).sum(-1)
    actions = sequences.action[:, 0]
    expected = np.zeros(5)
    carry = values[5]
    for t in reversed(range(5)):
      bootstrap = 3.0 if truncated[t, 0] else carry
      expected[t] = sequences.reward[t, 0] + 0.9 * (1 - terminated[t, 0]) * bootstrap
      c = min(1.0, probs[t, 0, actions[t]] / sequences.behaviour_probs[t, 0, actions[t]])
      carry = values[t] + c * (expected[t] - q[t, 0, actions[t]])
    self.assertAllClose(q_ret, expected, atol=1e-4)

  def test_continuous_actions_remote_replay_and_replicas_are_refused(self):
    with self.assertRaisesRegex(common_config.ConfigError, 'discrete actions'):
      builder.make_agent(_config(), _context('Pendulum-v1'))
    with self.assertRaisesRegex(common_config.ConfigError, 'replay_address'):
      builder.make_agent(_config(), _context(replay_address='localhost:1'))

    class TwoReplicas:
      num_replicas_in_sync = 2

    with self.assertRaisesRegex(common_config.ConfigError, 'strategy.*one replica'):
      builder.make_components(_context().spec, _config(), TwoReplicas(), seed=0)

  def test_config_checks(self):
    common_config.check_documented(acer_config.ACERConfig)
    for field, value in (('replay_size', 3), ('truncation', 0.0), ('average_decay', 1.5),
                         ('replay_ratio', -1.0), ('trust_region_delta', 0.0)):
      with self.assertRaisesRegex(common_config.ConfigError, f'ACERConfig.{field}='):
        acer_config.ACERConfig(**{field: value})


if __name__ == '__main__':
  tf.test.main()
