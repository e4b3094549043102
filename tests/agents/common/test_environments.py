"""Tests for agents.common.environments."""

from absl.testing import parameterized
import dm_env
from dm_env import specs
import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.common import environments
from agents.common import wrappers
from tests.agents.common import fake_envs


def setUpModule():
  fake_envs.register()


class CheckEnvIdTest(tf.test.TestCase):

  def test_registered_id_passes(self):
    environments.check_env_id('CartPole-v1')

  def test_typo_suggests_close_ids(self):
    with self.assertRaisesRegex(ValueError, r"^RunSettings.env_id='CartPol-v1'.*CartPole-v1"):
      environments.check_env_id('CartPol-v1')

  def test_unknown_id_points_to_registry(self):
    with self.assertRaisesRegex(ValueError,
                                r"^RunSettings.env_id='zzzzzzzz'.*gymnasium.envs.registry"):
      environments.check_env_id('zzzzzzzz')

  def test_make_environment_checks_id(self):
    with self.assertRaisesRegex(ValueError, 'RunSettings.env_id='):
      environments.make_environment('NoSuchEnv-v9')

  def test_environment_spec(self):
    spec = environments.environment_spec('Pendulum-v1')
    self.assertEqual(spec.observation.shape, (3,))
    self.assertEqual(spec.action.shape, (1,))


class SpecFromSpaceTest(tf.test.TestCase):

  def test_discrete(self):
    spec = environments.spec_from_space(gym.spaces.Discrete(4), 'action')
    self.assertIsInstance(spec, specs.DiscreteArray)
    self.assertEqual(spec.num_values, 4)
    self.assertEqual(spec.dtype, np.int32)
    self.assertEqual(spec.name, 'action')

  def test_discrete_with_nonzero_start_is_rejected(self):
    with self.assertRaisesRegex(ValueError, 'start=1'):
      environments.spec_from_space(gym.spaces.Discrete(3, start=1), 'action')

  def test_bounded_float64_box_becomes_float32(self):
    space = gym.spaces.Box(np.array([-1.0, 0.0]), np.array([2.0, 3.0]), dtype=np.float64)
    spec = environments.spec_from_space(space, 'observation')
    self.assertIsInstance(spec, specs.BoundedArray)
    self.assertEqual(spec.dtype, np.float32)
    self.assertEqual(spec.shape, (2,))
    self.assertAllEqual(spec.minimum, [-1.0, 0.0])
    self.assertAllEqual(spec.maximum, [2.0, 3.0])

  def test_unbounded_box_is_plain_array(self):
    spec = environments.spec_from_space(gym.spaces.Box(-np.inf, np.inf, (3,)), 'observation')
    self.assertEqual(type(spec), specs.Array)  # pylint: disable=unidiomatic-typecheck
    self.assertEqual(spec.shape, (3,))
    self.assertEqual(spec.dtype, np.float32)

  def test_integer_box_keeps_dtype(self):
    spec = environments.spec_from_space(gym.spaces.Box(0, 255, (2, 2), np.uint8), 'observation')
    self.assertIsInstance(spec, specs.BoundedArray)
    self.assertEqual(spec.dtype, np.uint8)

  def test_unsupported_space(self):
    with self.assertRaisesRegex(ValueError, 'unsupported space'):
      environments.spec_from_space(gym.spaces.MultiBinary(3), 'observation')

  def test_cartpole_specs(self):
    env = environments.make_environment('CartPole-v1')
    self.assertEqual(env.observation_spec().shape, (4,))
    self.assertEqual(env.observation_spec().dtype, np.float32)
    self.assertEqual(env.action_spec().num_values, 2)
    env.close()


