"""A2C learner: one compiled update on a fake rollout, checked against numpy, across strategies."""

import json
import os
import subprocess
import sys
import textwrap

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.a2c import builder
from agents.a2c import config as a2c_config
from agents.common import config as common_config
from agents.common import core
from agents.common import policies
from agents.common import rollout as rollout_lib

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_DISCRETE = specs.DiscreteArray(3, dtype=np.int32, name='action')
_CONTINUOUS = specs.BoundedArray((2,), np.float32, -1.0, 1.0, name='action')
_T, _B = 5, 4


def fake_rollout(action_spec, parts, seed=0):
  """A [T, B] rollout of random data with a termination and a time-limit truncation."""
  rng = np.random.default_rng(seed)
  observation = rng.normal(size=(_T, _B, 3)).astype(np.float32)
  if isinstance(action_spec, specs.DiscreteArray):
    action = rng.integers(0, action_spec.num_values, size=(_T, _B)).astype(np.int32)
  else:
    action = rng.uniform(-1, 1, size=(_T, _B, 2)).astype(np.float32)
  value = parts.network.value(observation.reshape(_T * _B, 3)).numpy().reshape(_T, _B)
  terminated = np.zeros((_T, _B), np.float32)
  truncated = np.zeros((_T, _B), np.float32)
  terminated[1, 0] = 1.0
  truncated[2, 1] = 1.0
  return rollout_lib.Rollout(
      observation=observation, action=action,
      reward=rng.normal(size=(_T, _B)).astype(np.float32), terminated=terminated,
      truncated=truncated, log_prob=np.zeros((_T, _B), np.float32), value=value,
      truncation_value=truncated * rng.normal(size=(_T, _B)).astype(np.float32),
      bootstrap_value=rng.normal(size=(_B,)).astype(np.float32))


def make(action_spec, strategy=None, horizon=1, **overrides):
  """A2C's components; `horizon` is the env steps the learning rate anneals over."""
  config = a2c_config.A2CConfig(**{**dict(num_envs=_B, num_steps_per_env=_T, hidden_sizes=(8,)),
                                   **overrides})
  return builder.make_components(core.EnvironmentSpec(_OBS_SPEC, action_spec), config,
                                 strategy or tf.distribute.get_strategy(), seed=1,
                                 horizon=horizon)


def numpy_returns(rollout, discount):
  """Algorithm S3's backward recursion, written out per environment and step."""
  returns = np.zeros((_T, _B), np.float32)
  for b in range(_B):
    ret = rollout.bootstrap_value[b]
    for t in reversed(range(_T)):
      if rollout.truncated[t, b]:  # A time-limit cut: bootstrap from the real final state.
        ret = rollout.truncation_value[t, b]
      ret = rollout.reward[t, b] + discount * (1.0 - rollout.terminated[t, b]) * ret
      returns[t, b] = ret
  return returns


