"""Tests of launchers/replay_server.py: a server in another process, reached at host:port."""

import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np
import portpicker
import pytest
import reverb

from agents.common import environments
from agents.common import replay
from tests.launchers import launcher_testing


def _command(*flags):
  return [sys.executable, '-m', 'launchers.replay_server', *flags]


class ReplayServerProcess:
  """`python -m launchers.replay_server flags...` in a subprocess, until `stop()`."""

  def __init__(self, *flags, timeout: float = 120):
    self.process = subprocess.Popen(
        _command(*flags), cwd=launcher_testing.ROOT, env=launcher_testing.ENV,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout],
                     daemon=True).start()
    self.output = []
    while True:
      try:
        line = lines.get(timeout=timeout)
      except queue.Empty:
        self.stop()
        raise AssertionError('replay server did not start:\n' + ''.join(self.output))
      self.output.append(line)
      if line.startswith('serving table'):
        self.ready_line = line
        return
      if self.process.poll() is not None and lines.empty():
        raise AssertionError('replay server exited:\n' + ''.join(self.output))

  def stop(self):
    if self.process.poll() is None:
      self.process.terminate()
      self.process.wait(timeout=30)


def _write_cartpole_episode(address, n_step, discount):
  """One CartPole episode under a fixed policy through `address`; returns its length."""
  env = environments.make_environment('CartPole-v1', seed=0)
  client = reverb.Client(address)
  length = 0
  with replay.NStepTransitionWriter(client, replay.DEFAULT_TABLE, n_step, discount) as writer:
    timestep = env.reset()
    writer.observe_first(timestep)
    while not timestep.last():
      action = np.int32(length % 2)
      timestep = env.step(action)
      writer.observe(action, timestep)
      length += 1
  env.close()
  return length


class ReplayServerTest(unittest.TestCase):

  def _tempdir(self):
    path = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path

  def _start(self, *flags):
    server = ReplayServerProcess(*flags)
    self.addCleanup(server.stop)
    return server

  @pytest.mark.slow
  def test_remote_write_and_sample(self):
    port = portpicker.pick_unused_port()
    server = self._start('--env=CartPole-v1', f'--port={port}', '--prioritized',
                         '--max_size=1000')
    self.assertIn(f'localhost:{port}', server.ready_line)
    self.assertIn('prioritized=True', server.ready_line)
    address = f'localhost:{port}'
    length = _write_cartpole_episode(address, n_step=3, discount=0.9)
    client = reverb.Client(address)
    self.assertEqual(client.server_info()[replay.DEFAULT_TABLE].current_size, length)

    info, data = next(iter(replay.make_dataset(address, replay.DEFAULT_TABLE, batch_size=16)))
    self.assertEqual(tuple(data.observation.shape), (16, 4))
    self.assertEqual(tuple(data.next_observation.shape), (16, 4))
    self.assertEqual(tuple(data.action.shape), (16,))
    self.assertTrue(np.all(np.isin(data.action.numpy(), [0, 1])))
    # CartPole pays 1 per step: 3-step returns are 1 + .9 + .81 except at the episode's end.
    rewards = data.reward.numpy()
    self.assertTrue(np.all((np.abs(rewards - 2.71) < 1e-5) | (rewards <= 1.9 + 1e-5)))
    np.testing.assert_allclose(info.probability.numpy(), 1 / length, rtol=1e-6)
    replay.update_priorities(client, replay.DEFAULT_TABLE, info.key, np.full(16, 5.0))

  @pytest.mark.slow
  def test_checkpoint_survives_a_restart(self):
    directory = self._tempdir()
    port = portpicker.pick_unused_port()
    flags = ('--env=CartPole-v1', f'--port={port}', f'--checkpoint_dir={directory}')
    server = self._start(*flags)
    address = f'localhost:{port}'
    length = _write_cartpole_episode(address, n_step=1, discount=0.99)
    replay.checkpoint(reverb.Client(address))
    server.stop()

    self._start(*flags)
    client = reverb.Client(address)
    self.assertEqual(client.server_info()[replay.DEFAULT_TABLE].current_size, length)
    sample = next(client.sample(replay.DEFAULT_TABLE, emit_timesteps=False,
                                unpack_as_table_signature=True))
    self.assertEqual(sample.data.observation.shape, (4,))

  def test_bad_flags_fail_before_serving(self):
    cases = {
        'env': ['--env=NoSuchEnv-v0'],
        'max_size': ['--max_size=0'],
    }
    processes = {name: subprocess.Popen(
        _command(*flags), cwd=launcher_testing.ROOT, env=launcher_testing.ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for name, flags in cases.items()}
    for name, process in processes.items():
      out, err = process.communicate(timeout=120)
      with self.subTest(name):
        self.assertEqual(process.returncode, 2, err)
        lines = [line for line in err.splitlines() if line.strip()]
        self.assertIn(f'--{name}', lines[0])
        self.assertNotIn('Traceback', err)
        self.assertNotIn('serving', out)


if __name__ == '__main__':
  unittest.main()
