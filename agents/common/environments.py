"""Gymnasium environments seen through dm_env: specs, a single-env adapter and a vector env.

Termination and truncation stay apart from the environment to the loss:
- a terminal step (the MDP ended) gets discount 0: nothing is bootstrapped past it;
- a time-limit cut is a LAST step with discount 1: the learner bootstraps from the value of
  its final observation, exactly as if the episode had gone on.

Every observation and reward is checked to be finite as it leaves the environment: a NaN or an
infinity raises `NonFiniteError` naming the environment and its step, before an agent sees it.
"""

import contextlib
import difflib
import functools
import pickle
from typing import NamedTuple, Optional

import dm_env
from dm_env import specs
import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import core
from agents.common import wrappers
from agents.common.wrappers import EnvOptions
import envs  # pylint: disable=unused-import  (registers the project's environments)


# Ids of multi-agent environments (`agents.common.multi_agent`), refused here.
MULTI_AGENT_PREFIX = 'mpe2/'


def check_env_id(env_id: str) -> None:
  """Raises ConfigError naming `RunSettings.env_id` unless `env_id` is a registered gymnasium
  id, or `module:id` (see `wrappers`), whose optional packages are installed."""
  if env_id.startswith(MULTI_AGENT_PREFIX):
    raise config_lib.ConfigError('RunSettings', 'env_id', 'is a multi-agent environment; this '
                                 'agent trains single-agent ones (MADDPG trains multi-agent '
                                 'ones)', env_id)
  name = wrappers.resolve(env_id)
  if name in gym.envs.registry:
    wrappers.check_extras(name)
    return
  close = difflib.get_close_matches(name, list(gym.envs.registry), n=5, cutoff=0.5)
  hint = f"did you mean one of {', '.join(close)}?" if close else (
      'see gymnasium.envs.registry for the registered ids (e.g. CartPole-v1, Pendulum-v1), '
      'or give package.module:Env-v0 to import the module that registers yours')
  raise config_lib.ConfigError('RunSettings', 'env_id',
                               f'is not a registered gymnasium environment; {hint}', env_id)


def environment_spec(env_id: str, options: EnvOptions = EnvOptions()) -> core.EnvironmentSpec:
  """The observation and action specs of `env_id` made with `options` (from one environment,
  closed after).

  Raises:
    ConfigError: naming `RunSettings.env_id` for an unregistered id or an unsupported space.
  """
  env = make_environment(env_id, options=options)
  try:
    return core.EnvironmentSpec(env.observation_spec(), env.action_spec())
  finally:
    env.close()


class NonFiniteError(RuntimeError):
  """An environment returned a NaN or infinite observation or reward."""


def check_finite(env_id: str, step: int, observation, reward=None, batched: bool = False
                 ) -> None:
  """Raises NonFiniteError unless the observation (and reward) are finite everywhere.

  Args:
    env_id: the environment, for the message.
    step: the environment's step count (0: the observation came from a reset).
    observation: one observation, or [N, ...] of N copies when `batched`.
    reward: the step's reward ([N] when `batched`), or None after a reset.
    batched: the values are N copies' (the message names the copy).
  """
  for what, value in (('reward', reward), ('observation', observation)):
    if value is None:
      continue
    value = np.asarray(value)
    if not np.issubdtype(value.dtype, np.floating) or np.isfinite(value).all():
      continue
    rows = value.reshape(len(value) if batched else 1, -1)
    bad = ~np.isfinite(rows)
    copy = int(np.flatnonzero(bad.any(axis=1))[0])
    where = f' (copy {copy})' if batched else ''
    at = f'at its step {step:,}' if step else 'at reset'
    raise NonFiniteError(f'environment {env_id}{where} returned a non-finite {what} '
                         f'({rows[copy][bad[copy]][0]}) {at}')


