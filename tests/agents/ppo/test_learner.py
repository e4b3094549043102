"""PPO learner: one compiled update on a fake rollout, across strategies."""

import json
import os
import subprocess
import sys
import textwrap

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import config as common_config
from agents.common import core
from agents.common import rollout as rollout_lib
from agents.ppo import builder
from agents.ppo import config as ppo_config

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_DISCRETE = specs.DiscreteArray(2, dtype=np.int32, name='action')
_CONTINUOUS = specs.BoundedArray((2,), np.float32, -1.0, 1.0, name='action')


def fake_rollout(action_spec, t=6, b=4, seed=0, parts=None):
  """A [T, B] rollout with random data; log_prob/value from `parts` so the first ratio is 1."""
  rng = np.random.default_rng(seed)
  observation = rng.normal(size=(t, b, 3)).astype(np.float32)
  if isinstance(action_spec, specs.DiscreteArray):
    action = rng.integers(0, 2, size=(t, b)).astype(np.int32)
  else:
    action = rng.uniform(-1, 1, size=(t, b, 2)).astype(np.float32)
  flat_obs = observation.reshape(t * b, 3)
  distribution, value = parts.network(flat_obs)
  log_prob = distribution.log_prob(action.reshape((t * b,) + action.shape[2:])).numpy()
  terminated = np.zeros((t, b), np.float32)
  truncated = np.zeros((t, b), np.float32)
  terminated[2, 0] = 1.0
  truncated[4, 1] = 1.0
  return rollout_lib.Rollout(
      observation=observation, action=action,
      reward=rng.normal(size=(t, b)).astype(np.float32), terminated=terminated,
      truncated=truncated, log_prob=log_prob.reshape(t, b),
      value=value.numpy().reshape(t, b),
      truncation_value=truncated * rng.normal(size=(t, b)).astype(np.float32),
      bootstrap_value=rng.normal(size=(b,)).astype(np.float32))


def make(action_spec, horizon=1, **overrides):
  """PPO's components; `horizon` is the env steps the schedules anneal over."""
  config = ppo_config.PPOConfig(**{**dict(num_envs=4, num_steps_per_env=6, minibatch_size=12,
                                          num_epochs=2, hidden_sizes=(8,)), **overrides})
  return builder.make_components(core.EnvironmentSpec(_OBS_SPEC, action_spec), config,
                                 tf.distribute.get_strategy(), seed=1, horizon=horizon)


