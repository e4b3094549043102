"""A run's deterministic policy as a TensorFlow SavedModel that needs nothing but TensorFlow.

    import tensorflow as tf
    policy = tf.saved_model.load('exports/ppo_cartpole')
    actions = policy.policy(observations)                                 # a tensor [B, ...]
    actions = policy.signatures['serving_default'](observation=observations)['action']

The SavedModel holds a plain `tf.Module` with the policy's variables (network weights and,
where the agent normalizes observations, the observation statistics, which are part of the
policy) and one `tf.function`, `policy(observation) -> action`, whose graph computes the mode of
the policy (the action the training's evaluations took). It holds no Keras layer, no
TensorFlow Probability object and no project code, so it loads in a process that imports only
TensorFlow. `assets.extra/policy.json` beside it records the run, the checkpoint and the
observation and action shapes and dtypes.

Shapes and dtypes: `observation` is a batch [B, *observation shape] of the observation dtype
(float32; uint8 for images), exactly as the run's environments give them after its wrappers
(frame stacking, Atari preprocessing); `action` is [B, *action shape]: int32 indices for a
discrete action space, float32 values for a continuous one (policy.json records both dtypes).
Continuous actions are not clipped to the action bounds (the training's environments clip
them; policy.json has the bounds).

A multi-agent (MADDPG) run is refused: its sub-policies take joint observations and an
ensemble index; evaluate it with `python -m launchers.evaluate` instead.
"""

import json
import os
import shutil
import tempfile
from typing import Any, Dict

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents import restore

SIGNATURE = 'serving_default'
METADATA_PATH = os.path.join('assets.extra', 'policy.json')


class ExportError(ValueError):
  """A run whose policy cannot be exported, or an export that does not act as the run's
  policy (one line)."""


class PolicyModule(tf.Module):
  """The exported object: the policy's variables and `policy(observation) -> action`.

  Args:
    mode: the agent's compiled deterministic policy (`LoadedRun.policy_function`); its Python
      function is traced anew, so the graph has no nested XLA function.
    observation_spec: the environment's observation spec (the input signature).
  """

  def __init__(self, mode, observation_spec: specs.Array):
    super().__init__(name='exported_policy')
    signature = tf.TensorSpec((None,) + tuple(observation_spec.shape),
                              tf.as_dtype(np.dtype(observation_spec.dtype)), name='observation')
    graph = mode.python_function
    self.policy = tf.function(lambda observation: graph(observation),
                              input_signature=[signature], autograph=False)
    self.serve = tf.function(lambda observation: {'action': self.policy(observation)},
                             input_signature=[signature], autograph=False)
    # Every variable the graph reads, tracked here so that the SavedModel holds them.
    self.weights = list(self.policy.get_concrete_function().variables)


def _spec_record(spec: specs.Array, dtype: tf.DType) -> Dict[str, Any]:
  record = {'shape': [None] + [int(d) for d in spec.shape], 'dtype': dtype.name}
  if isinstance(spec, specs.DiscreteArray):
    record['num_values'] = int(spec.num_values)
  elif isinstance(spec, specs.BoundedArray):
    record['minimum'] = np.broadcast_to(spec.minimum, spec.shape).tolist()
    record['maximum'] = np.broadcast_to(spec.maximum, spec.shape).tolist()
  return record


def sample_observations(spec: specs.Array, count: int, seed: int = 0) -> np.ndarray:
  """`count` observations of `spec` to compare policies on: standard normal values (uniform
  integers for an integer dtype) clipped to the spec's bounds."""
  rng = np.random.default_rng(seed)
  shape = (count,) + tuple(spec.shape)
  dtype = np.dtype(spec.dtype)
  if np.issubdtype(dtype, np.integer):
    info = np.iinfo(dtype)
    values = rng.integers(max(info.min, -128), min(info.max, 255), shape, endpoint=True)
  else:
    values = rng.normal(size=shape)
  if isinstance(spec, specs.BoundedArray):
    values = np.clip(values, spec.minimum, spec.maximum)
  return values.astype(dtype)


def check_actions(exported: np.ndarray, expected: np.ndarray) -> None:
  """Raises ExportError unless the exported policy's actions are the run's (to 1e-5)."""
  if exported.shape != expected.shape or exported.dtype != expected.dtype:
    raise ExportError(f'the exported policy gives {exported.dtype} actions {exported.shape}, '
                      f'the run\'s are {expected.dtype} {expected.shape}')
  if not np.allclose(exported, expected, rtol=0.0, atol=1e-5):
    difference = np.max(np.abs(exported.astype(np.float64) - expected))
    raise ExportError(f'the exported policy does not act as the run\'s (actions differ by up '
                      f'to {difference:.3g})')


def export(run: restore.LoadedRun, directory: str) -> Dict[str, Any]:
  """Writes the run's deterministic policy as a SavedModel into `directory` (new or empty).

  The SavedModel is written into a temporary folder beside `directory`, loaded back and
  checked to give the run's actions on sample observations, then moved into place.

  Args:
    run: a loaded run (`restore.load`).
    directory: where the SavedModel goes; created, and must not hold anything yet.

  Returns:
    The metadata written to `assets.extra/policy.json`.

  Raises:
    ExportError: a multi-agent run, a `directory` that is a file or not empty, or an export
      whose actions differ from the run's.
  """
  mode = run.policy_function
  if mode is None:
    raise ExportError(f'{run.agent}: a multi-agent policy is not exported (its sub-policies '
                      'take joint observations and an ensemble index); evaluate it with '
                      'python -m launchers.evaluate')
  if os.path.exists(directory) and (not os.path.isdir(directory) or os.listdir(directory)):
    raise ExportError(f'{directory} exists and is not an empty folder')
  module = PolicyModule(mode, run.spec.observation)
  concrete = module.policy.get_concrete_function()
  metadata = {
      'agent': run.agent, 'env': run.env_id, 'env_options': run.env_options.record(),
      'seed': run.seed, 'logdir': os.path.abspath(run.logdir),
      'checkpoint': os.path.abspath(run.checkpoint), 'env_steps': run.step,
      'signature': SIGNATURE, 'function': 'policy',
      'observation': _spec_record(run.spec.observation, concrete.inputs[0].dtype),
      'action': _spec_record(run.spec.action, concrete.structured_outputs.dtype),
  }
  parent = os.path.dirname(os.path.abspath(directory))
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix='.export_', dir=parent)
  try:
    tf.saved_model.save(module, staging,
                        signatures={SIGNATURE: module.serve.get_concrete_function()})
    os.makedirs(os.path.join(staging, 'assets.extra'), exist_ok=True)
    with open(os.path.join(staging, METADATA_PATH), 'w') as f:
      json.dump(metadata, f, indent=2)
    observations = sample_observations(run.spec.observation, 16)
    loaded = tf.saved_model.load(staging)  # Held: its function reads the loaded variables.
    check_actions(loaded.policy(observations).numpy(), run.policy(observations))
    if os.path.isdir(directory):
      os.rmdir(directory)
    os.replace(staging, directory)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  return metadata