@contextlib.contextmanager
def graph_env_errors(env):
  """Re-raises the `NonFiniteError` of `env` (its `failure`) that a TF graph stepping it
  through `tf.numpy_function` turned into a `tf.errors.OpError`."""
  try:
    yield
  except tf.errors.OpError:
    if getattr(env, 'failure', None) is not None:
      raise env.failure from None
    raise


class UnsupportedSpace(ValueError):
  """A gymnasium space that has no dm_env spec here (e.g. Tuple or Dict)."""


def spec_from_space(space: gym.Space, name: str) -> specs.Array:
  """The dm_env spec of a gymnasium space (Discrete or Box; Box observations become float32).

  Args:
    space: a `gym.spaces.Discrete` or `gym.spaces.Box`.
    name: the spec's name, e.g. 'observation' or 'action'.

  Returns:
    `specs.DiscreteArray` for Discrete spaces (actions are int32 in [0, n)), a
    `specs.BoundedArray` for Box spaces with finite bounds, a `specs.Array` otherwise.
  """
  if isinstance(space, gym.spaces.Discrete):
    if space.start != 0:
      raise ValueError(f"spec_from_space: Discrete spaces must start at 0, got start={space.start}")
    return specs.DiscreteArray(int(space.n), dtype=np.int32, name=name)
  if isinstance(space, gym.spaces.Box):
    dtype = np.float32 if np.issubdtype(space.dtype, np.floating) else space.dtype
    low, high = space.low.astype(dtype), space.high.astype(dtype)
    if np.all(np.isfinite(low)) and np.all(np.isfinite(high)):
      return specs.BoundedArray(space.shape, dtype, low, high, name=name)
    return specs.Array(space.shape, dtype, name=name)
  raise UnsupportedSpace(
      f"spec_from_space: unsupported space {space!r}; supported: Discrete, Box")


def _convert_observation(observation: np.ndarray, spec: specs.Array) -> np.ndarray:
  return np.asarray(observation, dtype=spec.dtype)


class GymnasiumToDmEnv(dm_env.Environment):
  """A gymnasium environment behind the dm_env interface.

  `terminated` gives `dm_env.termination` (discount 0); `truncated` without `terminated` gives
  `dm_env.truncation` (a LAST step with discount 1, to be bootstrapped). The env is seeded on
  its first reset only, so later episodes continue the same random stream. A non-finite
  observation or reward raises `NonFiniteError` (kept in `failure`, see `graph_env_errors`).
  """

  def __init__(self, env: gym.Env, seed: Optional[int] = None):
    self._env = env
    self._env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    self._steps = 0
    self.failure: Optional[NonFiniteError] = None
    self._seed = seed
    self._observation_spec = spec_from_space(env.observation_space, 'observation')
    self._action_spec = spec_from_space(env.action_space, 'action')
    self._needs_reset = True

  @property
  def gym_env(self) -> gym.Env:
    return self._env

  def reseed(self, seed: int) -> None:
    """Seeds the next reset with `seed` (and starts a new episode at the next step)."""
    self._seed = seed
    self._needs_reset = True

  def reset(self) -> dm_env.TimeStep:
    observation, _ = self._env.reset(seed=self._seed)
    self._seed = None
    self._needs_reset = False
    self._check(observation)
    return dm_env.restart(_convert_observation(observation, self._observation_spec))

  def step(self, action) -> dm_env.TimeStep:
    if self._needs_reset:
      return self.reset()
    if isinstance(self._action_spec, specs.BoundedArray) and not isinstance(
        self._action_spec, specs.DiscreteArray):
      action = np.clip(action, self._action_spec.minimum, self._action_spec.maximum)
    observation, reward, terminated, truncated, _ = self._env.step(action)
    self._steps += 1
    self._check(observation, reward)
    observation = _convert_observation(observation, self._observation_spec)
    reward = np.float32(reward)
    if terminated:
      self._needs_reset = True
      return dm_env.termination(reward, observation)
    if truncated:
      self._needs_reset = True
      return dm_env.truncation(reward, observation, discount=np.float32(1.0))
    return dm_env.transition(reward, observation, discount=np.float32(1.0))

  def get_state(self) -> bytes:
    """The environment's whole state (episode in progress, random stream), pickled."""
    return pickle.dumps((self._env, self._steps, self._needs_reset, self._seed))

  def set_state(self, state: bytes) -> None:
    """Continues from a `get_state` of an environment made the same way."""
    env, self._steps, self._needs_reset, self._seed = pickle.loads(state)
    self._env.close()
    self._env = env

  def _check(self, observation, reward=None) -> None:
    try:
      check_finite(self._env_id, self._steps, observation, reward)
    except NonFiniteError as error:
      self.failure = error
      raise

  def observation_spec(self) -> specs.Array:
    return self._observation_spec

  def action_spec(self) -> specs.Array:
    return self._action_spec

  def close(self) -> None:
    self._env.close()


