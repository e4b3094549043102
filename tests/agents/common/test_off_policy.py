"""The off-policy runtime: config checks, the replay table it builds, and the training loop on
a fake continuous environment (insertions, updates, resume with the replay)."""

import os
import shutil
import tempfile

from absl.testing import absltest
import dm_env
from dm_env import specs
import gymnasium as gym
import numpy as np
import reverb
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import environments
from agents.common import off_policy
from agents.common import on_policy
from agents.common import replay as replay_lib
from agents.sac import builder
from agents.sac import config as sac_config
from tests.agents.common import fake_envs

_OBS = specs.Array((2,), np.float32)
_ACTION = specs.BoundedArray((2,), np.float32, -1.0, 1.0)


_ECHO_25 = 'RuntimeTestEcho25-v0'  # Echo with 25-step episodes (training and evaluation).


def setUpModule():
  fake_envs.register()
  if _ECHO_25 not in gym.envs.registry:
    gym.register(_ECHO_25, entry_point=fake_envs.Echo, max_episode_steps=25,
                 disable_env_checker=True)


class ConfigTest(absltest.TestCase):

  def test_invalid_values_name_the_flag(self):
    for kwargs, flag in ((dict(batch_size=0), 'batch_size'), (dict(n_step=0), 'n_step'),
                         (dict(discount=1.5), 'discount'),
                         (dict(learning_starts=10, replay_size=5), 'learning_starts'),
                         (dict(priority_exponent=-0.1), 'priority_exponent'),
                         (dict(importance_exponent=1.5), 'importance_exponent'),
                         (dict(priority_epsilon=0.0), 'priority_epsilon')):
      with self.assertRaisesRegex(config_lib.ConfigError, f'--{flag}='):
        off_policy.OffPolicyConfig(**kwargs)

  def test_subclass_fields_inherit_their_documentation(self):
    docs = config_lib.field_docs(sac_config.SACConfig)
    self.assertIn('replay_size', docs)  # From OffPolicyConfig's docstring.
    self.assertIn('tau', docs)
    config_lib.check_documented(sac_config.SACConfig)

  def test_budget_must_exceed_learning_starts(self):
    settings = on_policy.RunSettings('sac', 'Pendulum-v1', num_steps=100, seed=0, logdir='x')
    with self.assertRaisesRegex(ValueError, '--num_steps=100'):
      off_policy.check_budget(settings, off_policy.OffPolicyConfig(learning_starts=100))
    off_policy.check_budget(settings, off_policy.OffPolicyConfig(learning_starts=99))


class ReplayTest(absltest.TestCase):

  def test_table_states_the_replay_ratio_and_minimum_size(self):
    config = off_policy.OffPolicyConfig(batch_size=32, updates_per_step=2, learning_starts=50,
                                        replay_size=1000)
    replay = off_policy.make_replay(config, _OBS, _ACTION, tempfile.mkdtemp())
    self.addCleanup(replay.server.stop)
    info = replay.client.server_info()[replay_lib.DEFAULT_TABLE]
    self.assertEqual(info.max_size, 1000)
    self.assertEqual(info.rate_limiter_info.samples_per_insert, 64.0)
    self.assertEqual(info.rate_limiter_info.min_size_to_sample, 50)

  def test_prioritized_batches_carry_keys_and_importance_weights(self):
    alpha, beta = 0.6, 0.4
    # learning_starts=3: the rate limiter lets the three inserts and then one batch through.
    config = off_policy.OffPolicyConfig(batch_size=16, learning_starts=3, replay_size=100,
                                        prioritized_replay=True, priority_exponent=alpha,
                                        importance_exponent=beta)
    replay = off_policy.make_replay(config, _OBS, _ACTION, tempfile.mkdtemp())
    self.addCleanup(replay.server.stop)
    info = replay.client.server_info()[replay_lib.DEFAULT_TABLE]
    self.assertAlmostEqual(info.sampler_options.prioritized.priority_exponent, alpha)
    # Three transitions whose observation names their priority.
    priorities = [1.0, 2.0, 4.0]
    writer = replay_lib.NStepTransitionWriter(
        replay.client, replay_lib.DEFAULT_TABLE, 1, 0.99, packed=replay.packed,
        priority=lambda transition: float(transition.observation[0]))
    writer.observe_first(dm_env.restart(np.array([priorities[0], 0], np.float32)))
    for p in priorities[1:] + [9.0]:
      writer.observe(np.zeros(2, np.float32),
                     dm_env.transition(0.0, np.array([p, 0], np.float32)))
    writer.flush()
    iterator = off_policy.make_iterator(replay, config, tf.distribute.get_strategy(), _OBS,
                                        _ACTION)
    batch = next(iterator)
    sampled = batch.observation.numpy()[:, 0]
    total = sum(p ** alpha for p in priorities)
    w = (3 * sampled ** alpha / total) ** -beta
    np.testing.assert_allclose(batch.extras['importance_weight'].numpy(), w / w.max(),
                               rtol=1e-5)
    self.assertEqual(batch.extras['key'].shape, (16,))
    self.assertEqual(len(set(batch.extras['key'].numpy().tolist())),
                     len(set(sampled.tolist())))

  def test_a_remote_table_with_another_sampler_is_refused(self):
    signature, _ = off_policy.table_signature(_OBS, _ACTION)
    server = replay_lib.make_server([replay_lib.make_uniform_table(
        replay_lib.DEFAULT_TABLE, 100, signature)])
    self.addCleanup(server.stop)
    config = off_policy.OffPolicyConfig(learning_starts=1, prioritized_replay=True)
    with self.assertRaisesRegex(ValueError, '--prioritized_replay=true'):
      off_policy.make_replay(config, _OBS, _ACTION, '', address=f'localhost:{server.port}')

  def test_a_remote_table_of_another_environment_is_refused(self):
    signature = replay_lib.transition_signature(specs.Array((5,), np.float32), _ACTION)
    server = replay_lib.make_server([replay_lib.make_uniform_table(
        replay_lib.DEFAULT_TABLE, 100, signature)])
    self.addCleanup(server.stop)
    with self.assertRaisesRegex(ValueError, '--replay_address='):
      off_policy.make_replay(off_policy.OffPolicyConfig(learning_starts=1), _OBS, _ACTION, '',
                             address=f'localhost:{server.port}')


