"""Running launchers as a user does, in subprocesses: shared by the launcher tests."""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import Dict, List, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, 'PYTHONPATH': ROOT, 'TF_CPP_MIN_LOG_LEVEL': '3'}


def command(module: str, logdir: str, *flags: str) -> List[str]:
  """`python -m launchers.<module> --logdir=... flags...`."""
  return [sys.executable, '-m', f'launchers.{module}', f'--logdir={logdir}', *flags]


def run(module: str, logdir: str, *flags: str, timeout: float = 600):
  """Runs a launcher to completion; returns the `subprocess.CompletedProcess`."""
  return subprocess.run(command(module, logdir, *flags), cwd=ROOT, env=ENV,
                        capture_output=True, text=True, timeout=timeout)


def alive(pid: int) -> bool:
  """Whether process `pid` runs (a zombie, dead but not yet reaped, does not count)."""
  try:
    with open(f'/proc/{pid}/stat') as f:
      return f.read().split(')')[-1].split()[0] != 'Z'
  except FileNotFoundError:
    return False


def evaluation(logdir: str) -> Dict:
  """The run's evaluation.json."""
  with open(os.path.join(logdir, 'evaluation.json')) as f:
    return json.load(f)


class LauncherTestCase(unittest.TestCase):
  """A TestCase with temporary directories and the bad-flag check every launcher must pass."""

  def create_tempdir(self) -> str:
    path = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path

  def assert_bad_flags_fail(self, module: str, base_flags: Sequence[str],
                            cases: Dict[str, Sequence[str]]) -> Dict[str, str]:
    """Each case (flag name -> flags) must fail before any work: exit status 2, stderr's
    first line names `--<flag name>`, no traceback, nothing written. The cases run one after
    the other in one process, each through the launcher's whole `main` as from the command
    line (`tests.reliability.fuzz_flags`; `test_cli` runs bad flags as separate processes);
    returns each case's stderr."""
    tmp = self.create_tempdir()
    logdirs = {name: os.path.join(tmp, name) for name in cases}
    named = {name: [f'--logdir={logdirs[name]}', *base_flags, *flags]
             for name, flags in cases.items()}
    result = subprocess.run(
        [sys.executable, '-m', 'tests.reliability.fuzz_flags', module, json.dumps(named)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    errors = {}
    for name, logdir in logdirs.items():
      status, errors[name] = outcomes[name]['status'], outcomes[name]['stderr']
      with self.subTest(name):
        self.assertEqual(status, 2, errors[name])
        lines = [line for line in errors[name].splitlines() if line.strip()]
        self.assertIn(f'--{name}', lines[0])
        self.assertNotIn('Traceback', errors[name])
        self.assertEqual(len(lines), 1, errors[name])
        self.assertFalse(os.path.exists(logdir), f'{logdir} was written')
    return errors

  def assert_outputs(self, logdir: str) -> None:
    """The files every run writes into its logdir."""
    for name in ('config.json', 'metrics.csv', 'learning_curve.png', 'checkpoints',
                 'evaluation.json'):
      self.assertTrue(os.path.exists(os.path.join(logdir, name)), name)

  def assert_resumes_with_a_larger_budget(self, module: str, base_flags: Sequence[str],
                                          metric: str) -> None:
    """A finished 1000-step run re-run with 2000 steps continues from its checkpoint, and its
    metrics.csv continues without repeating a step (`metric` marks the training rows)."""
    logdir = self.create_tempdir()
    flags = [*base_flags, '--eval_every=0', '--log_every=200', '--checkpoint_every=500']
    first = run(module, logdir, '--num_steps=1000', *flags)
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    record = evaluation(logdir)
    self.assertEqual(record['env_steps'], 1000)
    for key in ('mean_return', 'std_return', 'episodes', 'wall_time_s', 'train_time_s',
                'first_iteration_s'):
      self.assertIn(key, record)
    self.assert_outputs(logdir)

    second = run(module, logdir, '--num_steps=2000', *flags)
    self.assertEqual(second.returncode, 0, second.stderr[-2000:])
    self.assertIn('Resumed from', second.stdout)
    self.assertIn('at 1,000 env steps', second.stdout)
    record = evaluation(logdir)
    self.assertEqual(record['env_steps'], 2000)
    self.assertIn('ckpt-1000', record['resumed_from'])
    with open(os.path.join(logdir, 'metrics.csv'), newline='') as f:
      steps = [int(float(r['env_steps'])) for r in csv.DictReader(f) if r.get(metric)]
    self.assertEqual(steps, sorted(set(steps)))
    self.assertEqual(steps[-1], 2000)

  def assert_changed_config_is_refused(self, module: str, base_flags: Sequence[str]) -> None:
    """Re-running a logdir with another config fails naming --logdir."""
    logdir = self.create_tempdir()
    first = run(module, logdir, *base_flags, '--num_steps=300', '--eval_every=0')
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    second = run(module, logdir, *base_flags, '--num_steps=600', '--eval_every=0',
                 '--discount=0.5')
    self.assertNotEqual(second.returncode, 0)
    self.assertIn('--logdir', second.stderr)

  def assert_learns(self, module: str, num_steps: int, threshold: float, *flags: str) -> None:
    """`--tuned` CartPole for `num_steps` evaluates at least `threshold` (random: ~20)."""
    logdir = self.create_tempdir()
    result = run(module, logdir, '--env=CartPole-v1', '--tuned', f'--num_steps={num_steps}',
                 '--seed=0', '--eval_every=0', *flags)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertGreaterEqual(evaluation(logdir)['mean_return'], threshold)
    self.assert_outputs(logdir)
