"""The multi-agent adapter: per-agent specs, joint steps, termination vs truncation per agent,
the joint layout, evaluation, and the refusals (the `mpe` extra missing, unknown ids)."""

import sys
from unittest import mock

from dm_env import specs
import dm_env
import numpy as np
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import core
from agents.common import environments
from agents.common import multi_agent
from tests.agents.common import fake_envs


def _env(**kwargs):
  return multi_agent.ParallelEnvironment(fake_envs.TwoAgents(**kwargs), seed=7, name='two')


class ParallelEnvironmentTest(tf.test.TestCase):

  def test_specs_are_keyed_by_agent_in_the_environment_order(self):
    env = _env()
    self.assertEqual(env.agents, ('mover_0', 'picker_0'))
    self.assertEqual(list(env.observation_spec()), ['mover_0', 'picker_0'])
    self.assertEqual(env.observation_spec()['picker_0'].shape, (4,))
    self.assertIsInstance(env.action_spec()['picker_0'], specs.DiscreteArray)
    self.assertEqual(env.action_spec()['picker_0'].num_values, 3)
    mover = env.action_spec()['mover_0']
    self.assertIsInstance(mover, specs.BoundedArray)
    self.assertAllEqual(mover.maximum, [1.0, 1.0])

  def test_termination_and_truncation_stay_apart_per_agent(self):
    env = _env(max_cycles=5, picker_terminates_at=3)
    first = env.reset()
    self.assertEqual(first.step_type, dm_env.StepType.FIRST)
    self.assertEqual(env._env.seeds, [7])  # pylint: disable=protected-access
    rewards, discounts = [], []
    timestep = first
    steps = 0
    while not timestep.last():
      timestep = env.step({'mover_0': np.array([0.25, 0.0]), 'picker_0': 2})
      rewards.append(dict(timestep.reward))
      discounts.append(dict(timestep.discount))
      steps += 1
    self.assertEqual(steps, 5)
    # The picker terminated at step 3: discount 0 from then on, reward 0 once it has left.
    self.assertEqual([d['picker_0'] for d in discounts], [1, 1, 0, 0, 0])
    self.assertEqual([r['picker_0'] for r in rewards], [1, 1, 1, 0, 0])
    # The mover was truncated by the time limit: discount 1 on its LAST step.
    self.assertEqual([d['mover_0'] for d in discounts], [1, 1, 1, 1, 1])
    np.testing.assert_allclose([r['mover_0'] for r in rewards],
                               [-(0.25 * t - 1.0) ** 2 for t in range(1, 6)], rtol=1e-6)
    # The picker keeps its last observation after it left.
    self.assertAllEqual(timestep.observation['picker_0'], [3, 2, 1, 0])
    self.assertAllEqual(timestep.observation['mover_0'], [5, 1.25])
    # The next step starts a new episode, unseeded (the stream goes on).
    self.assertTrue(env.step({}).first())
    self.assertEqual(env._env.seeds, [7, None])  # pylint: disable=protected-access

  def test_actions_are_clipped_and_discrete_ones_made_ints(self):
    env = _env()
    env.reset()
    timestep = env.step({'mover_0': np.array([3.0, -1.0]), 'picker_0': np.int64(1)})
    self.assertAllEqual(timestep.observation['mover_0'], [1, 1.0])  # x = 1 + 0.
    self.assertEqual(timestep.reward['picker_0'], 0.0)

  def test_non_finite_reward_names_the_agent_and_step(self):
    env = _env(reward_nan_at=2)
    env.reset()
    env.step({'mover_0': np.zeros(2), 'picker_0': 0})
    with self.assertRaisesRegex(environments.NonFiniteError,
                                r'two \(agent mover_0\).*reward \(nan\) at its step 2'):
      env.step({'mover_0': np.zeros(2), 'picker_0': 0})

  def test_state_round_trip_continues_the_episode(self):
    env = _env()
    env.reset()
    env.step({'mover_0': np.array([0.5, 0.0]), 'picker_0': 1})
    state = env.get_state()
    other = _env()
    other.set_state(state)
    a = env.step({'mover_0': np.array([0.5, 0.0]), 'picker_0': 1})
    b = other.step({'mover_0': np.array([0.5, 0.0]), 'picker_0': 1})
    self.assertAllEqual(a.observation['mover_0'], b.observation['mover_0'])
    self.assertEqual(a.reward, b.reward)


