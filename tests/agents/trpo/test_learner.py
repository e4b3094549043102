"""TRPO learner: Fisher-vector products against analytic references, the trust region after one
update, rejected steps, the value fit, compilation and strategies."""

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import config as common_config
from agents.common import core
from agents.common import rollout as rollout_lib
from agents.trpo import builder
from agents.trpo import config as trpo_config
import losses

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_DISCRETE = specs.DiscreteArray(3, dtype=np.int32, name='action')
_CONTINUOUS = specs.BoundedArray((2,), np.float32, -1.0, 1.0, name='action')
_T, _B = 8, 4


def make(action_spec, strategy=None, **overrides):
  config = trpo_config.TRPOConfig(**{
      **dict(num_envs=_B, num_steps_per_env=_T, hidden_sizes=(8,), value_minibatch_size=8),
      **overrides})
  return builder.make_components(core.EnvironmentSpec(_OBS_SPEC, action_spec), config,
                                 strategy or tf.distribute.get_strategy(), seed=1)


def on_policy_rollout(action_spec, parts, seed=0, zero_rewards=False):
  """A [T, B] rollout whose actions are sampled from the components' policy, with a termination
  and a time-limit truncation; the policy's log-probs and values, as the rollout actor stores
  them."""
  rng = np.random.default_rng(seed)
  observation = rng.normal(size=(_T, _B, 3)).astype(np.float32)
  action, log_prob, value = parts.policy.step(observation.reshape(_T * _B, 3))
  action = action.numpy().reshape((_T, _B) + action.shape[1:])
  terminated = np.zeros((_T, _B), np.float32)
  truncated = np.zeros((_T, _B), np.float32)
  terminated[1, 0] = 1.0
  truncated[2, 1] = 1.0
  reward = rng.normal(size=(_T, _B)).astype(np.float32)
  value = value.numpy().reshape(_T, _B)
  truncation_value = truncated * rng.normal(size=(_T, _B)).astype(np.float32)
  bootstrap_value = rng.normal(size=(_B,)).astype(np.float32)
  if zero_rewards:  # Every advantage is exactly 0.
    reward, value, truncation_value = (np.zeros((_T, _B), np.float32),) * 3
    bootstrap_value = np.zeros((_B,), np.float32)
  return rollout_lib.Rollout(
      observation=observation, action=action, reward=reward, terminated=terminated,
      truncated=truncated, log_prob=log_prob.numpy().reshape(_T, _B), value=value,
      truncation_value=truncation_value, bootstrap_value=bootstrap_value)


def normalized_advantages(rollout, config):
  advantages = losses.returns.generalized_advantage_estimation(
      rollout.reward, config.discount * (1.0 - rollout.terminated), rollout.value,
      rollout.bootstrap_value, lambda_=config.gae_lambda, truncations=rollout.truncated,
      truncation_values=rollout.truncation_value).numpy().reshape(-1)
  return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


