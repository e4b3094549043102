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

from agents.common import rollout as rollout_lib
from agents.ppo import builder
from agents.ppo import config as ppo_config

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_DISCRETE = specs.DiscreteArray(2, dtype=np.int32, name='action')
_CONTINUOUS = specs.BoundedArray((2,), np.float32, -1.0, 1.0, name='action')


def fake_rollout(action_spec, t=6, b=4, seed=0, agent=None):
  """A [T, B] rollout with random data; log_prob/value from `agent` so the first ratio is 1."""
  rng = np.random.default_rng(seed)
  observation = rng.normal(size=(t, b, 3)).astype(np.float32)
  if isinstance(action_spec, specs.DiscreteArray):
    action = rng.integers(0, 2, size=(t, b)).astype(np.int32)
  else:
    action = rng.uniform(-1, 1, size=(t, b, 2)).astype(np.float32)
  flat_obs = observation.reshape(t * b, 3)
  distribution, value = agent.network(flat_obs)
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


def make(action_spec, **overrides):
  config = ppo_config.PPOConfig(**{**dict(num_envs=4, num_steps_per_env=6, minibatch_size=12,
                                          num_epochs=2, hidden_sizes=(8,)), **overrides})
  return builder.make_agent(_OBS_SPEC, action_spec, config, tf.distribute.get_strategy(), seed=1)


class PPOLearnerTest(parameterized.TestCase):

  @parameterized.named_parameters(('discrete', _DISCRETE), ('continuous', _CONTINUOUS))
  def test_update_changes_every_variable_and_is_finite(self, action_spec):
    agent = make(action_spec, normalize_observations=True, value_clip_epsilon=0.2,
                 entropy_coef=0.01)
    before = [v.numpy().copy() for v in agent.network.trainable_variables]
    metrics = agent.learner.update(fake_rollout(action_spec, agent=agent), 0.0)
    for name, value in metrics.items():
      self.assertTrue(np.isfinite(value.numpy()), name)
    after = [v.numpy() for v in agent.network.trainable_variables]
    for b, a, v in zip(before, after, agent.network.trainable_variables):
      self.assertFalse(np.allclose(a, b), f'{v.name} did not change')
    self.assertEqual(int(agent.learner.num_updates.numpy()), 1)
    # Observation statistics move after the update, with the rollout's observations.
    self.assertGreater(float(agent.observation_normalizer.count.numpy()), 24)

  def test_first_step_ratio_is_one(self):
    agent = make(_DISCRETE, num_epochs=1, minibatch_size=24)
    metrics = agent.learner.update(fake_rollout(_DISCRETE, agent=agent), 0.0)
    self.assertAlmostEqual(float(metrics['ratio']), 1.0, places=5)
    self.assertAlmostEqual(float(metrics['clip_fraction']), 0.0)
    self.assertAlmostEqual(float(metrics['approx_kl']), 0.0, places=6)

  def test_annealing_reaches_zero_at_the_end(self):
    agent = make(_DISCRETE, anneal_learning_rate=True, anneal_clip_epsilon=True)
    metrics = agent.learner.update(fake_rollout(_DISCRETE, agent=agent), 0.75)
    self.assertAlmostEqual(float(metrics['learning_rate']), 3e-4 * 0.25, places=8)
    self.assertAlmostEqual(float(metrics['clip_epsilon']), 0.2 * 0.25, places=6)

  def test_same_seed_same_parameters(self):
    results = []
    for _ in range(2):
      tf.keras.utils.set_random_seed(3)
      agent = make(_CONTINUOUS)
      agent.learner.update(fake_rollout(_CONTINUOUS, agent=agent), 0.0)
      results.append([v.numpy() for v in agent.network.trainable_variables])
    for a, b in zip(*results):
      np.testing.assert_array_equal(a, b)

  @parameterized.named_parameters(('discrete', _DISCRETE), ('continuous', _CONTINUOUS))
  def test_kl_penalty_objective_adapts_beta(self, action_spec):
    agent = make(action_spec, objective='kl_penalty', kl_target=1e-9, num_epochs=1,
                 minibatch_size=24)
    rollout = fake_rollout(action_spec, agent=agent)
    metrics = agent.learner.update(rollout, 0.0)
    # One full-batch step from pi_old: ratio 1 and KL 0 at that point, so the step follows the
    # plain surrogate; afterwards the policy moved, KL > 1.5 * target and beta doubles.
    self.assertAlmostEqual(float(metrics['ratio']), 1.0, places=5)
    self.assertGreater(float(metrics['kl']), 0.0)
    self.assertAlmostEqual(float(metrics['kl_beta']), 1.0)
    self.assertAlmostEqual(float(agent.learner.kl_beta.numpy()), 2.0)
    # A huge target: the measured KL is below target / 1.5, so beta halves.
    agent = make(action_spec, objective='kl_penalty', kl_target=1e9)
    agent.learner.update(fake_rollout(action_spec, agent=agent), 0.0)
    self.assertAlmostEqual(float(agent.learner.kl_beta.numpy()), 0.5)

  def test_kl_penalty_matches_analytic_kl_of_the_copied_policy(self):
    agent = make(_DISCRETE, objective='kl_penalty', num_epochs=3, minibatch_size=24)
    rollout = fake_rollout(_DISCRETE, agent=agent)
    observation = rollout.observation.reshape(-1, 3)
    old_logits = agent.network.policy(observation).logits_parameter().numpy()
    metrics = agent.learner.update(rollout, 0.0)
    new_logits = agent.network.policy(observation).logits_parameter().numpy()
    log_p = old_logits - np.log(np.exp(old_logits).sum(-1, keepdims=True))
    log_q = new_logits - np.log(np.exp(new_logits).sum(-1, keepdims=True))
    expected = np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=-1))
    self.assertAlmostEqual(float(metrics['kl']), expected, places=6)

  def test_minibatch_must_divide_batch(self):
    with self.assertRaisesRegex(ValueError, '--minibatch_size=5'):
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
      agent = builder.make_agent(t._OBS_SPEC, t._DISCRETE, config, strategy, seed=1)
      for update in range(3):  # Several updates, each on a fresh rollout.
        rollout = t.fake_rollout(t._DISCRETE, seed=update, agent=agent)
        metrics = agent.learner.update(rollout, 0.0)
      replicas = [[np.asarray(x).tolist() for x in strategy.experimental_local_results(v)]
                  for v in agent.network.trainable_variables]
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
