"""One-step actor-critic: one SGD update equals the book's per-step update, computed in numpy."""

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.actor_critic import builder
from agents.actor_critic import config as ac_config
from agents.actor_critic import learner as learner_lib
from agents.common import config as config_lib
from agents.common import environments
from tests.agents.common import fake_envs

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_DISCRETE = specs.DiscreteArray(3, dtype=np.int32, name='action')
_CONTINUOUS = specs.BoundedArray((2,), np.float32, -1.0, 1.0, name='action')


def setUpModule():
  fake_envs.register()


def make(action_spec=_DISCRETE, **overrides):
  config = ac_config.ActorCriticConfig(**{**dict(hidden_sizes=(8,)), **overrides})
  return builder.make_agent(_OBS_SPEC, action_spec, config, tf.distribute.get_strategy(),
                            seed=1)


def transition(rng, terminated=0.0, truncated=0.0, num_envs=1, action_spec=_DISCRETE):
  if isinstance(action_spec, specs.DiscreteArray):
    action = rng.integers(0, 3, size=(num_envs,)).astype(np.int32)
  else:
    action = rng.uniform(-1, 1, size=(num_envs, 2)).astype(np.float32)
  return learner_lib.Transition(
      observation=rng.normal(size=(num_envs, 3)).astype(np.float32), action=action,
      reward=rng.normal(size=(num_envs,)).astype(np.float32),
      next_observation=rng.normal(size=(num_envs, 3)).astype(np.float32),
      terminated=np.full((num_envs,), terminated, np.float32),
      truncated=np.full((num_envs,), truncated, np.float32))


