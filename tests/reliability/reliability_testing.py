"""Running launchers on the faulty environments, and reading what a run left behind."""

import csv
import glob
import os
import subprocess
import sys
from typing import Dict, List

import numpy as np
import tensorflow as tf

from tests.launchers import launcher_testing

ROOT = launcher_testing.ROOT
ENV = launcher_testing.ENV


def command(agent: str, logdir: str, *flags: str) -> List[str]:
  """A launcher's command line, with the `Faulty/...` environments registered."""
  return [sys.executable, '-m', 'tests.reliability.run_launcher', agent, f'--logdir={logdir}',
          '--eval_episodes=1', *flags]


def run(agent: str, logdir: str, *flags: str, timeout: float = 300):
  """Runs a launcher to its end; returns the `subprocess.CompletedProcess`."""
  return subprocess.run(command(agent, logdir, *flags), cwd=ROOT, env=ENV, capture_output=True,
                        text=True, timeout=timeout)


def start(agent: str, logdir: str, *flags: str) -> subprocess.Popen:
  """Starts a launcher in the background (stdout and stderr to pipes)."""
  return subprocess.Popen(command(agent, logdir, *flags), cwd=ROOT, env=ENV,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def error_lines(result) -> List[str]:
  """The non-empty lines of stderr that are not TensorFlow's or absl's own log lines."""
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  return [line for line in lines if not line[:1].isdigit() and not line.startswith(
      ('WARNING', 'I0000', 'W0000', 'E0000', 'To enable'))]


def checkpoints(logdir: str) -> List[str]:
  """The run's checkpoint prefixes, oldest first."""
  paths = glob.glob(os.path.join(logdir, 'checkpoints', 'ckpt-*.index'))
  return sorted((p[:-len('.index')] for p in paths), key=lambda p: int(p.rsplit('-', 1)[1]))


def read_checkpoint(prefix: str) -> Dict[str, np.ndarray]:
  """Every tensor of a checkpoint, by name."""
  reader = tf.train.load_checkpoint(prefix)
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def all_finite(prefix: str) -> bool:
  return all(np.all(np.isfinite(v)) for v in read_checkpoint(prefix).values()
             if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating))


def metrics_rows(logdir: str) -> List[Dict[str, str]]:
  with open(os.path.join(logdir, 'metrics.csv'), newline='') as f:
    return list(csv.DictReader(f))
