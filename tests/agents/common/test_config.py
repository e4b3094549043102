"""Tests for agents.common.config."""

import dataclasses
import math

from absl.testing import parameterized
import tensorflow as tf

from agents.common import config


@dataclasses.dataclass(frozen=True)
class _Config:
  """A config for the tests.

  Attributes:
    learning_rate: Adam step size.
    num_envs: parallel environments, stepped
      in lock-step.
    gamma: discount.
    strategy: the tf.distribute strategy.

  Notes:
    not_a_field: lines after the attributes are not parsed.
  """
  learning_rate: float = 3e-4
  num_envs: int = 8
  gamma: float = 0.99
  strategy: str = 'default'


@dataclasses.dataclass(frozen=True)
class _Undocumented:
  """Half documented.

  Attributes:
    alpha: documented.
  """
  alpha: int = 1
  beta: int = 2


class FieldDocsTest(tf.test.TestCase):

  def test_field_docs(self):
    self.assertEqual(config.field_docs(_Config), {
        'learning_rate': 'Adam step size.',
        'num_envs': 'parallel environments, stepped in lock-step.',
        'gamma': 'discount.',
        'strategy': 'the tf.distribute strategy.',
    })

  def test_no_docstring(self):

    class Bare:
      pass

    Bare.__doc__ = None
    self.assertEqual(config.field_docs(Bare), {})

  def test_check_documented(self):
    config.check_documented(_Config)
    with self.assertRaisesRegex(TypeError, r"_Undocumented: undocumented fields \['beta'\]"):
      config.check_documented(_Undocumented)


class ChecksTest(tf.test.TestCase, parameterized.TestCase):

  def test_config_error_names_the_class_and_the_field(self):
    error = config.ConfigError(_Config(num_envs=0), 'num_envs', 'must be > 0')
    self.assertIsInstance(error, ValueError)
    self.assertEqual(str(error), '_Config.num_envs=0: must be > 0')
    self.assertEqual((error.owner, error.field, error.value, error.allowed),
                     ('_Config', 'num_envs', 0, 'must be > 0'))
    error = config.ConfigError('RunSettings', 'seed', 'must be >= 0', -1)
    self.assertEqual(str(error), 'RunSettings.seed=-1: must be >= 0')

  def test_check_positive(self):
    config.check_positive(_Config(), 'learning_rate', 'num_envs')
    with self.assertRaises(config.ConfigError) as ctx:
      config.check_positive(_Config(num_envs=0), 'learning_rate', 'num_envs')
    self.assertEqual(str(ctx.exception), '_Config.num_envs=0: must be > 0')
    self.assertEqual(ctx.exception.field, 'num_envs')

  @parameterized.parameters(-1e-3, math.nan)
  def test_check_positive_rejects(self, value):
    with self.assertRaisesRegex(config.ConfigError, r'^_Config.learning_rate=.*: must be > 0$'):
      config.check_positive(_Config(learning_rate=value), 'learning_rate')

  def test_check_non_negative(self):
    config.check_non_negative(_Config(gamma=0.0), 'gamma')
    with self.assertRaises(config.ConfigError) as ctx:
      config.check_non_negative(_Config(gamma=-0.5), 'gamma')
    self.assertEqual(str(ctx.exception), '_Config.gamma=-0.5: must be >= 0')

  @parameterized.parameters(0.0, 0.5, 1.0)
  def test_check_in_range_accepts_bounds(self, gamma):
    config.check_in_range(_Config(gamma=gamma), 'gamma', 0.0, 1.0)

  @parameterized.parameters(-0.1, 1.01, math.nan)
  def test_check_in_range_rejects(self, gamma):
    with self.assertRaises(config.ConfigError) as ctx:
      config.check_in_range(_Config(gamma=gamma), 'gamma', 0.0, 1.0)
    self.assertEqual(str(ctx.exception), f'_Config.gamma={gamma!r}: must be in [0.0, 1.0]')
    self.assertEqual(ctx.exception.field, 'gamma')

  def test_check_choice(self):
    config.check_choice(_Config(), 'strategy', ['default', 'mirrored'])
    with self.assertRaises(config.ConfigError) as ctx:
      config.check_choice(_Config(strategy='tpuu'), 'strategy', iter(['default', 'mirrored']))
    self.assertEqual(str(ctx.exception),
                     "_Config.strategy='tpuu': must be one of default, mirrored")


class ParallelEnvConfigTest(tf.test.TestCase):

  def test_batch_size_and_checks(self):
    parallel = config.ParallelEnvConfig(num_envs=4, num_steps_per_env=5)
    self.assertEqual((parallel.batch_size, parallel.min_num_steps), (20, 20))
    with self.assertRaisesRegex(config.ConfigError,
                                r'^ParallelEnvConfig.num_steps_per_env=0: must be > 0$'):
      config.ParallelEnvConfig(num_steps_per_env=0)
    with self.assertRaisesRegex(config.ConfigError, r'^RolloutConfig.num_envs=0: must be > 0$'):
      config.RolloutConfig(num_envs=0)

  def test_field_docs_come_from_the_base(self):
    docs = config.field_docs(config.RolloutConfig)
    self.assertEqual(docs['num_envs'], 'N, environments stepped in parallel.')
    self.assertIn('gae_lambda', docs)


class CheckNetworkTest(tf.test.TestCase):

  def test_network_fields(self):
    good = dataclasses.make_dataclass('Net', [('activation', str), ('hidden_sizes', tuple)])
    config.check_network(good('relu', (64, 64)))
    with self.assertRaisesRegex(config.ConfigError, r"Net.activation='sigmoidish': must be one of"):
      config.check_network(good('sigmoidish', (64,)))
    with self.assertRaisesRegex(config.ConfigError, r'Net.hidden_sizes=\(64, 0\): sizes must be'):
      config.check_network(good('tanh', (64, 0)))


if __name__ == '__main__':
  tf.test.main()
