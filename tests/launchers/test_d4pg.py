"""The D4PG launcher as a user runs it: bad flags; K actor processes that end with the run
(by PID), survive a kill of one of them, and stop on SIGTERM; a resumed learner with its
replay; the three roles started separately."""

import os
import re
import signal
import subprocess
import time

import portpicker

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=Pendulum-v1', '--hidden_sizes=32,32', '--batch_size=32', '--learning_starts=200',
          '--num_atoms=11', '--replay_size=5000', '--eval_episodes=1', '--eval_every=0',
          '--log_every=100']


def _actor_pids(stdout: str):
  found = re.findall(r'Started \d+ actor process\(es\): pids ([\d, ]+)\.', stdout)
  return [int(p) for line in found for p in line.split(', ')]


def _popen(logdir, *flags):
  return subprocess.Popen(testing.command('d4pg', logdir, *_SMALL, *flags), cwd=testing.ROOT,
                          env=testing.ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def _wait_for(path: str, process, timeout: float = 240) -> None:
  deadline = time.time() + timeout
  while not os.path.exists(path) and time.time() < deadline and process.poll() is None:
    time.sleep(0.2)


class BadFlagsTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('d4pg', _SMALL, {
        'num_actors': ['--num_actors=-1'],
        'actor_update_period': ['--actor_update_period=0'],
        'v_max': ['--v_max=-200'],
        'role': ['--role=actor'],  # No --replay_address to act into.
        'replay_address': ['--role=learner', '--replay_address=nowhere'],
        'critic_weight_decay': ['--critic_weight_decay=0.01'],
    })


class ActorProcessesTest(testing.LauncherTestCase):

  def test_two_actors_feed_the_learner_and_end_with_the_run(self):
    logdir = self.create_tempdir()
    result = testing.run('d4pg', logdir, *_SMALL, '--num_steps=800', '--num_actors=2')
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    pids = _actor_pids(result.stdout)
    self.assertEqual(len(pids), 2, result.stdout)
    self.assertFalse([pid for pid in pids if testing.alive(pid)],
                     'actor processes outlived the run')
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 800)
    self.assertGreaterEqual(record['replay_items'], 800 - 2 * 4)  # N-step tails may be pending.
    self.assertEqual(record['actor_restarts'], 0)
    self.assertGreater(record['updates'], 0)
    for i in range(2):
      with open(os.path.join(logdir, 'actors', f'actor_{i}.log')) as f:
        self.assertIn(f'actor {i}: acting from 0 env steps', f.read())
    self.assert_outputs(logdir)

  def test_a_killed_actor_is_restarted(self):
    logdir = self.create_tempdir()
    process = _popen(logdir, '--num_steps=3000', '--num_actors=1')
    _wait_for(os.path.join(logdir, 'metrics.csv'), process)
    log = os.path.join(logdir, 'actors', 'actor_0.log')
    pid = None
    with open(log) as f:
      match = re.search(r'\(pid (\d+)\)', f.read())
      if match:
        pid = int(match.group(1))
    self.assertIsNotNone(pid, 'the actor did not start')
    os.kill(pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=400)
    self.assertEqual(process.returncode, 0, stderr[-3000:])
    self.assertRegex(stdout, rf'Warning: actor 0 \(pid {pid}\) exited with status -9; starting it '
                     r'again \(restart 1 of 3')
    self.assertEqual(testing.evaluation(logdir)['actor_restarts'], 1)
    self.assertFalse([p for p in _actor_pids(stdout) if testing.alive(p)])

  def test_sigterm_stops_every_process_and_the_learner_resumes_with_its_replay(self):
    logdir = self.create_tempdir()
    flags = ['--num_steps=3000', '--num_actors=2', '--checkpoint_every=500']
    process = _popen(logdir, *flags)
    _wait_for(os.path.join(logdir, 'checkpoints', 'checkpoint'), process)
    self.assertIsNone(process.poll(), 'the run ended before it could be stopped')
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    self.assertEqual(process.returncode, 130, stderr[-3000:])
    self.assertIn('Interrupted: saved', stdout)
    pids = _actor_pids(stdout)
    self.assertEqual(len(pids), 2, stdout)
    self.assertFalse([pid for pid in pids if testing.alive(pid)],
                     'actor processes outlived the run')

    result = testing.run('d4pg', logdir, *_SMALL, *flags)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertRegex(result.stdout, r'Resumed from .* transitions in replay')
    self.assertEqual(testing.evaluation(logdir)['env_steps'], 3000)
    self.assertFalse([p for p in _actor_pids(result.stdout) if testing.alive(p)])


class RolesTest(testing.LauncherTestCase):

  def test_replay_learner_and_actor_started_separately(self):
    tmp = self.create_tempdir()
    address = f'localhost:{portpicker.pick_unused_port()}'
    server = _popen(os.path.join(tmp, 'server'), '--role=replay', f'--replay_address={address}')
    self.addCleanup(lambda: server.poll() is None and server.kill())
    serving = server.stdout.readline()  # The learner connects once the server serves.
    self.assertIn(f'at localhost:{address.split(":")[1]}', serving)
    learner = _popen(os.path.join(tmp, 'learner'), '--role=learner', f'--replay_address={address}',
                     '--num_steps=600')
    actor = _popen(os.path.join(tmp, 'actor'), '--role=actor', f'--replay_address={address}',
                   '--actor_id=0')
    self.addCleanup(lambda: actor.poll() is None and actor.kill())
    _, stderr = learner.communicate(timeout=400)
    self.assertEqual(learner.returncode, 0, stderr[-3000:])
    self.assertEqual(testing.evaluation(os.path.join(tmp, 'learner'))['env_steps'], 600)
    stdout, stderr = actor.communicate(timeout=60)  # The learner published the stop flag.
    self.assertEqual(actor.returncode, 0, stderr[-3000:])
    self.assertIn('actor 0: acting from 0 env steps', stdout)
    self.assertFalse(os.path.exists(os.path.join(tmp, 'actor')), 'an actor wrote a logdir')
    server.send_signal(signal.SIGTERM)
    _, stderr = server.communicate(timeout=60)
    self.assertEqual(server.returncode, 0, stderr[-3000:])
    # The learner asked the server for a checkpoint with each of its own.
    self.assertTrue(os.listdir(os.path.join(tmp, 'server', 'replay_server')))
