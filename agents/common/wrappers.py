"""How a gymnasium environment is made from an id and the run's environment options.

Ids:
- a registered gymnasium id (`CartPole-v1`, `HalfCheetah-v5`, `ALE/Breakout-v5`, ...);
- `package.module:Env-v0`, gymnasium's own form: `package.module` is imported (registering
  its environments) and `Env-v0` is made.

Families that need an optional package are refused before any work, in one line naming the
extra that installs it (`check_extras`): Atari (`ALE/...`, extra `atari`: ale-py, OpenCV),
MuJoCo (extra `mujoco`), Box2D (extra `box2d`); the multi-agent `mpe2/...` ids have their own
check (`agents.common.multi_agent`).

What `make` puts around the environment, innermost first:
1. Atari (`ALE/...`): the preprocessing of Mnih et al. 2015 through gymnasium's
   `AtariPreprocessing`: the emulator made with `frameskip=1` and the wrapper repeating each
   action 4 times (max over the last two frames), up to 30 no-op actions at reset, 84×84
   greyscale uint8 frames, FIRE pressed after a reset in games that wait for it; for training
   only, a lost life ends the episode (`terminated`, discount 0; the next episode continues
   the game, `EpisodicLife`) and rewards are clipped to their sign (-1, 0, 1). Evaluation
   plays whole games with the game's score, FIRE pressed after each lost life too (where
   training's next episode would press it at its reset). The v5 defaults stay: sticky actions
   with probability 0.25 (Machado et al. 2018; `--env_kwargs=repeat_action_probability=0`
   turns them off) and the minimal action set.
2. Dict or Tuple observations: flattened into one float vector by gymnasium's
   `FlattenObservation` (Box parts raveled, Discrete parts one-hot, in the Dict space's key
   order: gymnasium sorts the keys of a plain dict).
3. `frame_stack` > 1 (default 4 on Atari, else none): the last N observations by gymnasium's
   `FrameStackObservation` (zeros before the first). Images ([H, W] or [H, W, C], uint8) are
   stacked along the channels, [H, W, N·C], the layout the convolutional torso reads; other
   observations become [N, ...].
4. `max_episode_steps` > 0: the time limit, in agent steps (it replaces the registered one).
"""

import ast
import dataclasses
import importlib
from typing import Any, Mapping, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np

from agents.common import config as config_lib

ATARI_PREFIX = 'ALE/'
# The key of an agent's `TUNED` settings that `--tuned` applies to every Atari game.
ATARI_TUNED = 'ALE/*'
# Stacked frames of an Atari observation unless `frame_stack` says otherwise.
ATARI_FRAME_STACK = 4

# Environment families that need an optional package: (the start of the registered entry
# point, the modules it needs, the extra that installs them).
_FAMILIES = (
    ('ale_py', ('ale_py', 'cv2'), 'atari'),
    ('gymnasium.envs.mujoco', ('mujoco', 'imageio'), 'mujoco'),
    ('gymnasium.envs.box2d', ('Box2D',), 'box2d'),
)


@dataclasses.dataclass(frozen=True)
class EnvOptions:
  """How environments are made beyond their id (the launchers' environment flags).

  Attributes:
    frame_stack: stack the last N observations (0: the environment's default, 4 on Atari and
      none elsewhere; 1: none).
    max_episode_steps: time limit in agent steps (0: the environment's own).
    env_kwargs: keyword arguments for `gymnasium.make`, as sorted (name, value) pairs.
  """
  frame_stack: int = 0
  max_episode_steps: int = 0
  env_kwargs: Tuple[Tuple[str, Any], ...] = ()

  def __post_init__(self):
    config_lib.check_non_negative(self, 'frame_stack', 'max_episode_steps')
    if self.frame_stack > 64:
      raise config_lib.ConfigError(self, 'frame_stack', 'must be <= 64')
    object.__setattr__(self, 'env_kwargs', tuple(sorted((str(k), v)
                                                        for k, v in self.env_kwargs)))

  def record(self) -> dict:
    """The options as they go into config.json."""
    return dict(frame_stack=self.frame_stack, max_episode_steps=self.max_episode_steps,
                env_kwargs=dict(self.env_kwargs))

  @classmethod
  def from_record(cls, record: Optional[Mapping[str, Any]]) -> 'EnvOptions':
    """The options of a config.json record (`record`'s output; None or {}: the defaults)."""
    record = dict(record or {})
    kwargs = record.pop('env_kwargs', {}) or {}
    return cls(env_kwargs=tuple(kwargs.items()), **record)


