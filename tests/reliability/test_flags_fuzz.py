"""Every launcher, every flag, bad values: one line naming the flag, exit status 2, nothing
written (the cases are generated from the flags' types in `fuzz_flags`)."""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

from tests.reliability import reliability_testing as testing

_AGENTS = ('ppo', 'a2c', 'acktr', 'acer', 'a3c', 'trpo', 'reinforce', 'actor_critic',
           'off_policy_ac', 'ddpg', 'td3', 'sac', 'soft_q', 'd4pg', 'dpg', 'maddpg')


class FlagFuzzTest(unittest.TestCase):

  def test_every_bad_value_fails_cleanly(self):
    processes = {agent: subprocess.Popen(
        [sys.executable, '-m', 'tests.reliability.fuzz_flags', agent], cwd=testing.ROOT,
        env=testing.ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                 for agent in _AGENTS}
    failures, total = [], 0
    for agent, process in processes.items():
      stdout, _ = process.communicate(timeout=600)
      self.assertEqual(process.returncode, 0, agent)
      for case in json.loads(stdout.strip().splitlines()[-1]):
        total += 1
        lines = [line for line in case['stderr'].splitlines() if line.strip()]
        if (case['status'] != 2 or len(lines) != 1 or f"--{case['flag']}" not in lines[0] or
            case['wrote']):
          failures.append(f"{agent} {case['value']}: {case['status']} {lines[:2]}")
    self.assertGreater(total, 1500)
    self.assertEqual(failures, [], f'{len(failures)} of {total} cases')

  def test_environments_the_agents_cannot_use_are_refused_in_one_line(self):
    # Tuple and Dict observations are flattened (Blackjack-v1 trains); no agent takes
    # MultiDiscrete actions.
    cases = {'tests.agents.common.registering_envs:WrapperTestMultiAction-v0':
                 'unsupported space MultiDiscrete'}
    if importlib.util.find_spec('Box2D') is None:
      cases['LunarLander-v3'] = 'needs a package that is not installed: Box2D'
    for env_id, message in cases.items():
      with self.subTest(env_id):
        logdir = os.path.join(tempfile.mkdtemp(), 'run')
        result = testing.run('ppo', logdir, f'--env={env_id}', '--num_steps=3000')
        self.assertEqual(result.returncode, 2, result.stderr[-2000:])
        lines = testing.error_lines(result)
        self.assertEqual(len(lines), 1, result.stderr[-2000:])
        self.assertIn('--env', lines[0])
        self.assertIn(message, lines[0])
        self.assertFalse(os.path.exists(logdir))


if __name__ == '__main__':
  unittest.main()
