"""Soft Q-learning: the soft value and the SVGD direction against independent computations,
and a learner step on a fake environment."""

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import config as common_config
from agents.common import core
from agents.common import replay
from agents.soft_q import builder
from agents.soft_q import config as soft_q_config

_OBS = specs.Array((3,), np.float32)
_ACTION = specs.BoundedArray((2,), np.float32, -1.0, 1.0)


def _parts(**overrides):
  config = soft_q_config.SoftQConfig(**{**dict(batch_size=8, hidden_sizes=(16,), particles=5,
                                               value_samples=4, learning_starts=1),
                                        **overrides})
  return builder.make_components(core.EnvironmentSpec(_OBS, _ACTION), config,
                                 tf.distribute.get_strategy(), seed=0), config


def _transitions(batch=8, seed=0):
  rng = np.random.default_rng(seed)
  return replay.Transition(
      observation=rng.normal(size=(batch, 3)).astype(np.float32),
      action=rng.uniform(-1, 1, size=(batch, 2)).astype(np.float32),
      reward=rng.normal(size=batch).astype(np.float32),
      discount=np.where(rng.random(batch) < 0.2, 0.0, 0.99).astype(np.float32),
      next_observation=rng.normal(size=(batch, 3)).astype(np.float32), extras={})


def _numpy_svgd(x, score):
  n = len(x)
  sq = ((x[:, None] - x[None]) ** 2).sum(-1)
  off = np.sqrt(sq[~np.eye(n, dtype=bool)])
  h = np.median(off) ** 2 / np.log(n)
  phi = np.zeros_like(x)
  for i in range(n):
    for j in range(n):
      k = np.exp(-sq[j, i] / h)
      phi[i] += k * score[j] + (2.0 / h) * (x[i] - x[j]) * k
  return phi / n


class SoftQTest(tf.test.TestCase, parameterized.TestCase):

  def test_step_is_finite_and_changes_q_and_sampler(self):
    parts, _ = _parts()
    learner = parts.learner
    before = [v.numpy() for v in parts.q_network.trainable_variables +
              parts.sampler.trainable_variables]
    for seed in range(3):
      metrics = learner.update(_transitions(seed=seed))
      for name, value in metrics.items():
        self.assertTrue(np.all(np.isfinite(value)), name)
    after = parts.q_network.trainable_variables + parts.sampler.trainable_variables
    for old, variable in zip(before, after):
      self.assertNotAllClose(old, variable, msg=variable.name)
    actions = parts.policy.select(np.zeros((4, 3), np.float32)).numpy()
    self.assertTrue(np.all(np.abs(actions) <= 1.0))
    self.assertEqual(parts.policy.mode(np.zeros((4, 3), np.float32)).shape, (4, 2))

  def test_stein_directions_equal_a_numpy_computation(self):
    parts, config = _parts(alpha=0.5)
    rng = np.random.default_rng(2)
    observation = rng.normal(size=(1, 3)).astype(np.float32)
    particles = rng.uniform(-1, 1, size=(1, 6, 2)).astype(np.float32)
    directions = parts.learner.stein_directions(observation, particles).numpy()[0]
    # grad_a Q by central differences on the network itself, then SVGD written out.
    grads = np.zeros((6, 2))
    for i in range(6):
      for d in range(2):
        step = np.zeros(2, np.float32)
        step[d] = 1e-3
        plus = parts.q_network(observation, (particles[0, i] + step)[None]).numpy()[0]
        minus = parts.q_network(observation, (particles[0, i] - step)[None]).numpy()[0]
        grads[i, d] = (plus - minus) / 2e-3
    expected = config.alpha * _numpy_svgd(particles[0].astype(np.float64),
                                          grads / config.alpha)
    self.assertAllClose(directions, expected, atol=2e-3, rtol=2e-2)

  def test_soft_value_approaches_the_integral_as_samples_grow(self):
    # Q(s, a) = -4 (a_1 - 0.3)^2 - (a_2 + 0.2)^2 on [-1, 1]^2, alpha = 0.5:
    # V = alpha log of the integral of exp(Q / alpha), by a fine grid.
    alpha = 0.5
    q = lambda a: -4.0 * (a[..., 0] - 0.3) ** 2 - (a[..., 1] + 0.2) ** 2
    grid = (np.arange(2000) + 0.5) / 2000 * 2 - 1
    g1, g2 = np.meshgrid(grid, grid)
    exact = alpha * np.log(np.exp(q(np.stack([g1, g2], -1)) / alpha).mean() * 4.0)

    class Quadratic(tf.Module):

      def __call__(self, observations, actions):
        return q(actions)

    errors = []
    for samples in (4, 64, 4096):
      parts, _ = _parts(alpha=alpha, value_samples=samples, batch_size=64)
      values = parts.learner.soft_value(Quadratic(), tf.zeros([64, 3]), 0).numpy()
      errors.append(abs(float(np.mean(values)) - exact))
    self.assertLess(errors[2], errors[0])
    self.assertLess(errors[2], 0.01)

  def test_config_checks(self):
    common_config.check_documented(soft_q_config.SoftQConfig)
    for field, value in (('particles', 0), ('alpha', 0.0), ('tau', 1.5),
                         ('value_samples', -1)):
      with self.assertRaisesRegex(common_config.ConfigError, f'SoftQConfig.{field}='):
        soft_q_config.SoftQConfig(**{field: value})


if __name__ == '__main__':
  tf.test.main()
