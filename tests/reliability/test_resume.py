"""A run killed with SIGKILL and rerun ends exactly where the uninterrupted run ends (on-policy
agents, CPU): every variable equal, the environments' episodes and random streams included."""

import os
import random
import signal
import time

from absl.testing import parameterized
import numpy as np

from tests.launchers import launcher_testing
from tests.reliability import reliability_testing as testing

_CASES = {
    'ppo': ['--env=CartPole-v1', '--tuned', '--num_steps=6144', '--checkpoint_every=512'],
    'acktr': ['--env=CartPole-v1', '--tuned', '--num_steps=8000', '--checkpoint_every=800'],
    'reinforce': ['--env=CartPole-v1', '--tuned', '--num_steps=6000', '--checkpoint_every=1000'],
    'actor_critic': ['--env=CartPole-v1', '--tuned', '--num_steps=3000',
                     '--checkpoint_every=500'],
    'a2c': ['--env=CartPole-v1', '--tuned', '--num_steps=4000', '--checkpoint_every=400'],
    'trpo': ['--env=CartPole-v1', '--num_steps=4096', '--checkpoint_every=512'],
    'off_policy_ac': ['--env=CartPole-v1', '--num_steps=8000', '--checkpoint_every=800'],
    'dpg': ['--env=Pendulum-v1', '--tuned', '--num_steps=2000', '--checkpoint_every=400'],
}


class KillResumeTest(launcher_testing.LauncherTestCase, parameterized.TestCase):

  def _kill_after_a_checkpoint(self, agent: str, logdir: str, flags) -> None:
    run = testing.start(agent, logdir, *flags)
    self.addCleanup(run.kill)
    directory = os.path.join(logdir, 'checkpoints')
    deadline = time.time() + 120
    while time.time() < deadline and not (
        os.path.isdir(directory) and sum(n.endswith('.index') for n in os.listdir(directory))):
      time.sleep(0.05)
    time.sleep(random.Random(agent).uniform(0.0, 1.0))  # Somewhere between two checkpoints.
    run.send_signal(signal.SIGKILL)
    run.wait()
    self.assertEqual(run.returncode, -signal.SIGKILL, 'the run ended before the kill')

  @parameterized.parameters(*_CASES)
  def test_killed_and_resumed_runs_equal_the_uninterrupted_one(self, agent):
    flags = [*_CASES[agent], '--eval_every=0', '--eval_episodes=1', '--seed=3']
    full, killed = self.create_tempdir(), self.create_tempdir()
    result = testing.run(agent, full, *flags)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self._kill_after_a_checkpoint(agent, killed, flags)
    resumed = testing.run(agent, killed, *flags)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-2000:])
    self.assertIn('Resumed from', resumed.stdout)
    expected = testing.read_checkpoint(testing.checkpoints(full)[-1])
    actual = testing.read_checkpoint(testing.checkpoints(killed)[-1])
    # save_counter counts saves, train_time_s seconds; actor_states holds pickled
    # environments, equal in content but not byte for byte (pickles are not canonical).
    kept = lambda n: not any(s in n for s in ('save_counter', 'train_time_s', 'actor_states'))
    names = [n for n in expected if kept(n)]
    self.assertEqual(sorted(names), sorted(n for n in actual if kept(n)))
    different = [n for n in names
                 if not np.array_equal(np.asarray(expected[n]), np.asarray(actual[n]))]
    self.assertEqual(different, [], f'{len(different)} of {len(names)} differ')


if __name__ == '__main__':
  import unittest
  unittest.main()
