"""A3C segment targets, loss and gradient, checked against numpy; sync of local copies."""

from absl.testing import parameterized
import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.a3c import builder
from agents.a3c import config as a3c_config
from agents.a3c import learner as learner_lib
from agents.common import environments
from tests.agents.common import fake_envs

_T = 5


def setUpModule():
  fake_envs.register()


def make_counter_env(seed, max_episode_steps=7):
  """Counter env (obs [t, id], reward 10 t + a); even seeds terminate after 3 steps, odd seeds
  run into the time limit."""
  return environments.GymnasiumToDmEnv(
      gym.make(fake_envs.COUNTER_ID, max_episode_steps=max_episode_steps), seed=seed)


def make_agent(envs, **overrides):
  config = a3c_config.A3CConfig(**{**dict(num_workers=len(envs), t_max=_T, hidden_sizes=(8,)),
                                   **overrides})
  agent = builder.make_agent(envs[0].observation_spec(), envs[0].action_spec(), config,
                             tf.distribute.get_strategy(), seed=1)
  return agent, agent.make_workers(envs, 7)


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
      length=np.int32(length))


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
    _, (worker,) = make_agent(
        [make_counter_env(env_seed)], hidden_sizes=(), shared_torso=False, learning_rate=lr,
        anneal_learning_rate=False, rmsprop_decay=rho, optimizer_epsilon=eps, value_coef=c_v,
        entropy_coef=c_e, discount=gamma, max_grad_norm=0.0)
    learner = worker._learner
    observation = np.asarray(worker._env.reset().observation, np.float32)[None]
    expected_lengths = [3, 3, 3] if env_seed == 0 else [5, 2, 5]
    for index, expected_length in enumerate(expected_lengths):
      start = worker.sync()
      self.assertEqual(int(start), index)
      for local, shared in zip(worker.network.variables, learner.network.variables):
        self.assertAllEqual(local.numpy(), shared.numpy())
      segment, next_observation = worker.collect(observation, tf.constant(_T))
      length = int(segment.length)
      self.assertEqual(length, expected_length)
      self.assertEqual(float(segment.observation[0, 0, 0]), 0.0 if index != 1 or env_seed == 0
                       else 5.0)  # t of the first step: a new episode after one ended.
      w_pi, b_pi = [v.numpy() for v in worker.network.policy_head.trainable_variables]
      w_v, b_v = [v.numpy() for v in worker.network.value_head.trainable_variables]
      before = [v.numpy().copy() for v in learner.network.trainable_variables]
      metrics = worker.learn(segment, 0.0)
      self.assertEqual(int(metrics['update']), index + 1)

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
        observation = np.asarray(worker._env.reset().observation, np.float32)[None]
    self.assertEqual(int(learner.env_steps.numpy()), sum(expected_lengths))

  def test_sync_copies_global_into_local(self):
    _, workers = make_agent([make_counter_env(0), make_counter_env(1)])
    learner = workers[0]._learner
    rng = np.random.default_rng(0)
    for v in learner.network.variables:
      v.assign(rng.normal(size=v.shape).astype(np.float32))
    for worker in workers:
      self.assertNotAllClose(worker.network.variables[0].numpy(),
                             learner.network.variables[0].numpy())
      worker.sync()
      for local, shared in zip(worker.network.variables, learner.network.variables):
        self.assertAllEqual(local.numpy(), shared.numpy())
      self.assertIsNot(worker.network.variables[0], learner.network.variables[0])

  def test_run_segment_updates_global_parameters_and_counters(self):
    agent, workers = make_agent([make_counter_env(0), make_counter_env(1)],
                                anneal_learning_rate=True)
    before = [v.numpy().copy() for v in agent.network.trainable_variables]
    first = workers[0].run_segment(_T, 0.0)
    second = workers[1].run_segment(2, 0.5)
    self.assertEqual((first.start_update, first.update), (0, 1))
    self.assertEqual((second.start_update, second.update), (1, 2))
    self.assertEqual((first.env_steps, second.env_steps), (3, 2))  # Episode end; max_steps.
    self.assertEqual(first.episode_lengths, [3])
    self.assertLen(first.episode_returns, 1)
    self.assertBetween(first.episode_returns[0], 60.0, 66.0)  # 10 + 20 + 30 + actions.
    self.assertAllClose(second.metrics['learning_rate'], 7e-4 * 0.5)
    for name, value in first.metrics.items():
      self.assertTrue(np.isfinite(value), name)
    for b, v in zip(before, agent.network.trainable_variables):
      self.assertNotAllClose(b, v.numpy(), msg=f'{v.name} did not change')
    self.assertEqual(int(agent.learner.env_steps.numpy()), 5)

  def test_continuous_actions_and_jit(self):
    env = environments.make_environment(fake_envs.ECHO_ID, seed=0, max_episode_steps=4)
    agent, (worker,) = make_agent([env], jit_compile=True, anneal_learning_rate=False)
    before = [v.numpy().copy() for v in agent.network.trainable_variables]
    result = worker.run_segment(_T, 0.0)
    self.assertEqual(result.env_steps, 4)
    self.assertTrue(np.isfinite(result.metrics['loss']))
    for b, v in zip(before, agent.network.trainable_variables):
      self.assertNotAllClose(b, v.numpy(), msg=v.name)

  def test_bad_config_names_the_flag(self):
    for field, value in (('num_workers', 0), ('t_max', 0), ('optimizer', 'sgd'),
                         ('discount', 1.5)):
      with self.assertRaisesRegex(ValueError, f'--{field}='):
        a3c_config.A3CConfig(**{field: value})

  def test_other_strategies_are_refused_naming_the_flag(self):
    env = make_counter_env(0)
    config = a3c_config.A3CConfig(num_workers=1)
    with self.assertRaisesRegex(ValueError, '--strategy'):
      builder.make_agent(env.observation_spec(), env.action_spec(), config,
                         tf.distribute.OneDeviceStrategy('/cpu:0'), seed=0)


if __name__ == '__main__':
  tf.test.main()
