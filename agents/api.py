"""The Python API: build an agent in a few lines, train it, act with it, or load a finished run.

    from agents import api
    from agents.ppo import config as ppo_config

    agent = api.make('ppo', 'CartPole-v1', ppo_config.PPOConfig(num_envs=8), num_steps=100_000)
    record = agent.train()                  # the final evaluation (also evaluation.json)
    action = agent.policy(observation)      # deterministic; one observation or a batch
    agent.close()

    run = api.load('runs/ppo/CartPole-v1/seed0')   # config and weights from the run's logdir

`make` takes the agent's name (as `python -m launchers.<name>`), an environment and a config
(default: the config's defaults, or `tuned=True` for the agent's tuned settings), and trains
through the same loop as the launchers: the run writes config.json, metrics, checkpoints and
evaluation.json into `logdir`, and a `make` on a logdir that holds a run of the same settings
resumes it. The environment is a gymnasium id (`'CartPole-v1'`, `'ALE/Pong-v5'`,
`'package.module:Env-v0'`), an environment made by `gymnasium.make` (its id and keyword
arguments are used to make the agent's copies), or a function that returns a new environment
(registered under a fresh id; the run's config.json then names that id, which only this
process knows).
"""

import dataclasses
import itertools
import os
from typing import Any, Callable, Dict, Optional, Union

import gymnasium as gym
import numpy as np

from agents import registry
from agents import restore
from agents.common import config as config_lib
from agents.common import core
from agents.common import distribute
from agents.common import evaluation
from agents.common import loop
from agents.common import seeding
from agents.common import wrappers

EnvLike = Union[str, gym.Env, Callable[[], gym.Env]]
_fresh_ids = itertools.count()


def _env_id(env: EnvLike, options: wrappers.EnvOptions):
  """The id the agent's environments are made from, and the options with `env`'s keyword
  arguments added (for an env made by `gymnasium.make`)."""
  if isinstance(env, str):
    return env, options
  if isinstance(env, gym.Env):
    if env.spec is None:
      raise ValueError('make: an environment object must come from gymnasium.make (it has no '
                       'spec to make copies from); pass a function that returns one instead')
    kwargs = dict(options.env_kwargs)
    kwargs.update({k: v for k, v in env.spec.kwargs.items() if k != 'render_mode'})
    limit = options.max_episode_steps
    if not limit and env.spec.max_episode_steps != gym.spec(env.spec.id).max_episode_steps:
      limit = env.spec.max_episode_steps or 0  # gym.make(id, max_episode_steps=N).
    return env.spec.id, dataclasses.replace(options, env_kwargs=tuple(kwargs.items()),
                                            max_episode_steps=limit)
  if callable(env):
    label = ''.join(c for c in getattr(env, '__name__', '') if c.isalnum() or c == '_')
    env_id = f'api/{label or "env"}{next(_fresh_ids)}-v0'
    gym.register(env_id, entry_point=lambda **kwargs: env(**kwargs))
    return env_id, options
  raise TypeError(f'make: env must be an id, a gymnasium.Env or a function, got {env!r}')


class Agent:
  """A built agent and its run settings (see `make`).

  Attributes:
    name: the agent's name, e.g. 'ppo'.
    config: its config dataclass.
    settings: the run's `loop.RunSettings` (env id, budget, seed, logdir, options).
    spec: the environment's observation and action specs.
  """

  def __init__(self, name: str, config: Any, settings: loop.RunSettings,
               built: core.Agent, spec: core.EnvironmentSpec, horizon: int):
    self.name, self.config, self.settings, self.spec = name, config, settings, spec
    self._built = built
    self._horizon = horizon

  def train(self, num_steps: Optional[int] = None) -> Dict[str, Any]:
    """Trains to `num_steps` env steps in all (default: `make`'s `num_steps`), resuming from
    the run's last checkpoint, and returns the final evaluation record (evaluation.json).

    Raises:
      ConfigError: naming `num_steps` when the config anneals a schedule over `make`'s
        `num_steps` and `num_steps` differs from it.
    """
    settings = self.settings
    if num_steps is not None and num_steps != settings.num_steps:
      settings = dataclasses.replace(settings, num_steps=num_steps)
      loop.check_budget(settings, self.config)
      annealed = [n for n, v in dataclasses.asdict(self.config).items()
                  if n.startswith('anneal_') and v is True]
      if annealed and num_steps != self._horizon:
        raise config_lib.ConfigError(settings, 'num_steps', f'this agent anneals over '
                                     f'{self._horizon:,} env steps (make\'s num_steps)')
      self.settings = settings
    return loop.run(settings, self._built)

  def policy(self, observation) -> np.ndarray:
    """The deterministic action for one observation (shaped as the observation spec), or
    actions [N, ...] for a batch [N, ...]."""
    observation = np.asarray(observation)
    single = observation.ndim == len(self.spec.observation.shape)
    batch = observation[None] if single else observation
    actions = np.asarray(self._built.policy(batch.astype(self.spec.observation.dtype)))
    return actions[0] if single else actions

  def evaluate(self, episodes: int = 10, seed: Optional[int] = None
               ) -> evaluation.EvaluationResult:
    """`episodes` episodes of the deterministic policy (seeded apart from training)."""
    seed = self.settings.seed + 1_000_000 if seed is None else seed
    if self._built.evaluate is not None:
      return self._built.evaluate(episodes, seed)
    return evaluation.evaluate(self._built.policy, self.settings.env_id, episodes, seed,
                               self.settings.env_options)

  def close(self) -> None:
    """Releases the environments, replay and threads the agent started."""
    self._built.close()

  def __enter__(self) -> 'Agent':
    return self

  def __exit__(self, *unused) -> None:
    self.close()


