"""Tiny trained runs for the tests of loading, evaluating and exporting runs, and a check of an
exported SavedModel in a process with TensorFlow alone.

Each is trained once per test process, in-process through the Python API (the launchers' own
loop), into a temporary folder removed at exit; a test that changes a run copies it first.
"""

import atexit
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, NamedTuple, Tuple

import numpy as np
import tensorflow as tf

from agents import api
from agents.ppo import config as ppo_config
from agents.sac import config as sac_config

# A PPO that normalizes observations (the statistics are part of its policy): 2 envs x 16
# steps per update, two updates, a checkpoint after each.
PPO_CONFIG = ppo_config.PPOConfig(num_envs=2, num_steps_per_env=16, minibatch_size=16,
                                  num_epochs=1, hidden_sizes=(8,),
                                  normalize_observations=True)
PPO_STEPS = (32, 64)
# A SAC (tanh-squashed Gaussian, a TFP bijector) with 200 updates between its checkpoints.
SAC_CONFIG = sac_config.SACConfig(hidden_sizes=(16, 16), batch_size=16, learning_starts=100,
                                  replay_size=5000)
SAC_STEPS = (150, 300)


@functools.lru_cache(maxsize=None)
def _root() -> str:
  path = tempfile.mkdtemp(prefix='trained_runs_')
  atexit.register(shutil.rmtree, path, ignore_errors=True)
  return path


class TrainedRun(NamedTuple):
  """A trained run's logdir, and what its agent did at the end of training.

  Attributes:
    logdir: the run's folder.
    observations: [32, ...] observations (`observations`).
    actions: the trained agent's deterministic actions for them.
  """
  logdir: str
  observations: np.ndarray
  actions: np.ndarray


def observations(shape: Tuple[int, ...], count: int = 32, scale: float = 2.0,
                 seed: int = 0) -> np.ndarray:
  """A batch of float32 observations spread widely enough to give varied actions."""
  return (scale * np.random.default_rng(seed).normal(size=(count,) + shape)).astype(np.float32)


def _train(name: str, env: str, config, steps: Tuple[int, int], episodes: int,
           shape: Tuple[int, ...]) -> TrainedRun:
  logdir = os.path.join(_root(), name)
  agent = api.make(name, env, config, num_steps=steps[1], seed=0, logdir=logdir,
                   eval_episodes=episodes, eval_every=0, checkpoint_every=steps[0],
                   log_every=steps[0])
  try:
    agent.train()
    batch = observations(shape)
    return TrainedRun(logdir, batch, agent.policy(batch))
  finally:
    agent.close()


@functools.lru_cache(maxsize=None)
def ppo_cartpole() -> TrainedRun:
  """A PPO run on CartPole-v1: checkpoints at 32 and 64 env steps, a final evaluation of 2
  episodes."""
  return _train('ppo', 'CartPole-v1', PPO_CONFIG, PPO_STEPS, episodes=2, shape=(4,))


@functools.lru_cache(maxsize=None)
def sac_pendulum() -> TrainedRun:
  """A SAC run on Pendulum-v1: checkpoints at 150 and 300 env steps, a final evaluation of 1
  episode."""
  return _train('sac', 'Pendulum-v1', SAC_CONFIG, SAC_STEPS, episodes=1, shape=(3,))


def fingerprint(logdir: str, skip: Tuple[str, ...] = ('evaluations',)) -> Dict[str, str]:
  """Relative path -> MD5 of every file under `logdir` (but under the top-level `skip`)."""
  digests = {}
  for dirpath, dirnames, filenames in os.walk(logdir):
    if dirpath == logdir:
      dirnames[:] = [d for d in dirnames if d not in skip]
    for name in filenames:
      path = os.path.join(dirpath, name)
      with open(path, 'rb') as f:
        digests[os.path.relpath(path, logdir)] = hashlib.md5(f.read()).hexdigest()
  return digests


def fake_run(logdir: str, agent: str, env: str, step: int = 10) -> str:
  """A logdir with a config.json of `agent` on `env` and one readable (but not the agent's)
  checkpoint `ckpt-<step>`: enough for the checks made before a run is built."""
  os.makedirs(os.path.join(logdir, 'checkpoints'))
  record = {'agent': agent, 'env': env, 'seed': 0, 'num_steps': step, 'horizon': step,
            'strategy': 'default', 'config': {}}
  with open(os.path.join(logdir, 'config.json'), 'w') as f:
    json.dump(record, f)
  tf.train.Checkpoint(v=tf.Variable(1.0)).write(
      os.path.join(logdir, 'checkpoints', f'ckpt-{step}'))
  return logdir


# Loads a SavedModel in a process that imports TensorFlow alone and acts with it: prints the
# actions of `policy` and of the serving signature, and which modules got imported.
_TF_ONLY = '''
import json, sys
import numpy as np
import tensorflow as tf
policy = tf.saved_model.load(sys.argv[1])
observations = np.load(sys.argv[2])
actions = policy.policy(observations).numpy()
served = policy.signatures['serving_default'](observation=tf.constant(observations))
print(json.dumps({
    'actions': actions.tolist(), 'dtype': actions.dtype.name,
    'served': served['action'].numpy().tolist(),
    'modules': sorted({m.split('.')[0] for m in sys.modules}),
}))
'''


def run_exported(directory: str, batch: np.ndarray) -> Dict:
  """Acts with the SavedModel in `directory` in a fresh Python that imports only TensorFlow,
  started outside the repository without it on the path (no project code can be imported).

  Returns:
    {'actions': list, 'dtype': str, 'served': the serving signature's actions, 'modules':
    the top-level names in that process's sys.modules}.
  """
  workdir = tempfile.mkdtemp()
  try:
    path = os.path.join(workdir, 'observations.npy')
    np.save(path, batch)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['TF_CPP_MIN_LOG_LEVEL'] = '3'
    result = subprocess.run([sys.executable, '-c', _TF_ONLY, os.path.abspath(directory), path],
                            cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
  finally:
    shutil.rmtree(workdir, ignore_errors=True)
  if result.returncode:
    raise AssertionError(f'loading {directory} with TensorFlow alone failed:\n'
                         f'{result.stderr[-3000:]}')
  return json.loads(result.stdout.strip().splitlines()[-1])
