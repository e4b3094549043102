"""REINFORCE learner: returns, losses and gradients against numpy on hand-made episodes."""

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import core
from agents.common import episodes
from agents.reinforce import builder
from agents.reinforce import config as reinforce_config

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_DISCRETE = specs.DiscreteArray(3, dtype=np.int32, name='action')
_CONTINUOUS = specs.BoundedArray((2,), np.float32, -1.0, 1.0, name='action')
_T, _B = 4, 3


def make(action_spec=_DISCRETE, **overrides):
  config = reinforce_config.ReinforceConfig(**{**dict(num_envs=_B, hidden_sizes=(8,)),
                                               **overrides})
  return builder.make_components(core.EnvironmentSpec(_OBS_SPEC, action_spec), config,
                                 tf.distribute.get_strategy(), seed=1)


def fake_episodes(action_spec=_DISCRETE, seed=0):
  """Three episodes padded to T = 4: terminated after 2 steps, cut by a time limit after 4
  steps (bootstrapped from V(final obs) = 5.0), terminated after 4 steps."""
  rng = np.random.default_rng(seed)
  observation = rng.normal(size=(_T, _B, 3)).astype(np.float32)
  if isinstance(action_spec, specs.DiscreteArray):
    action = rng.integers(0, 3, size=(_T, _B)).astype(np.int32)
  else:
    action = rng.uniform(-1, 1, size=(_T, _B, 2)).astype(np.float32)
  mask = np.ones((_T, _B), np.float32)
  mask[2:, 0] = 0.0
  terminated = np.zeros((_T, _B), np.float32)
  truncated = np.zeros((_T, _B), np.float32)
  terminated[1, 0] = 1.0
  truncated[3, 1] = 1.0
  terminated[3, 2] = 1.0
  return episodes.EpisodeBatch(
      observation=observation * mask[..., None], action=action * mask.astype(action.dtype).reshape(
          mask.shape + (1,) * (action.ndim - 2)),
      reward=rng.uniform(0.5, 1.5, size=(_T, _B)).astype(np.float32) * mask,
      terminated=terminated, truncated=truncated, mask=mask,
      truncation_value=truncated * 5.0)


def numpy_returns(batch, gamma, truncation='bootstrap'):
  """G_t of each episode, summed backwards from its own end."""
  returns = np.zeros((_T, _B), np.float32)
  for b in range(_B):
    length = int(batch.mask[:, b].sum())
    g = 0.0
    if batch.truncated[length - 1, b] and truncation == 'bootstrap':
      g = batch.truncation_value[length - 1, b]
    for t in reversed(range(length)):
      g = batch.reward[t, b] + gamma * g
      returns[t, b] = g
  return returns