def make(name: str, env: EnvLike, config: Any = None, *, num_steps: Optional[int] = None,
         seed: int = 0, logdir: Optional[str] = None, tuned: bool = False,
         env_options: wrappers.EnvOptions = wrappers.EnvOptions(),
         eval_episodes: int = 10, eval_every: int = 10_000, checkpoint_every: int = 10_000,
         log_every: int = 1_000, deterministic_ops: bool = True) -> Agent:
  """Builds agent `name` on `env` with `config` (see the module docstring).

  Args:
    name: a key of `agents.registry.AGENTS` ('ppo', 'sac', 'maddpg', ...).
    env: a gymnasium id, an env made by `gymnasium.make`, or a function returning an env.
    config: the agent's config dataclass (None: defaults, or the tuned settings with `tuned`).
    num_steps: the training budget (and the horizon schedules anneal over); default the
      launcher's.
    seed: seeds networks, sampling and environments (and TensorFlow's global seed).
    logdir: where the run is written (default runs/<name>/<env>/seed<seed>, as the launchers).
    tuned: with `config=None`, start from the agent's settings tuned for `env`.
    env_options: frame stacking, time limit, `gym.make` arguments (`wrappers.EnvOptions`).
    eval_episodes, eval_every, checkpoint_every, log_every: as the launchers' flags.
    deterministic_ops: TensorFlow op determinism (same seed, same run on CPU).

  Raises:
    ConfigError: an invalid value (its message names the field), or a logdir that holds a run
      of other settings.
    KeyError: an unknown agent name.
  """
  if name not in registry.AGENTS:
    raise KeyError(f"make: unknown agent {name!r}; one of {', '.join(registry.AGENTS)}")
  launcher = registry.AGENTS[name]
  env_id, env_options = _env_id(env, env_options)
  registry.check_env_id(name, env_id)
  if config is None:
    config = launcher.config_cls(**(registry.tuned_settings(name, env_id) if tuned else {}))
  elif not isinstance(config, launcher.config_cls):
    raise TypeError(f'make: {name} takes a {launcher.config_cls.__name__}, got '
                    f'{type(config).__name__}')
  num_steps = launcher.default_num_steps if num_steps is None else num_steps
  settings = loop.RunSettings(
      agent=name, env_id=env_id, num_steps=num_steps, seed=seed,
      logdir=logdir or os.path.join('runs', name, env_id, f'seed{seed}'),
      eval_episodes=eval_episodes, eval_every=eval_every, checkpoint_every=checkpoint_every,
      log_every=log_every, env_options=env_options)
  loop.check_budget(settings, config)
  seeding.set_global_seeds(seed, deterministic_ops=deterministic_ops)
  horizon = loop.schedule_horizon(settings, config)
  context = registry.build_context(env_id, config, seed=seed, horizon=horizon,
                                   logdir=settings.logdir, env_options=env_options,
                                   strategy=distribute.make_strategy('default'))
  loop.check_config(settings, config, horizon)
  built = launcher.make_agent(config, context)
  loop.write_config(settings, config, horizon)
  return Agent(name, config, settings, built, context.spec, horizon)


def load(logdir: str, checkpoint: Optional[int] = None) -> restore.LoadedRun:
  """A finished (or running) run's agent with the weights of one of its checkpoints, from its
  config.json, without restating its config or writing into its logdir.

      with api.load('runs/ppo/CartPole-v1/seed0') as run:      # the newest intact checkpoint
        action = run.policy(observation)                       # deterministic
        result = run.evaluate(episodes=10)                     # as the training's evaluations

  Args:
    logdir: the run's folder.
    checkpoint: the env step N of `checkpoints/ckpt-N` (default: the newest intact one).

  Returns:
    A `restore.LoadedRun` (see `agents.restore`); close it when done.

  Raises:
    restore.LoadError: not a run directory, no (intact) checkpoint, or no checkpoint N (the
      message lists the steps there are).
  """
  return restore.load(logdir, checkpoint=checkpoint)
