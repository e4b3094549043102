"""Tests for agents.common.replay."""

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

from absl.testing import parameterized
import dm_env
from dm_env import specs
import gymnasium as gym
import numpy as np
import reverb
import tensorflow as tf

from agents.common import environments
from agents.common import replay
from tests.agents.common import fake_envs

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# Logical CPUs must be set up before TensorFlow initializes its devices: a fresh process.
_MIRRORED_SCRIPT = r'''
import json
import dm_env
import numpy as np
import reverb
import tensorflow as tf
from dm_env import specs
from agents.common import distribute
from agents.common import replay

distribute.split_logical_cpus(2)
signature = replay.transition_signature(specs.Array((2,), np.float32, 'observation'),
                                        specs.DiscreteArray(3, dtype=np.int32, name='action'))
server = replay.make_server([replay.make_prioritized_table('replay', 100, signature, 1.0)])
address = f'localhost:{server.port}'
with replay.NStepTransitionWriter(reverb.Client(address), 'replay', n_step=1, discount=0.9,
                                  priority=lambda t: 1.0 + t.observation[0]) as writer:
  writer.observe_first(dm_env.restart(np.zeros(2, np.float32)))
  for t in range(1, 9):
    writer.observe(np.int32(0), dm_env.transition(np.float32(t), np.full(2, t, np.float32)))
strategy = distribute.make_strategy('mirrored')
dataset = strategy.experimental_distribute_dataset(replay.make_dataset(address, 'replay', 8))

@tf.function
def step(sample):
  info, data = sample
  weights = replay.importance_weights(info.probability, info.table_size, 1.0)
  loss = weights * data.reward
  return tf.shape(data.observation)[0], tf.nn.compute_average_loss(loss, global_batch_size=8)

sizes, losses = strategy.run(step, args=(next(iter(dataset)),))
print('REPORT' + json.dumps(dict(
    replicas=strategy.num_replicas_in_sync,
    sizes=[int(x) for x in strategy.experimental_local_results(sizes)],
    loss=float(strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)))))
'''

OBSERVATION_SPEC = specs.Array((2,), np.float32, 'observation')
ACTION_SPEC = specs.DiscreteArray(3, dtype=np.int32, name='action')
SIGNATURE = replay.transition_signature(OBSERVATION_SPEC, ACTION_SPEC)


def setUpModule():
  fake_envs.register()


def _observation(t):
  return np.array([t, -t], np.float32)


def _episode(rewards, discounts, last_is_terminal):
  """dm_env time steps with o_t = [t, -t], r_{t+1} = rewards[t], discount_{t+1} = discounts[t];
  the last step is a termination (discount 0) or a truncation (discount 1)."""
  steps = [dm_env.restart(_observation(0))]
  for t, (reward, discount) in enumerate(zip(rewards, discounts)):
    observation = _observation(t + 1)
    if t == len(rewards) - 1:
      step = (dm_env.termination(np.float32(reward), observation) if last_is_terminal else
              dm_env.truncation(np.float32(reward), observation, discount=np.float32(1.0)))
    else:
      step = dm_env.transition(np.float32(reward), observation, discount=np.float32(discount))
    steps.append(step)
  return steps


def _write(writer, steps, actions=None):
  writer.observe_first(steps[0])
  for t, step in enumerate(steps[1:]):
    writer.observe(np.int32(t % 3 if actions is None else actions[t]), step)


def _n_step_reference(rewards, env_discounts, gamma, n):
  """(R_t, d_t, index of the bootstrap observation) for every t, from the definition with
  numpy cumulative products (env_discounts[t] is the discount of step t + 1)."""
  rewards, env_discounts = np.asarray(rewards, np.float64), np.asarray(env_discounts, np.float64)
  length = len(rewards)
  out = []
  for t in range(length):
    m = min(n, length - t)
    scale = np.concatenate([[1.0], np.cumprod(gamma * env_discounts[t:t + m])])
    out.append((np.sum(scale[:m] * rewards[t:t + m]), scale[m], t + m))
  return out


