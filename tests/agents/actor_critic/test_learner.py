"""One-step actor-critic: one SGD update equals the book's per-step update, computed in numpy;
the actor keeps the book's I = gamma^t and samples each action after the previous update."""

import re

from absl.testing import parameterized
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.actor_critic import builder
from agents.actor_critic import config as ac_config
from agents.actor_critic import learner as learner_lib
from agents.common import config as config_lib
from agents.common import core
from agents.common import environments
from agents.common import transitions
from agents.common import wrappers
from tests.agents.common import fake_envs

_OBS_SPEC = specs.Array((3,), np.float32, name='observation')
_DISCRETE = specs.DiscreteArray(3, dtype=np.int32, name='action')
_CONTINUOUS = specs.BoundedArray((2,), np.float32, -1.0, 1.0, name='action')


def setUpModule():
  fake_envs.register()


def make(action_spec=_DISCRETE, observation_spec=_OBS_SPEC, **overrides):
  """(network, policy, learner) of a config with `overrides`."""
  config = ac_config.ActorCriticConfig(**{**dict(hidden_sizes=(8,)), **overrides})
  return builder.make_components(core.EnvironmentSpec(observation_spec, action_spec), config,
                                 tf.distribute.get_strategy(), seed=1)


def transition(rng, terminated=0.0, truncated=0.0, num_envs=1, action_spec=_DISCRETE,
               discount_weight=1.0):
  if isinstance(action_spec, specs.DiscreteArray):
    action = rng.integers(0, 3, size=(num_envs,)).astype(np.int32)
  else:
    action = rng.uniform(-1, 1, size=(num_envs, 2)).astype(np.float32)
  return transitions.Transition(
      observation=rng.normal(size=(num_envs, 3)).astype(np.float32), action=action,
      reward=rng.normal(size=(num_envs,)).astype(np.float32),
      next_observation=rng.normal(size=(num_envs, 3)).astype(np.float32),
      terminated=np.full((num_envs,), terminated, np.float32),
      truncated=np.full((num_envs,), truncated, np.float32),
      discount_weight=np.full((num_envs,), discount_weight, np.float32))


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
    network, _, learner = make(hidden_sizes=(), optimizer='sgd', actor_learning_rate=lr_pi,
                               critic_learning_rate=lr_v, discount=gamma,
                               discount_weighting=weighting)
    rng = np.random.default_rng(7)
    for k in range(2):  # Two steps into the episode (I = 1, gamma), so now I = gamma^2.
      learner.step(transition(rng, discount_weight=gamma ** k))
    step = transition(rng, terminated, truncated, discount_weight=gamma ** 2)
    w_pi, b_pi = [v.numpy().copy() for v in network.policy_head.trainable_variables]
    w_v, b_v = [v.numpy().copy() for v in network.value_head.trainable_variables]
    metrics = learner.step(step)

    x, x_next, a, r = step.observation[0], step.next_observation[0], step.action[0], \
        step.reward[0]
    v = x @ w_v[:, 0] + b_v[0]
    v_next = 0.0 if terminated else x_next @ w_v[:, 0] + b_v[0]
    delta = r + gamma * v_next - v
    i_factor = gamma ** 2 if weighting else 1.0
    self.assertAllClose(metrics['td_error'], delta, rtol=1e-5)
    self.assertAllClose(metrics['discount_weight'], i_factor, rtol=1e-6)
    new_w_v, new_b_v = [v.numpy() for v in network.value_head.trainable_variables]
    self.assertAllClose(new_w_v[:, 0], w_v[:, 0] + lr_v * delta * x, rtol=1e-5, atol=1e-6)
    self.assertAllClose(new_b_v, b_v + lr_v * delta, rtol=1e-5, atol=1e-6)
    log_p = _log_softmax(x @ w_pi + b_pi)
    grad_log_pi = np.eye(3)[a] - np.exp(log_p)  # d ln pi(a|s) / d logits
    new_w_pi, new_b_pi = [v.numpy() for v in network.policy_head.trainable_variables]
    self.assertAllClose(new_w_pi, w_pi + lr_pi * i_factor * delta * np.outer(x, grad_log_pi),
                        rtol=1e-5, atol=1e-6)
    self.assertAllClose(new_b_pi, b_pi + lr_pi * i_factor * delta * grad_log_pi, rtol=1e-5,
                        atol=1e-6)
    self.assertEqual(int(learner.num_updates.numpy()), 3)

  def test_several_envs_average_their_updates(self):
    lr = 0.05
    network, _, learner = make(hidden_sizes=(), optimizer='sgd', critic_learning_rate=lr,
                               num_envs=2, discount=0.9)
    step = transition(np.random.default_rng(1), num_envs=2)
    w_v, b_v = [v.numpy().copy() for v in network.value_head.trainable_variables]
    learner.step(step)
    v = step.observation @ w_v[:, 0] + b_v[0]
    delta = step.reward + 0.9 * (step.next_observation @ w_v[:, 0] + b_v[0]) - v
    self.assertAllClose(network.value_head.trainable_variables[1].numpy(),
                        b_v + lr * delta.mean(), rtol=1e-5)

  @parameterized.named_parameters(('discrete', _DISCRETE), ('continuous', _CONTINUOUS))
  def test_step_changes_every_variable_and_the_policy_acts(self, action_spec):
    network, policy, learner = make(action_spec)
    rng = np.random.default_rng(0)
    before = [v.numpy().copy() for v in network.trainable_variables]
    step = transition(rng, action_spec=action_spec)
    metrics = learner.step(step)
    action = policy.step(step.next_observation)[0]
    self.assertEqual(action.shape, step.action.shape)
    for name, value in metrics.items():
      self.assertTrue(np.isfinite(value.numpy()), name)
    for b, v in zip(before, network.trainable_variables):
      self.assertNotAllClose(b, v.numpy(), msg=f'{v.name} did not change')

  def test_jit_and_graph_agree(self):
    results = []
    for jit in (True, False):
      tf.keras.utils.set_random_seed(5)
      network, policy, learner = make(jit_compile=jit)
      rng = np.random.default_rng(3)
      for _ in range(3):
        step = transition(rng)
        metrics = learner.step(step)
        action = policy.step(step.next_observation)[0]
      results.append((float(metrics['td_error']), int(action[0]),
                      [v.numpy() for v in network.trainable_variables]))
    self.assertAllClose(results[0][0], results[1][0], rtol=1e-5)
    self.assertEqual(results[0][1], results[1][1])
    for a, b in zip(results[0][2], results[1][2]):
      self.assertAllClose(a, b, rtol=1e-5, atol=1e-6)

  def test_config_fields_are_documented_and_bad_values_name_the_field(self):
    config_lib.check_documented(ac_config.ActorCriticConfig)
    for field, value, allowed in (('optimizer', 'rmsprop', 'must be one of adam, sgd'),
                                  ('critic_learning_rate', -1.0, 'must be > 0'),
                                  ('num_envs', 0, 'must be > 0'),
                                  ('entropy_coef', -0.1, 'must be >= 0')):
      with self.assertRaisesRegex(
          config_lib.ConfigError,
          '^' + re.escape(f'ActorCriticConfig.{field}={value!r}: {allowed}') + '$'):
        ac_config.ActorCriticConfig(**{field: value})

  def test_other_strategies_are_refused_naming_the_setting(self):
    with self.assertRaisesRegex(
        config_lib.ConfigError,
        r"^RunSettings\.strategy='one_device': the one-step actor-critic supports only the "
        'default strategy'):
      builder.make_components(core.EnvironmentSpec(_OBS_SPEC, _DISCRETE),
                              ac_config.ActorCriticConfig(),
                              tf.distribute.OneDeviceStrategy('/cpu:0'), seed=0)


