"""`python -m launchers.export` on a trained run, as a user runs it: a SavedModel that acts as the
run's policy in a process with TensorFlow alone, and bad flags that fail before any work."""

import json
import os
import shutil
import subprocess

from tests.agents import trained_runs
from tests.launchers import launcher_testing as testing


def _export(*flags: str) -> subprocess.CompletedProcess:
  return subprocess.run(testing.command('export', *flags), cwd=testing.ROOT, env=testing.ENV,
                        capture_output=True, text=True, timeout=300)


class ExportTest(testing.LauncherTestCase):

  def setUp(self):
    super().setUp()
    self.trained = trained_runs.ppo_cartpole()
    self.logdir = os.path.join(self.create_tempdir(), 'run')
    shutil.copytree(self.trained.logdir, self.logdir)
    self.before = trained_runs.fingerprint(self.logdir, skip=())

  def test_the_export_loads_with_tensorflow_alone_and_acts_as_the_run(self):
    out = os.path.join(self.create_tempdir(), 'exported')
    result = _export(self.logdir, f'--out={out}')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn('action = policy(observation), float32 [None, 4] -> int32 [None]',
                  result.stdout)
    metadata = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertEqual(metadata['env_steps'], 64)
    exported = trained_runs.run_exported(out, self.trained.observations)
    self.assertNotIn('agents', exported['modules'])
    self.assertNotIn('tensorflow_probability', exported['modules'])
    self.assertEqual(exported['actions'], self.trained.actions.tolist())
    self.assertEqual(trained_runs.fingerprint(self.logdir, skip=()), self.before)

  def test_bad_flags_fail_with_one_line_and_write_nothing(self):
    root = self.create_tempdir()
    maddpg = trained_runs.fake_run(os.path.join(root, 'maddpg'), 'maddpg',
                                   'mpe2/simple_spread_v3')
    full = os.path.join(root, 'full')
    os.makedirs(full)
    with open(os.path.join(full, 'file'), 'w') as f:
      f.write('x')
    new = os.path.join(root, 'new')
    cases = {
        '--checkpoint=7: .* has no checkpoints/ckpt-7 \\(its checkpoints: 32, 64\\)':
            [self.logdir, '--checkpoint=7', f'--out={new}'],
        "--out='.*full': is not empty": [self.logdir, f'--out={full}'],
        "--out='.*': is inside the run's own checkpoints":
            [self.logdir, f'--out={os.path.join(self.logdir, "checkpoints", "x")}'],
        "--logdir='.*maddpg': a maddpg run acts with a multi-agent policy":
            [maddpg, f'--out={new}'],
    }
    processes = {pattern: subprocess.Popen(
        testing.command('export', *flags), cwd=testing.ROOT, env=testing.ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for pattern, flags in cases.items()}
    for pattern, process in processes.items():
      _, stderr = process.communicate(timeout=300)
      with self.subTest(pattern):
        self.assertEqual(process.returncode, 2, stderr)
        self.assertRegex(stderr, f'^error: {pattern}')
        self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
    self.assertFalse(os.path.exists(new))
    self.assertEqual(os.listdir(full), ['file'])
    self.assertEqual(trained_runs.fingerprint(self.logdir, skip=()), self.before)


if __name__ == '__main__':
  import unittest
  unittest.main()
