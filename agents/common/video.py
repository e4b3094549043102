"""Videos of a policy's evaluation episodes, through gymnasium's `RecordVideo` (MP4, moviepy).

Each episode runs in an environment of its own, made as the evaluation's are (`wrappers.make`
with `training=False` and the run's options, behind `environments.GymnasiumToDmEnv`) with
`render_mode='rgb_array'`, and seeded as `evaluation.evaluate` seeds its copies (episode i:
`seed + i`): the returns are those of the same evaluation without video. The frames are the
environment's own rendering (the whole screen of an Atari game, not the agent's 84x84 input).
Needs the `video` extra (moviepy). Rendering without a screen: where they are not set already,
`SDL_VIDEODRIVER` and `SDL_AUDIODRIVER` are set to 'dummy' for the process (pygame, which the
classic-control environments render with, otherwise looks for a display and a sound card).
"""

import importlib.util
import os
import shutil
import tempfile
import time
from typing import Callable, List, Optional, Tuple
import warnings

import gymnasium as gym
import numpy as np

from agents.common import config as config_lib
from agents.common import core
from agents.common import environments
from agents.common import evaluation
from agents.common import wrappers


_PYGAME_ENVIRONMENT = {'SDL_VIDEODRIVER': 'dummy', 'SDL_AUDIODRIVER': 'dummy',
                       'PYGAME_HIDE_SUPPORT_PROMPT': '1'}


class VideoError(ValueError):
  """Videos cannot be recorded here: moviepy is missing, or the environment cannot render."""


def _render_modes(env_id: str) -> Optional[List[str]]:
  """The render modes the class of a registered environment declares (None: not known before
  it is made, e.g. one registered with a function)."""
  entry_point = gym.spec(wrappers.resolve(env_id)).entry_point
  try:
    creator = (gym.envs.registration.load_env_creator(entry_point)
               if isinstance(entry_point, str) else entry_point)
  except (ImportError, AttributeError, ValueError):
    return None
  metadata = getattr(creator, 'metadata', None)
  return None if metadata is None else list(metadata.get('render_modes') or [])


def _make(env_id: str, options: wrappers.EnvOptions) -> gym.Env:
  """The evaluation environment with `render_mode='rgb_array'`, or VideoError."""
  if importlib.util.find_spec('moviepy') is None:
    raise VideoError("recording videos needs moviepy: pip install -e '.[video]'")
  environments.check_env_id(env_id)
  modes = _render_modes(env_id)
  if modes is not None and 'rgb_array' not in modes:
    raise VideoError(f"{env_id} cannot render frames (its render modes: {modes}; a video "
                     "needs 'rgb_array')")
  # Classic-control environments render with pygame, whose init looks for a display and an
  # audio device (errors on stderr on a machine without them) and prints a banner; frames for
  # a video need neither (see the module docstring).
  for name, value in _PYGAME_ENVIRONMENT.items():
    os.environ.setdefault(name, value)
  try:
    with warnings.catch_warnings():  # gymnasium's about a render mode it does not know.
      warnings.simplefilter('ignore')
      env = wrappers.make(env_id, options, training=False, render_mode='rgb_array')
  except config_lib.ConfigError:
    raise VideoError(f"{env_id} cannot render frames (gymnasium.make refuses "
                     "render_mode='rgb_array')") from None
  if env.render_mode != 'rgb_array':
    env.close()
    raise VideoError(f"{env_id} cannot render frames (its render mode is {env.render_mode!r}, "
                     "a video needs 'rgb_array')")
  return env


def check_renders(env_id: str, options: wrappers.EnvOptions = wrappers.EnvOptions()) -> None:
  """Raises VideoError unless moviepy is installed and `env_id` renders RGB frames."""
  _make(env_id, options).close()


def _play(policy: Callable[[np.ndarray], np.ndarray], env: environments.GymnasiumToDmEnv
          ) -> Tuple[float, int]:
  """One episode of `policy` in `env`, closed after (a `RecordVideo` inside writes its video
  then); returns its return and length."""
  total, length = 0.0, 0
  try:
    timestep = env.reset()
    while not timestep.last():
      core.check_interrupt()
      timestep = env.step(np.asarray(policy(timestep.observation[None]))[0])
      total += float(timestep.reward)
      length += 1
  finally:
    env.close()
  return total, length


def record(policy: Callable[[np.ndarray], np.ndarray], env_id: str, episodes: int, seed: int,
           folder: str, options: wrappers.EnvOptions = wrappers.EnvOptions()
           ) -> Tuple[evaluation.EvaluationResult, List[str]]:
  """Runs `episodes` episodes of `policy` and records each as `folder/episode-<i>.mp4`.

  Args:
    policy: maps a batch of observations [1, ...] to actions [1, ...] (the deterministic
      policy).
    env_id: the gymnasium id.
    episodes: how many episodes, >= 1.
    seed: episode i's environment is seeded `seed + i` (as in `evaluation.evaluate`).
    folder: where the videos go (created).
    options: the run's environment options.

  Returns:
    The episodes' `EvaluationResult` and the paths of their videos.

  Raises:
    VideoError: moviepy is missing, the environment cannot render, or it rendered no frame.
  """
  if episodes < 1:
    raise ValueError(f'record: episodes={episodes} must be >= 1')
  start = time.time()
  returns, lengths, paths = np.zeros(episodes), np.zeros(episodes, np.int64), []
  for i in range(episodes):
    rendering = _make(env_id, options)  # Refused before anything is written.
    os.makedirs(folder, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.recording_', dir=folder)
    try:
      try:
        recorder = gym.wrappers.RecordVideo(rendering, os.path.join(staging, 'v'),
                                            episode_trigger=lambda unused: True,
                                            name_prefix='video', disable_logger=True)
      except BaseException:
        rendering.close()
        raise
      returns[i], lengths[i] = _play(policy, environments.GymnasiumToDmEnv(recorder, seed + i))
      written = os.path.join(staging, 'v', 'video-episode-0.mp4')
      if not os.path.exists(written):
        raise VideoError(f'{env_id} rendered no frames to record')
      paths.append(os.path.join(folder, f'episode-{i}.mp4'))
      os.replace(written, paths[-1])
    finally:
      shutil.rmtree(staging, ignore_errors=True)
  return evaluation.EvaluationResult(returns, lengths, time.time() - start), paths