class GymnasiumToDmEnvTest(tf.test.TestCase):

  def _env(self, seed, **kwargs):
    return environments.GymnasiumToDmEnv(
        gym.make(fake_envs.COUNTER_ID, max_episode_steps=5, **kwargs), seed=seed)

  def test_termination_has_discount_zero_and_auto_resets(self):
    env = self._env(seed=0)  # Even id: terminates after 3 steps.
    first = env.reset()
    self.assertTrue(first.first())
    self.assertAllEqual(first.observation, [0.0, 0.0])
    for t in (1, 2):
      ts = env.step(0)
      self.assertTrue(ts.mid())
      self.assertEqual(ts.discount, 1.0)
      self.assertEqual(ts.reward, 10.0 * t)
    last = env.step(2)
    self.assertTrue(last.last())
    self.assertEqual(last.discount, 0.0)
    self.assertEqual(last.reward, 32.0)
    self.assertAllEqual(last.observation, [3.0, 0.0])
    restart = env.step(1)  # The action after LAST is ignored: the env resets.
    self.assertTrue(restart.first())
    self.assertAllEqual(restart.observation, [0.0, 0.0])
    self.assertEqual(env.step(1).reward, 11.0)

  def test_time_limit_is_last_with_discount_one(self):
    env = self._env(seed=1)  # Odd id: only the time limit ends an episode.
    env.reset()
    for _ in range(4):
      self.assertTrue(env.step(0).mid())
    last = env.step(1)
    self.assertTrue(last.last())
    self.assertEqual(last.step_type, dm_env.StepType.LAST)
    self.assertEqual(last.discount, 1.0)
    self.assertEqual(last.reward, 51.0)
    self.assertAllEqual(last.observation, [5.0, 1.0])
    self.assertTrue(env.step(0).first())

  def test_termination_at_the_time_limit_is_a_termination(self):
    env = self._env(seed=0, terminate_at=5)
    env.reset()
    for _ in range(4):
      env.step(0)
    last = env.step(0)
    self.assertTrue(last.last())
    self.assertEqual(last.discount, 0.0)

  def test_step_before_reset_resets(self):
    env = self._env(seed=1)
    ts = env.step(2)
    self.assertTrue(ts.first())
    self.assertAllEqual(ts.observation, [0.0, 1.0])

  def test_make_environment_keeps_the_time_limit(self):
    env = environments.make_environment('CartPole-v1', seed=0,
                                        options=wrappers.EnvOptions(max_episode_steps=3))
    self.assertTrue(env.reset().first())
    steps = [env.step(np.int32(t % 2)) for t in range(3)]
    self.assertEqual([ts.step_type for ts in steps],
                     [dm_env.StepType.MID, dm_env.StepType.MID, dm_env.StepType.LAST])
    self.assertEqual([float(ts.discount) for ts in steps], [1.0, 1.0, 1.0])
    self.assertEqual([float(ts.reward) for ts in steps], [1.0, 1.0, 1.0])
    self.assertTrue(env.step(np.int32(0)).first())
    env.close()

  def test_observation_dtype_and_specs(self):
    env = environments.make_environment('Pendulum-v1', seed=0)
    ts = env.reset()
    self.assertEqual(ts.observation.dtype, np.float32)
    ts = env.step(np.array([0.5], np.float32))
    self.assertEqual(ts.observation.dtype, np.float32)
    self.assertIsInstance(ts.reward, np.float32)
    self.assertIsInstance(env.action_spec(), specs.BoundedArray)
    env.close()

  def test_seeded_on_first_reset_only(self):
    env = environments.make_environment('CartPole-v1', seed=3)
    reference = gym.make('CartPole-v1')
    expected_first, _ = reference.reset(seed=3)
    expected_second, _ = reference.reset()
    self.assertAllEqual(env.reset().observation, expected_first)
    self.assertAllEqual(env.reset().observation, expected_second)
    self.assertNotAllEqual(expected_first, expected_second)

  def test_continuous_actions_are_clipped(self):
    env = environments.GymnasiumToDmEnv(gym.make(fake_envs.ECHO_ID))
    env.reset()
    ts = env.step(np.array([5.0, -5.0], np.float32))
    self.assertAllEqual(ts.observation, [1.0, -2.0])
    ts = env.step(np.array([0.5, 1.5], np.float32))
    self.assertAllEqual(ts.observation, [0.5, 1.5])


