"""SAC learner (v1 and v2): one compiled update on a fake batch; targets, temperature and
soft updates checked against independent numpy/TFP computations."""

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import core
from agents.sac import builder
from agents.sac import config as sac_config
from tests.agents.ddpg.test_learner import fake_batch

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_ACTION_SPEC = specs.BoundedArray((2,), np.float32, [-1.0, -2.0], [1.0, 2.0], name='action')


def make(**kwargs):
  config = sac_config.SACConfig(hidden_sizes=(16, 16), batch_size=8, learning_starts=8,
                                **kwargs)
  return builder.make_components(core.EnvironmentSpec(_OBS_SPEC, _ACTION_SPEC), config,
                                 tf.distribute.get_strategy(), 0)


def values(variables):
  return [v.numpy().copy() for v in variables]


def changed(before, variables):
  return any(not np.allclose(b, v.numpy()) for b, v in zip(before, variables))


class SACLearnerTest(parameterized.TestCase):

  @parameterized.parameters(('v2', True, False), ('v2', False, False), ('v1', False, False),
                            ('v2', True, True))
  def test_update_is_finite_and_trains_every_network(self, version, auto_alpha, jit_compile):
    agent = make(version=version, auto_alpha=auto_alpha, jit_compile=jit_compile)
    networks = [agent.policy, agent.critic] + ([agent.value] if version == 'v1' else [])
    before = [values(n.trainable_variables) for n in networks]
    alpha_before = agent.learner.log_alpha.numpy()
    metrics = agent.learner.update(fake_batch())
    for name, value in metrics.items():
      self.assertTrue(np.isfinite(value.numpy()), name)
    for b, network in zip(before, networks):
      self.assertTrue(changed(b, network.trainable_variables), network.name)
    self.assertEqual(agent.learner.log_alpha.numpy() != alpha_before, auto_alpha)

  def test_v2_critic_loss_matches_an_independent_computation(self):
    agent = make(version='v2', alpha=0.5, auto_alpha=False)
    learner, batch = agent.learner, fake_batch()
    # The learner's sample of a' ~ pi(.|s') is seeded by (seed, update 0, replica 0, salt 0);
    # redo it with TFP from the same seed.
    seed = tf.constant([0, 0], tf.int32)
    distribution = agent.policy(batch.next_observation)
    next_action, next_log_pi = distribution.experimental_sample_and_log_prob(seed=seed)
    q1_next, q2_next = learner._target_critic(batch.next_observation, next_action)
    target = batch.reward + batch.discount * (
        np.minimum(q1_next.numpy(), q2_next.numpy()) - 0.5 * next_log_pi.numpy())
    q1, q2 = agent.critic(batch.observation, batch.action)
    expected = np.mean(0.5 * (q1.numpy() - target) ** 2 + 0.5 * (q2.numpy() - target) ** 2)
    np.testing.assert_allclose(learner.update(batch)['critic_loss'].numpy(), expected,
                               rtol=1e-5)

  def test_prioritized_replay_weights_the_critic_loss_and_returns_priorities(self):
    agent = make(version='v2', alpha=0.5, auto_alpha=False, prioritized_replay=True,
                 priority_epsilon=1e-3)
    learner = agent.learner
    weights = np.linspace(1.0, 0.3, 8).astype(np.float32)
    batch = fake_batch()._replace(extras=dict(key=np.arange(8, dtype=np.uint64),
                                              importance_weight=weights))
    seed = tf.constant([0, 0], tf.int32)  # As in the test above: update 0, salt 0.
    next_action, next_log_pi = agent.policy(
        batch.next_observation).experimental_sample_and_log_prob(seed=seed)
    q1_next, q2_next = learner._target_critic(batch.next_observation, next_action)
    target = batch.reward + batch.discount * (
        np.minimum(q1_next.numpy(), q2_next.numpy()) - 0.5 * next_log_pi.numpy())
    q1, q2 = (q.numpy() for q in agent.critic(batch.observation, batch.action))
    metrics = learner.update(batch)
    expected = np.mean(weights * (0.5 * (q1 - target) ** 2 + 0.5 * (q2 - target) ** 2))
    np.testing.assert_allclose(metrics['critic_loss'].numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(metrics['priority'].numpy(), np.abs(target - q1) + 1e-3,
                               rtol=1e-4)

  def test_alpha_rises_when_the_entropy_is_below_the_target(self):
    agent = make(target_entropy=100.0)  # Far above any achievable entropy.
    before = agent.learner.log_alpha.numpy()
    agent.learner.update(fake_batch())
    self.assertGreater(agent.learner.log_alpha.numpy(), before)
    agent = make(target_entropy=-100.0)
    before = agent.learner.log_alpha.numpy()
    agent.learner.update(fake_batch())
    self.assertLess(agent.learner.log_alpha.numpy(), before)

  def test_default_target_entropy_is_minus_the_action_dimension(self):
    self.assertEqual(make().learner._target_entropy, -2.0)

  @parameterized.parameters('v1', 'v2')
  def test_targets_take_a_tau_step(self, version):
    agent = make(version=version, tau=0.25)
    learner = agent.learner
    online, target = ((agent.critic, learner._target_critic) if version == 'v2' else
                      (agent.value, learner._target_value))
    for variable in online.trainable_variables:
      variable.assign_add(0.1 * tf.ones_like(variable))
    target_before = values(target.variables)
    learner.update(fake_batch())
    for old, new_online, new_target in zip(target_before, online.variables, target.variables):
      np.testing.assert_allclose(new_target.numpy(), 0.25 * new_online.numpy() + 0.75 * old,
                                 rtol=1e-5, atol=1e-6)

  def test_actor_samples_inside_the_bounds_and_mode_is_deterministic(self):
    agent = make()
    observation = np.random.normal(size=(512, 3)).astype(np.float32)
    actions = agent.actor.select(observation).numpy()
    self.assertTrue(np.all(actions > [-1, -2]) and np.all(actions < [1, 2]))
    self.assertGreater(actions.std(axis=0).min(), 0.1)
    np.testing.assert_array_equal(agent.actor.mode(observation).numpy(),
                                  agent.actor.mode(observation).numpy())

  def test_version_and_networks_must_agree(self):
    agent = make(version='v2')
    with self.assertRaisesRegex(ValueError, 'target_critic exactly for version v2'):
      type(agent.learner)(agent.policy, agent.critic, None, None, None, agent.learner.log_alpha,
                          {}, _ACTION_SPEC, agent.learner._config, tf.distribute.get_strategy(),
                          0)


if __name__ == '__main__':
  tf.test.main()
