"""The off-policy runtime: config checks, the replay table it builds, the actor that feeds it,
and the training loop on a fake continuous environment (insertions, updates, resume with the
replay)."""

import os
import re
import shutil
import tempfile
import time
import types
from unittest import mock

from absl.testing import absltest
import dm_env
from dm_env import specs
import gymnasium as gym
import numpy as np
import reverb
import tensorflow as tf

from agents.common import checkpointing
from agents.common import config as config_lib
from agents.common import core
from agents.common import environments
from agents.common import loop
from agents.common import off_policy
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

  def test_invalid_values_name_the_field(self):
    for kwargs, field in ((dict(batch_size=0), 'batch_size'), (dict(n_step=0), 'n_step'),
                          (dict(discount=1.5), 'discount'),
                          (dict(learning_starts=10, replay_size=5), 'learning_starts'),
                          (dict(priority_exponent=-0.1), 'priority_exponent'),
                          (dict(importance_exponent=1.5), 'importance_exponent'),
                          (dict(priority_epsilon=0.0), 'priority_epsilon')):
      value = kwargs[field]
      with self.assertRaisesRegex(config_lib.ConfigError,
                                  re.escape(f'OffPolicyConfig.{field}={value!r}: ')) as caught:
        config_lib.OffPolicyConfig(**kwargs)
      self.assertEqual((caught.exception.field, caught.exception.value), (field, value))
    with self.assertRaisesRegex(config_lib.ConfigError,
                                '^OffPolicyConfig.batch_size=0: must be > 0$'):
      config_lib.OffPolicyConfig(batch_size=0)

  def test_subclass_fields_inherit_their_documentation(self):
    docs = config_lib.field_docs(sac_config.SACConfig)
    self.assertIn('replay_size', docs)  # From OffPolicyConfig's docstring.
    self.assertIn('tau', docs)
    config_lib.check_documented(sac_config.SACConfig)

  def test_budget_must_exceed_learning_starts(self):
    settings = loop.RunSettings('sac', 'Pendulum-v1', num_steps=100, seed=0, logdir='x')
    self.assertEqual(config_lib.OffPolicyConfig(learning_starts=100).min_num_steps, 101)
    with self.assertRaisesRegex(config_lib.ConfigError,
                                re.escape('RunSettings.num_steps=100: must be >= 101')):
      loop.check_budget(settings, config_lib.OffPolicyConfig(learning_starts=100))
    loop.check_budget(settings, config_lib.OffPolicyConfig(learning_starts=99))


class ReplayTest(absltest.TestCase):

  def test_table_states_the_replay_ratio_and_minimum_size(self):
    config = config_lib.OffPolicyConfig(batch_size=32, updates_per_step=2, learning_starts=50,
                                        replay_size=1000)
    replay = off_policy.make_replay(config, _OBS, _ACTION, tempfile.mkdtemp())
    self.addCleanup(replay.close)
    self.assertEqual(replay.size(), 0)
    info = replay.client.server_info()[replay_lib.DEFAULT_TABLE]
    self.assertEqual(info.max_size, 1000)
    self.assertEqual(info.rate_limiter_info.samples_per_insert, 64.0)
    self.assertEqual(info.rate_limiter_info.min_size_to_sample, 50)

  def test_prioritized_batches_carry_keys_and_importance_weights(self):
    alpha, beta = 0.6, 0.4
    # learning_starts=3: the rate limiter lets the three inserts and then one batch through.
    config = config_lib.OffPolicyConfig(batch_size=16, learning_starts=3, replay_size=100,
                                        prioritized_replay=True, priority_exponent=alpha,
                                        importance_exponent=beta)
    replay = off_policy.make_replay(config, _OBS, _ACTION, tempfile.mkdtemp())
    self.addCleanup(replay.close)
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
    self.assertEqual(replay.size(), 3)
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
    config = config_lib.OffPolicyConfig(learning_starts=1, prioritized_replay=True)
    with self.assertRaisesRegex(config_lib.ConfigError,
                                re.escape('OffPolicyConfig.prioritized_replay=True: the table at '
                                          f"'localhost:{server.port}' samples uniformly")):
      off_policy.make_replay(config, _OBS, _ACTION, '', address=f'localhost:{server.port}')

  def test_a_remote_table_of_another_environment_is_refused(self):
    signature = replay_lib.transition_signature(specs.Array((5,), np.float32), _ACTION)
    server = replay_lib.make_server([replay_lib.make_uniform_table(
        replay_lib.DEFAULT_TABLE, 100, signature)])
    self.addCleanup(server.stop)
    address = f'localhost:{server.port}'
    with self.assertRaisesRegex(
        config_lib.ConfigError,
        re.escape(f'RunSettings.replay_address={address!r}: the table does not hold '
                  'transitions of this environment')):
      off_policy.make_replay(config_lib.OffPolicyConfig(learning_starts=1), _OBS, _ACTION, '',
                             address=address)


