"""Runtime set-up and reporting shared by the launchers."""

import json
import os
import sys
from typing import Any, Callable, Dict, Mapping

from absl import flags
import tensorflow as tf

from agents.common import distribute
from agents.common import on_policy
from agents.common import seeding


def setup_runtime(shared: Mapping[str, flags.FlagHolder], seed: int) -> tf.distribute.Strategy:
  """Logical CPUs, seeds and op determinism, then the strategy (in that order)."""
  if shared['logical_cpus'].value:
    distribute.split_logical_cpus(shared['logical_cpus'].value)
  seeding.set_global_seeds(seed, deterministic_ops=shared['deterministic_ops'].value)
  return distribute.make_strategy(shared['strategy'].value, tpu=shared['tpu'].value)


def run_and_report(train: Callable[[], Dict[str, Any]], settings: on_policy.RunSettings) -> None:
  """Runs `train`, prints the final evaluation and where the outputs are; Ctrl-C exits 130."""
  try:
    record = train()
  except KeyboardInterrupt:
    sys.exit(130)
  print(json.dumps({k: record[k] for k in ('env_steps', 'mean_return', 'std_return',
                                           'episodes', 'wall_time_s')}))
  print(f'Final evaluation over {record["episodes"]} episodes: '
        f'{record["mean_return"]:.1f} +/- {record["std_return"]:.1f} after '
        f'{record["env_steps"]:,} env steps ({record["wall_time_s"]:.1f} s).')
  print(f'Outputs in {os.path.abspath(settings.logdir)}: config.json, metrics.csv, TensorBoard '
        'events, checkpoints/, learning_curve.png, evaluation.json')