def parse_env_kwargs(items: Sequence[str]) -> Tuple[Tuple[str, Any], ...]:
  """`['name=value', ...]` as (name, value) pairs; values are Python literals where they parse
  as one (`True`, `0.5`, `(1, 2)`), else strings.

  Raises:
    ConfigError: naming `EnvOptions.env_kwargs` for an item without `=` or a repeated name.
  """
  pairs = {}
  for item in items:
    name, sep, text = item.partition('=')
    name = name.strip()
    if not sep or not name.isidentifier():
      raise config_lib.ConfigError('EnvOptions', 'env_kwargs', 'must be name=value pairs, e.g. '
                                   'continuous=True,gravity=-9.8', ','.join(items))
    if name in pairs:
      raise config_lib.ConfigError('EnvOptions', 'env_kwargs', f'names {name} twice',
                                   ','.join(items))
    try:
      pairs[name] = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
      pairs[name] = text.strip()
  return tuple(sorted(pairs.items()))


def _error(env_id: str, message: str) -> config_lib.ConfigError:
  return config_lib.ConfigError('RunSettings', 'env_id', message, env_id)


def resolve(env_id: str) -> str:
  """The registered id behind `env_id`, after importing what registers it: the module of a
  `module:id` form, or ale-py for `ALE/...` ids.

  Raises:
    ConfigError: naming `RunSettings.env_id` for a module that does not import, or an Atari id
      without the `atari` extra.
  """
  name = env_id
  if ':' in env_id:
    module, _, name = env_id.partition(':')
    try:
      importlib.import_module(module)
    except ImportError as error:
      raise _error(env_id, f'cannot import {module!r} ({error})') from None
  if name.startswith(ATARI_PREFIX) and name not in gym.envs.registry:
    try:
      ale_py = importlib.import_module('ale_py')
    except ImportError:
      raise _error(env_id, "needs ale-py (Atari): pip install -e '.[atari]'") from None
    gym.register_envs(ale_py)
  return name


def is_atari(env_id: str) -> bool:
  """Whether `env_id` (resolved) is an Arcade Learning Environment game."""
  spec = gym.envs.registry.get(env_id)
  return spec is not None and str(spec.entry_point).startswith('ale_py')


def check_extras(env_id: str) -> None:
  """Raises ConfigError naming the extra to install when the registered `env_id` (resolved)
  belongs to a family whose optional packages are missing."""
  entry_point = str(gym.envs.registry[env_id].entry_point)
  for prefix, modules, extra in _FAMILIES:
    if not entry_point.startswith(prefix):
      continue
    for module in modules:
      try:
        importlib.import_module(module)
      except ImportError:
        raise _error(env_id, f"needs the {extra} extra: pip install -e '.[{extra}]' "
                     f'(missing module {module})') from None


class EpisodicLife(gym.Wrapper):
  """A lost life ends the episode (`terminated`) without ending the game: the next `reset`
  continues the game from there (one no-op step), and only a game over resets the emulator
  (Mnih et al. 2015's training episodes; gymnasium's `terminal_on_life_loss` would restart the
  whole game at every lost life)."""

  def __init__(self, env: gym.Env):
    super().__init__(env)
    self._lives = 0
    self._game_over = True

  def step(self, action):
    observation, reward, terminated, truncated, info = self.env.step(action)
    self._game_over = terminated or truncated
    lives = self.env.unwrapped.ale.lives()
    if 0 < lives < self._lives:
      terminated = True
    self._lives = lives
    return observation, reward, terminated, truncated, info

  def reset(self, **kwargs):
    if self._game_over:
      observation, info = self.env.reset(**kwargs)
    else:
      observation, _, terminated, truncated, info = self.env.step(0)
      if terminated or truncated:
        observation, info = self.env.reset(**kwargs)
    self._game_over = False
    self._lives = self.env.unwrapped.ale.lives()
    return observation, info