def _insert(client: reverb.Client, count: int) -> None:
  """Writes `count` one-step transitions of the `_OBS`/`_ACTION` specs (packed)."""
  writer = replay_lib.NStepTransitionWriter(client, replay_lib.DEFAULT_TABLE, 1, 0.99,
                                            packed=True)
  writer.observe_first(dm_env.restart(np.zeros(2, np.float32)))
  for i in range(count):
    writer.observe(np.zeros(2, np.float32), dm_env.transition(0.0, np.full(2, i, np.float32)))
  writer.flush()
  writer.close()


def _priorities(client: reverb.Client):
  """{key: priority} of the table's items, read by sampling it."""
  return {int(sample[0].info.key): float(sample[0].info.priority)
          for sample in client.sample(replay_lib.DEFAULT_TABLE, num_samples=200)}


class _UnansweringClient:
  """A `reverb.Client` of a server that takes `unanswered_s` to update priorities and never
  answers `server_info`."""

  def __init__(self, unanswered_s: float):
    self._unanswered_s = unanswered_s

  def mutate_priorities(self, table, updates):
    del table, updates
    time.sleep(self._unanswered_s)

  def server_info(self, timeout=None):
    raise reverb.errors.DeadlineExceededError(f'no answer within {timeout} s')


class ServerFaultTest(absltest.TestCase):
  """Priority updates, stalls and restarted servers."""

  def _tempdir(self) -> str:
    path = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path

  def _signature(self):
    signature, packed = off_policy.table_signature(_OBS, _ACTION)
    self.assertTrue(packed)
    return signature

  def test_non_finite_priorities_are_not_written(self):
    table = replay_lib.make_prioritized_table(replay_lib.DEFAULT_TABLE, 10, self._signature(),
                                              priority_exponent=1.0)
    replay = off_policy.serve_table(table, self._tempdir(), packed=True)
    self.addCleanup(replay.close)
    _insert(replay.client, 3)
    keys = sorted(_priorities(replay.client))
    self.assertLen(keys, 3)
    for bad in (np.nan, np.inf):
      replay.update_priorities(np.array(keys, np.uint64), [2.0, bad, 3.0])
      self.assertEqual(_priorities(replay.client), {k: 1.0 for k in keys})
    replay.update_priorities(np.array(keys, np.uint64), [2.0, 4.0, 3.0])
    self.assertEqual(_priorities(replay.client), dict(zip(keys, [2.0, 4.0, 3.0])))

  def test_a_remote_priority_update_waits_no_longer_than_the_server_timeout(self):
    replay = off_policy.Replay(_UnansweringClient(unanswered_s=10.0), 'localhost:1', None)
    start = time.monotonic()
    with mock.patch.object(off_policy, 'SERVER_TIMEOUT_S', 1.0):
      with self.assertRaisesRegex(core.RunStopped,
                                  '^the replay server at localhost:1 did not answer'):
        replay.update_priorities(np.array([1, 2], np.uint64), [1.0, 2.0])
    self.assertLess(time.monotonic() - start, 8.0)

  def test_a_stop_requested_while_a_call_waited_ends_as_an_interrupt(self):
    table = replay_lib.make_uniform_table(replay_lib.DEFAULT_TABLE, 10, self._signature())
    replay = off_policy.serve_table(table, self._tempdir(), packed=True)
    self.addCleanup(replay.close)
    self.assertIsInstance(replay.stall('gave no batch'), core.RunStopped)
    with core.Interrupts():  # Its exit drops a request left over by a failure.
      core.Interrupts.request()  # A signal came while the sample waited.
      with self.assertRaises(KeyboardInterrupt):
        raise replay.stall('gave no batch')
      core.check_interrupt()  # The request was taken: the checkpoint on the way out goes on.

  def test_a_restarted_server_refilled_to_its_size_is_detected(self):
    table = lambda: replay_lib.make_uniform_table(replay_lib.DEFAULT_TABLE, 5, self._signature())
    server = replay_lib.make_server([table()])
    address = f'localhost:{server.port}'
    replay = off_policy.Replay(reverb.Client(address), address, None, packed=True)
    context = types.SimpleNamespace(logdir=self._tempdir())
    check = off_policy.replay_state(1, context, replay, None, None, flush=lambda: None)['check']
    _insert(replay.client, 8)
    check()  # Records 5 items, 8 inserts.
    server.stop()
    server = replay_lib.make_server([table()], port=server.port)
    self.addCleanup(server.stop)
    _insert(replay.client, 6)  # Full again: 5 items.
    self.assertEqual(replay.counts(), (5, 6))
    with self.assertRaisesRegex(
        core.RunStopped, re.escape(f'the replay server at {address} restarted: its table has '
                                   'taken 6 transitions, 8 before; at least 2 of the 5 '
                                   'transitions it held were lost')):
      check()

  def test_table_checkpoints_follow_the_run_checkpoints_on_disk(self):
    logdir = self._tempdir()
    os.makedirs(checkpointing.directory(logdir))
    for step in (200, 400):
      open(os.path.join(checkpointing.directory(logdir), f'ckpt-{step}.index'), 'w').close()
    open(os.path.join(checkpointing.directory(logdir), 'ckpt-600.index.damaged'), 'w').close()
    for step in (0, 200, 400, 600, 800):
      os.makedirs(off_policy.replay_checkpoint(logdir, step))
    off_policy.drop_unused_replay(logdir)
    self.assertEqual(sorted(os.listdir(off_policy.replay_directory(logdir))),
                     ['ckpt-200', 'ckpt-400'])