def _log_softmax(logits):
  shifted = logits - logits.max(-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


class A2CLearnerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('discrete_shared', _DISCRETE, True), ('discrete_separate', _DISCRETE, False),
      ('continuous_shared', _CONTINUOUS, True), ('continuous_separate', _CONTINUOUS, False))
  def test_update_changes_every_variable_and_is_finite(self, action_spec, shared):
    parts = make(action_spec, shared_torso=shared, normalize_observations=True)
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    metrics = parts.learner.step(fake_rollout(action_spec, parts))
    self.assertContainsSubset(
        {'loss', 'policy_loss', 'value_loss', 'entropy', 'grad_norm', 'explained_variance',
         'learning_rate'}, set(metrics))
    for name, value in metrics.items():
      self.assertEqual(value.shape, (), name)
      self.assertTrue(np.isfinite(value.numpy()), name)
    for b, v in zip(before, parts.network.trainable_variables):
      self.assertNotAllClose(b, v.numpy(), msg=f'{v.name} did not change')
    self.assertIsInstance(parts.policy, policies.ActorCriticPolicy)
    self.assertEqual(int(parts.learner.num_updates.numpy()), 1)
    # Observation statistics move after the update, with the rollout's observations.
    self.assertGreater(float(parts.observation_normalizer.count.numpy()), _T * _B)

  @parameterized.named_parameters(('n_step', 'n_step', 1.0), ('gae_lambda_1', 'gae', 1.0))
  def test_loss_and_gradient_match_numpy(self, estimator, gae_lambda):
    # A linear softmax policy and a linear value: logits = x W + b, V = x w + c. With a large
    # RMSProp epsilon the first step is theta -= lr * g / sqrt((1 - rho) g^2 + eps), which is
    # inverted exactly to read the gradient back.
    lr, rho, eps, c_v, c_e, gamma = 0.1, 0.9, 1.0, 0.7, 0.3, 0.9
    parts = make(_DISCRETE, hidden_sizes=(), shared_torso=False, learning_rate=lr,
                 anneal_learning_rate=False, rmsprop_decay=rho, optimizer_epsilon=eps,
                 value_coef=c_v, entropy_coef=c_e, discount=gamma, max_grad_norm=0.0,
                 advantage_estimator=estimator, gae_lambda=gae_lambda)
    rollout = fake_rollout(_DISCRETE, parts, seed=3)
    w_pi, b_pi = [v.numpy() for v in parts.network.policy_head.trainable_variables]
    w_v, b_v = [v.numpy() for v in parts.network.value_head.trainable_variables]
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    metrics = parts.learner.step(rollout)

    n = _T * _B
    x = rollout.observation.reshape(n, 3)
    a = rollout.action.reshape(n)
    log_p = _log_softmax(x @ w_pi + b_pi)
    p = np.exp(log_p)
    value = (x @ w_v + b_v).reshape(n)
    returns = numpy_returns(rollout, gamma).reshape(n)
    advantage = returns - value
    entropy = -(p * log_p).sum(-1)
    log_pi = log_p[np.arange(n), a]
    expected_loss = np.mean(-log_pi * advantage + c_v * 0.5 * (returns - value) ** 2
                            - c_e * entropy)
    self.assertAllClose(metrics['loss'], expected_loss, rtol=1e-5, atol=1e-6)
    self.assertAllClose(metrics['policy_loss'], np.mean(-log_pi * advantage), rtol=1e-5)
    self.assertAllClose(metrics['value_loss'], np.mean(0.5 * (returns - value) ** 2), rtol=1e-5)
    self.assertAllClose(metrics['entropy'], np.mean(entropy), rtol=1e-5)

    # d loss / d logits: the score function weighted by the (constant) advantage, and the
    # entropy term dH/dz_k = -p_k (log p_k + H). d loss / d V: c_v (V - R), R constant.
    one_hot = np.eye(3)[a]
    d_logits = (-(one_hot - p) * advantage[:, None]
                + c_e * p * (log_p + entropy[:, None])) / n
    d_value = c_v * (value - returns) / n
    expected = {'policy': (x.T @ d_logits, d_logits.sum(0)),
                'value': (x.T @ d_value[:, None], np.array([d_value.sum()]))}
    gradients = []
    heads = [('policy', parts.network.policy_head), ('value', parts.network.value_head)]
    self.assertLen(parts.network.trainable_variables, 4)  # No torso variables.
    for head_name, head in heads:
      for index, variable in enumerate(head.trainable_variables):  # Kernel, then bias.
        old = before[[v.ref() for v in parts.network.trainable_variables].index(variable.ref())]
        d = (old - variable.numpy()) / lr
        gradient = np.sign(d) * np.sqrt(d ** 2 * eps / (1.0 - (1.0 - rho) * d ** 2))
        gradients.append(gradient)
        self.assertAllClose(gradient, np.reshape(expected[head_name][index], gradient.shape),
                            rtol=1e-4, atol=1e-6, msg=variable.name)
    grad_norm = np.sqrt(sum((g ** 2).sum() for g in gradients))
    self.assertAllClose(metrics['grad_norm'], grad_norm, rtol=1e-4)

  def test_gae_with_lambda_zero_uses_one_step_targets(self):
    parts = make(_DISCRETE, advantage_estimator='gae', gae_lambda=0.0, discount=0.9)
    rollout = fake_rollout(_DISCRETE, parts)
    next_values = np.concatenate([rollout.value[1:], rollout.bootstrap_value[None]], axis=0)
    next_values = np.where(rollout.truncated > 0, rollout.truncation_value, next_values)
    targets = rollout.reward + 0.9 * (1.0 - rollout.terminated) * next_values
    metrics = parts.learner.step(rollout)
    self.assertAllClose(metrics['advantage'], np.mean(targets - rollout.value), rtol=1e-5)

  def test_gradient_is_clipped_to_max_global_norm(self):
    # As above, a large RMSProp epsilon makes the step readable as the applied gradient.
    lr, rho, eps, max_norm = 0.1, 0.9, 1.0, 1e-3
    parts = make(_CONTINUOUS, learning_rate=lr, anneal_learning_rate=False, rmsprop_decay=rho,
                 optimizer_epsilon=eps, max_grad_norm=max_norm)
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    metrics = parts.learner.step(fake_rollout(_CONTINUOUS, parts))
    squares = 0.0
    for old, variable in zip(before, parts.network.trainable_variables):
      d = (old - variable.numpy()) / lr
      squares += np.sum(d ** 2 * eps / (1.0 - (1.0 - rho) * d ** 2))
    self.assertGreater(float(metrics['grad_norm']), 10 * max_norm)  # Reported before clipping.
    self.assertAllClose(np.sqrt(squares), max_norm, rtol=1e-2)

  def test_adam_optimizer(self):
    parts = make(_CONTINUOUS, optimizer='adam', optimizer_epsilon=1e-8)
    self.assertIsInstance(parts.learner.optimizer, tf.keras.optimizers.Adam)
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    parts.learner.step(fake_rollout(_CONTINUOUS, parts))
    for b, v in zip(before, parts.network.trainable_variables):
      # Adam's first step moves every parameter by about lr.
      self.assertAllClose(np.abs(b - v.numpy()), np.full(b.shape, 7e-4), rtol=0.05)

  def test_learning_rate_anneals_linearly(self):
    # Progress = updates done * N * T / horizon: 3 updates of 20 env steps over 80 is 0.75.
    horizon = 4 * _T * _B
    parts = make(_DISCRETE, horizon=horizon, anneal_learning_rate=True)
    parts.learner.num_updates.assign(3)
    # The reference: the same network with a constant learning rate of 7e-4 * (1 - 0.75).
    reference = make(_DISCRETE, anneal_learning_rate=False, learning_rate=7e-4 * 0.25)
    for target, source in zip(reference.network.variables, parts.network.variables):
      target.assign(source)
    rollout = fake_rollout(_DISCRETE, parts)
    metrics = parts.learner.step(rollout)
    reference.learner.step(rollout)
    self.assertAllClose(metrics['learning_rate'], 7e-4 * 0.25)
    # The optimizer applied the annealed rate, not the initial one.
    for got, want in zip(parts.network.trainable_variables,
                         reference.network.trainable_variables):
      self.assertAllClose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7, msg=got.name)
    # Past the horizon the rate stays at 0 and the parameters no longer move.
    parts.learner.num_updates.assign(10)  # 200 env steps > 80.
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    metrics = parts.learner.step(rollout)
    self.assertAllClose(metrics['learning_rate'], 0.0)
    for b, v in zip(before, parts.network.trainable_variables):
      self.assertAllEqual(b, v.numpy())

  def test_jit_and_graph_agree(self):
    results = []
    for jit in (True, False):
      tf.keras.utils.set_random_seed(5)
      parts = make(_CONTINUOUS, jit_compile=jit)
      metrics = parts.learner.step(fake_rollout(_CONTINUOUS, parts))
      results.append((float(metrics['loss']),
                      [v.numpy() for v in parts.network.trainable_variables]))
    self.assertAllClose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
      self.assertAllClose(a, b, rtol=1e-5, atol=1e-6)

  def test_bad_config_names_the_field(self):
    with self.assertRaisesRegex(common_config.ConfigError,
                                "A2CConfig.advantage_estimator='monte_carlo'"):
      a2c_config.A2CConfig(advantage_estimator='monte_carlo')
    with self.assertRaisesRegex(common_config.ConfigError,
                                "A2CConfig.optimizer='sgd': must be one of rmsprop, adam"):
      a2c_config.A2CConfig(optimizer='sgd')


