r"""Runs one agent on one environment for several seeds, in sequence, and tabulates the results.

  python -m launchers.benchmark --agent=ppo --env=CartPole-v1 --seeds=0,1,2 --num_steps=100000
  python -m launchers.benchmark --agent=d4pg --env=Pendulum-v1 --num_actors=2 --num_steps=20000

Each seed runs as its own process (`python -m launchers.<agent> --tuned ...`) in a fresh logdir
under `--out`, so timings include nothing of the previous seed. Writes `results.json` and
`results.md` into `--out`: final evaluation return per seed, env steps, training time,
steps/s, and the time to the end of the first iteration (tracing and compilation included).

With `--sb3_python=.venv-sb3/bin/python` (see benchmarks/README.md) the same seeds are also run
with Stable-Baselines3, back to back with ours, and the table gains their times and the ratio.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List

from absl import app
from absl import flags

_AGENTS = ('ppo', 'a2c', 'acktr', 'acer', 'trpo', 'reinforce', 'actor_critic', 'a3c',
           'off_policy_ac', 'ddpg', 'td3', 'sac', 'soft_q', 'd4pg', 'dpg', 'maddpg')
_SB3_ALGOS = {'ppo': 'ppo', 'a2c': 'a2c', 'ddpg': 'ddpg', 'td3': 'td3', 'sac': 'sac'}

_AGENT = flags.DEFINE_enum('agent', 'ppo', _AGENTS, 'Agent to benchmark.')
_ENV = flags.DEFINE_string('env', 'CartPole-v1', 'Gymnasium environment id.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds, run one after the other.')
_NUM_STEPS = flags.DEFINE_integer('num_steps', 100_000, 'Environment steps per seed.')
_OUT = flags.DEFINE_string('out', None, 'Output directory (default runs/benchmark/<agent>/<env>).')
_TUNED = flags.DEFINE_bool('tuned', True, "Use the agent's settings tuned for --env.")
_SB3_PYTHON = flags.DEFINE_string(
    'sb3_python', None, 'Python of a Stable-Baselines3 venv (benchmarks/setup_sb3.sh); when set, '
    'each seed is also run with SB3 right after ours.')
_EXTRA = flags.DEFINE_list('agent_flags', [], 'Extra flags for the launcher, e.g. '
                           '--agent_flags=--num_epochs=10,--eval_every=0.')
_NUM_ACTORS = flags.DEFINE_integer(
    'num_actors', None, "D4PG's actor processes (--agent=d4pg; default: the config's 0, acting "
    "in the learner's process).", lower_bound=0)


def _run_ours(seed: int, logdir: str) -> Dict[str, Any]:
  command = [sys.executable, '-m', f'launchers.{_AGENT.value}', f'--env={_ENV.value}',
             f'--num_steps={_NUM_STEPS.value}', f'--seed={seed}', f'--logdir={logdir}',
             f'--tuned={str(_TUNED.value).lower()}', '--eval_every=0'] + list(_EXTRA.value)
  if _NUM_ACTORS.value is not None:
    command.append(f'--num_actors={_NUM_ACTORS.value}')
  start = time.time()
  subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
  process_s = time.time() - start
  with open(os.path.join(logdir, 'evaluation.json')) as f:
    record = json.load(f)
  return {
      'seed': seed, 'eval_mean_return': record['mean_return'],
      'eval_std_return': record['std_return'], 'env_steps': record['env_steps'],
      'train_time_s': record['train_time_s'], 'first_iteration_s': record['first_iteration_s'],
      'steps_per_s': record['env_steps'] / record['train_time_s'], 'process_time_s': process_s,
      'logdir': logdir,
  }


def _run_sb3(seed: int, out: str) -> Dict[str, Any]:
  script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        'benchmarks', 'sb3_reference.py')
  path = os.path.join(out, f'sb3_seed{seed}.json')
  subprocess.run([_SB3_PYTHON.value, script, '--algo', _SB3_ALGOS[_AGENT.value], '--env',
                  _ENV.value, '--steps', str(_NUM_STEPS.value), '--seed', str(seed), '--out',
                  path], check=True, stdout=subprocess.DEVNULL)
  with open(path) as f:
    record = json.load(f)
  return {'seed': seed, 'eval_mean_return': record['eval_mean_return'],
          'train_time_s': record['wall_time_s'],
          'first_iteration_s': record['first_iteration_s']}


def _markdown(rows: List[Dict[str, Any]], sb3: List[Dict[str, Any]]) -> str:
  header = ('| seed | eval return | env steps | train time (s) | steps/s | first iteration (s) |'
            + (' SB3 eval | SB3 time (s) | time ratio ours/SB3 |' if sb3 else ''))
  lines = [f'# {_AGENT.value} on {_ENV.value}, {_NUM_STEPS.value:,} steps', '', header,
           '|' + '---|' * (header.count('|') - 1)]
  for i, row in enumerate(rows):
    line = (f"| {row['seed']} | {row['eval_mean_return']:.1f} | {row['env_steps']:,} | "
            f"{row['train_time_s']:.1f} | {row['steps_per_s']:,.0f} | "
            f"{row['first_iteration_s']:.2f} |")
    if sb3:
      ratio = row['train_time_s'] / sb3[i]['train_time_s']
      line += (f" {sb3[i]['eval_mean_return']:.1f} | {sb3[i]['train_time_s']:.1f} | "
               f'{ratio:.2f} |')
    lines.append(line)
  return '\n'.join(lines) + '\n'


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  try:
    seeds = [int(s) for s in _SEEDS.value]
  except ValueError:
    print(f'error: --seeds={",".join(_SEEDS.value)!r}: must be integers', file=sys.stderr)
    sys.exit(2)
  if _SB3_PYTHON.value and _AGENT.value not in _SB3_ALGOS:
    print(f'error: --agent={_AGENT.value}: no Stable-Baselines3 counterpart; --sb3_python works '
          f"with {', '.join(_SB3_ALGOS)}", file=sys.stderr)
    sys.exit(2)
  if _NUM_ACTORS.value is not None and _AGENT.value != 'd4pg':
    print(f'error: --num_actors={_NUM_ACTORS.value}: only --agent=d4pg has actor processes',
          file=sys.stderr)
    sys.exit(2)
  if _NUM_STEPS.value < 1:
    print(f'error: --num_steps={_NUM_STEPS.value}: must be >= 1', file=sys.stderr)
    sys.exit(2)
  out = _OUT.value or os.path.join('runs', 'benchmark', _AGENT.value, _ENV.value)
  os.makedirs(out, exist_ok=True)
  rows, sb3 = [], []
  for seed in seeds:
    logdir = os.path.join(out, f'seed{seed}')
    shutil.rmtree(logdir, ignore_errors=True)  # A benchmark always starts from scratch.
    rows.append(_run_ours(seed, logdir))
    print(json.dumps(rows[-1]), flush=True)
    if _SB3_PYTHON.value:
      sb3.append(_run_sb3(seed, out))
      print(json.dumps({'sb3': sb3[-1]}), flush=True)
  result = {'agent': _AGENT.value, 'env': _ENV.value, 'num_steps': _NUM_STEPS.value,
            'tuned': _TUNED.value, 'seeds': rows, 'sb3': sb3}
  with open(os.path.join(out, 'results.json'), 'w') as f:
    json.dump(result, f, indent=2)
  table = _markdown(rows, sb3)
  with open(os.path.join(out, 'results.md'), 'w') as f:
    f.write(table)
  print(table)


if __name__ == '__main__':
  app.run(main)