class VectorEnvTest(tf.test.TestCase, parameterized.TestCase):

  def test_num_envs_must_be_positive(self):
    with self.assertRaisesRegex(ValueError, 'num_envs=0'):
      environments.VectorEnv('CartPole-v1', 0, seed=0)

  def test_unknown_env(self):
    with self.assertRaisesRegex(ValueError, 'RunSettings.env_id='):
      environments.VectorEnv('NoSuchEnv-v9', 2, seed=0)

  @parameterized.parameters(3, 5)
  def test_matches_reference_model(self, terminate_at):
    """Auto-reset, final observations, flags and episode statistics, step by step.

    Env 0 (even id) terminates after `terminate_at` steps; env 1 is cut by the 5-step limit.
    With terminate_at=5 env 0 is both terminated and at the time limit: not truncated.
    """
    num_steps, max_steps = 12, 5
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 2, seed=0, options=wrappers.EnvOptions(
        max_episode_steps=max_steps, env_kwargs=(('terminate_at', terminate_at),)))
    observation = env.reset()
    self.assertEqual(observation.dtype, np.float32)
    self.assertAllEqual(observation, [[0.0, 0.0], [0.0, 1.0]])
    refs = [fake_envs.counter_reference(i, num_steps, max_steps, terminate_at) for i in range(2)]
    returns, lengths = np.zeros(2), np.zeros(2, int)
    for t in range(num_steps):
      action = (observation[:, 0].astype(np.int64) % 3).astype(np.int32)
      step = env.step(action)
      ref = [r[t] for r in refs]
      self.assertAllEqual(action, [r['action'] for r in ref])
      self.assertAllEqual(step.reward, [r['reward'] for r in ref])
      self.assertEqual(step.reward.dtype, np.float32)
      self.assertAllEqual(step.terminated, [r['terminated'] for r in ref])
      self.assertAllEqual(step.truncated, [r['truncated'] for r in ref])
      self.assertAllEqual(step.observation, [r['next_obs'] for r in ref])
      done = step.terminated | step.truncated
      expected_final = np.where(done[:, None], [r['final_obs'] for r in ref], 0.0)
      self.assertAllEqual(step.final_observation, expected_final)
      returns += step.reward
      lengths += 1
      self.assertAllEqual(step.episode_returns, returns[done])
      self.assertAllEqual(step.episode_lengths, lengths[done])
      returns[done] = 0
      lengths[done] = 0
      observation = step.observation
    env.close()

  def test_truncated_excludes_terminated(self):
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 1, seed=0, options=wrappers.EnvOptions(
        max_episode_steps=2, env_kwargs=(('terminate_at', 2),)))
    env.reset()
    env.step(np.zeros(1, np.int32))
    step = env.step(np.zeros(1, np.int32))
    self.assertAllEqual(step.terminated, [True])
    self.assertAllEqual(step.truncated, [False])
    self.assertAllEqual(step.final_observation, [[2.0, 0.0]])
    self.assertAllEqual(step.episode_lengths, [2])

  def test_no_episode_statistics_while_running(self):
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 2, seed=1,
                                 options=wrappers.EnvOptions(max_episode_steps=5))
    env.reset()
    step = env.step(np.zeros(2, np.int32))
    self.assertEqual(step.episode_returns.size, 0)
    self.assertEqual(step.episode_lengths.size, 0)
    self.assertAllEqual(step.final_observation, np.zeros((2, 2)))

  def test_reset_clears_episode_statistics(self):
    env = environments.VectorEnv(fake_envs.COUNTER_ID, 1, seed=1,
                                 options=wrappers.EnvOptions(max_episode_steps=3))
    env.reset()
    env.step(np.zeros(1, np.int32))
    env.reset()
    for _ in range(2):
      env.step(np.zeros(1, np.int32))
    step = env.step(np.zeros(1, np.int32))
    self.assertAllEqual(step.episode_lengths, [3])
    self.assertAllEqual(step.episode_returns, [10.0 + 20.0 + 30.0])

  def test_continuous_actions_are_clipped(self):
    env = environments.VectorEnv(fake_envs.ECHO_ID, 2, seed=0)
    env.reset()
    step = env.step(np.array([[5.0, -5.0], [-0.5, 1.5]], np.float32))
    self.assertAllEqual(step.observation, [[1.0, -2.0], [-0.5, 1.5]])
    self.assertAllClose(step.reward, [-1.0, 1.0])

  def test_seeding_matches_gymnasium_and_is_reproducible(self):
    num_envs, seed, num_steps = 3, 11, 20
    runs = []
    for _ in range(2):
      env = environments.VectorEnv('CartPole-v1', num_envs, seed=seed)
      observations = [env.reset()]
      for t in range(num_steps):
        observations.append(env.step(np.full(num_envs, t % 2, np.int32)).observation)
      runs.append(np.stack(observations))
      env.close()
    self.assertAllEqual(runs[0], runs[1])
    for i in range(num_envs):
      reference = gym.make('CartPole-v1')
      expected, _ = reference.reset(seed=seed + i)
      self.assertAllClose(runs[0][0, i], expected, rtol=0, atol=0)
    self.assertNotAllClose(runs[0][0, 0], runs[0][0, 1])

  def test_explicit_reset_seed_overrides(self):
    env = environments.VectorEnv('CartPole-v1', 2, seed=0)
    first = env.reset()
    self.assertAllEqual(env.reset(seed=0), first)
    later = env.reset()  # No seed: continues the random streams.
    self.assertNotAllClose(later, first)


if __name__ == '__main__':
  tf.test.main()