# Runs in a fresh process: logical CPU devices must be configured before TF starts.
_STRATEGY_CHECK = textwrap.dedent('''
    import json
    import numpy as np
    import tensorflow as tf
    from agents.common import distribute
    distribute.split_logical_cpus(2)
    from tests.agents.a2c import test_learner as t
    out = {}
    for name in ('default', 'mirrored'):
      strategy = distribute.make_strategy(name)
      tf.keras.utils.set_random_seed(0)
      # The learning rate anneals over 4 updates; starting after 2, the two updates run at
      # progress 0.5 and 0.75.
      parts = t.make(t._DISCRETE, strategy, horizon=4 * t._T * t._B, entropy_coef=0.01,
                     max_grad_norm=0.1)
      parts.learner.num_updates.assign(2)
      for seed in range(2):
        metrics = parts.learner.step(t.fake_rollout(t._DISCRETE, parts, seed=seed))
      replicas = [[np.asarray(x).tolist() for x in strategy.experimental_local_results(v)]
                  for v in parts.network.trainable_variables]
      out[name] = dict(replicas=strategy.num_replicas_in_sync, variables=replicas,
                       metrics={k: float(v) for k, v in metrics.items()})
    print(json.dumps(out))
''')


class A2CStrategyTest(tf.test.TestCase):

  def test_default_and_mirrored_agree(self):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    result = subprocess.run([sys.executable, '-c', _STRATEGY_CHECK], cwd=root,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, 'PYTHONPATH': root})
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    out = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertEqual(out['mirrored']['replicas'], 2)
    # The last update ran at progress 0.75.
    self.assertAllClose(out['default']['metrics']['learning_rate'], 7e-4 * 0.25)
    self.assertAllClose(out['mirrored']['metrics'], out['default']['metrics'], rtol=1e-5,
                        atol=1e-6)
    for ref, variable in zip(out['default']['variables'], out['mirrored']['variables']):
      for replica_value in variable:  # Every replica holds the same values.
        self.assertAllClose(replica_value, ref[0], rtol=1e-5, atol=1e-6)


if __name__ == '__main__':
  tf.test.main()