class _ConstantPolicy:
  """Selects `action` for every observation; counts its episode resets."""

  def __init__(self, action):
    self.action = np.asarray(action, np.float32)
    self.resets = 0
    self.observations = []

  def select(self, observation):
    self.observations.append(np.array(observation))
    return tf.constant(self.action[None])

  def reset(self):
    self.resets += 1


class _RecordingWriter:
  """Records what the actor writes, as `NStepTransitionWriter` would receive it."""

  def __init__(self):
    self.firsts, self.actions, self.timesteps = [], [], []
    self.closed = False

  def observe_first(self, timestep):
    self.firsts.append(timestep)

  def observe(self, action, timestep):
    self.actions.append(np.array(action))
    self.timesteps.append(timestep)

  def close(self):
    self.closed = True


class ReplayActorTest(absltest.TestCase):

  def _actor(self, learning_starts, seed=3):
    env = environments.make_environment(_ECHO_25, seed=0)
    policy, writer = _ConstantPolicy([0.5, -1.5]), _RecordingWriter()
    return off_policy.ReplayActor(env, policy, writer, learning_starts, seed), policy, writer

  def test_random_actions_until_learning_starts_then_the_policy(self):
    actor, policy, writer = self._actor(learning_starts=5)
    actor.reset(0)
    acted = [actor.act(100) for _ in range(30)]
    actor.close()
    self.assertTrue(writer.closed)
    # One environment step per call, nothing handed to the learner: it samples the table.
    self.assertEqual([a.env_steps for a in acted], [1] * 30)
    self.assertTrue(all(a.experience is None for a in acted))
    actions = np.stack(writer.actions)
    low, high = fake_envs.ECHO_LOW, fake_envs.ECHO_HIGH
    self.assertTrue(np.all(actions[:5] >= low) and np.all(actions[:5] <= high))
    self.assertLen({tuple(a) for a in actions[:5]}, 5)  # Uniform draws, not the policy's.
    self.assertFalse(np.any(np.all(actions[:5] == [0.5, -1.5], axis=1)))
    np.testing.assert_array_equal(actions[5:], np.tile([0.5, -1.5], (25, 1)))
    # The policy saw the observation it acted on (Echo: the previous action).
    self.assertLen(policy.observations, 25)
    np.testing.assert_array_equal(policy.observations[0], actions[4][None])
    # The 25-step episode ends at call 25: its return and length are reported, and a new
    # episode starts (writer and policy reset).
    ended = [i for i, a in enumerate(acted) if a.episode_returns]
    self.assertEqual(ended, [24])
    self.assertEqual(list(acted[24].episode_lengths), [25])
    self.assertAlmostEqual(acted[24].episode_returns[0], float(np.sum(actions[:25])), places=4)
    self.assertLen(writer.firsts, 2)
    self.assertEqual(policy.resets, 2)
    self.assertTrue(writer.timesteps[24].last())

  def test_random_actions_depend_on_the_seed_and_the_restart_step(self):
    def warm_up(seed, env_steps):
      actor, _, writer = self._actor(learning_starts=100, seed=seed)
      actor.reset(env_steps)
      for _ in range(3):
        actor.act(1)
      actor.close()
      return np.stack(writer.actions)

    np.testing.assert_array_equal(warm_up(3, 0), warm_up(3, 0))
    self.assertFalse(np.allclose(warm_up(3, 0), warm_up(4, 0)))
    # A resumed run (restarting at step 10) draws actions it has not drawn before.
    self.assertFalse(np.allclose(warm_up(3, 0), warm_up(3, 10)))

  def test_reset_reseeds_the_environment_from_the_restart_step(self):
    # Used to continue the environment's one stream: a resumed run replayed the first run's
    # episodes.
    def first_observations(*restarts):
      env = environments.make_environment('Pendulum-v1', seed=0)
      writer = _RecordingWriter()
      actor = off_policy.ReplayActor(env, _ConstantPolicy([0.5]), writer, 0, seed=3)
      for env_steps in restarts:
        actor.reset(env_steps)
      actor.close()
      return [first.observation for first in writer.firsts]

    at_0, at_1000, again = first_observations(0, 1000, 1000)
    self.assertFalse(np.allclose(at_0, at_1000))
    np.testing.assert_array_equal(at_1000, again)
    np.testing.assert_array_equal(first_observations(1000)[0], at_1000)

  def test_a_resumed_actor_past_learning_starts_uses_the_policy(self):
    actor, policy, writer = self._actor(learning_starts=5)
    actor.reset(5)
    actor.act(1)
    actor.close()
    self.assertLen(policy.observations, 1)
    np.testing.assert_array_equal(writer.actions[0], [0.5, -1.5])