def make_environment(env_id: str, seed: Optional[int] = None,
                     options: EnvOptions = EnvOptions(), training: bool = True,
                     render_mode: Optional[str] = None) -> GymnasiumToDmEnv:
  """The environment `env_id` made with `options` (`wrappers.make`: gymnasium's time limit,
  Atari preprocessing, frame stacking) as a dm_env environment.

  Args:
    env_id: a registered gymnasium id or `module:id`.
    seed: seeds the first reset.
    options: the run's environment options.
    training: made for training (Atari: lost lives end episodes, rewards clipped) or for
      evaluation.
    render_mode: `gymnasium.make`'s, e.g. 'rgb_array'.

  Raises:
    ConfigError: naming `RunSettings.env_id` for an unregistered id, a package the environment
      needs that is not installed, or an unsupported space.
  """
  check_env_id(env_id)
  env = wrappers.make(env_id, options, training=training, render_mode=render_mode)
  try:
    return GymnasiumToDmEnv(env, seed=seed)
  except UnsupportedSpace as error:
    env.close()
    raise config_lib.ConfigError('RunSettings', 'env_id', str(error), env_id) from None


class VectorStep(NamedTuple):
  """One step of `num_envs` environments, all arrays with leading dim [num_envs].

  Attributes:
    observation: next observations; for an env whose episode just ended this is already the
      first observation of its next episode (auto-reset), see `final_observation`.
    reward: rewards of the step just taken.
    terminated: True where the MDP reached a terminal state (discount 0).
    truncated: True where a time limit cut the episode (not terminal: bootstrap from
      `final_observation`).
    final_observation: the true last observation where `terminated | truncated`, zeros elsewhere.
    episode_returns: undiscounted returns of the episodes that ended at this step.
    episode_lengths: lengths of the episodes that ended at this step.
  """
  observation: np.ndarray
  reward: np.ndarray
  terminated: np.ndarray
  truncated: np.ndarray
  final_observation: np.ndarray
  episode_returns: np.ndarray
  episode_lengths: np.ndarray


