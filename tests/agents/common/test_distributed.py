"""The channels between a learner and its actor processes (weights, reports through Reverb),
and the supervision of actor processes: restarts, a stop that leaves no process behind, and
actors that die with their learner."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

from absl.testing import absltest
import numpy as np
import reverb
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import core
from agents.common import distributed
from agents.common import off_policy
from agents.common import replay as replay_lib
from tests.launchers import launcher_testing as testing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))


def _server(variables):
  server = reverb.Server(distributed.channel_tables(variables))
  address = f'localhost:{server.port}'
  return server, off_policy.Replay(reverb.Client(address), address, server)


class ChannelsTest(absltest.TestCase):

  def test_an_actor_pulls_the_newest_weights_and_the_run_state(self):
    learner_vars = [tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2)),
                    tf.Variable(np.zeros(2, np.float32))]
    actor_vars = [tf.Variable(np.zeros((3, 2), np.float32)), tf.Variable(np.ones(2, np.float32))]
    max_priority = tf.Variable(2.5)
    server, replay = _server(learner_vars)
    self.addCleanup(server.stop)
    publisher = distributed.WeightsPublisher(replay, learner_vars, max_priority)
    subscriber = distributed.WeightsSubscriber(replay.client, replay.address, actor_vars)
    self.assertFalse(subscriber.pull())  # Nothing published yet: the actor waits.
    publisher.publish(100)
    learner_vars[1].assign([7.0, 8.0])
    publisher.publish(250, stop=True)
    self.assertTrue(subscriber.pull())
    np.testing.assert_array_equal(actor_vars[0].numpy(), learner_vars[0].numpy())
    np.testing.assert_array_equal(actor_vars[1].numpy(), [7.0, 8.0])
    self.assertEqual((subscriber.env_steps, subscriber.stop, subscriber.max_priority),
                     (250, True, 2.5))
    info = replay.client.server_info()
    self.assertEqual(info[distributed.WEIGHTS_TABLE].current_size, 1)  # Only the newest.
    publisher.close()

  def test_reports_are_read_once_in_order(self):
    server, replay = _server([tf.Variable(0.0)])
    self.addCleanup(server.stop)
    channel = distributed._Channel(replay.client, distributed.REPORTS_TABLE, 5.0)
    rows = [[0, -150.5, 200], [1, -120.5, 200], [0, -90.0, 200]]
    for row in rows:
      channel.put(np.array(row, np.float64))
    np.testing.assert_array_equal(distributed.read_reports(replay), rows)
    self.assertEqual(distributed.read_reports(replay).shape, (0, 3))
    channel.close()

  def test_the_learner_counts_inserted_transitions_as_env_steps(self):
    policy_vars = [tf.Variable(np.zeros(2, np.float32))]
    signature = tf.TensorSpec((3,), tf.float32)
    table = replay_lib.make_uniform_table(replay_lib.DEFAULT_TABLE, 100, signature)
    server = reverb.Server([table, *distributed.channel_tables(policy_vars)])
    self.addCleanup(server.stop)
    address = f'localhost:{server.port}'
    replay = off_policy.Replay(reverb.Client(address), address, server)
    publisher = distributed.WeightsPublisher(replay, policy_vars)
    actors = distributed.RemoteActors(replay, publisher, learning_starts=0)
    for _ in range(2):  # Transitions of an earlier run are not counted again.
      replay.client.insert(np.zeros(3, np.float32), {replay_lib.DEFAULT_TABLE: 1.0})
    actors.reset(2)
    for _ in range(5):
      replay.client.insert(np.zeros(3, np.float32), {replay_lib.DEFAULT_TABLE: 1.0})
    channel = distributed._Channel(replay.client, distributed.REPORTS_TABLE, 5.0)
    channel.put(np.array([0, -100.0, 4], np.float64))
    acted = actors.act(max_steps=3)  # The budget caps what is counted ...
    self.assertEqual((acted.env_steps, list(acted.episode_returns), list(acted.episode_lengths)),
                     (3, [-100.0], [4]))
    acted = actors.act(max_steps=100)  # ... and the rest comes with the next call.
    self.assertEqual((acted.env_steps, list(acted.episode_returns)), (2, []))
    info = replay.client.server_info()
    self.assertEqual(info[distributed.WEIGHTS_TABLE].current_size, 1)  # Published at reset.
    actors.close()
    channel.close()


class SupervisorTest(absltest.TestCase):

  def _tempdir(self) -> str:
    path = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path

  def _supervisor(self, script, num_actors=2, max_restarts=2):
    log_dir = self._tempdir()
    command = lambda i: [sys.executable, '-c', script, str(i)]
    supervisor = distributed.Supervisor(command, num_actors, log_dir, max_restarts)
    self.addCleanup(supervisor.stop, 1.0)
    return supervisor

  def test_an_actor_that_exits_is_restarted_then_the_run_stops(self):
    supervisor = self._supervisor('import sys; print("actor", sys.argv[1]); sys.exit(3)',
                                  num_actors=1)
    supervisor.start()
    restarts = []
    with self.assertRaisesRegex(core.RunStopped, r'actor 0 \(pid \d+\) exited with status 3, '
                                r'3 times; its output is in .*actor_0\.log'):
      for _ in range(600):
        supervisor.poll()
        restarts.append(supervisor.restarts[0])
        time.sleep(0.05)
    self.assertEqual(max(restarts), 2)
    with open(supervisor.log_path(0)) as f:
      self.assertEqual(f.read().count('actor 0'), 3)  # Three starts, one log.

  def test_stop_ends_every_actor_even_one_that_ignores_sigterm(self):
    script = textwrap.dedent('''
        import signal, sys, time
        if sys.argv[1] == '1':
          signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
          time.sleep(0.1)
    ''')
    supervisor = self._supervisor(script)
    supervisor.start()
    pids = supervisor.pids
    self.assertLen(pids, 2)
    time.sleep(0.5)
    supervisor.poll()  # Both run: nothing to restart.
    self.assertEqual(supervisor.restarts, [0, 0])
    start = time.monotonic()
    supervisor.stop(grace_s=1.0)
    self.assertLess(time.monotonic() - start, 5.0)
    self.assertFalse(any(testing.alive(pid) for pid in pids))

  def test_actors_die_with_a_learner_killed_by_sigkill(self):
    learner = textwrap.dedent(f'''
        import sys, time
        sys.path.insert(0, {ROOT!r})
        from agents.common import distributed
        supervisor = distributed.Supervisor(
            lambda i: [sys.executable, '-c', 'import time; time.sleep(600)'], 2, sys.argv[1])
        supervisor.start()
        print(' '.join(map(str, supervisor.pids)), flush=True)
        time.sleep(600)
    ''')
    process = subprocess.Popen([sys.executable, '-c', learner, self._tempdir()],
                               stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in process.stdout.readline().split()]
    self.assertLen(pids, 2)
    self.assertTrue(all(testing.alive(pid) for pid in pids))
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(testing.alive(pid) for pid in pids) and time.monotonic() < deadline:
      time.sleep(0.1)
    self.assertFalse(any(testing.alive(pid) for pid in pids))


if __name__ == '__main__':
  absltest.main()
