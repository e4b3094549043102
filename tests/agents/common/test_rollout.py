"""Tests for agents.common.rollout: alignment, truncation values, continuation across calls."""

from absl.testing import parameterized
import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.common import environments
from agents.common import rollout
from agents.common import wrappers
from tests.agents.common import fake_envs

MAX_STEPS = 5


def setUpModule():
  fake_envs.register()


class SumActor:
  """A fake actor: V(s) = sum(s), log mu = -V(s), action = s[0] mod `num_actions` (or constant)."""

  def __init__(self, num_actions=3, constant_action=None):
    self._num_actions = num_actions
    self._constant = constant_action

  def value(self, observation):
    return tf.reduce_sum(observation, axis=-1)

  def step(self, observation):
    if self._constant is None:
      action = tf.math.floormod(tf.cast(observation[:, 0], tf.int32), self._num_actions)
    else:
      action = tf.fill(tf.shape(observation)[:1], tf.constant(self._constant, tf.int32))
    value = self.value(observation)
    return action, -value, value


def _counter_collector(num_envs, num_steps, seed=0):
  env = environments.VectorEnv(fake_envs.COUNTER_ID, num_envs, seed=seed,
                               options=wrappers.EnvOptions(max_episode_steps=MAX_STEPS))
  return rollout.RolloutActor(env, SumActor(), num_steps)


def _expected(num_envs, num_steps, start=0, seed=0):
  """The rollout fields of `num_steps` steps from step `start`, from the reference model."""
  refs = [fake_envs.counter_reference(seed + i, num_steps + 1, MAX_STEPS, start=start)
          for i in range(num_envs)]

  def field(name, t_range=range(num_steps)):
    return np.array([[refs[i][t][name] for i in range(num_envs)] for t in t_range])

  observation = field('obs')
  truncated = field('truncated').astype(np.float32)
  return dict(
      observation=observation,
      action=field('action'),
      reward=field('reward'),
      terminated=field('terminated').astype(np.float32),
      truncated=truncated,
      log_prob=-observation.sum(-1),
      value=observation.sum(-1),
      truncation_value=truncated * field('final_obs').sum(-1),
      bootstrap_value=field('obs', [num_steps])[0].sum(-1),
  )


