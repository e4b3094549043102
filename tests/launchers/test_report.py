"""`python -m launchers.report` as a user runs it, on run logdirs written by hand."""

import os
import subprocess
import sys

from tests.agents.common import fake_runs
from tests.launchers import launcher_testing as testing


def _report(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, '-m', 'launchers.report', *args], cwd=testing.ROOT,
                        env=testing.ENV, capture_output=True, text=True, timeout=180)


class ReportTest(testing.LauncherTestCase):

  def test_writes_report_md_and_curves_into_the_run_dir(self):
    root = self.create_tempdir()
    for seed in (0, 1, 2):
      fake_runs.write_run(os.path.join(root, f'seed{seed}'), fake_runs.config_record(seed=seed),
                          [(1000, 10.0 * seed), (2000, 100.0 + seed)], final=100.0 + seed)
    result = _report(root, '--name=Three seeds', '--reps=500')
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stdout.strip(), os.path.join(root, 'report.md'))
    with open(os.path.join(root, 'report.md')) as f:
      text = f.read()
    self.assertTrue(text.startswith('# Three seeds\n'))
    self.assertIn('| reinforce | CartPole-v1 | 3 | s0: 100.0, s1: 101.0, s2: 102.0 | 101.0 [', text)
    self.assertTrue(os.path.exists(os.path.join(root, 'curves_CartPole-v1.png')))

  def test_several_run_dirs_and_out(self):
    first, second = self.create_tempdir(), self.create_tempdir()
    fake_runs.write_run(first, fake_runs.config_record(), [(1000, 1.0)], final=1.0)
    fake_runs.write_run(os.path.join(second, 'a', 'seed0'),
                        fake_runs.config_record(discount=0.9), [(1000, 2.0)], final=2.0)
    out = os.path.join(self.create_tempdir(), 'cmp')
    result = _report(first, second, f'--out={out}', '--reps=100')
    self.assertEqual(result.returncode, 0, result.stderr)
    with open(os.path.join(out, 'report.md')) as f:
      text = f.read()
    self.assertIn('2 run(s) in 2 group(s)', text)
    self.assertIn('| config.discount | 0.99 | 0.9 |', text)

  def test_bad_input_is_one_line_and_writes_nothing(self):
    tmp = self.create_tempdir()
    runs_dir = os.path.join(tmp, 'runs')
    fake_runs.write_run(os.path.join(runs_dir, 'seed0'), fake_runs.config_record(), [(1, 1.0)],
                        final=1.0)
    empty = os.path.join(tmp, 'empty')
    os.makedirs(empty)
    a_file = os.path.join(tmp, 'file.txt')
    with open(a_file, 'w') as f:
      f.write('x')
    out = os.path.join(tmp, 'out')
    cases = {
        'no RUN_DIR given': [f'--out={out}'],
        "RUN_DIR '/nonexistent/runs': does not exist": ['/nonexistent/runs', f'--out={out}'],
        f'RUN_DIR {a_file!r}: is not a folder': [a_file, f'--out={out}'],
        f'{empty}: no run in it': [runs_dir, empty, f'--out={out}'],
        f'--out={a_file!r}: is a file': [runs_dir, f'--out={a_file}'],
        '--reps': [runs_dir, '--reps=0', f'--out={out}'],
    }
    processes = {expected: subprocess.Popen(
        [sys.executable, '-m', 'launchers.report', *args], cwd=testing.ROOT, env=testing.ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for expected, args in cases.items()}  # In parallel: each imports TensorFlow.
    for expected, process in processes.items():
      _, stderr = process.communicate(timeout=180)
      with self.subTest(expected):
        self.assertEqual(process.returncode, 2, stderr)
        lines = [line for line in stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, stderr)
        self.assertTrue(lines[0].startswith('error: '), lines[0])
        self.assertIn(expected, lines[0])
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(os.path.join(runs_dir, 'report.md')))


if __name__ == '__main__':
  import unittest
  unittest.main()

  def test_does_not_import_tensorflow(self):
    # Reading runs needs none of the runtime: a report costs no TensorFlow import.
    code = ('import sys; import launchers.report; '
            "print(sorted(m for m in ('tensorflow', 'gymnasium') if m in sys.modules))")
    result = subprocess.run([sys.executable, '-c', code], cwd=testing.ROOT, env=testing.ENV,
                            capture_output=True, text=True, timeout=120)
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stdout.strip(), '[]')