class PPOLearnerTest(parameterized.TestCase):

  @parameterized.named_parameters(('discrete', _DISCRETE), ('continuous', _CONTINUOUS))
  def test_update_changes_every_variable_and_is_finite(self, action_spec):
    parts = make(action_spec, normalize_observations=True, value_clip_epsilon=0.2,
                 entropy_coef=0.01)
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    metrics = parts.learner.step(fake_rollout(action_spec, parts=parts))
    for name, value in metrics.items():
      self.assertTrue(np.isfinite(value.numpy()), name)
    after = [v.numpy() for v in parts.network.trainable_variables]
    for b, a, v in zip(before, after, parts.network.trainable_variables):
      self.assertFalse(np.allclose(a, b), f'{v.name} did not change')
    self.assertEqual(int(parts.learner.num_updates.numpy()), 1)
    # Observation statistics move after the update, with the rollout's observations.
    self.assertGreater(float(parts.observation_normalizer.count.numpy()), 24)

  def test_first_step_ratio_is_one(self):
    parts = make(_DISCRETE, num_epochs=1, minibatch_size=24)
    metrics = parts.learner.step(fake_rollout(_DISCRETE, parts=parts))
    self.assertAlmostEqual(float(metrics['ratio']), 1.0, places=5)
    self.assertAlmostEqual(float(metrics['clip_fraction']), 0.0)
    self.assertAlmostEqual(float(metrics['approx_kl']), 0.0, places=6)

  def test_annealing_reaches_zero_at_the_end(self):
    # Progress = updates done * N * T / horizon: 3 updates of 24 env steps over 96 is 0.75.
    # A large initial rate, so that the 4 Adam steps move some ratios past the annealed
    # epsilon (some of the surrogate is clipped).
    lr = 0.04
    parts = make(_DISCRETE, horizon=4 * 24, learning_rate=lr, anneal_learning_rate=True,
                 anneal_clip_epsilon=True)
    parts.learner.num_updates.assign(3)
    # The reference: constant settings equal to the annealed ones at progress 0.75, the same
    # initial parameters and the same update count (it seeds the minibatch shuffles).
    reference = make(_DISCRETE, learning_rate=lr * 0.25, clip_epsilon=0.2 * 0.25)
    reference.learner.num_updates.assign(3)
    for target, source in zip(reference.network.variables, parts.network.variables):
      target.assign(source)
    rollout = fake_rollout(_DISCRETE, parts=parts)
    metrics = parts.learner.step(rollout)
    expected = reference.learner.step(rollout)
    self.assertAlmostEqual(float(metrics['learning_rate']), lr * 0.25, places=8)
    self.assertAlmostEqual(float(metrics['clip_epsilon']), 0.2 * 0.25, places=6)
    # Adam applied the annealed rate, and the surrogate clipped at the annealed epsilon.
    self.assertGreater(float(expected['clip_fraction']), 0.0)
    self.assertAlmostEqual(float(metrics['clip_fraction']), float(expected['clip_fraction']),
                           places=6)
    for got, want in zip(parts.network.trainable_variables,
                         reference.network.trainable_variables):
      np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6,
                                 err_msg=got.name)
    # At the end of the horizon (and past it) both are 0 and the parameters no longer move.
    parts.learner.num_updates.assign(4)
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    metrics = parts.learner.step(fake_rollout(_DISCRETE, seed=1, parts=parts))
    self.assertEqual(float(metrics['learning_rate']), 0.0)
    self.assertEqual(float(metrics['clip_epsilon']), 0.0)
    for b, v in zip(before, parts.network.trainable_variables):
      np.testing.assert_array_equal(b, v.numpy())

  def test_same_seed_same_parameters(self):
    results = []
    for _ in range(2):
      tf.keras.utils.set_random_seed(3)
      parts = make(_CONTINUOUS)
      parts.learner.step(fake_rollout(_CONTINUOUS, parts=parts))
      results.append([v.numpy() for v in parts.network.trainable_variables])
    for a, b in zip(*results):
      np.testing.assert_array_equal(a, b)

  @parameterized.named_parameters(('discrete', _DISCRETE), ('continuous', _CONTINUOUS))
  def test_kl_penalty_objective_adapts_beta(self, action_spec):
    parts = make(action_spec, objective='kl_penalty', kl_target=1e-9, num_epochs=1,
                 minibatch_size=24)
    rollout = fake_rollout(action_spec, parts=parts)
    metrics = parts.learner.step(rollout)
    # One full-batch step from pi_old: ratio 1 and KL 0 at that point, so the step follows the
    # plain surrogate; afterwards the policy moved, KL > 1.5 * target and beta doubles.
    self.assertAlmostEqual(float(metrics['ratio']), 1.0, places=5)
    self.assertGreater(float(metrics['kl']), 0.0)
    self.assertAlmostEqual(float(metrics['kl_beta']), 1.0)
    self.assertAlmostEqual(float(parts.learner.kl_beta.numpy()), 2.0)
    # A huge target: the measured KL is below target / 1.5, so beta halves.
    parts = make(action_spec, objective='kl_penalty', kl_target=1e9)
    parts.learner.step(fake_rollout(action_spec, parts=parts))
    self.assertAlmostEqual(float(parts.learner.kl_beta.numpy()), 0.5)

  def test_kl_penalty_matches_analytic_kl_of_the_copied_policy(self):
    parts = make(_DISCRETE, objective='kl_penalty', num_epochs=3, minibatch_size=24)
    rollout = fake_rollout(_DISCRETE, parts=parts)
    observation = rollout.observation.reshape(-1, 3)
    old_logits = parts.network.policy(observation).logits_parameter().numpy()
    metrics = parts.learner.step(rollout)
    new_logits = parts.network.policy(observation).logits_parameter().numpy()
    log_p = old_logits - np.log(np.exp(old_logits).sum(-1, keepdims=True))
    log_q = new_logits - np.log(np.exp(new_logits).sum(-1, keepdims=True))
    expected = np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=-1))
    self.assertAlmostEqual(float(metrics['kl']), expected, places=6)

  def test_minibatch_must_divide_batch(self):
    with self.assertRaisesRegex(common_config.ConfigError, 'PPOConfig.minibatch_size=5: must '
                                'divide num_envs \\* num_steps_per_env = 12'):
      ppo_config.PPOConfig(num_envs=2, num_steps_per_env=6, minibatch_size=5)


# Runs in a fresh process: logical CPU devices must be configured before TF starts.
_STRATEGY_CHECK = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    from agents.common import distribute
    distribute.split_logical_cpus(2)
    from tests.agents.ppo import test_learner as t
    from agents.ppo import builder
    out = {}
    for name in ('default', 'one_device', 'mirrored'):
      strategy = distribute.make_strategy(name)
      tf.keras.utils.set_random_seed(0)
      config = t.ppo_config.PPOConfig(num_envs=4, num_steps_per_env=6, minibatch_size=24,
                                      num_epochs=3, hidden_sizes=(8,))
      parts = builder.make_components(t.core.EnvironmentSpec(t._OBS_SPEC, t._DISCRETE), config,
                                      strategy, seed=1)
      for update in range(3):  # Several updates, each on a fresh rollout.
        rollout = t.fake_rollout(t._DISCRETE, seed=update, parts=parts)
        metrics = parts.learner.step(rollout)
      replicas = [[np.asarray(x).tolist() for x in strategy.experimental_local_results(v)]
                  for v in parts.network.trainable_variables]
      out[name] = dict(replicas=strategy.num_replicas_in_sync, variables=replicas,
                       loss=float(metrics['loss']))
    print(json.dumps(out))
''')


class PPOStrategyTest(tf.test.TestCase):

  def test_default_one_device_and_mirrored_agree(self):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    result = subprocess.run([sys.executable, '-c', _STRATEGY_CHECK], cwd=root,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, 'PYTHONPATH': root})
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    out = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertEqual(out['mirrored']['replicas'], 2)
    reference = out['default']['variables']
    for name in ('one_device', 'mirrored'):
      self.assertAllClose(out[name]['loss'], out['default']['loss'], rtol=1e-5)
      for ref, variable in zip(reference, out[name]['variables']):
        for replica_value in variable:  # Every replica holds the same values.
          self.assertAllClose(replica_value, ref[0], rtol=1e-5, atol=1e-6)


if __name__ == '__main__':
  tf.test.main()