def _sample_all(client, table, count):
  return [sample.data for sample in client.sample(table, count, emit_timesteps=False,
                                                  unpack_as_table_signature=True)]


class SignatureTest(tf.test.TestCase):

  def test_fields_follow_the_specs(self):
    observation_spec = specs.BoundedArray((3, 4), np.uint8, 0, 255, 'observation')
    action_spec = specs.BoundedArray((2,), np.float32, -1.0, 1.0, 'action')
    signature = replay.transition_signature(
        observation_spec, action_spec, extras_spec=dict(log_mu=specs.Array((), np.float32)))
    shape_and_dtype = lambda spec: (tuple(spec.shape), spec.dtype)
    self.assertEqual(shape_and_dtype(signature.observation), ((3, 4), tf.uint8))
    self.assertEqual(shape_and_dtype(signature.next_observation), ((3, 4), tf.uint8))
    self.assertEqual(shape_and_dtype(signature.action), ((2,), tf.float32))
    self.assertEqual(shape_and_dtype(signature.reward), ((), tf.float32))
    self.assertEqual(shape_and_dtype(signature.discount), ((), tf.float32))
    self.assertEqual(list(signature.extras), ['log_mu'])
    self.assertEqual(shape_and_dtype(signature.extras['log_mu']), ((), tf.float32))

  def test_rate_limiter_states_the_ratio(self):
    self.assertIsInstance(replay.make_rate_limiter(None, 5), reverb.rate_limiters.MinSize)
    limiter = replay.make_rate_limiter(4.0, 100)
    self.assertIsInstance(limiter, reverb.rate_limiters.SampleToInsertRatio)
    self.assertIn('samples_per_insert=4,', repr(limiter))
    with self.assertRaisesRegex(ValueError, '^make_rate_limiter: samples_per_insert'):
      replay.make_rate_limiter(-1.0)
    with self.assertRaisesRegex(ValueError, '^make_rate_limiter: min_size_to_sample'):
      replay.make_rate_limiter(None, 0)

  def test_writer_rejects_bad_settings(self):
    with self.assertRaisesRegex(ValueError, 'n_step=0'):
      replay.NStepTransitionWriter(None, 'replay', n_step=0, discount=0.9)
    with self.assertRaisesRegex(ValueError, 'discount=1.5'):
      replay.NStepTransitionWriter(None, 'replay', n_step=1, discount=1.5)


class ReplayTestCase(tf.test.TestCase):

  def serve(self, *tables, checkpoint_dir=None):
    server = replay.make_server(tables, checkpoint_dir=checkpoint_dir)
    self.addCleanup(server.stop)
    return server, reverb.Client(f'localhost:{server.port}')


class RoundTripTest(ReplayTestCase):

  def test_what_is_written_is_what_is_sampled(self):
    # Counter with id 1 (odd) only ends at the time limit: 5 steps, the last one truncated.
    env = environments.GymnasiumToDmEnv(
        gym.make(fake_envs.COUNTER_ID, max_episode_steps=5), seed=1)
    signature = replay.transition_signature(
        env.observation_spec(), env.action_spec(),
        extras_spec=dict(log_mu=specs.Array((), np.float32)))
    server, client = self.serve(replay.make_uniform_table('uniform', 100, signature))
    reference = fake_envs.counter_reference(1, 5, max_episode_steps=5)
    with replay.NStepTransitionWriter(client, 'uniform', n_step=1, discount=0.5) as writer:
      timestep = env.reset()
      writer.observe_first(timestep)
      while not timestep.last():
        action = np.int32(int(timestep.observation[0]) % 3)
        timestep = env.step(action)
        writer.observe(action, timestep, extras=dict(log_mu=np.float32(-action)))
      writer.flush()

    dataset = replay.make_dataset(f'localhost:{server.port}', 'uniform', batch_size=64)
    info, data = next(iter(dataset))
    self.assertEqual(data.observation.dtype, tf.float32)
    self.assertEqual(data.action.dtype, tf.int32)
    self.assertAllEqual(info.table_size, [5] * 64)
    seen = set()
    for i in range(64):
      step = reference[int(data.observation[i, 0])]
      seen.add(int(data.observation[i, 0]))
      self.assertAllEqual(data.observation[i], step['obs'])
      self.assertEqual(int(data.action[i]), step['action'])
      self.assertAllClose(data.reward[i], step['reward'])
      # The last step is a truncation: still bootstrapped with gamma, never 0.
      self.assertAllClose(data.discount[i], 0.5)
      self.assertAllEqual(data.next_observation[i], step['final_obs'])
      self.assertAllClose(data.extras['log_mu'][i], -step['action'])
      self.assertAllClose(info.probability[i], 1 / 5)
    self.assertEqual(seen, set(range(5)))
    env.close()


