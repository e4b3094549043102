r"""Runs one agent on one environment for several seeds, in sequence, and tabulates the results.

  python -m launchers.benchmark --agent=ppo --env=CartPole-v1 --seeds=0,1,2 --num_steps=100000
  python -m launchers.benchmark --agent=ppo --env=CartPole-v1 --seeds=0,1,2,3,4 \
      --num_steps=100000     # reuses seeds 0-2, runs 3 and 4
  python -m launchers.benchmark --agent=d4pg --env=Pendulum-v1 --num_actors=2 --num_steps=20000

Each seed runs as its own process (`python -m launchers.<agent> --tuned ...`) in its logdir
`--out/seed<seed>`, one after the other, so timings include nothing of the previous seed; its
progress lines are shown prefixed with the seed. Nothing is deleted:
  - a seed whose logdir holds a finished run is reused. When results.json recorded that run
    with the same launcher flags, no process starts; otherwise, if its evaluation.json is at
    >= --num_steps env steps, the launcher starts, checks that the run there has the same
    config, and reports it without training;
  - a seed whose logdir holds an unfinished run resumes it from its last checkpoint (every
    seed's logdir is checked before anything trains: one that cannot resume stops the
    benchmark with one line);
  - `--restart` starts every seed's run over (the launcher's own --restart).
After every seed `results.json` and `results.md` in --out are rewritten: per seed the final
evaluation return, env steps, train time, steps/s and the time to the end of the first
iteration; across the seeds the mean, median and interquartile mean (IQM) of the final returns,
each with a 95 % stratified bootstrap confidence interval (agents/common/statistics.py; the
table: launchers/benchmark_results.py). Rows of seeds not named this time are kept when
their settings are the same (else the old files are renamed results.<time>.json/.md). Then
report.md with the learning curves (launchers/report.py) is written beside them.

Timing: a run's `train_time_s` (evaluation.json) runs from its start to its final evaluation,
without the time its evaluations took (every --eval_every env steps, the launcher's default
10,000), so it compares with Stable-Baselines3's times, which hold no evaluation.

With `--sb3_python=.venv-sb3/bin/python` (see benchmarks/README.md) the same seeds are also run
with Stable-Baselines3, back to back with ours, and the table gains their times and the ratio.
"""

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from absl import app
from absl import flags

from launchers import benchmark_results as results_lib
from agents.common import loop
from agents.common import reporting
from agents.common import runs as runs_lib
from launchers import flags as flags_lib

_AGENTS = ('ppo', 'a2c', 'acktr', 'acer', 'trpo', 'reinforce', 'actor_critic', 'a3c',
           'off_policy_ac', 'ddpg', 'td3', 'sac', 'soft_q', 'd4pg', 'dpg', 'maddpg')
_SB3_ALGOS = {'ppo': 'ppo', 'a2c': 'a2c', 'ddpg': 'ddpg', 'td3': 'td3', 'sac': 'sac'}
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Launcher flags the benchmark sets itself (from its own flags).
_OWN_FLAGS = {'env': 'env', 'num_steps': 'num_steps', 'seed': 'seeds', 'logdir': 'out',
              'tuned': 'tuned', 'notuned': 'tuned', 'eval_every': 'eval_every',
              'restart': 'restart', 'norestart': 'restart', 'num_actors': 'num_actors'}

_AGENT = flags.DEFINE_enum('agent', 'ppo', _AGENTS, 'Agent to benchmark.')
_ENV = flags.DEFINE_string('env', 'CartPole-v1', 'Gymnasium environment id.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds, run one after the other.')
_NUM_STEPS = flags.DEFINE_integer('num_steps', 100_000, 'Environment steps per seed.')
_OUT = flags.DEFINE_string('out', None, 'Output directory (default runs/benchmark/<agent>/<env>).')
_TUNED = flags.DEFINE_bool('tuned', True, "Use the agent's settings tuned for --env.")
_EVAL_EVERY = flags.DEFINE_integer(
    'eval_every', None, "The launchers' --eval_every: evaluate every this many env steps, the "
    "points of the learning curves (default: the launcher's 10,000). train_time_s leaves "
    'them out.', lower_bound=0)
_RESTART = flags.DEFINE_bool(
    'restart', False, "Start every seed's run over (the launcher's --restart removes the run's "
    'outputs in its logdir first). Without it a finished run is reused and an unfinished one '
    'resumed.')