def _softmax(logits):
  e = np.exp(logits - logits.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _snapshot(variables):
  return [v.numpy().copy() for v in variables]


class FisherVectorProductTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('no_damping', 0.0), ('damping', 0.1))
  def test_linear_softmax_matches_analytic_fisher(self, damping):
    # logits = x W + b. At theta = theta_old the Hessian of mean_s KL[pi_old || pi_theta] is the
    # Fisher matrix mean_s J^T (diag(p) - p p^T) J with J v = x VW + vb (logit directions).
    parts = make(_DISCRETE, hidden_sizes=(), cg_damping=damping)
    w, b = [v.numpy() for v in parts.network.policy_head.trainable_variables]
    rng = np.random.default_rng(0)
    # Larger weights than the near-uniform initial head, so p is far from uniform.
    w = rng.normal(size=w.shape).astype(np.float32)
    b = rng.normal(size=b.shape).astype(np.float32)
    for variable, value in zip(parts.network.policy_head.trainable_variables, (w, b)):
      variable.assign(value)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    vw = rng.normal(size=w.shape).astype(np.float32)
    vb = rng.normal(size=b.shape).astype(np.float32)

    product = parts.learner.fisher_vector_product(x, parts.network.policy(x))
    fvw, fvb = [t.numpy() for t in product([tf.constant(vw), tf.constant(vb)])]

    p = _softmax(x @ w + b)
    u = x @ vw + vb
    m = p * u - p * (p * u).sum(-1, keepdims=True)
    self.assertAllClose(fvw, x.T @ m / len(x) + damping * vw, rtol=1e-4, atol=1e-6)
    self.assertAllClose(fvb, m.mean(0) + damping * vb, rtol=1e-4, atol=1e-6)

  def test_linear_softmax_matches_tf_hessians(self):
    # The same product against the explicit 12 x 12 Hessian (tf.hessians) of the mean KL
    # written directly in the flattened parameters theta = [vec(W), b].
    parts = make(_DISCRETE, hidden_sizes=(), cg_damping=0.0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    w, b = [v.numpy() for v in parts.network.policy_head.trainable_variables]
    old_logits = x @ w + b

    @tf.function(autograph=False)
    def hessian():
      theta = tf.constant(np.concatenate([w.ravel(), b]))
      logits = x @ tf.reshape(theta[:9], [3, 3]) + theta[9:]
      p_old = tf.nn.softmax(old_logits)
      kl = tf.reduce_mean(tf.reduce_sum(
          p_old * (tf.nn.log_softmax(old_logits) - tf.nn.log_softmax(logits)), -1))
      return tf.hessians(kl, theta)[0]

    v = rng.normal(size=12).astype(np.float32)
    fvw, fvb = parts.learner.fisher_vector_product(x, parts.network.policy(x))(
        [tf.constant(v[:9].reshape(3, 3)), tf.constant(v[9:])])
    expected = hessian().numpy() @ v
    self.assertAllClose(np.concatenate([fvw.numpy().ravel(), fvb.numpy()]), expected,
                        rtol=1e-4, atol=1e-6)

  def test_gaussian_quadratic_form_matches_finite_differences(self):
    # v^T F v = d^2/de^2 mean KL[pi_old || pi_{theta + e v}] at e = 0 (KL and its gradient are
    # 0 there), by central differences, for an MLP Gaussian policy.
    parts = make(_CONTINUOUS, hidden_sizes=(8,), cg_damping=0.0)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 3)).astype(np.float32)
    variables = list(parts.network.policy_variables)
    theta = _snapshot(variables)
    v = [rng.normal(size=t.shape).astype(np.float32) for t in theta]
    old = parts.network.policy(x)
    fv = parts.learner.fisher_vector_product(x, old)([tf.constant(t) for t in v])
    quadratic = sum(float(np.sum(a * b.numpy())) for a, b in zip(v, fv))

    def kl_at(eps):
      for variable, t, d in zip(variables, theta, v):
        variable.assign(t + eps * d)
      return float(tf.reduce_mean(old.kl_divergence(parts.network.policy(x))))

    eps = 1e-2
    finite = (kl_at(eps) + kl_at(-eps) - 2.0 * kl_at(0.0)) / eps ** 2
    self.assertAllClose(quadratic, finite, rtol=2e-2)


class TRPOLearnerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('discrete', _DISCRETE, False, True), ('continuous', _CONTINUOUS, False, True),
      ('discrete_normalized', _DISCRETE, True, True),
      ('continuous_not_compiled', _CONTINUOUS, True, False))
  def test_one_update_respects_trust_region_and_improves_surrogate(
      self, action_spec, normalize, jit_compile):
    parts = make(action_spec, normalize_observations=normalize, jit_compile=jit_compile)
    config = parts.learner._config
    rollout = on_policy_rollout(action_spec, parts)
    observation = rollout.observation.reshape(_T * _B, 3)
    action = rollout.action.reshape((_T * _B,) + rollout.action.shape[2:])
    if normalize:
      observation = parts.observation_normalizer.normalize(observation)
    old = parts.network.policy(observation)  # An eager snapshot of pi_old.
    value_before = _snapshot(parts.network.value_variables)

    metrics = parts.learner.step(rollout)

    self.assertContainsSubset(
        {'surrogate_improvement', 'expected_improvement', 'kl', 'step_size',
         'line_search_steps', 'accepted', 'entropy', 'value_loss', 'explained_variance'},
        set(metrics))
    for name, value in metrics.items():
      self.assertEqual(value.shape, (), name)
      self.assertTrue(np.isfinite(value.numpy()), name)
    self.assertEqual(float(metrics['accepted']), 1.0)
    new = parts.network.policy(observation)
    kl = float(tf.reduce_mean(old.kl_divergence(new)))
    self.assertGreater(kl, 0.0)
    self.assertLessEqual(kl, config.max_kl * config.kl_tolerance * (1 + 1e-4))
    self.assertAllClose(kl, float(metrics['kl']), rtol=1e-3, atol=1e-7)
    advantages = normalized_advantages(rollout, config)
    ratio = np.exp(new.log_prob(action).numpy() - old.log_prob(action).numpy())
    improvement = np.mean(ratio * advantages) - np.mean(advantages)
    self.assertGreater(improvement, 0.0)
    self.assertAllClose(improvement, float(metrics['surrogate_improvement']), rtol=1e-3,
                        atol=1e-6)
    self.assertGreaterEqual(float(metrics['surrogate_improvement']),
                            config.accept_ratio * float(metrics['expected_improvement']))
    for before, variable in zip(value_before, parts.network.value_variables):
      self.assertNotAllClose(before, variable.numpy(), msg=f'{variable.name} did not change')
    self.assertEqual(int(parts.learner.num_updates.numpy()), 1)
    if normalize:  # Statistics move after the update, with the rollout's observations.
      self.assertGreater(float(parts.observation_normalizer.count.numpy()), _T * _B)

  @parameterized.named_parameters(
      ('unreachable_accept_ratio', dict(accept_ratio=1e9), False),
      ('zero_advantages', {}, True))
  def test_rejected_line_search_keeps_the_policy(self, overrides, zero_rewards):
    parts = make(_DISCRETE, max_backtracks=3, **overrides)
    rollout = on_policy_rollout(_DISCRETE, parts, zero_rewards=zero_rewards)
    policy_before = _snapshot(parts.network.policy_variables)
    value_before = _snapshot(parts.network.value_variables)
    metrics = parts.learner.step(rollout)
    self.assertEqual(float(metrics['accepted']), 0.0)
    self.assertEqual(float(metrics['step_size']), 0.0)
    self.assertEqual(float(metrics['surrogate_improvement']), 0.0)
    self.assertEqual(float(metrics['kl']), 0.0)
    self.assertEqual(float(metrics['line_search_steps']), 3.0)
    for before, variable in zip(policy_before, parts.network.policy_variables):
      self.assertAllEqual(before, variable.numpy())
    if not zero_rewards:  # The value function is fitted whatever the line search does.
      for before, variable in zip(value_before, parts.network.value_variables):
        self.assertNotAllClose(before, variable.numpy())

  def test_compiled_and_uncompiled_updates_agree(self):
    # One minibatch per epoch: XLA and TF draw different stateless shuffles.
    results = []
    kwargs = dict(value_minibatch_size=_T * _B)
    first = make(_CONTINUOUS, jit_compile=True, **kwargs)
    rollout = on_policy_rollout(_CONTINUOUS, first)
    initial = _snapshot(first.network.variables)
    for jit_compile in (True, False):
      parts = first if jit_compile else make(_CONTINUOUS, jit_compile=False, **kwargs)
      for variable, value in zip(parts.network.variables, initial):
        variable.assign(value)
      metrics = parts.learner.step(rollout)
      results.append(({k: float(v) for k, v in metrics.items()},
                       _snapshot(parts.network.trainable_variables)))
    (m1, v1), (m2, v2) = results
    for name in m1:
      self.assertAllClose(m1[name], m2[name], rtol=1e-3, atol=1e-5, msg=name)
    for a, b in zip(v1, v2):
      self.assertAllClose(a, b, rtol=1e-3, atol=1e-5)

  def test_distribution_strategy_is_rejected_naming_the_setting(self):
    with self.assertRaisesRegex(common_config.ConfigError,
                                "RunSettings.strategy='one_device': TRPO supports only the "
                                'default strategy'):
      make(_DISCRETE, strategy=tf.distribute.OneDeviceStrategy('/cpu:0'))


class TRPOConfigTest(tf.test.TestCase, parameterized.TestCase):

  def test_fields_documented_and_tuned_settings_valid(self):
    common_config.check_documented(trpo_config.TRPOConfig)
    for env_id, tuned in trpo_config.TUNED.items():
      with self.subTest(env_id):
        trpo_config.TRPOConfig(**tuned)

  @parameterized.parameters(
      ('max_kl', 0.0), ('backtrack_coef', 1.0), ('kl_tolerance', 0.5),
      ('value_minibatch_size', 7), ('cg_iterations', 0))
  def test_invalid_values_name_the_field(self, field, value):
    with self.assertRaisesRegex(common_config.ConfigError,
                                f'TRPOConfig.{field}={value!r}: '):
      trpo_config.TRPOConfig(**{field: value})


if __name__ == '__main__':
  tf.test.main()
