"""The replay table and the run's checkpoint are one unit; a run never blocks on a table it
cannot sample."""

import os
import re
import shutil
import subprocess
import sys
import time

from tests.launchers import launcher_testing
from tests.reliability import reliability_testing as testing

_DDPG = ['--env=Pendulum-v1', '--hidden_sizes=16', '--batch_size=16', '--learning_starts=100',
         '--replay_size=5000', '--eval_every=0', '--checkpoint_every=200']


class InProcessReplayTest(launcher_testing.LauncherTestCase):

  def test_n_step_returns_start_learning_once_the_table_can_serve(self):
    # Used to block forever: at learning_starts, n - 1 transitions were still pending.
    logdir = self.create_tempdir()
    result = testing.run('ddpg', logdir, *_DDPG, '--n_step=3', '--num_steps=400', timeout=240)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertGreater(launcher_testing.evaluation(logdir)['updates'], 250)

  def test_resume_loads_the_table_of_the_checkpoint_it_restores(self):
    logdir = self.create_tempdir()
    first = testing.run('ddpg', logdir, *_DDPG, '--num_steps=400')
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    replay = os.path.join(logdir, 'replay')
    self.assertEqual(sorted(os.listdir(replay)), ['ckpt-200', 'ckpt-400', 'incoming'])
    # A kill after the table's next checkpoint but before the run's: replay/ckpt-600 exists,
    # checkpoints/ckpt-600 does not.
    shutil.copytree(os.path.join(replay, 'ckpt-400'), os.path.join(replay, 'ckpt-600'))
    second = testing.run('ddpg', logdir, *_DDPG, '--num_steps=800')
    self.assertEqual(second.returncode, 0, second.stderr[-2000:])
    self.assertIn('at 400 env steps (400 transitions in replay)', second.stdout)
    self.assertEqual(launcher_testing.evaluation(logdir)['replay_items'], 800)
    # One table checkpoint per run checkpoint kept (max_to_keep 3): ckpt-200 rotated out.
    self.assertEqual(sorted(os.listdir(replay)),
                     ['ckpt-400', 'ckpt-600', 'ckpt-800', 'incoming'])

  def test_a_damaged_newest_checkpoint_falls_back_to_an_older_one_and_its_table(self):
    # Used to be refused (exit 2): only the newest checkpoint's table was kept.
    logdir = self.create_tempdir()
    first = testing.run('ddpg', logdir, *_DDPG, '--num_steps=600')
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    data = os.path.join(logdir, 'checkpoints', 'ckpt-600.data-00000-of-00001')
    with open(data, 'r+b') as f:
      f.truncate(os.path.getsize(data) // 2)
    second = testing.run('ddpg', logdir, *_DDPG, '--num_steps=800')
    self.assertEqual(second.returncode, 0, second.stderr[-2000:])
    self.assertRegex(second.stdout, r'Warning: checkpoint .*ckpt-600 is damaged')
    self.assertIn('at 400 env steps (400 transitions in replay)', second.stdout)
    self.assertEqual(launcher_testing.evaluation(logdir)['replay_items'], 800)
    self.assertEqual(sorted(os.listdir(os.path.join(logdir, 'replay'))),
                     ['ckpt-400', 'ckpt-600', 'ckpt-800', 'incoming'])

  def test_a_missing_table_checkpoint_is_refused_before_any_work(self):
    logdir = self.create_tempdir()
    first = testing.run('ddpg', logdir, *_DDPG, '--num_steps=400')
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    os.remove(os.path.join(logdir, 'replay', 'ckpt-400', 'DONE'))
    before = sorted(os.listdir(logdir))
    result = testing.run('ddpg', logdir, *_DDPG, '--num_steps=600')
    self.assertEqual(result.returncode, 2, result.stderr[-2000:])
    lines = testing.error_lines(result)
    self.assertEqual(len(lines), 1, result.stderr)
    self.assertIn('--logdir', lines[0])
    self.assertIn('replay checkpoint', lines[0])
    self.assertEqual(sorted(os.listdir(logdir)), before)


class RemoteReplayTest(launcher_testing.LauncherTestCase):

  def _serve(self, port: int = 0, max_size: int = 5000):
    server = subprocess.Popen(
        [sys.executable, '-m', 'launchers.replay_server', '--env=Pendulum-v1', f'--port={port}',
         f'--max_size={max_size}'], cwd=testing.ROOT, env=testing.ENV, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    self.addCleanup(server.kill)
    address = re.search(r'at (localhost:\d+)', server.stdout.readline()).group(1)
    return server, address

  def test_a_server_that_restarted_empty_stops_the_run_saying_what_was_lost(self):
    server, address = self._serve()
    logdir = self.create_tempdir()
    first = testing.run('ddpg', logdir, *_DDPG, '--num_steps=300', f'--replay_address={address}')
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    server.kill()
    server.wait()
    self._serve(int(address.split(':')[1]))  # Back on the same port, empty.
    second = testing.run('ddpg', logdir, *_DDPG, '--num_steps=400',
                         f'--replay_address={address}')
    self.assertEqual(second.returncode, 1, second.stderr[-2000:])
    lines = testing.error_lines(second)
    self.assertEqual(len(lines), 1, second.stderr)
    self.assertIn(f'the replay server at {address} restarted: its table has taken 0 '
                  'transitions, 300 before; at least 300 of the 300 transitions it held were '
                  'lost', lines[0])

  def test_a_server_restarted_mid_run_and_refilled_stops_the_run(self):
    # A table of 200 transitions is full again 200 steps after its server restarted: its size
    # alone (what the run used to check) does not tell; its insert count does.
    server, address = self._serve(max_size=200)
    logdir = self.create_tempdir()
    run = testing.start('ddpg', logdir, *_DDPG, '--num_steps=2500', '--log_every=500',
                        '--checkpoint_every=100000', f'--replay_address={address}')
    self.addCleanup(run.kill)
    metrics = os.path.join(logdir, 'metrics.csv')
    deadline = time.time() + 180
    while time.time() < deadline and not (  # Two rows: the run has counted 1,000 inserts.
        os.path.exists(metrics) and len(testing.metrics_rows(logdir)) >= 2):
      time.sleep(0.2)
    server.kill()
    server.wait()
    self._serve(int(address.split(':')[1]), max_size=200)  # Back on the same port, empty.
    _, stderr = run.communicate(timeout=240)
    self.assertEqual(run.returncode, 1, stderr[-2000:])
    lines = testing.error_lines(subprocess.CompletedProcess([], 1, '', stderr))
    self.assertEqual(len(lines), 1, stderr[-2000:])
    self.assertRegex(lines[0], f'the replay server at {address} restarted: its table has taken '
                     r'[\d,]+ transitions, [\d,]+ before; at least 200 of the 200 transitions it '
                     'held were lost')

  def test_a_server_that_dies_mid_run_stops_it_with_one_line(self):
    server, address = self._serve()
    logdir = self.create_tempdir()
    run = testing.start('ddpg', logdir, *_DDPG, '--num_steps=100000', '--log_every=100',
                        f'--replay_address={address}')
    self.addCleanup(run.kill)
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(logdir, 'metrics.csv')) and time.time() < deadline:
      time.sleep(0.5)
    time.sleep(3)  # Learning has started: the learner samples the table at every step.
    server.kill()
    _, stderr = run.communicate(timeout=120)  # Used to block forever.
    self.assertEqual(run.returncode, 1, stderr[-2000:])
    lines = testing.error_lines(subprocess.CompletedProcess([], 1, '', stderr))
    self.assertEqual(len(lines), 1, stderr[-2000:])
    self.assertIn(f'the replay server at {address} did not answer', lines[0])


if __name__ == '__main__':
  import unittest
  unittest.main()