def _log_softmax(logits):
  shifted = logits - logits.max(-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


class ReinforceLearnerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters('bootstrap', 'cut')
  def test_returns_match_numpy(self, truncation):
    parts = make(discount=0.9, truncation=truncation)
    batch = fake_episodes()
    returns = parts.learner.returns(episodes.EpisodeBatch(*map(tf.constant, batch)))
    self.assertAllClose(returns, numpy_returns(batch, 0.9, truncation), rtol=1e-6)
    # Hand check of the truncated episode's last step: r_3 + 0.9 * 5.
    expected_last = batch.reward[3, 1] + (0.9 * 5.0 if truncation == 'bootstrap' else 0.0)
    self.assertAllClose(returns[3, 1], expected_last)

  @parameterized.named_parameters(
      ('reward_to_go_baseline', 'reward_to_go', True, False, False),
      ('reward_to_go_plain', 'reward_to_go', False, False, False),
      ('total_return', 'total', True, False, False),
      ('normalized', 'reward_to_go', True, True, False),
      ('discount_weighting', 'reward_to_go', True, False, True),
      ('everything', 'total', True, True, True))
  def test_sgd_step_is_the_numpy_gradient(self, return_type, baseline, normalize, weighting):
    # Linear softmax policy and linear value with SGD: each parameter moves by -lr * gradient.
    lr_pi, lr_v, gamma, c_e = 0.1, 0.05, 0.9, 0.2
    parts = make(hidden_sizes=(), optimizer='sgd', actor_learning_rate=lr_pi,
                 critic_learning_rate=lr_v, discount=gamma, return_type=return_type,
                 baseline=baseline, truncation='bootstrap' if baseline else 'cut',
                 normalize_returns=normalize, discount_weighting=weighting, entropy_coef=c_e)
    batch = fake_episodes(seed=4)
    w_pi, b_pi = [v.numpy().copy() for v in parts.network.policy_head.trainable_variables]
    w_v, b_v = [v.numpy().copy() for v in parts.network.value_head.trainable_variables]
    metrics = parts.learner.step(batch)

    real = batch.mask.reshape(-1) > 0
    n = real.sum()
    x = batch.observation.reshape(-1, 3)[real]
    a = batch.action.reshape(-1)[real]
    t = np.broadcast_to(np.arange(_T)[:, None], (_T, _B)).reshape(-1)[real]
    returns_tb = numpy_returns(batch, gamma, 'bootstrap' if baseline else 'cut')
    g = returns_tb.reshape(-1)[real]
    weight = np.broadcast_to(returns_tb[:1], (_T, _B)).reshape(-1)[real] if (
        return_type == 'total') else g
    value = (x @ w_v + b_v).reshape(-1)
    if baseline:
      weight = weight - value
    if normalize:
      weight = (weight - weight.mean()) / (weight.std() + 1e-8)
    if weighting:
      weight = weight * gamma ** t
    log_p = _log_softmax(x @ w_pi + b_pi)
    p = np.exp(log_p)
    entropy = -(p * log_p).sum(-1)
    log_pi = log_p[np.arange(n), a]
    self.assertAllClose(metrics['policy_loss'], np.mean(-log_pi * weight), rtol=1e-5)
    self.assertAllClose(metrics['value_loss'], np.mean(0.5 * (g - value) ** 2), rtol=1e-5)
    self.assertAllClose(metrics['entropy'], np.mean(entropy), rtol=1e-5)
    d_logits = (-(np.eye(3)[a] - p) * weight[:, None] + c_e * p * (log_p + entropy[:, None])) / n
    self.assertAllClose((w_pi - parts.network.policy_head.trainable_variables[0].numpy()) / lr_pi,
                        x.T @ d_logits, rtol=1e-4, atol=1e-6)
    self.assertAllClose((b_pi - parts.network.policy_head.trainable_variables[1].numpy()) / lr_pi,
                        d_logits.sum(0), rtol=1e-4, atol=1e-6)
    d_value = (value - g) / n if baseline else np.zeros_like(value)
    self.assertAllClose((w_v - parts.network.value_head.trainable_variables[0].numpy()) / lr_v,
                        (x.T @ d_value)[:, None], rtol=1e-4, atol=1e-6)
    self.assertAllClose((b_v - parts.network.value_head.trainable_variables[1].numpy()) / lr_v,
                        [d_value.sum()], rtol=1e-4, atol=1e-6)

  def test_padding_does_not_change_the_update(self):
    batch = fake_episodes(seed=2)
    padded = episodes.EpisodeBatch(*[
        np.concatenate([x, np.zeros((3,) + x.shape[1:], x.dtype)]) for x in batch])
    results = []
    for b in (batch, padded):
      tf.keras.utils.set_random_seed(3)
      parts = make()
      metrics = parts.learner.step(b)
      results.append(([v.numpy() for v in parts.network.trainable_variables],
                      float(metrics['policy_loss'])))
    self.assertAllClose(results[0][1], results[1][1], rtol=1e-6)
    for u, v in zip(results[0][0], results[1][0]):
      self.assertAllClose(u, v, rtol=1e-5, atol=1e-7)

  @parameterized.named_parameters(('discrete', _DISCRETE), ('continuous', _CONTINUOUS))
  def test_update_changes_every_variable_and_is_finite(self, action_spec):
    parts = make(action_spec)
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    metrics = parts.learner.step(fake_episodes(action_spec))
    for name, value in metrics.items():
      self.assertEqual(value.shape, (), name)
      self.assertTrue(np.isfinite(value.numpy()), name)
    for b, v in zip(before, parts.network.trainable_variables):
      self.assertNotAllClose(b, v.numpy(), msg=f'{v.name} did not change')
    self.assertEqual(int(parts.learner.num_updates.numpy()), 1)

  def test_without_baseline_the_value_network_is_untouched(self):
    parts = make(baseline=False, truncation='cut')
    before = [v.numpy().copy() for v in parts.network.value_variables]
    parts.learner.step(fake_episodes())
    for b, v in zip(before, parts.network.value_variables):
      self.assertAllEqual(b, v.numpy())

  def test_config_fields_are_documented_and_bad_values_name_the_field(self):
    config_lib.check_documented(reinforce_config.ReinforceConfig)
    with self.assertRaisesRegex(config_lib.ConfigError,
                                "ReinforceConfig.truncation='bootstrap': .*needs a value "
                                'function'):
      reinforce_config.ReinforceConfig(baseline=False)
    with self.assertRaisesRegex(config_lib.ConfigError,
                                "ReinforceConfig.return_type='g0': must be one of"):
      reinforce_config.ReinforceConfig(return_type='g0')
    with self.assertRaisesRegex(config_lib.ConfigError,
                                'ReinforceConfig.actor_learning_rate=0.0: must be > 0'):
      reinforce_config.ReinforceConfig(actor_learning_rate=0.0)

  def test_distribution_strategy_is_rejected_naming_the_setting(self):
    with self.assertRaisesRegex(config_lib.ConfigError,
                                "RunSettings.strategy='one_device': REINFORCE supports only "
                                'the default strategy'):
      builder.make_components(core.EnvironmentSpec(_OBS_SPEC, _DISCRETE),
                              reinforce_config.ReinforceConfig(num_envs=_B, hidden_sizes=(8,)),
                              tf.distribute.OneDeviceStrategy('/cpu:0'), seed=1)


if __name__ == '__main__':
  tf.test.main()