class VectorEnv:
  """`num_envs` copies of one gymnasium env stepped in lock-step, with same-step auto-reset.

  Built on `gymnasium.vector.SyncVectorEnv` in `SAME_STEP` autoreset mode: when an episode ends,
  the returned observation is the next episode's first one and the true last observation comes
  back in `VectorStep.final_observation`, so on-policy learners can bootstrap truncated episodes.
  Every copy is made by `wrappers.make(env_id, options, training)`. Continuous actions are
  clipped to the action bounds before they reach the environment. A non-finite observation or
  reward raises `NonFiniteError`, also kept in `failure` (for
  callers that step the envs inside a TF graph, where the error reaches them wrapped).
  """

  def __init__(self, env_id: str, num_envs: int, seed: int,
               options: EnvOptions = EnvOptions(), training: bool = True):
    if num_envs < 1:
      raise ValueError(f"VectorEnv: num_envs={num_envs} must be >= 1")
    check_env_id(env_id)
    make = functools.partial(wrappers.make, env_id, options, training)
    first = make()  # Errors (a missing package, refused kwargs) as ConfigError, here.
    self._env = gym.vector.SyncVectorEnv(
        [lambda: first] + [make] * (num_envs - 1),
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    self._num_envs = num_envs
    self._env_id = env_id
    self._steps = 0
    self.failure: Optional[NonFiniteError] = None
    self._base_seed = seed
    self._seed = seed
    self._observation_spec = spec_from_space(self._env.single_observation_space, 'observation')
    self._action_spec = spec_from_space(self._env.single_action_space, 'action')
    self._clip = isinstance(self._action_spec, specs.BoundedArray) and not isinstance(
        self._action_spec, specs.DiscreteArray)
    self._returns = np.zeros(num_envs, np.float64)
    self._lengths = np.zeros(num_envs, np.int64)

  @property
  def num_envs(self) -> int:
    return self._num_envs

  @property
  def seed(self) -> int:
    """The seed the environments were created with (env i uses seed + i on first reset)."""
    return self._base_seed

  def observation_spec(self) -> specs.Array:
    return self._observation_spec

  def action_spec(self) -> specs.Array:
    return self._action_spec

  def reset(self, seed: Optional[int] = None) -> np.ndarray:
    """Resets every env and returns the first observations [N, ...].

    Env i is seeded with `seed + i` (the constructor's seed on the first call when `seed` is
    None; later calls without a seed continue the environments' own random streams).
    """
    seed = self._seed if seed is None else seed
    observation, _ = self._env.reset(seed=seed)
    self._seed = None
    self._returns[:] = 0
    self._lengths[:] = 0
    self._check(observation)
    return np.asarray(observation, self._observation_spec.dtype)

  def get_state(self) -> bytes:
    """The environments' whole state (episodes in progress, random streams), pickled."""
    return pickle.dumps((list(self._env.envs), self._returns, self._lengths, self._steps,
                         self._seed))

  def set_state(self, state: bytes) -> None:
    """Continues from a `get_state` of environments made the same way."""
    envs, returns, lengths, self._steps, self._seed = pickle.loads(state)
    if len(envs) != self._num_envs:
      raise ValueError(f'VectorEnv.set_state: a state of {len(envs)} environments, this has '
                       f'{self._num_envs}')
    for i, env in enumerate(envs):
      self._env.envs[i].close()
      self._env.envs[i] = env
    self._returns[:], self._lengths[:] = returns, lengths

  def _check(self, observation, reward=None, final_observation=None) -> None:
    try:
      check_finite(self._env_id, self._steps, observation, reward, batched=True)
      if final_observation is not None:
        check_finite(self._env_id, self._steps, final_observation, batched=True)
    except NonFiniteError as error:
      self.failure = error
      raise

  def step(self, actions: np.ndarray) -> VectorStep:
    """Steps every env with `actions` [N, ...] and auto-resets the ones whose episode ended."""
    if self._clip:
      actions = np.clip(actions, self._action_spec.minimum, self._action_spec.maximum)
    observation, reward, terminated, truncated, info = self._env.step(actions)
    self._steps += 1
    self._returns += reward
    self._lengths += 1
    done = terminated | truncated
    final_observation = np.zeros_like(observation, dtype=self._observation_spec.dtype)
    if done.any():
      for i in np.flatnonzero(done):
        final_observation[i] = info['final_obs'][i]
      episode_returns = self._returns[done].copy()
      episode_lengths = self._lengths[done].copy()
      self._returns[done] = 0
      self._lengths[done] = 0
    else:
      episode_returns = episode_lengths = np.zeros(0)
    self._check(observation, reward, final_observation if done.any() else None)
    return VectorStep(
        observation=np.asarray(observation, self._observation_spec.dtype),
        reward=np.asarray(reward, np.float32),
        terminated=np.asarray(terminated, bool),
        truncated=np.asarray(truncated & ~terminated, bool),
        final_observation=final_observation,
        episode_returns=episode_returns,
        episode_lengths=episode_lengths)

  def close(self) -> None:
    self._env.close()