class NStepTest(ReplayTestCase, parameterized.TestCase):

  def test_hand_computed_terminal_and_truncated(self):
    _, client = self.serve(reverb.Table.queue('queue', 100, signature=SIGNATURE))
    with replay.NStepTransitionWriter(client, 'queue', n_step=2, discount=0.5) as writer:
      _write(writer, _episode([1.0, 2.0, 4.0], [1.0, 1.0, 0.0], last_is_terminal=True))
      _write(writer, _episode([1.0, 2.0, 4.0], [1.0, 1.0, 1.0], last_is_terminal=False))
    data = _sample_all(client, 'queue', 6)
    #            terminal episode                   truncated episode
    expected = [(1 + .5 * 2, .25, 2), (2 + .5 * 4, 0.0, 3), (4.0, 0.0, 3),
                (1 + .5 * 2, .25, 2), (2 + .5 * 4, .25, 3), (4.0, 0.5, 3)]
    for transition, (reward, discount, bootstrap) in zip(data, expected):
      self.assertAllClose(transition.reward, reward)
      self.assertAllClose(transition.discount, discount)
      self.assertAllEqual(transition.next_observation, _observation(bootstrap))

  @parameterized.product(n_step=[1, 2, 3, 7], last_is_terminal=[True, False])
  def test_matches_numpy_reference(self, n_step, last_is_terminal):
    gamma = 0.9
    rewards = [1.0, -2.0, 3.5, 0.25, 5.0]
    # An env discount below 1 inside the episode (e.g. a life lost) compounds with gamma.
    discounts = [1.0, 0.5, 1.0, 1.0, 0.0 if last_is_terminal else 1.0]
    _, client = self.serve(reverb.Table.queue('queue', 100, signature=SIGNATURE))
    actions = [2, 0, 1, 1, 2]
    with replay.NStepTransitionWriter(client, 'queue', n_step, gamma) as writer:
      for _ in range(2):  # Two episodes: nothing leaks from one into the next.
        _write(writer, _episode(rewards, discounts, last_is_terminal), actions)
    data = _sample_all(client, 'queue', 10)
    reference = _n_step_reference(rewards, discounts, gamma, n_step) * 2
    for t, (transition, (reward, discount, bootstrap)) in enumerate(zip(data, reference)):
      self.assertAllEqual(transition.observation, _observation(t % 5))
      self.assertEqual(int(transition.action), actions[t % 5])
      self.assertAllClose(transition.reward, reward, rtol=1e-6)
      self.assertAllClose(transition.discount, discount, rtol=1e-6)
      self.assertAllEqual(transition.next_observation, _observation(bootstrap))
    last = data[4]
    if last_is_terminal:
      self.assertEqual(float(last.discount), 0.0)
    else:
      self.assertAllClose(last.discount, gamma)

  def test_items_wait_for_n_steps(self):
    _, client = self.serve(reverb.Table.queue('queue', 100, signature=SIGNATURE))
    writer = replay.NStepTransitionWriter(client, 'queue', n_step=3, discount=0.9)
    self.addCleanup(writer.close)
    steps = _episode([1.0] * 6, [1.0] * 6, last_is_terminal=True)
    writer.observe_first(steps[0])
    sizes = []
    for step in steps[1:]:
      writer.observe(np.int32(0), step)
      writer.flush()
      sizes.append(client.server_info()['queue'].current_size)
    self.assertEqual(sizes, [0, 0, 1, 2, 3, 6])