class RunTest(absltest.TestCase):

  def _run(self, logdir, num_steps, server=None, **config_kwargs):
    settings = on_policy.RunSettings('sac', _ECHO_25, num_steps=num_steps, seed=0,
                                     logdir=logdir, eval_episodes=1, eval_every=0,
                                     checkpoint_every=1000, log_every=20)
    config = sac_config.SACConfig(hidden_sizes=(8,), batch_size=4, learning_starts=10,
                                  replay_size=1000, **config_kwargs)
    env = environments.make_environment(_ECHO_25, seed=0)
    strategy = tf.distribute.get_strategy()
    agent = builder.make_agent(env.observation_spec(), env.action_spec(), config, strategy, 0)
    address = server and f'localhost:{server.port}'
    replay = off_policy.make_replay(config, env.observation_spec(), env.action_spec(), logdir,
                                    address=address)
    try:
      parts = off_policy.OffPolicyAgent(agent.actor, agent.learner,
                                        dict(learner=agent.learner, actor=agent.actor))
      record = off_policy.run(settings, env, parts, config, replay, strategy)
      size = record['replay_items']
    finally:
      if replay.server is not None:
        replay.server.stop()
      env.close()
    return record, size, agent

  def test_inserts_every_step_updates_after_learning_starts_and_resumes(self):
    logdir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, logdir, ignore_errors=True)
    record, size, agent = self._run(logdir, 60)
    self.assertEqual(record['env_steps'], 60)
    self.assertEqual(size, 60)  # Episodes of 25 steps: every transition is in the table.
    self.assertEqual(record['updates'], 60 - 10 + 1)  # From step 10 on, one per step.
    self.assertEqual(int(agent.learner.num_updates.numpy()), 51)
    self.assertTrue(os.path.exists(os.path.join(logdir, 'evaluation.json')))
    # A larger budget resumes: the counters and the table come back.
    record, size, agent = self._run(logdir, 80)
    self.assertEqual(record['env_steps'], 80)
    self.assertEqual(size, 80)
    self.assertEqual(int(agent.learner.num_updates.numpy()), 71)
    self.assertIn('ckpt-60', record['resumed_from'])

  def test_prioritized_run_writes_new_priorities_back(self):
    logdir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, logdir, ignore_errors=True)
    # A server of its own (no replay ratio), so the table can be read after the run.
    env = environments.make_environment(_ECHO_25)
    signature, _ = off_policy.table_signature(env.observation_spec(), env.action_spec())
    env.close()
    server = replay_lib.make_server([replay_lib.make_prioritized_table(
        replay_lib.DEFAULT_TABLE, 1000, signature, priority_exponent=0.6)])
    self.addCleanup(server.stop)
    record, size, agent = self._run(logdir, 40, server=server, prioritized_replay=True)
    self.assertEqual(record['updates'], 31)
    self.assertEqual(size, 40)
    self.assertNotIn('priority', record)
    # 31 batches of 4 were sampled: their items now hold |TD error| + eps, not the initial 1.0.
    client = reverb.Client(f'localhost:{server.port}')
    priorities = np.array(list({
        sample[0].info.key: sample[0].info.priority
        for sample in client.sample(replay_lib.DEFAULT_TABLE, num_samples=2000)}.values()))
    self.assertGreater(len(priorities), 10)
    self.assertGreater(np.sum(np.abs(priorities - 1.0) > 1e-6), 5)
    self.assertGreaterEqual(float(agent.learner.max_priority.numpy()), priorities.max() - 1e-6)


if __name__ == '__main__':
  absltest.main()