class FireReset(gym.Wrapper):
  """Presses FIRE (then action 2) after every reset, for games that wait for it to start (or to
  serve after a lost life), as OpenAI Baselines' Atari wrappers do.

  With `after_lost_life` (the evaluation's whole games, where no reset follows a lost life) it
  also presses FIRE right after a life is lost, as the training episodes' resets do: a
  deterministic policy that never chose FIRE would otherwise wait, its remaining lives unplayed,
  until the time limit ends the game.
  """

  def __init__(self, env: gym.Env, after_lost_life: bool = False):
    super().__init__(env)
    self._after_lost_life = after_lost_life
    self._lives = 0

  def reset(self, **kwargs):
    self.env.reset(**kwargs)
    observation = info = None
    for action in (1, 2):
      observation, _, terminated, truncated, info = self.env.step(action)
      if terminated or truncated:
        observation, info = self.env.reset(**kwargs)
    self._lives = self.env.unwrapped.ale.lives()
    return observation, info

  def step(self, action):
    observation, reward, terminated, truncated, info = self.env.step(action)
    if not self._after_lost_life or terminated or truncated:
      return observation, reward, terminated, truncated, info
    lives = self.env.unwrapped.ale.lives()
    if lives < self._lives:
      observation, served, terminated, truncated, info = self.env.step(1)
      reward += served
    self._lives = lives
    return observation, reward, terminated, truncated, info


def _atari_preprocessing(env: gym.Env, training: bool) -> gym.Env:
  env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84,
                                        terminal_on_life_loss=False, grayscale_obs=True,
                                        scale_obs=False)
  if training:
    env = EpisodicLife(env)
  meanings = env.unwrapped.get_action_meanings()
  if len(meanings) >= 3 and meanings[1] == 'FIRE':
    env = FireReset(env, after_lost_life=not training)
  if training:
    env = gym.wrappers.TransformReward(env, np.sign)  # np.sign pickles, a lambda would not.
  return env


def _is_image(space: gym.Space) -> bool:
  return (isinstance(space, gym.spaces.Box) and space.dtype == np.uint8
          and len(space.shape) in (2, 3))


def _channels_last(array) -> np.ndarray:
  """[N, H, W] or [N, H, W, C] stacked images as [H, W, N·C] (a module function: pickled with
  the environment's state)."""
  array = np.moveaxis(np.asarray(array), 0, -1)  # [H, W, N] or [H, W, C, N].
  return array.reshape(array.shape[:2] + (-1,))


def _stack_frames(env: gym.Env, count: int) -> gym.Env:
  """`count` stacked observations; images along their channels ([H, W, count·C])."""
  image = _is_image(env.observation_space)
  env = gym.wrappers.FrameStackObservation(env, count)
  if not image:
    return env
  low, high = _channels_last(env.observation_space.low), _channels_last(
      env.observation_space.high)
  return gym.wrappers.TransformObservation(
      env, _channels_last, gym.spaces.Box(low, high, low.shape, np.uint8))


def make(env_id: str, options: EnvOptions = EnvOptions(), training: bool = True,
         render_mode: Optional[str] = None) -> gym.Env:
  """The gymnasium environment `env_id` with the wrappers of the module docstring.

  Args:
    env_id: a registered id or `module:id`.
    options: the run's environment options.
    training: training (Atari: episodes end at a lost life, clipped rewards) or evaluation.
    render_mode: passed to `gymnasium.make` (e.g. 'rgb_array' to record videos).

  Raises:
    ConfigError: naming `RunSettings.env_id` for an id that does not resolve, a missing
      optional package, or arguments the environment refuses.
  """
  name = resolve(env_id)
  if name not in gym.envs.registry:
    raise _error(env_id, 'is not a registered gymnasium environment')
  check_extras(name)
  atari = is_atari(name)
  kwargs = dict(options.env_kwargs)
  if atari:
    kwargs.setdefault('frameskip', 1)
  elif options.max_episode_steps:
    kwargs['max_episode_steps'] = options.max_episode_steps
  if render_mode:
    kwargs['render_mode'] = render_mode
  try:
    env = gym.make(name, **kwargs)
  except gym.error.DependencyNotInstalled as error:
    raise _error(env_id, f'needs a package that is not installed: '
                 f'{str(error).splitlines()[0]}') from None
  except TypeError as error:
    raise config_lib.ConfigError('EnvOptions', 'env_kwargs', f'{name} refuses them ({error})',
                                 ','.join(f'{k}={v}' for k, v in options.env_kwargs)) from None
  if atari:
    env = _atari_preprocessing(env, training)
  if isinstance(env.observation_space, (gym.spaces.Dict, gym.spaces.Tuple)):
    env = gym.wrappers.FlattenObservation(env)
  stack = options.frame_stack or (ATARI_FRAME_STACK if atari else 1)
  if stack > 1:
    env = _stack_frames(env, stack)
  if atari and options.max_episode_steps:
    env = gym.wrappers.TimeLimit(env, options.max_episode_steps)
  return env