class RateLimiterTest(ReplayTestCase):

  def _fill(self, client, table, count):
    writer = replay.NStepTransitionWriter(client, table, n_step=1, discount=0.9)
    self.addCleanup(writer.close)
    steps = _episode([1.0] * 50, [1.0] * 50, last_is_terminal=False)
    writer.observe_first(steps[0])
    for step in steps[1:count + 1]:
      writer.observe(np.int32(0), step)
    return writer

  def _count_samples(self, server, table):
    dataset = replay.make_dataset(f'localhost:{server.port}', table, batch_size=1,
                                  prefetch=None, max_in_flight_samples_per_worker=1,
                                  num_workers_per_iterator=1, rate_limiter_timeout_ms=100)
    return sum(1 for _ in dataset)

  def test_sampling_times_out_below_min_size(self):
    table = replay.make_uniform_table('uniform', 100, SIGNATURE, min_size_to_sample=3)
    server, client = self.serve(table)
    writer = self._fill(client, 'uniform', 2)
    writer.flush()
    self.assertFalse(table.can_sample(1))
    self.assertEqual(self._count_samples(server, 'uniform'), 0)
    writer.observe(np.int32(0), _episode([1.0] * 3, [1.0] * 3, False)[3])
    writer.flush()
    self.assertTrue(table.can_sample(1))

  def test_sampler_and_inserter_cannot_run_ahead_of_the_ratio(self):
    # error = 2 * inserts - samples must stay in [4 - 2, 4 + 2] once 2 items are in.
    table = replay.make_uniform_table('uniform', 100, SIGNATURE, samples_per_insert=2.0,
                                      min_size_to_sample=2, error_buffer=2.0)
    server, client = self.serve(table)
    writer = self._fill(client, 'uniform', 2)
    writer.flush()
    self.assertEqual(self._count_samples(server, 'uniform'), 2)
    self.assertFalse(table.can_sample(1))
    writer.observe(np.int32(0), _episode([1.0] * 3, [1.0] * 3, False)[3])
    writer.flush()
    self.assertEqual(self._count_samples(server, 'uniform'), 2)
    # Now error = 2: two more inserts are allowed (error 6), a third would exceed it.
    self.assertTrue(table.can_insert(2))
    self.assertFalse(table.can_insert(3))

  def test_inserts_block_when_nobody_samples(self):
    table = replay.make_uniform_table('uniform', 100, SIGNATURE, samples_per_insert=2.0,
                                      min_size_to_sample=2, error_buffer=2.0)
    _, client = self.serve(table)
    writer = replay.NStepTransitionWriter(client, 'uniform', n_step=1, discount=0.9,
                                          max_in_flight_items=100, timeout_s=0.2)
    steps = _episode([1.0] * 10, [1.0] * 10, last_is_terminal=False)
    writer.observe_first(steps[0])
    for step in steps[1:6]:
      writer.observe(np.int32(0), step)
    with self.assertRaises(reverb.errors.DeadlineExceededError):
      writer.flush()
    self.assertEqual(client.server_info()['uniform'].current_size, 3)
    # Unblock the pending inserts so that the writer can close.
    dataset = replay.make_dataset(client.server_address, 'uniform', batch_size=1,
                                  prefetch=None, max_in_flight_samples_per_worker=1,
                                  num_workers_per_iterator=1, rate_limiter_timeout_ms=500)
    for _ in dataset:
      pass
    writer.flush()
    writer.close()