_SB3_PYTHON = flags.DEFINE_string(
    'sb3_python', None, 'Python of a Stable-Baselines3 venv (benchmarks/setup_sb3.sh); when set, '
    'each seed is also run with SB3 right after ours.')
_EXTRA = flags.DEFINE_list('agent_flags', [], 'Extra flags for the launcher, e.g. '
                           '--agent_flags=--num_epochs=10,--hidden_sizes=64,64 (a piece '
                           'without -- continues the flag before it).')
_NUM_ACTORS = flags.DEFINE_integer(
    'num_actors', None, "D4PG's actor processes (--agent=d4pg; default: the config's 0, acting "
    "in the learner's process).", lower_bound=0)


def child_argv(agent: str, flags_now: Sequence[str], action: str) -> List[str]:
  """The command line of one seed's launcher process for `plan`'s `action`."""
  argv = [sys.executable, '-m', f'launchers.{agent}', *flags_now]
  return argv + ['--restart'] if action == 'restart' else argv


def _stream(command: List[str], prefix: str) -> Tuple[int, List[str]]:
  """Runs `command`, printing its stdout lines with `prefix` as they come; returns its exit
  status and its stderr lines. Ctrl-C reaches the child too (it saves a checkpoint): this
  waits for it, then exits with status 130."""
  env = {**os.environ, 'PYTHONUNBUFFERED': '1',
         'PYTHONPATH': os.pathsep.join(p for p in (_ROOT, os.environ.get('PYTHONPATH')) if p)}
  process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
  errors: List[str] = []
  reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)
  reader.start()
  try:
    for line in process.stdout:
      print(prefix + line.rstrip('\n'), flush=True)
    process.wait()
  except KeyboardInterrupt:
    process.wait()
    print(f'\n{prefix}interrupted; rerun the same command to resume.', flush=True)
    sys.exit(130)
  reader.join()
  return process.returncode, [line.rstrip('\n') for line in errors]


def _check_child(status: int, errors: List[str], what: str, logdir: str) -> None:
  """Exits like the child on failure: its one-line error and status 2 for bad input; else its
  stderr's end, one line naming it and status 1."""
  if status == 0:
    for line in errors:
      if line.strip():
        print(f'{what}: {line}', file=sys.stderr)
    return
  messages = [line for line in errors if line.startswith('error:')]
  if status == 2 and messages:
    print(messages[-1], file=sys.stderr, flush=True)
    sys.exit(2)
  print('\n'.join(errors[-20:]), file=sys.stderr)
  print(f'error: {what} exited with status {status}; its outputs in {logdir} are kept (rerun '
        'the benchmark to resume, or add --restart)', file=sys.stderr, flush=True)
  sys.exit(1)


def _row(seed: int, record: Dict[str, Any], logdir: str, status: str, command: List[str],
         process_s: Optional[float]) -> Dict[str, Any]:
  train_s = record.get('train_time_s')
  return {
      'seed': seed, 'status': status, 'eval_mean_return': record['mean_return'],
      'eval_std_return': record.get('std_return'), 'env_steps': record['env_steps'],
      'train_time_s': train_s, 'first_iteration_s': record.get('first_iteration_s'),
      'steps_per_s': record['env_steps'] / train_s if train_s else None,
      'process_time_s': process_s, 'logdir': logdir, 'launcher_flags': command,
  }


def _run_seed(seed: int, logdir: str, action: str, command: List[str], prefix: str,
              agent: str) -> Dict[str, Any]:
  """Runs (or reuses) one seed; returns its row."""
  if action == 'reuse':
    record = results_lib.finished_record(logdir, 0)
    print(f'{prefix}reusing the finished run in {logdir} ({record["env_steps"]:,} env steps, '
          f'return {record["mean_return"]:.1f}; --restart runs it again)', flush=True)
    return _row(seed, record, logdir, 'reused', command, None)
  notes = {'restart': f'starting over in {logdir}',
           'check': f'{logdir} holds a finished run not recorded with these flags: the '
                    'launcher checks its config and reports it',
           'resume': f'resuming the unfinished run in {logdir}',
           'run': f'training in {logdir}'}
  print(f'{prefix}{notes[action]}', flush=True)
  start = time.time()
  status, errors = _stream(child_argv(agent, command, action), prefix)
  _check_child(status, errors, f'launchers.{agent} (seed {seed})', logdir)
  record = results_lib.finished_record(logdir, 0)
  if record is None:
    print(f'error: launchers.{agent} (seed {seed}) wrote no evaluation.json into {logdir}',
          file=sys.stderr)
    sys.exit(1)
  names = {'restart': 'restarted', 'check': 'reused', 'resume': 'resumed', 'run': 'ran'}
  return _row(seed, record, logdir, names[action], command, time.time() - start)