class _RecordingPolicy:
  """The policy, recording the learner's update count each time an action is sampled."""

  def __init__(self, policy, learner):
    self._policy = policy
    self._learner = learner
    self.sampled_after = []

  def step(self, observation):
    self.sampled_after.append(int(self._learner.num_updates.numpy()))
    return self._policy.step(observation)


class TransitionActorTest(tf.test.TestCase):

  def test_transitions_and_I_against_the_counter_reference(self):
    # Env 0 terminates after 3 steps, env 1 is cut by the time limit after 5: I = gamma^t
    # restarts at 1 on each episode's first step, S' is the real final observation.
    gamma, num_steps, limit = 0.5, 12, 5
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 2, seed=0,
                                 options=wrappers.EnvOptions(max_episode_steps=limit))
    _, policy, learner = make(observation_spec=env.observation_spec(),
                              action_spec=env.action_spec(), hidden_sizes=(4,), num_envs=2,
                              discount=gamma)
    recording = _RecordingPolicy(policy, learner)
    actor = transitions.TransitionActor(env, recording, gamma)
    actor.reset(0)
    self.assertEqual(recording.sampled_after, [])  # Nothing sampled before the first act.
    references = [fake_envs.counter_reference(i, num_steps, limit) for i in range(2)]
    weight = np.ones(2)
    for t in range(num_steps):
      acted = actor.act(100)
      step = acted.experience
      self.assertEqual(acted.env_steps, 2)  # One step of each env.
      expected_lengths = []
      for i, reference in enumerate(references):
        ref = reference[t]
        self.assertAllEqual(step.observation[i], ref['obs'])
        self.assertAllEqual(step.next_observation[i],
                            ref['final_obs'] if ref['terminated'] or ref['truncated']
                            else ref['next_obs'])
        self.assertEqual(step.terminated[i], float(ref['terminated']))
        self.assertEqual(step.truncated[i], float(ref['truncated']))
        self.assertEqual(step.reward[i], 10.0 * ref['final_obs'][0] + int(step.action[i]))
        if ref['terminated'] or ref['truncated']:
          expected_lengths.append(int(ref['final_obs'][0]))
      self.assertAllClose(step.discount_weight, weight, rtol=1e-6)
      self.assertEqual(acted.episode_lengths, expected_lengths)
      self.assertLen(acted.episode_returns, len(expected_lengths))
      ended = np.array([references[i][t]['terminated'] or references[i][t]['truncated']
                        for i in range(2)])
      weight = np.where(ended, 1.0, gamma * weight)
      learner.step(step)
    # Each action was sampled at the start of its act, after the previous step's update.
    self.assertEqual(recording.sampled_after, list(range(num_steps)))
    # The budget: less than one step of every env is no step at all.
    self.assertEqual(actor.act(1), core.Acted(None, 0))
    actor.close()

  def test_reset_starts_new_episodes_seeded_from_the_step_count(self):
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 2, seed=0,
                                 options=wrappers.EnvOptions(max_episode_steps=5))
    _, policy, _ = make(observation_spec=env.observation_spec(),
                        action_spec=env.action_spec(), hidden_sizes=(4,), num_envs=2,
                        discount=0.5)
    actor = transitions.TransitionActor(env, policy, 0.5)
    actor.reset(0)
    actor.act(2)
    weight = actor.act(2).experience.discount_weight
    self.assertAllClose(weight, [0.5, 0.5])
    actor.reset(10)  # Env i seeded 0 + 10 + i: ids 10 and 11, at t = 0, I = 1.
    step = actor.act(2).experience
    self.assertAllEqual(step.observation, [[0, 10], [0, 11]])
    self.assertAllClose(step.discount_weight, [1.0, 1.0])
    actor.close()


if __name__ == '__main__':
  tf.test.main()