class JointLayoutTest(tf.test.TestCase):

  def _layout(self):
    env = _env()
    return multi_agent.JointLayout(core.EnvironmentSpec(env.observation_spec(),
                                                        env.action_spec()))

  def test_joint_vectors_follow_the_agent_order(self):
    layout = self._layout()
    self.assertEqual(layout.observation_sizes, (2, 4))
    self.assertEqual(layout.action_sizes, (2, 3))
    self.assertEqual(layout.discrete, (False, True))
    joint = layout.joint_observation({'picker_0': np.array([5, 6, 7, 8]),
                                      'mover_0': np.array([1, 2])})
    self.assertAllEqual(joint, [1, 2, 5, 6, 7, 8])
    mover, picker = layout.split_observations(tf.constant(joint[None]))
    self.assertAllEqual(mover, [[1, 2]])
    self.assertAllEqual(picker, [[5, 6, 7, 8]])
    actions = layout.env_actions(np.array([0.1, 0.9, 0.0, 0.0, 1.0], np.float32))
    self.assertAllClose(actions['mover_0'], [0.1, 0.9])
    self.assertEqual(actions['picker_0'], 2)
    self.assertAllEqual(layout.action_spec().minimum, [0, 0, 0, 0, 0])
    self.assertAllEqual(layout.action_spec().maximum, [1, 1, 1, 1, 1])
    self.assertEqual(layout.teams(), {'mover': [0], 'picker': [1]})

  def test_single_agent_specs_are_refused(self):
    spec = environments.environment_spec('Pendulum-v1')
    with self.assertRaisesRegex(config_lib.ConfigError, 'needs a multi-agent environment'):
      multi_agent.JointLayout(spec)


class EvaluateTest(tf.test.TestCase):

  def test_returns_per_episode_team_and_agent(self):
    # The mover pushes 0.25 per step, the picker picks 2: returns by hand.
    policy = lambda x: np.tile(np.array([0.25, 0.0, 0, 0, 1], np.float32), (len(x), 1))
    result = multi_agent.evaluate(policy, lambda seed: _env(), episodes=3, seed=0)
    mover = -sum((0.25 * t - 1.0) ** 2 for t in range(1, 6))
    picker = 3.0
    self.assertAllClose(result.returns, [(mover + picker) / 2] * 3)
    self.assertAllEqual(result.lengths, [5, 5, 5])
    self.assertAllClose(result.details['return_mover'], mover)
    self.assertAllClose(result.details['return_picker_0'], picker)


class EnvironmentIdTest(tf.test.TestCase):

  def test_mpe_environment_specs(self):
    spec = multi_agent.environment_spec('mpe2/simple_spread_v3', continuous_actions=True)
    self.assertEqual(list(spec.observation), ['agent_0', 'agent_1', 'agent_2'])
    self.assertEqual(spec.observation['agent_0'].shape, (18,))
    self.assertAllEqual(spec.action['agent_2'].maximum, np.ones(5))
    discrete = multi_agent.environment_spec('mpe2/simple_adversary_v3',
                                            continuous_actions=False)
    self.assertEqual(list(discrete.action), ['adversary_0', 'agent_0', 'agent_1'])
    self.assertEqual(discrete.action['adversary_0'].num_values, 5)

  def test_shared_reward_is_the_sum_over_each_team(self):
    # Same seed and actions with and without sharing: each agent's shared reward is its
    # team's sum of the own rewards (simple_adversary: one adversary, two good agents).
    for env_id in ('mpe2/simple_spread_v3', 'mpe2/simple_adversary_v3'):
      own = multi_agent.make_environment(env_id, seed=3)
      shared = multi_agent.make_environment(env_id, seed=3, shared_reward=True)
      layout = multi_agent.JointLayout(core.EnvironmentSpec(own.observation_spec(),
                                                            own.action_spec()))
      own.reset()
      shared.reset()
      rng = np.random.default_rng(0)
      for _ in range(5):
        actions = layout.env_actions(rng.uniform(layout.action_low, layout.action_high))
        own_rewards = layout.rewards(own.step(actions).reward)
        shared_rewards = layout.rewards(shared.step(actions).reward)
        for members in layout.teams().values():
          np.testing.assert_allclose(shared_rewards[members],
                                     np.full(len(members), own_rewards[members].sum()),
                                     rtol=1e-6, err_msg=env_id)
        self.assertGreater(np.abs(own_rewards).sum(), 0.0)
      own.close()
      shared.close()

  def test_unknown_ids_are_refused_with_suggestions(self):
    with self.assertRaisesRegex(config_lib.ConfigError, 'did you mean mpe2/simple_spread_v3'):
      multi_agent.check_env_id('mpe2/simple_sprad_v3')
    with self.assertRaisesRegex(config_lib.ConfigError, 'is not a multi-agent environment'):
      multi_agent.check_env_id('CartPole-v1')
    with self.assertRaisesRegex(config_lib.ConfigError, 'is a multi-agent environment'):
      environments.check_env_id('mpe2/simple_spread_v3')

  def test_missing_extra_is_named(self):
    with mock.patch.dict(sys.modules, {'mpe2': None}):
      with self.assertRaises(config_lib.ConfigError) as caught:
        multi_agent.check_env_id('mpe2/simple_spread_v3')
    self.assertIn("pip install -e '.[mpe]'", str(caught.exception))
    self.assertEqual(caught.exception.value, 'mpe2/simple_spread_v3')
    self.assertNotIn('\n', str(caught.exception))


if __name__ == '__main__':
  tf.test.main()