def _sb3_row(seed: int, out: str, agent: str, env: str, num_steps: int, python: str,
             restart: bool, prefix: str) -> Dict[str, Any]:
  """Runs Stable-Baselines3 on one seed (or reuses its record); returns its row."""
  path = os.path.join(out, f'sb3_seed{seed}.json')
  record, status = None, 'ran'
  if not restart and os.path.exists(path):
    with open(path) as f:
      record = json.load(f)
    same = (record.get('algo'), record.get('env'), record.get('steps'), record.get('seed'))
    if same != (_SB3_ALGOS[agent], env, num_steps, seed):
      record = None
    status = 'reused'
  if record is None:
    print(f'{prefix}Stable-Baselines3 {_SB3_ALGOS[agent]}, {num_steps:,} steps', flush=True)
    script = os.path.join(_ROOT, 'benchmarks', 'sb3_reference.py')
    result = subprocess.run([python, script, '--algo', _SB3_ALGOS[agent], '--env', env,
                             '--steps', str(num_steps), '--seed', str(seed), '--out', path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _check_child(result.returncode, result.stderr.splitlines(), f'SB3 (seed {seed})', out)
    with open(path) as f:
      record = json.load(f)
    status = 'ran'
  print(f"{prefix}SB3 return {record['eval_mean_return']:.1f}, {record['wall_time_s']:.1f} s "
        f'({status})', flush=True)
  return {'seed': seed, 'status': status, 'eval_mean_return': record['eval_mean_return'],
          'train_time_s': record['wall_time_s'],
          'first_iteration_s': record.get('first_iteration_s')}


def sb3_problem(python: str) -> Optional[str]:
  """Why `python` cannot run Stable-Baselines3, or None."""
  if not os.path.exists(python):
    return 'does not exist (benchmarks/setup_sb3.sh makes .venv-sb3/bin/python)'
  if os.path.isdir(python):
    return 'is a folder, not a Python executable'
  if not os.access(python, os.X_OK):
    return 'is not executable'
  try:
    result = subprocess.run([python, '-c', 'import stable_baselines3'], capture_output=True,
                            text=True, timeout=300)
  except (OSError, subprocess.TimeoutExpired) as error:
    return f'does not run ({type(error).__name__}: {error})'
  if result.returncode:
    last = (result.stderr.strip().splitlines() or ['no output'])[-1]
    return f'cannot import stable_baselines3 ({last})'
  return None


def _parse_seeds(values: Sequence[str]) -> List[int]:
  text = ','.join(values)
  try:
    seeds = [int(s) for s in values]
  except ValueError:
    flags_lib.fail(f'--seeds={text!r}: must be integers')
  if not seeds:
    flags_lib.fail("--seeds='': name at least one seed")
  if any(s < 0 for s in seeds):
    flags_lib.fail(f'--seeds={text!r}: must be >= 0')
  if len(set(seeds)) != len(seeds):
    flags_lib.fail(f'--seeds={text!r}: a seed is named twice')
  return seeds


def _check_flags() -> Tuple[List[int], List[str], Optional[int]]:
  """Every check of the benchmark's own flags, before anything runs or is written; returns the
  seeds, the extra launcher flags and the --eval_every to pass."""
  seeds = _parse_seeds(_SEEDS.value)
  if _NUM_STEPS.value < 1:
    flags_lib.fail(f'--num_steps={_NUM_STEPS.value}: must be >= 1')
  try:
    extra = results_lib.join_flag_pieces(_EXTRA.value)
  except ValueError as error:
    flags_lib.fail(f"--agent_flags={','.join(_EXTRA.value)!r}: {error}")
  for flag in extra:
    name = flag[2:].split('=', 1)[0]
    if name in _OWN_FLAGS:
      flags_lib.fail(f'--agent_flags={flag!r}: the benchmark sets --{name} itself (use its '
                     f'--{_OWN_FLAGS[name]})')
  if _NUM_ACTORS.value is not None and _AGENT.value != 'd4pg':
    flags_lib.fail(f'--num_actors={_NUM_ACTORS.value}: only --agent=d4pg has actor processes')
  if _SB3_PYTHON.value is not None:
    if _AGENT.value not in _SB3_ALGOS:
      flags_lib.fail(f'--agent={_AGENT.value}: no Stable-Baselines3 counterpart; --sb3_python '
                     f"works with {', '.join(_SB3_ALGOS)}")
    problem = sb3_problem(_SB3_PYTHON.value)
    if problem:
      flags_lib.fail(f'--sb3_python={_SB3_PYTHON.value!r}: {problem}')
  out = _OUT.value or os.path.join('runs', 'benchmark', _AGENT.value, _ENV.value)
  problem = loop.logdir_problem(out)
  if problem:
    flags_lib.fail(f'--out={out!r}: {problem}')
  return seeds, extra, _EVAL_EVERY.value


def main(argv):
  if len(argv) > 1:
    flags_lib.fail(f'unexpected arguments {argv[1:]}')
  seeds, extra, eval_every = _check_flags()
  agent, env, num_steps = _AGENT.value, _ENV.value, _NUM_STEPS.value
  out = _OUT.value or os.path.join('runs', 'benchmark', agent, env)
  settings = {'agent': agent, 'env': env, 'num_steps': num_steps, 'tuned': _TUNED.value,
              'agent_flags': extra, 'num_actors': _NUM_ACTORS.value, 'eval_every': eval_every}
  previous, other_settings = results_lib.previous_results(out, settings)
  rows = {r['seed']: r for r in previous.get('seeds', [])}
  sb3 = {r['seed']: r for r in previous.get('sb3', [])}
  plans = {}
  for seed in seeds:  # Every seed's logdir is checked before any training.
    logdir = os.path.join(out, f'seed{seed}')
    command = results_lib.launcher_flags(agent, env, num_steps, seed, logdir, _TUNED.value,
                                         eval_every, extra, _NUM_ACTORS.value)
    action = results_lib.plan(logdir, num_steps, command, rows.get(seed), _RESTART.value)
    plans[seed] = (logdir, command, action)
    problem = (loop.logdir_problem(logdir) or loop.resume_problem(logdir)
               if plans[seed][2] == 'resume' else None)
    if problem:
      flags_lib.fail(f'--out={out!r}: {logdir} cannot resume: {problem}; add --restart to '
                     'start it over')
  os.makedirs(out, exist_ok=True)
  if other_settings:
    print(f'{out}/results.json held results of other settings: kept as '
          f'{results_lib.set_aside(out)}', flush=True)
  for index, seed in enumerate(seeds):
    prefix = f'[seed {seed}, {index + 1}/{len(seeds)}] '
    logdir, command, action = plans[seed]
    rows[seed] = _run_seed(seed, logdir, action, command, prefix, agent)
    if _SB3_PYTHON.value:
      sb3[seed] = _sb3_row(seed, out, agent, env, num_steps, _SB3_PYTHON.value, _RESTART.value,
                           prefix)
    result = {**settings, 'seeds': [rows[s] for s in sorted(rows)],
              'sb3': [sb3[s] for s in sorted(sb3)]}
    results_lib.write_results(out, result)
  try:
    report = reporting.write_report([out], out, name=f'{agent} on {env}')
  except runs_lib.RunError as error:
    report = f'not written ({error})'
  with open(os.path.join(out, 'results.md')) as f:
    print('\n' + f.read())
  print(f"Results in {os.path.join(out, 'results.md')} and results.json; learning curves: "
        f'{report}', flush=True)


if __name__ == '__main__':
  # absl's parsing with one-line errors (`flags_lib.parse_flags`), and a --help of its own.
  app.run(main, flags_parser=flags_lib.parser_with_help(lambda: flags_lib.help_text(
      __doc__, {'Benchmark flags': ['agent', 'env', 'seeds', 'num_steps', 'out', 'tuned',
                                    'eval_every', 'restart', 'agent_flags', 'num_actors',
                                    'sb3_python']})))
