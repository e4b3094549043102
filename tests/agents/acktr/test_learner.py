"""ACKTR learner: a K-FAC step of A2C's loss on a fake rollout, inside its trust region."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from agents.acktr import builder
from agents.acktr import config as acktr_config
from agents.acktr import learner as learner_lib
from agents.common import config as common_config
from agents.common import core
from tests.agents.a2c import test_learner as a2c_test

_OBS_SPEC = a2c_test._OBS_SPEC  # pylint: disable=protected-access
_T, _B = a2c_test._T, a2c_test._B  # pylint: disable=protected-access


def make(action_spec, strategy=None, **overrides):
  config = acktr_config.ACKTRConfig(**{
      **dict(num_envs=_B, num_steps_per_env=_T, hidden_sizes=(8,)), **overrides})
  return builder.make_components(core.EnvironmentSpec(_OBS_SPEC, action_spec), config,
                                 strategy or tf.distribute.get_strategy(), seed=1, horizon=1000)


class ACKTRLearnerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('discrete_shared', a2c_test._DISCRETE, True),  # pylint: disable=protected-access
      ('discrete_separate', a2c_test._DISCRETE, False),  # pylint: disable=protected-access
      ('continuous_separate', a2c_test._CONTINUOUS, False))  # pylint: disable=protected-access
  def test_step_is_finite_and_changes_every_variable(self, action_spec, shared):
    parts = make(action_spec, shared_torso=shared)
    before = [v.numpy() for v in parts.network.trainable_variables]
    for seed in range(2):
      metrics = parts.learner.step(a2c_test.fake_rollout(action_spec, parts, seed=seed))
      for name, value in metrics.items():
        self.assertTrue(np.isfinite(value), name)
    for old, variable in zip(before, parts.network.trainable_variables):
      self.assertNotAllClose(old, variable, msg=variable.name)
    optimizer = parts.learner.optimizer
    self.assertEqual(int(optimizer.statistics_count), 2)
    # Every dense layer of both torsos and heads has factors (the log-std of a Gaussian
    # policy is the one variable outside them).
    dense = [v for v in parts.network.trainable_variables if 'log_std' not in v.name]
    self.assertLen(optimizer.factors_a, len(dense) // 2)

  def test_trust_region_bounds_the_kl_model(self):
    parts = make(a2c_test._DISCRETE, trust_region=1e-6, momentum=0.0,  # pylint: disable=protected-access
                 anneal_learning_rate=False)
    for seed in range(3):
      metrics = parts.learner.step(a2c_test.fake_rollout(a2c_test._DISCRETE, parts, seed=seed))  # pylint: disable=protected-access
      self.assertAllClose(metrics['kl_model'], 1e-6, rtol=1e-3)
      self.assertLess(metrics['step_size'], 0.25)
    loose = make(a2c_test._DISCRETE, trust_region=1e3, anneal_learning_rate=False)  # pylint: disable=protected-access
    metrics = loose.learner.step(a2c_test.fake_rollout(a2c_test._DISCRETE, loose))  # pylint: disable=protected-access
    self.assertAllClose(metrics['step_size'], 0.25)

  def test_critic_block_is_gauss_newton(self):
    # The value head is linear with one output: its G factor is E[eps^2] for eps ~ N(0, 1),
    # the Gauss-Newton matrix of a unit-variance Gaussian output, whatever the targets are.
    parts = make(a2c_test._DISCRETE, num_envs=64, shared_torso=False, stat_decay=0.0)  # pylint: disable=protected-access
    rng = np.random.default_rng(3)
    observation = rng.normal(size=(_T, 64, 3)).astype(np.float32)
    rollout = a2c_test.fake_rollout(a2c_test._DISCRETE, make(a2c_test._DISCRETE))  # pylint: disable=protected-access
    rollout = rollout._replace(
        observation=observation, action=np.zeros((_T, 64), np.int32),
        **{name: np.zeros((_T, 64), np.float32) for name in (
            'reward', 'terminated', 'truncated', 'log_prob', 'value', 'truncation_value')},
        bootstrap_value=np.zeros(64, np.float32))
    parts.learner.step(rollout)
    optimizer = parts.learner.optimizer
    value_head = [i for i, layer in enumerate(optimizer._layers)  # pylint: disable=protected-access
                  if layer.kernel.shape[1] == 1]
    self.assertLen(value_head, 1)
    g = float(optimizer.factors_g[value_head[0]][0, 0])
    self.assertAllClose(g, 1.0, atol=0.25)  # Mean of 320 squared standard normals.

  def test_several_replicas_are_refused(self):

    class TwoReplicas:
      num_replicas_in_sync = 2

    parts = make(a2c_test._DISCRETE)  # pylint: disable=protected-access
    with self.assertRaisesRegex(ValueError, 'one replica'):
      learner_lib.ACKTRLearner(parts.network, acktr_config.ACKTRConfig(), TwoReplicas(),
                               horizon=1)

  def test_config_checks(self):
    common_config.check_documented(acktr_config.ACKTRConfig)
    for field, value in (('momentum', 1.0), ('stat_decay', -0.1), ('damping', -1.0),
                         ('inverse_every', 0), ('trust_region', -1e-3)):
      with self.assertRaisesRegex(ValueError, f'ACKTRConfig.{field}='):
        acktr_config.ACKTRConfig(**{field: value})


if __name__ == '__main__':
  tf.test.main()