def _log_softmax(logits):
  shifted = logits - logits.max(-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


class ActorCriticLearnerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ('transition_with_I', 0.0, 0.0, True), ('terminated', 1.0, 0.0, True),
      ('truncated_bootstraps', 0.0, 1.0, True), ('without_I', 0.0, 0.0, False))
  def test_sgd_updates_are_the_books(self, terminated, truncated, weighting):
    # Linear softmax policy and linear value, SGD: after k steps into an episode (I = gamma^k)
    # delta = R + gamma v(S') - v(S), w += a_w delta x, theta += a_th I delta grad ln pi.
    lr_pi, lr_v, gamma = 0.1, 0.05, 0.9
    agent = make(hidden_sizes=(), optimizer='sgd', actor_learning_rate=lr_pi,
                 critic_learning_rate=lr_v, discount=gamma, discount_weighting=weighting)
    rng = np.random.default_rng(7)
    for _ in range(2):  # Two steps into the episode: I = gamma^2.
      agent.learner.update(transition(rng))
    self.assertAllClose(agent.learner.discount_weight.numpy(), [gamma ** 2])
    step = transition(rng, terminated, truncated)
    w_pi, b_pi = [v.numpy().copy() for v in agent.network.policy_head.trainable_variables]
    w_v, b_v = [v.numpy().copy() for v in agent.network.value_head.trainable_variables]
    metrics = agent.learner.update(step)

    x, x_next, a, r = step.observation[0], step.next_observation[0], step.action[0], \
        step.reward[0]
    v = x @ w_v[:, 0] + b_v[0]
    v_next = 0.0 if terminated else x_next @ w_v[:, 0] + b_v[0]
    delta = r + gamma * v_next - v
    i_factor = gamma ** 2 if weighting else 1.0
    self.assertAllClose(metrics['td_error'], delta, rtol=1e-5)
    self.assertAllClose(metrics['discount_weight'], i_factor, rtol=1e-6)
    new_w_v, new_b_v = [v.numpy() for v in agent.network.value_head.trainable_variables]
    self.assertAllClose(new_w_v[:, 0], w_v[:, 0] + lr_v * delta * x, rtol=1e-5, atol=1e-6)
    self.assertAllClose(new_b_v, b_v + lr_v * delta, rtol=1e-5, atol=1e-6)
    log_p = _log_softmax(x @ w_pi + b_pi)
    grad_log_pi = np.eye(3)[a] - np.exp(log_p)  # d ln pi(a|s) / d logits
    new_w_pi, new_b_pi = [v.numpy() for v in agent.network.policy_head.trainable_variables]
    self.assertAllClose(new_w_pi, w_pi + lr_pi * i_factor * delta * np.outer(x, grad_log_pi),
                        rtol=1e-5, atol=1e-6)
    self.assertAllClose(new_b_pi, b_pi + lr_pi * i_factor * delta * grad_log_pi, rtol=1e-5,
                        atol=1e-6)
    # I <- gamma I, or 1 when the episode ended (terminated or cut).
    expected_i = 1.0 if terminated or truncated else gamma ** 3
    self.assertAllClose(agent.learner.discount_weight.numpy(), [expected_i], rtol=1e-6)

  def test_several_envs_average_their_updates(self):
    lr = 0.05
    agent = make(hidden_sizes=(), optimizer='sgd', critic_learning_rate=lr, num_envs=2,
                 discount=0.9)
    step = transition(np.random.default_rng(1), num_envs=2)
    w_v, b_v = [v.numpy().copy() for v in agent.network.value_head.trainable_variables]
    agent.learner.update(step)
    v = step.observation @ w_v[:, 0] + b_v[0]
    delta = step.reward + 0.9 * (step.next_observation @ w_v[:, 0] + b_v[0]) - v
    self.assertAllClose(agent.network.value_head.trainable_variables[1].numpy(),
                        b_v + lr * delta.mean(), rtol=1e-5)

  @parameterized.named_parameters(('discrete', _DISCRETE), ('continuous', _CONTINUOUS))
  def test_update_and_act_changes_every_variable(self, action_spec):
    agent = make(action_spec)
    rng = np.random.default_rng(0)
    before = [v.numpy().copy() for v in agent.network.trainable_variables]
    step = transition(rng, action_spec=action_spec)
    metrics, action = agent.learner.update_and_act(step, step.next_observation)
    self.assertEqual(action.shape, step.action.shape)
    for name, value in metrics.items():
      self.assertTrue(np.isfinite(value.numpy()), name)
    for b, v in zip(before, agent.network.trainable_variables):
      self.assertNotAllClose(b, v.numpy(), msg=f'{v.name} did not change')

  def test_jit_and_graph_agree(self):
    results = []
    for jit in (True, False):
      tf.keras.utils.set_random_seed(5)
      agent = make(jit_compile=jit)
      rng = np.random.default_rng(3)
      for _ in range(3):
        step = transition(rng)
        metrics, action = agent.learner.update_and_act(step, step.next_observation)
      results.append((float(metrics['td_error']), int(action[0]),
                      [v.numpy() for v in agent.network.trainable_variables]))
    self.assertAllClose(results[0][0], results[1][0], rtol=1e-5)
    self.assertEqual(results[0][1], results[1][1])
    for a, b in zip(results[0][2], results[1][2]):
      self.assertAllClose(a, b, rtol=1e-5, atol=1e-6)

  def test_online_loop_counts_steps_and_resets_I_at_episode_ends(self):
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 1, seed=0, max_episode_steps=10)
    spec = specs.Array((2,), np.float32)
    config = ac_config.ActorCriticConfig(hidden_sizes=(4,), steps_per_iteration=4,
                                         discount=0.5)
    agent = builder.make_agent(spec, env.action_spec(), config, tf.distribute.get_strategy(),
                               seed=0)
    loop = builder.OnlineLoop(agent, env, config)
    loop.reset(0)
    result = loop.iterate(100)
    # Env id 0 terminates after 3 steps: the 4th step is the first of a new episode.
    self.assertEqual(result.env_steps, 4)
    self.assertEqual(result.episode_lengths, [3])
    self.assertAllClose(agent.learner.discount_weight.numpy(), [0.5])
    self.assertEqual(loop.iterate(2).env_steps, 2)  # The budget caps the iteration.
    env.close()

  def test_config_fields_are_documented_and_bad_values_name_the_flag(self):
    config_lib.check_documented(ac_config.ActorCriticConfig)
    with self.assertRaisesRegex(ValueError, '--optimizer='):
      ac_config.ActorCriticConfig(optimizer='rmsprop')
    with self.assertRaisesRegex(ValueError, '--critic_learning_rate='):
      ac_config.ActorCriticConfig(critic_learning_rate=-1.0)


if __name__ == '__main__':
  tf.test.main()