class PrioritiesTest(ReplayTestCase):

  def test_probabilities_follow_priorities_and_their_updates(self):
    alpha = 0.5
    priorities = np.array([1.0, 4.0, 9.0, 16.0])  # p^alpha = 1, 2, 3, 4
    table = replay.make_prioritized_table('prioritized', 100, SIGNATURE, priority_exponent=alpha)
    server, client = self.serve(table)
    with replay.NStepTransitionWriter(
        client, 'prioritized', n_step=1, discount=0.9,
        priority=lambda transition: priorities[int(transition.observation[0])]) as writer:
      _write(writer, _episode([1.0] * 4, [1.0] * 4, last_is_terminal=True))

    def sample(count):
      keys, counts, probabilities = {}, collections.Counter(), {}
      for s in client.sample('prioritized', count, emit_timesteps=False,
                             unpack_as_table_signature=True):
        index = int(s.data.observation[0])
        keys[index] = s.info.key
        counts[index] += 1
        probabilities[index] = s.info.probability
      return keys, np.array([counts[i] for i in range(4)]) / count, np.array(
          [probabilities[i] for i in range(4)])

    expected = priorities**alpha / np.sum(priorities**alpha)
    keys, frequencies, probabilities = sample(4000)
    self.assertAllClose(probabilities, expected)
    self.assertAllClose(frequencies, expected, atol=0.03)

    new_priorities = priorities[::-1]
    replay.update_priorities(client, 'prioritized', [keys[i] for i in range(4)],
                             new_priorities)
    expected = new_priorities**alpha / np.sum(new_priorities**alpha)
    _, frequencies, probabilities = sample(4000)
    self.assertAllClose(probabilities, expected)
    self.assertAllClose(frequencies, expected, atol=0.03)

    # The dataset's info carries the same probabilities, and keys that update priorities.
    info, data = next(iter(replay.make_dataset(f'localhost:{server.port}', 'prioritized', 32)))
    indices = data.observation[:, 0].numpy().astype(int)
    self.assertAllClose(info.probability, expected[indices])
    self.assertAllEqual(info.table_size, [4] * 32)
    replay.update_priorities(client, 'prioritized', info.key, tf.ones([32]))
    _, _, probabilities = sample(400)
    touched = sorted(set(indices))
    untouched = [i for i in range(4) if i not in touched]
    weights = np.array([1.0 if i in touched else new_priorities[i]**alpha for i in range(4)])
    self.assertAllClose(probabilities[touched + untouched],
                        (weights / weights.sum())[touched + untouched])

  def test_update_priorities_checks_lengths(self):
    with self.assertRaisesRegex(ValueError, '^update_priorities: 2 keys but 3'):
      replay.update_priorities(None, 'table', [1, 2], [1.0, 2.0, 3.0])


class ImportanceWeightsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(False, True)
  def test_hand_computed(self, compiled):
    fn = tf.function(replay.importance_weights, jit_compile=True) if compiled else (
        replay.importance_weights)
    probabilities = tf.constant([0.1, 0.2, 0.3, 0.4], tf.float64)
    weights = fn(probabilities, tf.constant(4, tf.int64), 0.5)
    raw = (4 * np.array([0.1, 0.2, 0.3, 0.4]))**-0.5
    self.assertAllClose(weights, raw / raw.max())
    self.assertAllClose(fn(probabilities, tf.constant([4] * 4, tf.int64), 0.0), np.ones(4))
    # Uniform sampling (P = 1/N) needs no correction.
    self.assertAllClose(fn(tf.fill([3], 1 / 3), 3, 1.0), np.ones(3))

  def test_rank_check(self):
    with self.assertRaisesRegex(ValueError, '^importance_weights: probabilities must be'):
      replay.importance_weights(tf.ones([2, 2]), 4, 0.5)