class RunTest(absltest.TestCase):

  def _run(self, logdir, num_steps, replay_address=None, **config_kwargs):
    settings = loop.RunSettings('sac', _ECHO_25, num_steps=num_steps, seed=0, logdir=logdir,
                                eval_episodes=1, eval_every=0, checkpoint_every=1000,
                                log_every=20)
    config = sac_config.SACConfig(hidden_sizes=(8,), batch_size=4, learning_starts=10,
                                  replay_size=1000, **config_kwargs)
    loop.check_budget(settings, config)
    context = core.BuildContext(env_id=_ECHO_25, spec=environments.environment_spec(_ECHO_25),
                                seed=0, env_seed=0, num_steps=settings.num_steps,
                                strategy=tf.distribute.get_strategy(), logdir=logdir,
                                replay_address=replay_address)
    agent = builder.make_agent(config, context)
    try:
      record = loop.run(settings, agent)
    finally:
      agent.close()
    return record, record['replay_items'], agent.learners[0]

  def test_inserts_every_step_updates_after_learning_starts_and_resumes(self):
    logdir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, logdir, ignore_errors=True)
    record, size, learner = self._run(logdir, 60)
    self.assertEqual(record['env_steps'], 60)
    self.assertEqual(size, 60)  # Episodes of 25 steps: every transition is in the table.
    self.assertEqual(record['updates'], 60 - 10 + 1)  # From step 10 on, one per step.
    self.assertEqual(int(learner.num_updates.numpy()), 51)
    self.assertTrue(os.path.exists(os.path.join(logdir, 'evaluation.json')))
    # A larger budget resumes: the counters and the table come back.
    record, size, learner = self._run(logdir, 80)
    self.assertEqual(record['env_steps'], 80)
    self.assertEqual(size, 80)
    self.assertEqual(record['updates'], 71)
    self.assertEqual(int(learner.num_updates.numpy()), 71)
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
    record, size, learner = self._run(logdir, 40, replay_address=f'localhost:{server.port}',
                                      prioritized_replay=True)
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
    self.assertGreaterEqual(float(learner.max_priority.numpy()), priorities.max() - 1e-6)


if __name__ == '__main__':
  absltest.main()