class RolloutActorTest(tf.test.TestCase, parameterized.TestCase):

  def test_num_steps_must_be_positive(self):
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 1, seed=0)
    with self.assertRaisesRegex(ValueError, 'num_steps=0'):
      rollout.RolloutActor(env, SumActor(), 0)

  def test_hand_computed_rollout(self):
    """Env 0 terminates after 3 steps, env 1 is cut by the 5-step time limit (T=7)."""
    collector = _counter_collector(num_envs=2, num_steps=7)
    batch, returns, lengths = collector.collect()
    self.assertAllEqual(batch.observation[:, 0, 0], [0, 1, 2, 0, 1, 2, 0])
    self.assertAllEqual(batch.observation[:, 1, 0], [0, 1, 2, 3, 4, 0, 1])
    self.assertAllEqual(batch.observation[:, :, 1], [[0, 1]] * 7)
    self.assertAllEqual(batch.action[:, 0], [0, 1, 2, 0, 1, 2, 0])
    self.assertAllEqual(batch.action[:, 1], [0, 1, 2, 0, 1, 0, 1])
    self.assertAllEqual(batch.reward[:, 0], [10, 21, 32, 10, 21, 32, 10])
    self.assertAllEqual(batch.reward[:, 1], [10, 21, 32, 40, 51, 10, 21])
    self.assertAllEqual(batch.terminated[:, 0], [0, 0, 1, 0, 0, 1, 0])
    self.assertAllEqual(batch.terminated[:, 1], [0] * 7)
    self.assertAllEqual(batch.truncated[:, 0], [0] * 7)
    self.assertAllEqual(batch.truncated[:, 1], [0, 0, 0, 0, 1, 0, 0])
    # V(final obs [5, 1]) = 6 where truncated, 0 elsewhere (also at terminations).
    self.assertAllEqual(batch.truncation_value, [[0, 0]] * 4 + [[0, 6]] + [[0, 0]] * 2)
    # After 7 steps: env 0 is at [1, 0], env 1 at [2, 1].
    self.assertAllEqual(batch.bootstrap_value, [1.0, 3.0])
    # Episodes in the order they ended: env 0 at t=2, env 1 at t=4, env 0 at t=5.
    self.assertEqual(returns, [63.0, 154.0, 63.0])
    self.assertEqual(lengths, [3, 5, 3])

  @parameterized.parameters((1, 1), (2, 7), (3, 12))
  def test_shapes_and_dtypes(self, num_envs, num_steps):
    batch, _, _ = _counter_collector(num_envs, num_steps).collect()
    self.assertIsInstance(batch, rollout.Rollout)
    self.assertEqual(batch.observation.shape, (num_steps, num_envs, 2))
    self.assertEqual(batch.observation.dtype, tf.float32)
    self.assertEqual(batch.action.shape, (num_steps, num_envs))
    self.assertEqual(batch.action.dtype, tf.int32)
    for name in ('reward', 'terminated', 'truncated', 'log_prob', 'value', 'truncation_value'):
      x = getattr(batch, name)
      self.assertEqual(x.shape, (num_steps, num_envs), name)
      self.assertEqual(x.dtype, tf.float32, name)
    self.assertEqual(batch.bootstrap_value.shape, (num_envs,))

  @parameterized.parameters((2, 7), (3, 13))
  def test_matches_reference_model(self, num_envs, num_steps):
    batch, _, _ = _counter_collector(num_envs, num_steps).collect()
    for name, value in _expected(num_envs, num_steps).items():
      self.assertAllEqual(getattr(batch, name), value, msg=name)

  def test_next_observation_alignment(self):
    """observation[t + 1] is the next state of step t unless the episode ended at t."""
    batch, _, _ = _counter_collector(3, 16).collect()
    obs = batch.observation.numpy()
    done = (batch.terminated + batch.truncated).numpy() > 0
    self.assertTrue(done.any())
    continuing = ~done[:-1]
    self.assertAllEqual(obs[1:, :, 0][continuing], obs[:-1, :, 0][continuing] + 1)
    self.assertAllEqual(obs[1:, :, 0][done[:-1]], np.zeros(done[:-1].sum()))

  def test_continues_across_calls(self):
    num_envs, num_steps = 3, 4
    collector = _counter_collector(num_envs, num_steps)
    all_returns = []
    for k in range(3):
      batch, returns, _ = collector.collect()
      all_returns += returns
      expected = _expected(num_envs, num_steps, start=k * num_steps)
      for name, value in expected.items():
        self.assertAllEqual(getattr(batch, name), value, msg=f'call {k}: {name}')
    # 12 steps: env 0 and 2 end 4 episodes of return 63 in all, env 1 two of return 154.
    self.assertCountEqual(all_returns, [63.0] * 8 + [154.0] * 2)

  def test_one_rollout_equals_concatenated_shorter_ones(self):
    long_batch, long_returns, long_lengths = _counter_collector(2, 12).collect()
    short = _counter_collector(2, 4)
    parts = [short.collect() for _ in range(3)]
    for name in ('observation', 'action', 'reward', 'terminated', 'truncated',
                 'truncation_value'):
      self.assertAllEqual(
          getattr(long_batch, name),
          tf.concat([getattr(p[0], name) for p in parts], axis=0), msg=name)
    self.assertAllEqual(long_batch.bootstrap_value, parts[-1][0].bootstrap_value)
    # The bootstrap value of one part is the value of the next part's first observation.
    self.assertAllEqual(parts[0][0].bootstrap_value, parts[1][0].value[0])
    self.assertEqual(long_returns, sum([p[1] for p in parts], []))
    self.assertEqual(long_lengths, sum([p[2] for p in parts], []))

  def test_reset_with_seed_starts_new_episodes(self):
    collector = _counter_collector(2, 3)
    collector.collect()
    collector.reset_with_seed(10)
    batch, returns, _ = collector.collect()
    self.assertAllEqual(batch.observation[0], [[0.0, 10.0], [0.0, 11.0]])
    self.assertAllEqual(batch.terminated[:, 0], [0, 0, 1])  # id 10 is even: terminates.
    self.assertEqual(returns, [63.0])

  def test_act_takes_whole_rollouts_within_the_budget(self):
    collector = _counter_collector(2, 3)  # Rollouts of 2 x 3 = 6 steps.
    self.assertEqual(collector.act(5), (None, 0, (), ()))
    acted = collector.act(6)
    self.assertEqual(acted.env_steps, 6)
    self.assertEqual(acted.experience.reward.shape, (3, 2))
    collector.reset(env_steps=10)  # Env i seeded env.seed + 10 + i.
    acted = collector.act(100)
    self.assertAllEqual(acted.experience.observation[0], [[0.0, 10.0], [0.0, 11.0]])

  def test_termination_at_the_time_limit_is_not_bootstrapped(self):
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 2, seed=0, options=wrappers.EnvOptions(
        max_episode_steps=MAX_STEPS, env_kwargs=(('terminate_at', MAX_STEPS),)))
    batch, _, _ = rollout.RolloutActor(env, SumActor(), MAX_STEPS).collect()
    # Env 0 terminates exactly at the limit: terminal, not truncated, no truncation value.
    self.assertAllEqual(batch.terminated[:, 0], [0, 0, 0, 0, 1])
    self.assertAllEqual(batch.truncated[:, 0], [0] * 5)
    self.assertAllEqual(batch.truncation_value[:, 0], [0] * 5)
    # Env 1 is cut: V([5, 1]) = 6.
    self.assertAllEqual(batch.truncated[:, 1], [0, 0, 0, 0, 1])
    self.assertAllEqual(batch.truncation_value[:, 1], [0, 0, 0, 0, 6])

  def test_continuous_actions_are_stored_unclipped(self):

    class ConstantActor:

      def value(self, observation):
        return tf.reduce_sum(observation, axis=-1)

      def step(self, observation):
        action = tf.tile(tf.constant([[5.0, -0.5]]), [tf.shape(observation)[0], 1])
        return action, tf.zeros([tf.shape(observation)[0]]), self.value(observation)

    env = environments.VectorEnv(fake_envs.ECHO_ID, 2, seed=0)
    batch, _, _ = rollout.RolloutActor(env, ConstantActor(), 3).collect()
    self.assertEqual(batch.action.dtype, tf.float32)
    self.assertAllEqual(batch.action, [[[5.0, -0.5]] * 2] * 3)
    # The env saw the clipped action: it echoes it as the next observation, sums it as reward.
    self.assertAllEqual(batch.observation[0], [[0.0, 0.0]] * 2)
    self.assertAllEqual(batch.observation[1:], [[[1.0, -0.5]] * 2] * 2)
    self.assertAllClose(batch.reward, [[0.5, 0.5]] * 3)
    self.assertAllClose(batch.bootstrap_value, [0.5, 0.5])

  def test_cartpole_time_limit_matches_gymnasium(self):
    """A real env with a 5-step limit: the rollout replays gymnasium step by step."""
    num_envs, num_steps, seed, limit = 2, 12, 4, 5
    env = environments.VectorEnv('CartPole-v1', num_envs, seed=seed,
                                 options=wrappers.EnvOptions(max_episode_steps=limit))
    collector = rollout.RolloutActor(env, SumActor(constant_action=1), num_steps)
    batch, returns, lengths = collector.collect()
    for i in range(num_envs):
      reference = gym.make('CartPole-v1', max_episode_steps=limit)
      obs, _ = reference.reset(seed=seed + i)
      for t in range(num_steps):
        self.assertAllClose(batch.observation[t, i], obs, rtol=0, atol=0)
        self.assertEqual(batch.action[t, i], 1)
        obs, reward, terminated, truncated, _ = reference.step(1)
        self.assertEqual(batch.reward[t, i], reward)
        self.assertEqual(batch.terminated[t, i], float(terminated))
        self.assertEqual(batch.truncated[t, i], float(truncated and not terminated))
        expected_tv = obs.sum() if truncated and not terminated else 0.0
        self.assertAllClose(batch.truncation_value[t, i], expected_tv, rtol=1e-6, atol=1e-6)
        if terminated or truncated:
          obs, _ = reference.reset()
      self.assertAllClose(batch.bootstrap_value[i], obs.sum(), rtol=1e-6, atol=1e-6)
    # Pushing right from rest does not fall within 5 steps: every episode is cut at the limit.
    self.assertAllEqual(tf.reduce_sum(batch.truncated, axis=0), [2, 2])
    self.assertEqual(returns, [5.0] * 4)
    self.assertEqual(lengths, [5] * 4)


if __name__ == '__main__':
  tf.test.main()
