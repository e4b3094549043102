"""Run logdirs written by hand, in the formats loop.py and logger.py write, for the tests of
reading, reporting and benchmarking runs without training."""

import csv
import json
import os
from typing import Any, Dict, Optional, Sequence

# metrics.csv's columns as the logger writes them for a REINFORCE run: the first row's
# columns (an evaluation row comes first when --eval_every divides the first log step), then
# the training row's metrics appended.
_COLUMNS = ('env_steps', 'kind', 'wall_time_s', 'steps_per_s', 'eval_return', 'policy_loss',
            'entropy', 'episode_return', 'episode_length')


def config_record(agent: str = 'reinforce', env: str = 'CartPole-v1', seed: int = 0,
                  num_steps: int = 2000, **fields: Any) -> Dict[str, Any]:
  """A config.json record as `loop.write_config` writes it; `fields` override the agent's."""
  config = {'discount': 0.99, 'hidden_sizes': [16], 'activation': 'tanh', 'num_envs': 2,
            'actor_learning_rate': 0.001, 'critic_learning_rate': 0.001}
  config.update(fields)
  return {'agent': agent, 'env': env, 'seed': seed, 'num_steps': num_steps,
          'horizon': num_steps, 'strategy': 'default',
          'env_options': {'frame_stack': 0, 'max_episode_steps': 0, 'env_kwargs': {}},
          'config': config}


def write_run(logdir: str, config: Dict[str, Any], eval_points: Sequence[tuple],
              final: Optional[float] = None, train_time_s: float = 2.0,
              env_steps: Optional[int] = None) -> str:
  """Writes config.json, metrics.csv (a training row and an evaluation row per point) and, when
  `final` is given, evaluation.json (the run ended at `env_steps`, default the last point's).

  Args:
    logdir: the run's folder (made).
    config: `config_record(...)`.
    eval_points: (env steps, eval_return) pairs, increasing.
    final: the final evaluation's mean return, or None for an unfinished run.
    train_time_s: evaluation.json's train_time_s.
    env_steps: evaluation.json's env_steps.

  Returns:
    `logdir`.
  """
  os.makedirs(logdir, exist_ok=True)
  with open(os.path.join(logdir, 'config.json'), 'w') as f:
    json.dump(config, f, indent=2)
  with open(os.path.join(logdir, 'metrics.csv'), 'w', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=_COLUMNS)
    writer.writeheader()
    for i, (step, value) in enumerate(eval_points):
      writer.writerow({'env_steps': step, 'kind': 'train', 'wall_time_s': 0.5 * i + 0.4,
                       'steps_per_s': 1000.0, 'policy_loss': 0.1, 'entropy': 0.69,
                       'episode_return': 'nan' if i == 0 else 20.0 + i,
                       'episode_length': 'nan' if i == 0 else 20.0 + i})
      writer.writerow({'env_steps': step, 'kind': 'eval', 'wall_time_s': 0.5 * i + 0.5,
                       'steps_per_s': 900.0, 'eval_return': value})
  if final is not None:
    steps = env_steps if env_steps is not None else int(eval_points[-1][0])
    record = {'env_steps': steps, 'mean_return': final, 'std_return': 1.5, 'episodes': 2,
              'returns': [final - 1.5, final + 1.5], 'wall_time_s': train_time_s + 0.2,
              'train_time_s': train_time_s, 'process_wall_time_s': train_time_s + 0.2,
              'first_iteration_s': 0.9, 'resumed_from': None, 'updates': 45,
              'updates_per_s': 45 / train_time_s}
    with open(os.path.join(logdir, 'evaluation.json'), 'w') as f:
      json.dump(record, f, indent=2)
  return logdir
