"""A3C segment targets, loss and gradient, checked against numpy; the worker's actor (sync of
the local copy, seeding) and learner (global counters, learning-rate schedule)."""

import re

from absl.testing import parameterized
import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.a3c import builder
from agents.a3c import config as a3c_config
from agents.a3c import learner as learner_lib
from agents.common import config as config_lib
from agents.common import core
from agents.common import environments
from agents.common import policies
from agents.common import wrappers
from tests.agents.common import fake_envs

_T = 5


def setUpModule():
  fake_envs.register()


def make_counter_env(seed, max_episode_steps=7):
  """Counter env (obs [t, id], reward 10 t + a); even seeds terminate after 3 steps, odd seeds
  run into the time limit."""
  return environments.GymnasiumToDmEnv(
      gym.make(fake_envs.COUNTER_ID, max_episode_steps=max_episode_steps), seed=seed)


def make_config(**overrides):
  return a3c_config.A3CConfig(**{**dict(num_workers=1, t_max=_T, hidden_sizes=(8,)),
                                 **overrides})


def make_agent(envs, seed=7, horizon=10 ** 9, **overrides):
  """The global parts and one (SegmentActor, A3CWorkerLearner) per env (worker i's sampling is
  seeded `seed + i`; its env keeps its own seed until `reset`); the learning rate anneals over
  `horizon` env steps when the config says so."""
  config = make_config(**{**dict(num_workers=len(envs)), **overrides})
  spec = core.EnvironmentSpec(envs[0].observation_spec(), envs[0].action_spec())
  parts = builder.make_components(spec, config, tf.distribute.get_strategy(), seed=1,
                                  horizon=horizon)
  return parts, [builder.make_worker(parts, i, env, config, seed) for i, env in enumerate(envs)]


def numpy_returns(reward, terminated, length, bootstrap_value, discount):
  """Algorithm S3: R = 0 at a terminal state else V(s_t); R <- r_i + gamma R backwards."""
  ret = 0.0 if terminated[length - 1] else bootstrap_value
  returns = np.zeros(length)
  for i in reversed(range(length)):
    ret = reward[i] + discount * ret
    returns[i] = ret
  return returns


def _log_softmax(logits):
  shifted = logits - logits.max(-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _segment(reward, terminated, truncated, length, value, bootstrap):
  pad = lambda x: np.pad(np.asarray(x, np.float32), (0, _T - len(x)))[:, None]
  return learner_lib.Segment(
      observation=np.zeros((_T, 1, 2), np.float32), action=np.zeros((_T, 1), np.int32),
      reward=pad(reward), terminated=pad(terminated), truncated=pad(truncated),
      mask=pad(np.ones(length)), value=pad(value), bootstrap_value=np.float32([bootstrap]),
      length=np.int32(length), start_update=np.int64(0))


class SegmentReturnsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      # (rewards, terminated, truncated): a full segment bootstraps from V(s_T); a termination
      # ends it with R = 0; a time limit and a budget cut bootstrap from the next observation.
      ('t_max', [1., 2., 3., 4., 5.], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]),
      ('terminated', [1., -2., 3.], [0, 0, 1], [0, 0, 0]),
      ('time_limit', [0.5, 2.], [0, 0], [0, 1]),
      ('budget_cut', [1., 1., 1.], [0, 0, 0], [0, 0, 0]),
      ('one_terminal_step', [7.], [1], [0]))
  def test_matches_algorithm_s3(self, reward, terminated, truncated):
    length, gamma, bootstrap = len(reward), 0.9, 10.0
    value = np.arange(1, length + 1, dtype=np.float32) * 0.1
    segment = _segment(reward, terminated, truncated, length, value, bootstrap)
    for fn in (learner_lib.segment_returns,
               tf.function(learner_lib.segment_returns, jit_compile=True,
                           autograph=False)):
      returns = fn(segment, gamma).numpy()
      self.assertEqual(returns.shape, (_T, 1))
      expected = numpy_returns(reward, terminated, length, bootstrap, gamma)
      self.assertAllClose(returns[:length, 0], expected, rtol=1e-6)
      self.assertAllEqual(returns[length:, 0], np.zeros(_T - length))  # Padding.


class WorkerLossTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('terminating', 0), ('time_limited', 1))
  def test_segments_loss_and_gradient_match_numpy(self, env_seed):
    # Linear softmax policy and linear value (no torso). With a large RMSProp epsilon the first
    # step is theta -= lr g / sqrt((1 - rho) g^2 + eps), inverted exactly to read g back.
    lr, rho, eps, c_v, c_e, gamma = 0.1, 0.9, 1.0, 0.7, 0.3, 0.9
    parts, ((actor, worker),) = make_agent(
        [make_counter_env(env_seed)], hidden_sizes=(), shared_torso=False, learning_rate=lr,
        anneal_learning_rate=False, rmsprop_decay=rho, optimizer_epsilon=eps, value_coef=c_v,
        entropy_coef=c_e, discount=gamma, max_grad_norm=0.0)
    learner = parts.learner
    observation = np.asarray(actor._env.reset().observation, np.float32)[None]
    expected_lengths = [3, 3, 3] if env_seed == 0 else [5, 2, 5]
    for index, expected_length in enumerate(expected_lengths):
      start = actor.sync()
      self.assertEqual(int(start), index)
      for local, shared in zip(actor.network.variables, learner.network.variables):
        self.assertAllEqual(local.numpy(), shared.numpy())
      segment, next_observation = actor.collect(observation, tf.constant(_T))
      length = int(segment.length)
      self.assertEqual(length, expected_length)
      self.assertEqual(float(segment.observation[0, 0, 0]), 0.0 if index != 1 or env_seed == 0
                       else 5.0)  # t of the first step: a new episode after one ended.
      w_pi, b_pi = [v.numpy() for v in actor.network.policy_head.trainable_variables]
      w_v, b_v = [v.numpy() for v in actor.network.value_head.trainable_variables]
      before = [v.numpy().copy() for v in learner.network.trainable_variables]
      metrics = worker.step(segment._replace(start_update=start))
      self.assertEqual(int(learner.num_updates.numpy()), index + 1)
      self.assertEqual(float(metrics['staleness']), 0.0)  # No other worker updated since sync.
      self.assertEqual(float(metrics['segment_length']), expected_length)
      self.assertAllClose(metrics['learning_rate'], lr)

      x = segment.observation.numpy()[:length, 0]
      a = segment.action.numpy()[:length, 0]
      reward = segment.reward.numpy()[:length, 0]
      terminated = segment.terminated.numpy()[:length, 0]
      log_p = _log_softmax(x @ w_pi + b_pi)
      p = np.exp(log_p)
      value = (x @ w_v + b_v)[:, 0]
      self.assertAllClose(segment.value.numpy()[:length, 0], value, rtol=1e-5)
      bootstrap = float((next_observation.numpy() @ w_v + b_v)[0, 0])
      returns = numpy_returns(reward, terminated, length, bootstrap, gamma)
      self.assertEqual(bool(terminated[-1]), env_seed == 0)
      self.assertEqual(bool(segment.truncated.numpy()[length - 1, 0]),
                       env_seed == 1 and index == 1)
      advantage = returns - value
      entropy = -(p * log_p).sum(-1)
      log_pi = log_p[np.arange(length), a]
      expected_loss = np.sum(-log_pi * advantage + c_v * 0.5 * advantage ** 2
                             - c_e * entropy) / _T
      self.assertAllClose(metrics['loss'], expected_loss, rtol=1e-5, atol=1e-6)
      self.assertAllClose(metrics['value_loss'], np.mean(0.5 * advantage ** 2), rtol=1e-5)
      self.assertAllClose(metrics['entropy'], np.mean(entropy), rtol=1e-5)
      self.assertAllClose(metrics['advantage'], np.mean(advantage), rtol=1e-5, atol=1e-6)
      # Global variables change; the gradient of the first update is read back exactly.
      for b, v in zip(before, learner.network.trainable_variables):
        self.assertNotAllClose(b, v.numpy(), msg=v.name)
      if index == 0:
        one_hot = np.eye(3)[a]
        d_logits = (-(one_hot - p) * advantage[:, None]
                    + c_e * p * (log_p + entropy[:, None])) / _T
        d_value = c_v * (value - returns) / _T
        expected = {'policy': (x.T @ d_logits, d_logits.sum(0)),
                    'value': (x.T @ d_value[:, None], np.array([d_value.sum()]))}
        grads = [*(expected['policy']), *(expected['value'])]
        self.assertAllClose(metrics['grad_norm'],
                            np.sqrt(sum(np.sum(g ** 2) for g in grads)), rtol=1e-4)
        refs = [v.ref() for v in learner.network.trainable_variables]
        for name, head in (('policy', learner.network.policy_head),
                           ('value', learner.network.value_head)):
          for k, variable in enumerate(head.trainable_variables):
            d = (before[refs.index(variable.ref())] - variable.numpy()) / lr
            gradient = np.sign(d) * np.sqrt(d ** 2 * eps / (1.0 - (1.0 - rho) * d ** 2))
            self.assertAllClose(gradient, np.reshape(expected[name][k], gradient.shape),
                                rtol=1e-4, atol=1e-6, msg=variable.name)
      observation = next_observation.numpy()
      if terminated[-1] or segment.truncated.numpy()[length - 1, 0]:
        observation = np.asarray(actor._env.reset().observation, np.float32)[None]
    self.assertEqual(int(learner.env_steps.numpy()), sum(expected_lengths))

  def test_sync_copies_global_into_local(self):
    parts, workers = make_agent([make_counter_env(0), make_counter_env(1)])
    learner = parts.learner
    rng = np.random.default_rng(0)
    for v in learner.network.variables:
      v.assign(rng.normal(size=v.shape).astype(np.float32))
    for actor, _ in workers:
      self.assertNotAllClose(actor.network.variables[0].numpy(),
                             learner.network.variables[0].numpy())
      actor.sync()
      for local, shared in zip(actor.network.variables, learner.network.variables):
        self.assertAllEqual(local.numpy(), shared.numpy())
      self.assertIsNot(actor.network.variables[0], learner.network.variables[0])

  def test_act_and_step_update_global_parameters_and_counters(self):
    # Learning rate annealed over a horizon of 6 env steps, by the env steps done before the
    # update: 1, 1 - 3/6, 1 - 5/6 of 7e-4.
    parts, ((actor0, learner0), (actor1, learner1)) = make_agent(
        [make_counter_env(0), make_counter_env(1)], horizon=6, anneal_learning_rate=True)
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    first = actor0.act(_T)
    first_metrics = learner0.step(first.experience)
    after_first = [v.numpy().copy() for v in parts.network.trainable_variables]
    second = actor1.act(2)
    third = actor0.act(_T)  # Both synced after the first update.
    second_metrics = learner1.step(second.experience)
    third_metrics = learner0.step(third.experience)  # One update by worker 1 since its sync.
    self.assertEqual([int(a.experience.start_update) for a in (first, second, third)], [0, 1, 1])
    self.assertEqual([float(m['staleness']) for m in (first_metrics, second_metrics,
                                                       third_metrics)], [0.0, 0.0, 1.0])
    self.assertEqual((first.env_steps, second.env_steps, third.env_steps),
                     (3, 2, 3))  # Episode end; max_steps; the next episode's end.
    self.assertEqual([float(m['segment_length']) for m in (first_metrics, second_metrics,
                                                            third_metrics)], [3.0, 2.0, 3.0])
    self.assertEqual(first.episode_lengths, [3])
    self.assertLen(first.episode_returns, 1)
    self.assertBetween(first.episode_returns[0], 60.0, 66.0)  # 10 + 20 + 30 + actions.
    self.assertEqual((second.episode_lengths, second.episode_returns), ([], []))
    self.assertEqual(third.episode_lengths, [3])
    self.assertEqual(float(third.experience.observation[0, 0, 0]), 0.0)  # A new episode.
    self.assertAllClose([m['learning_rate'] for m in (first_metrics, second_metrics,
                                                      third_metrics)],
                        [7e-4, 7e-4 * 0.5, 7e-4 / 6], rtol=1e-5)
    for name, value in first_metrics.items():
      self.assertTrue(np.isfinite(value), name)
    for b, v in zip(before, parts.network.trainable_variables):
      self.assertNotAllClose(b, v.numpy(), msg=f'{v.name} did not change')
    # The third segment was acted with the parameters of the first update.
    for synced, local in zip(after_first, actor0.network.trainable_variables):
      self.assertAllEqual(synced, local.numpy())
    self.assertEqual(int(parts.learner.env_steps.numpy()), 8)
    self.assertEqual(int(parts.learner.num_updates.numpy()), 3)

  def test_reset_reseeds_environment_and_sampling_from_the_step_count(self):
    # Worker 0 seeded 7: reset(s) seeds its env's next episode with 7 + s (the Counter env's id)
    # and its action sampling with 7 + s + 1_000_003.
    env = make_counter_env(100, max_episode_steps=50)
    _, ((actor, _),) = make_agent([env], seed=7)
    for env_steps in (10, 20):
      actor.reset(env_steps)
      acted = actor.act(_T)
      segment = acted.experience
      self.assertEqual(acted.env_steps, _T)
      self.assertAllEqual(segment.observation.numpy()[:, 0],
                          [[t, 7 + env_steps] for t in range(_T)])  # A new episode each time.
      reference = policies.ActorCriticPolicy(actor.network, env.observation_spec(),
                                             seed=7 + env_steps + 1_000_003)
      for t in range(_T):
        action, _, _ = reference.step(segment.observation[t])
        self.assertEqual(int(action[0]), int(segment.action[t, 0]), t)

  def test_continuous_actions_and_jit(self):
    env = environments.make_environment(
        fake_envs.ECHO_ID, seed=0, options=wrappers.EnvOptions(max_episode_steps=4))
    parts, ((actor, worker),) = make_agent([env], jit_compile=True, anneal_learning_rate=False)
    before = [v.numpy().copy() for v in parts.network.trainable_variables]
    acted = actor.act(_T)
    self.assertEqual(acted.env_steps, 4)
    self.assertEqual(acted.experience.action.shape, (_T, 1, 2))
    metrics = worker.step(acted.experience)
    self.assertTrue(np.isfinite(metrics['loss']))
    for b, v in zip(before, parts.network.trainable_variables):
      self.assertNotAllClose(b, v.numpy(), msg=v.name)

  def test_make_agent_builds_one_seeded_worker_per_thread(self):
    env = make_counter_env(0)
    spec = core.EnvironmentSpec(env.observation_spec(), env.action_spec())
    env.close()
    context = core.BuildContext(
        env_id=fake_envs.COUNTER_ID, spec=spec, seed=1, env_seed=10, num_steps=40,
        strategy=tf.distribute.get_strategy(), logdir=self.get_temp_dir())
    agent = builder.make_agent(make_config(num_workers=3), context)
    try:
      self.assertLen(agent.actors, 3)
      self.assertLen(agent.learners, 3)
      self.assertEqual(agent.steps_per_act, _T)
      self.assertEqual(agent.report(), {'num_workers': 3})
      learner = agent.state['learner']
      for i, (actor, worker) in enumerate(zip(agent.actors, agent.learners)):
        actor.reset(0)
        acted = actor.act(_T)
        self.assertEqual(float(acted.experience.observation[0, 0, 1]), 10 + i)  # Env id.
        done = int(learner.env_steps.numpy())
        metrics = worker.step(acted.experience)
        # Annealed over the run's num_steps, by the env steps done before the update.
        self.assertAllClose(metrics['learning_rate'], 7e-4 * (1 - done / 40), rtol=1e-5)
      self.assertEqual(int(learner.num_updates.numpy()), 3)
      self.assertEqual(agent.policy(np.zeros((4, 2), np.float32)).shape, (4,))
    finally:
      agent.close()

  def test_bad_config_names_the_field(self):
    for field, value, allowed in (('num_workers', 0, 'must be > 0'), ('t_max', 0, 'must be > 0'),
                                  ('optimizer', 'sgd', 'must be one of rmsprop, adam'),
                                  ('discount', 1.5, 'must be in [0.0, 1.0]')):
      with self.assertRaisesRegex(config_lib.ConfigError,
                                  '^' + re.escape(f'A3CConfig.{field}={value!r}: {allowed}')):
        a3c_config.A3CConfig(**{field: value})

  def test_other_strategies_are_refused_naming_the_setting(self):
    env = make_counter_env(0)
    spec = core.EnvironmentSpec(env.observation_spec(), env.action_spec())
    with self.assertRaisesRegex(
        config_lib.ConfigError,
        r"^RunSettings\.strategy='one_device': A3C supports only the default strategy"):
      builder.make_components(spec, make_config(), tf.distribute.OneDeviceStrategy('/cpu:0'),
                              seed=0)


if __name__ == '__main__':
  tf.test.main()
