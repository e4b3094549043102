r"""D4PG with K actor processes: env steps/s, learner updates/s, the cores the run uses, and the
wall-clock time to a target evaluation return, for each K.

  python benchmarks/d4pg_actors.py --num_actors=0,1,2,4 --num_steps=20000 --target=-200 \
      --out=runs/benchmark/d4pg_actors

Each K runs `python -m launchers.d4pg --tuned --num_actors=K` in a fresh logdir, one after the
other (run it on an idle machine: the ratios mean nothing under load). K=0 acts in the
learner's process. Per K it reports, from the run's evaluation.json and metrics.csv:
  env_steps_per_s    env steps over the training time (learning_starts included);
  updates_per_s      learner updates over the time since the first update;
  cores              CPU seconds of the launcher and every actor process over the wall time
                     (`resource.getrusage(RUSAGE_CHILDREN)`: the launcher waits for its actors);
  time_to_target_s   training time at the first evaluation >= --target (None: never);
  final_return       the final evaluation.
Writes results.json and results.md into --out.
"""

import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, Optional

from absl import app
from absl import flags

_NUM_ACTORS = flags.DEFINE_list('num_actors', ['1', '2', '4'], 'Values of K to run.')
_NUM_STEPS = flags.DEFINE_integer('num_steps', 20_000, 'Environment steps per run.')
_ENV = flags.DEFINE_string('env', 'Pendulum-v1', 'Environment.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of every run.')
_TARGET = flags.DEFINE_float('target', -200.0, 'Evaluation return whose first time is reported.')
_EVAL_EVERY = flags.DEFINE_integer('eval_every', 2_000, 'Evaluate every this many env steps.')
_OUT = flags.DEFINE_string('out', 'runs/benchmark/d4pg_actors', 'Output directory.')
_EXTRA = flags.DEFINE_list('agent_flags', [],
                           'Extra launcher flags, e.g. --agent_flags=--n_step=3.')

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpu_seconds() -> float:
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def _time_to_target(logdir: str, target: float) -> Optional[float]:
  with open(os.path.join(logdir, 'metrics.csv'), newline='') as f:
    for row in csv.DictReader(f):
      if row.get('eval_return') and float(row['eval_return']) >= target:
        return float(row['wall_time_s'])
  return None


def _run(num_actors: int) -> Dict[str, Any]:
  logdir = os.path.join(_OUT.value, f'k{num_actors}')
  shutil.rmtree(logdir, ignore_errors=True)
  command = [sys.executable, '-m', 'launchers.d4pg', f'--env={_ENV.value}', '--tuned',
             f'--num_steps={_NUM_STEPS.value}', f'--num_actors={num_actors}',
             f'--seed={_SEED.value}', f'--logdir={logdir}', f'--eval_every={_EVAL_EVERY.value}',
             *_EXTRA.value]
  cpu, start = _cpu_seconds(), time.time()
  subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=_ROOT)
  wall, cpu = time.time() - start, _cpu_seconds() - cpu
  with open(os.path.join(logdir, 'evaluation.json')) as f:
    record = json.load(f)
  return {
      'num_actors': num_actors,
      'env_steps_per_s': record['env_steps'] / record['train_time_s'],
      'updates_per_s': record['updates_per_s'],
      'updates': record['updates'],
      'cores': cpu / wall,
      'time_to_target_s': _time_to_target(logdir, _TARGET.value),
      'final_return': record['mean_return'],
      'train_time_s': record['train_time_s'],
      'process_wall_s': wall,
      'logdir': logdir,
  }


def main(argv):
  del argv
  os.makedirs(_OUT.value, exist_ok=True)
  results = [_run(int(k)) for k in _NUM_ACTORS.value]
  with open(os.path.join(_OUT.value, 'results.json'), 'w') as f:
    json.dump(results, f, indent=2)
  lines = ['| K | env steps/s | updates/s | cores used | time to '
           f'{_TARGET.value:g} (s) | final return | training time (s) |',
           '|---|---|---|---|---|---|---|']
  for r in results:
    target = 'never' if r['time_to_target_s'] is None else f"{r['time_to_target_s']:.0f}"
    lines.append(f"| {r['num_actors']} | {r['env_steps_per_s']:.1f} | {r['updates_per_s']:.1f} | "
                 f"{r['cores']:.2f} | {target} | {r['final_return']:.1f} | "
                 f"{r['train_time_s']:.0f} |")
  table = '\n'.join(lines)
  with open(os.path.join(_OUT.value, 'results.md'), 'w') as f:
    f.write(table + '\n')
  print(table)


if __name__ == '__main__':
  app.run(main)