class DistributedDatasetTest(tf.test.TestCase):

  def test_mirrored_replicas_split_the_global_batch(self):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
    env['PYTHONPATH'] = os.pathsep.join(p for p in (_REPO_ROOT, env.get('PYTHONPATH')) if p)
    result = subprocess.run([sys.executable, '-c', _MIRRORED_SCRIPT], cwd=_REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    lines = [l for l in result.stdout.splitlines() if l.startswith('REPORT')]
    self.assertTrue(lines, result.stderr[-3000:])
    report = json.loads(lines[-1][len('REPORT'):])
    self.assertEqual(report['replicas'], 2)
    self.assertEqual(report['sizes'], [4, 4])
    self.assertTrue(np.isfinite(report['loss']))
    self.assertGreater(report['loss'], 0.0)


class CheckpointTest(ReplayTestCase):

  def test_restarted_server_restores_the_table(self):
    directory = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
    server = replay.make_server([replay.make_uniform_table('uniform', 100, SIGNATURE)],
                                checkpoint_dir=directory)
    client = reverb.Client(f'localhost:{server.port}')
    with replay.NStepTransitionWriter(client, 'uniform', n_step=2, discount=0.5) as writer:
      _write(writer, _episode([1.0, 2.0, 4.0], [1.0, 1.0, 0.0], last_is_terminal=True))
    path = replay.checkpoint(client)
    self.assertStartsWith(path, directory)
    server.stop()

    _, client = self.serve(replay.make_uniform_table('uniform', 100, SIGNATURE),
                           checkpoint_dir=directory)
    self.assertEqual(client.server_info()['uniform'].current_size, 3)
    restored = {}
    for data in _sample_all(client, 'uniform', 200):
      restored[int(data.observation[0])] = (float(data.reward), float(data.discount))
    self.assertEqual(sorted(restored), [0, 1, 2])
    self.assertAllClose([restored[t] for t in range(3)], [(2.0, 0.25), (4.0, 0.0), (4.0, 0.0)])


if __name__ == '__main__':
  tf.test.main()


class PackedTransitionTest(tf.test.TestCase):
  """Packed transitions (one float32 column) come back as the `Transition` that was written."""

  def test_packed_round_trip_through_a_table(self):
    observation_spec = specs.Array((3,), np.float32)
    action_spec = specs.BoundedArray((2,), np.float32, -1.0, 1.0)
    self.assertTrue(replay.can_pack(observation_spec, action_spec))
    self.assertFalse(replay.can_pack(observation_spec, specs.DiscreteArray(3)))
    signature = replay.packed_transition_signature(observation_spec, action_spec)
    self.assertEqual(signature.shape, (2 * 3 + 2 + 2,))
    server = replay.make_server([replay.make_uniform_table('packed', 100, signature)])
    self.addCleanup(server.stop)
    client = reverb.Client(f'localhost:{server.port}')
    rng = np.random.default_rng(0)
    observations = rng.normal(size=(4, 3)).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(3, 2)).astype(np.float32)
    writer = replay.NStepTransitionWriter(client, 'packed', n_step=2, discount=0.5, packed=True)
    writer.observe_first(dm_env.restart(observations[0]))
    writer.observe(actions[0], dm_env.transition(1.0, observations[1]))
    writer.observe(actions[1], dm_env.transition(2.0, observations[2]))
    writer.observe(actions[2], dm_env.termination(4.0, observations[3]))
    writer.close()
    dataset = replay.make_dataset(f'localhost:{server.port}', 'packed', batch_size=1,
                                  prefetch=None)
    seen = {}
    for sample in dataset.take(60):
      transition = replay.unpack_transitions(sample.data, 3, 2)
      seen[round(float(transition.observation[0, 0]), 5)] = transition
    self.assertLen(seen, 3)
    first = seen[round(float(observations[0, 0]), 5)]
    self.assertAllClose(first.observation[0], observations[0])
    self.assertAllClose(first.action[0], actions[0])
    self.assertAllClose(first.reward[0], 1.0 + 0.5 * 2.0)
    self.assertAllClose(first.discount[0], 0.25)
    self.assertAllClose(first.next_observation[0], observations[2])
    last = seen[round(float(observations[2, 0]), 5)]
    self.assertAllClose(last.reward[0], 4.0)
    self.assertAllClose(last.discount[0], 0.0)  # Termination: nothing to bootstrap.
