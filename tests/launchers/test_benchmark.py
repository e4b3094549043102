"""`python -m launchers.benchmark`: bad flags fail first, earlier runs are reused or resumed,
results keep earlier seeds and gain the statistics across seeds; one tiny real run."""

import io
import json
import os
import subprocess
import sys
from unittest import mock

from launchers import benchmark_results as bench
from agents.common import runs
from launchers import benchmark
from tests.agents.common import fake_runs
from tests.launchers import launcher_testing as testing

# A REINFORCE small enough to train 1,000 steps in a few seconds.
_SMALL = ['--agent=reinforce', '--env=CartPole-v1', '--notuned', '--num_steps=1000',
          '--agent_flags=--num_envs=2,--hidden_sizes=16,16,--eval_episodes=2']
_EXTRA = ['--num_envs=2', '--hidden_sizes=16,16', '--eval_episodes=2']


def _popen(*args: str) -> subprocess.Popen:
  return subprocess.Popen([sys.executable, '-m', 'launchers.benchmark', *args], cwd=testing.ROOT,
                          env=testing.ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, '-m', 'launchers.benchmark', *args], cwd=testing.ROOT,
                        env=testing.ENV, capture_output=True, text=True, timeout=timeout)


def _results(out: str):
  with open(os.path.join(out, 'results.json')) as f:
    return json.load(f)


def _flags(out: str, seed: int, num_steps: int = 1000, eval_every=None, agent='reinforce'):
  return bench.launcher_flags(agent, 'CartPole-v1', num_steps, seed,
                              os.path.join(out, f'seed{seed}'), False, eval_every, _EXTRA, None)


def _recorded_row(out: str, seed: int, final: float, env_steps: int = 1000, eval_every=None,
                  agent='reinforce'):
  """A finished fake run in out/seed<seed> and its row as the benchmark records it."""
  logdir = fake_runs.write_run(os.path.join(out, f'seed{seed}'),
                               fake_runs.config_record(agent=agent, seed=seed, num_steps=1000),
                               [(500, final / 2), (env_steps, final)], final=final,
                               env_steps=env_steps)
  return {'seed': seed, 'status': 'ran', 'eval_mean_return': final, 'eval_std_return': 1.5,
          'env_steps': env_steps, 'train_time_s': 2.0, 'first_iteration_s': 0.9,
          'steps_per_s': env_steps / 2.0, 'process_time_s': 5.0, 'logdir': logdir,
          'launcher_flags': _flags(out, seed, eval_every=eval_every, agent=agent)}


# A stand-in for a Stable-Baselines3 venv's python: `-c 'import stable_baselines3'` works, and
# `sb3_reference.py --algo A --env E --steps N --seed S --out PATH` writes a record to PATH.
_FAKE_SB3_PYTHON = """#!{python}
import json, sys
args = sys.argv[1:]
if args[0] == '-c':
  sys.exit(0)
options = dict(zip(args[1::2], args[2::2]))
with open(options['--out'], 'w') as f:
  json.dump({{'algo': options['--algo'], 'env': options['--env'],
             'steps': int(options['--steps']), 'seed': int(options['--seed']),
             'eval_mean_return': 90.0 + int(options['--seed']), 'wall_time_s': 4.0,
             'first_iteration_s': 0.1}}, f)
"""


def _settings(**changes):
  settings = {'agent': 'reinforce', 'env': 'CartPole-v1', 'num_steps': 1000, 'tuned': False,
              'agent_flags': _EXTRA, 'num_actors': None, 'eval_every': None}
  settings.update(changes)
  return settings


class BadFlagsTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_before_anything_with_one_line(self):
    tmp = self.create_tempdir()
    a_file = os.path.join(tmp, 'a_file')
    with open(a_file, 'w') as f:
      f.write('')
    out = os.path.join(tmp, 'out')
    base = ['--agent=ppo', f'--out={out}']
    cases = {  # In parallel (each process imports TensorFlow through launchers.flags).
        "--seeds='0,x': must be integers": ['--seeds=0,x'],
        '--num_steps=0: must be >= 1': ['--num_steps=0'],
        '--eval_every': ['--eval_every=-5'],
        '--num_actors=2: only --agent=d4pg': ['--num_actors=2'],
        '--agent=reinforce: no Stable-Baselines3 counterpart': [
            '--agent=reinforce', f'--sb3_python={sys.executable}'],
        f'--sb3_python={sys.executable!r}: cannot import stable_baselines3': [
            f'--sb3_python={sys.executable}'],
        "--agent_flags='--seed=3': the benchmark sets --seed itself (use its --seeds)": [
            '--agent_flags=--seed=3'],
        f'--out={a_file!r}: is a file, not a folder': [f'--out={a_file}'],
    }
    processes = {expected: _popen(*base, *args) for expected, args in cases.items()}
    for expected, process in processes.items():
      _, stderr = process.communicate(timeout=300)
      with self.subTest(expected):
        self.assertEqual(process.returncode, 2, stderr)
        lines = [line for line in stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, stderr)
        self.assertTrue(lines[0].startswith('error: '), stderr)
        self.assertIn(expected, lines[0])
    self.assertFalse(os.path.exists(out))

  def test_seed_lists_that_fail(self):
    for values, expected in ((['1', '1'], "--seeds='1,1': a seed is named twice"),
                             (['-1'], "--seeds='-1': must be >= 0"), ([], '--seeds')):
      with self.subTest(expected):
        with mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
          with self.assertRaises(SystemExit) as raised:
            benchmark._parse_seeds(values)  # pylint: disable=protected-access
        self.assertEqual(raised.exception.code, 2)
        self.assertIn(expected, stderr.getvalue())

  def test_sb3_python_problems(self):
    tmp = self.create_tempdir()
    not_executable = os.path.join(tmp, 'python')
    with open(not_executable, 'w') as f:
      f.write('')
    self.assertIn('does not exist', benchmark.sb3_problem('/nonexistent/python'))
    self.assertEqual(benchmark.sb3_problem(not_executable), 'is not executable')
    self.assertEqual(benchmark.sb3_problem(tmp), 'is a folder, not a Python executable')
    fake = os.path.join(tmp, 'fake_python')
    with open(fake, 'w') as f:  # A "python" in which the import works.
      f.write('#!/bin/sh\nexit 0\n')
    os.chmod(fake, 0o755)
    self.assertIsNone(benchmark.sb3_problem(fake))

  def test_agent_flags_must_start_with_a_flag(self):
    with self.assertRaisesRegex(ValueError, "'64' is not a flag"):
      bench.join_flag_pieces(['64', '--lr=1'])


class PlanTest(testing.LauncherTestCase):

  def test_what_each_logdir_gets(self):
    out = self.create_tempdir()
    row = _recorded_row(out, 0, 100.0)
    now = _flags(out, 0)
    logdir = os.path.join(out, 'seed0')
    self.assertEqual(bench.plan(logdir, 1000, now, row, restart=False), 'reuse')
    self.assertEqual(bench.plan(logdir, 1000, now, row, restart=True), 'restart')
    # Finished, but recorded with other flags or not at all: the launcher checks it.
    other = _flags(out, 0, eval_every=0)
    self.assertEqual(bench.plan(logdir, 1000, other, row, restart=False), 'check')
    self.assertEqual(bench.plan(logdir, 1000, now, None, restart=False), 'check')
    # A larger budget: the finished run resumes.
    self.assertEqual(bench.plan(logdir, 2000, _flags(out, 0, 2000), row, False), 'resume')
    # An unfinished run (no evaluation.json) resumes; an empty logdir runs.
    unfinished = fake_runs.write_run(os.path.join(out, 'seed1'), fake_runs.config_record(),
                                     [(500, 1.0)])
    self.assertEqual(bench.plan(unfinished, 1000, _flags(out, 1), None, False), 'resume')
    self.assertEqual(bench.plan(os.path.join(out, 'seed2'), 1000, _flags(out, 2), None,
                                False), 'run')

  def test_a_recorded_run_that_ended_short_of_its_budget_is_reused(self):
    # A run ends when less than a rollout is left (here at 992 of 1,000 env steps).
    out = self.create_tempdir()
    row = _recorded_row(out, 0, 100.0, env_steps=992)
    self.assertEqual(bench.plan(os.path.join(out, 'seed0'), 1000, _flags(out, 0), row,
                                False), 'reuse')

  def test_restart_passes_the_launchers_restart(self):
    self.assertEqual(benchmark.child_argv('ppo', ['--seed=0'], 'restart')[-2:],
                     ['--seed=0', '--restart'])
    self.assertNotIn('--restart', benchmark.child_argv('ppo', ['--seed=0'], 'resume'))

  def test_agent_flags_split_at_commas_are_joined_again(self):
    self.assertEqual(bench.join_flag_pieces(['--hidden_sizes=64', '64', '--lr=1']),
                     ['--hidden_sizes=64,64', '--lr=1'])


class ReuseTest(testing.LauncherTestCase):

  def test_recorded_finished_runs_are_reused_and_earlier_seeds_kept(self):
    out = self.create_tempdir()
    rows = [_recorded_row(out, 0, 100.0), _recorded_row(out, 1, 300.0)]
    earlier = dict(_recorded_row(out, 5, 200.0), logdir='gone')  # Not named this time.
    with open(os.path.join(out, 'results.json'), 'w') as f:
      json.dump({**_settings(), 'seeds': rows + [earlier], 'sb3': []}, f)
    # No launcher may start: the fake runs have no checkpoint, a launcher would refuse them.
    result = _run(*_SMALL, '--seeds=0,1', f'--out={out}')
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn('[seed 0, 1/2] reusing the finished run', result.stdout)
    self.assertIn('[seed 1, 2/2] reusing the finished run', result.stdout)
    results = _results(out)
    self.assertEqual([(r['seed'], r['status']) for r in results['seeds']],
                     [(0, 'reused'), (1, 'reused'), (5, 'ran')])
    aggregate = results['aggregate']
    self.assertEqual(aggregate['num_seeds'], 3)
    self.assertEqual(aggregate['mean']['point'], 200.0)
    self.assertEqual(aggregate['median']['point'], 200.0)
    self.assertLessEqual(aggregate['iqm']['lower'], 200.0)
    self.assertGreaterEqual(aggregate['iqm']['upper'], 200.0)
    with open(os.path.join(out, 'results.md')) as f:
      text = f.read()
    self.assertIn('## Final evaluation return across 3 seed(s)', text)
    lower, upper = aggregate['mean']['lower'], aggregate['mean']['upper']
    self.assertIn(f'| mean | 200.0 | [{lower:.1f}, {upper:.1f}] |', text)
    self.assertTrue(os.path.exists(os.path.join(out, 'report.md')))
    self.assertTrue(os.path.exists(os.path.join(out, 'curves_CartPole-v1.png')))

  def test_stable_baselines3_rows_follow_ours(self):
    out = self.create_tempdir()
    python = os.path.join(self.create_tempdir(), 'python')
    with open(python, 'w') as f:
      f.write(_FAKE_SB3_PYTHON.format(python=sys.executable))
    os.chmod(python, 0o755)
    rows = [_recorded_row(out, s, 100.0 * (s + 1), agent='a2c') for s in (0, 1)]
    with open(os.path.join(out, 'results.json'), 'w') as f:
      json.dump({**_settings(agent='a2c'), 'seeds': rows, 'sb3': []}, f)
    args = [a.replace('reinforce', 'a2c') for a in _SMALL]
    result = _run(*args, '--seeds=0,1', f'--out={out}', f'--sb3_python={python}')
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
    self.assertIn('[seed 1, 2/2] SB3 return 91.0, 4.0 s (ran)', result.stdout)
    results = _results(out)
    self.assertEqual([r['eval_mean_return'] for r in results['sb3']], [90.0, 91.0])
    self.assertEqual(results['sb3_aggregate']['mean']['point'], 90.5)
    with open(os.path.join(out, 'results.md')) as f:
      text = f.read()
    self.assertIn('| 1 | 200.0 | 1,000 | 2.0 | 500 | 0.90 | reused | 91.0 | 4.0 | 0.50 |', text)
    self.assertIn('## SB3: final evaluation return across 2 seed(s)', text)
    # Run again: the SB3 records are reused too.
    result = _run(*args, '--seeds=0,1', f'--out={out}', f'--sb3_python={python}')
    self.assertIn('[seed 1, 2/2] SB3 return 91.0, 4.0 s (reused)', result.stdout)

  def test_results_of_other_settings_are_kept_aside(self):
    out = self.create_tempdir()
    row = _recorded_row(out, 0, 100.0)
    with open(os.path.join(out, 'results.json'), 'w') as f:
      json.dump({**_settings(num_steps=500), 'seeds': [row], 'sb3': []}, f)
    with open(os.path.join(out, 'results.md'), 'w') as f:
      f.write('old')
    # Recorded with other settings: the launcher would check the run (and refuse a fake one),
    # so this only looks at what happens to the old files before: kept under another name.
    self.assertEqual(bench.previous_results(out, _settings()), ({}, True))
    self.assertEqual(bench.previous_results(out, _settings(num_steps=500))[0]['num_steps'], 500)
    kept_as = bench.set_aside(out)
    names = sorted(os.listdir(out))
    self.assertIn(os.path.basename(kept_as), names)
    self.assertNotIn('results.json', names)
    kept = [n for n in names if n.startswith('results.')]
    self.assertEqual(len(kept), 2, names)
    with open(os.path.join(out, [n for n in kept if n.endswith('.json')][0])) as f:
      self.assertEqual(json.load(f)['num_steps'], 500)

  def test_a_seed_that_cannot_resume_stops_it_before_any_training(self):
    out = self.create_tempdir()
    # Seed 1: an unfinished run without a checkpoint, which a launcher refuses to resume.
    fake_runs.write_run(os.path.join(out, 'seed1'), fake_runs.config_record(seed=1),
                        [(500, 1.0)])
    result = _run(*_SMALL, '--seeds=0,1', f'--out={out}')
    self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
    self.assertEqual(result.stdout, '')  # Seed 0 did not start.
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    self.assertEqual(len(lines), 1, result.stderr)
    self.assertIn('seed1 cannot resume: it holds a run (metrics.csv) but no checkpoint to '
                  'resume from; add --restart to start it over', lines[0])
    self.assertFalse(os.path.exists(os.path.join(out, 'seed0')))

  def test_a_launchers_one_line_error_is_passed_on(self):
    out = os.path.join(self.create_tempdir(), 'out')
    result = _run(*_SMALL[:-1], '--agent_flags=--num_envs=0', '--seeds=0', f'--out={out}')
    self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
    self.assertIn('[seed 0, 1/1] training in', result.stdout)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    self.assertEqual(len(lines), 1, result.stderr)
    self.assertTrue(lines[0].startswith('error: --num_envs=0: '), lines[0])


class RealRunTest(testing.LauncherTestCase):

  def test_a_tiny_benchmark_then_its_rerun_reuses_it(self):
    out = os.path.join(self.create_tempdir(), 'bench')
    result = _run(*_SMALL, '--seeds=3', '--eval_every=500', f'--out={out}')
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
    self.assertIn('[seed 3, 1/1] training in', result.stdout)
    self.assertIn('[seed 3, 1/1] [reinforce CartPole-v1] step', result.stdout)  # Its progress.
    row = _results(out)['seeds'][0]
    self.assertEqual((row['seed'], row['status'], row['env_steps']), (3, 'ran', 1000))
    self.assertIn('--eval_every=500', row['launcher_flags'])
    steps, _ = runs.eval_curve(os.path.join(out, 'seed3', 'metrics.csv'))
    self.assertGreaterEqual(len(steps), 2)  # Evaluations along the way, not only the last.
    result = _run(*_SMALL, '--seeds=3', '--eval_every=500', f'--out={out}')
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
    self.assertIn('reusing the finished run', result.stdout)
    self.assertEqual(_results(out)['seeds'][0]['eval_mean_return'], row['eval_mean_return'])


if __name__ == '__main__':
  import unittest
  unittest.main()
