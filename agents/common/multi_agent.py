"""Multi-agent environments: PettingZoo's parallel API seen through dm_env, and the flat joint
layout the multi-agent agents (MADDPG) store and learn from.

Ids: `mpe2/<name>` is the multi-agent particle environment `mpe2.<name>` (e.g.
`mpe2/simple_spread_v3`, `mpe2/simple_adversary_v3`), built with `parallel_env(**kwargs)`.
They need the `mpe` extra (`pip install -e '.[mpe]'`: mpe2 and pettingzoo); without it
`check_env_id` refuses them in one line that names the extra.

`ParallelEnvironment` keeps every agent apart while the episode runs as one joint step:

    timestep = env.reset()                      # observation: {agent id: o_i}
    timestep = env.step({agent id: a_i})        # reward, discount, observation: {agent id: .}

The dicts follow the environment's agent order (`possible_agents`), which fixes the order of
every joint vector below. An agent's termination gives it discount 0 (nothing is bootstrapped
past it), its truncation (the time limit, `max_cycles` in MPE) a discount of 1, as in the
single-agent adapter (`environments.GymnasiumToDmEnv`). An agent that has left the episode
gets reward 0 and keeps its last observation and discount; the time step is LAST once every
agent has left. With `shared_reward`, each agent still in the episode receives the sum of its
team's rewards (teams: ids without their `_<number>`). Non-finite observations and rewards raise `environments.NonFiniteError`
naming the environment, the agent and the step.

`JointLayout` turns the per-agent dicts into flat float32 vectors in that order, the form in
which joint transitions go into a Reverb table (`replay.pack_transition` with one reward and
one discount per agent):

    joint observation  x = [o_1, ..., o_N]         (sizes O_i)
    joint action       a = [a_1, ..., a_N]         (continuous: the action; discrete: one-hot)
"""

import difflib
import importlib
import pickle
import pkgutil
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import dm_env
from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import core
from agents.common import environments
from agents.common import evaluation

PREFIX = environments.MULTI_AGENT_PREFIX
EXTRA = "pip install -e '.[mpe]'"


def is_multi_agent(env_id: str) -> bool:
  """Whether `env_id` names a multi-agent environment (`mpe2/<name>`)."""
  return env_id.startswith(PREFIX)


def _mpe2():
  """The `mpe2` package, or a ConfigError naming the extra that installs it."""
  try:
    return importlib.import_module('mpe2')
  except ImportError:
    raise config_lib.ConfigError(
        'RunSettings', 'env_id', f'needs the multi-agent particle environments: {EXTRA} '
        '(mpe2 and pettingzoo)', value=None) from None


def _module(env_id: str):
  """The mpe2 module of `env_id`.

  Raises:
    ConfigError: naming `RunSettings.env_id` when mpe2 is missing or has no such environment.
  """
  package = _mpe2()
  name = env_id[len(PREFIX):]
  names = sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                 if m.name.startswith('simple'))
  if name not in names:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(PREFIX + c for c in close)}?" if close else (
        f"mpe2 has {', '.join(PREFIX + n for n in names)}")
    raise config_lib.ConfigError('RunSettings', 'env_id', f'is not an mpe2 environment; {hint}',
                                 env_id)
  return importlib.import_module(f'mpe2.{name}')


def check_env_id(env_id: str) -> None:
  """Raises ConfigError naming `RunSettings.env_id` unless `env_id` is `mpe2/<name>` of an
  installed mpe2 environment (the message names the extra when mpe2 is missing)."""
  if not is_multi_agent(env_id):
    raise config_lib.ConfigError('RunSettings', 'env_id', f'is not a multi-agent environment; '
                                 f'use {PREFIX}<name>, e.g. {PREFIX}simple_spread_v3', env_id)
  try:
    _module(env_id)
  except config_lib.ConfigError as error:
    if error.value is None:
      error.value = env_id
    raise


class ParallelEnvironment(dm_env.Environment):
  """A PettingZoo `ParallelEnv` behind dm_env, with every value keyed by agent id (see the
  module docstring).

  Args:
    env: the parallel environment (closed by `close`).
    seed: seeds its first reset; later episodes continue its random stream.
    name: the environment's name for error messages.
    shared_reward: every agent still in the episode receives the sum of its team's rewards
      (`teams`), as the original particle environments reward the agents of a cooperative
      scenario (their `shared_reward`); False: each agent its own reward.
  """

  def __init__(self, env, seed: Optional[int] = None, name: str = '',
               shared_reward: bool = False):
    self._env = env
    self._name = name or type(env).__name__
    self._seed = seed
    self.agents = tuple(env.possible_agents)
    self._teams = list(teams(self.agents).values()) if shared_reward else []
    self._observation_spec = {a: environments.spec_from_space(env.observation_space(a),
                                                              f'observation_{a}')
                              for a in self.agents}
    self._action_spec = {a: environments.spec_from_space(env.action_space(a), f'action_{a}')
                         for a in self.agents}
    self._steps = 0
    self._needs_reset = True
    self._observation: Dict[str, np.ndarray] = {}
    self._discount: Dict[str, np.float32] = {}
    self._live: List[str] = []

  def observation_spec(self) -> Dict[str, specs.Array]:
    return dict(self._observation_spec)

  def action_spec(self) -> Dict[str, specs.Array]:
    return dict(self._action_spec)

  def reward_spec(self) -> Dict[str, specs.Array]:
    return {a: specs.Array((), np.float32, name=f'reward_{a}') for a in self.agents}

  def discount_spec(self) -> Dict[str, specs.BoundedArray]:
    return {a: specs.BoundedArray((), np.float32, 0.0, 1.0, name=f'discount_{a}')
            for a in self.agents}

  def reseed(self, seed: int) -> None:
    """Seeds the next reset with `seed` (a new episode starts at the next step)."""
    self._seed = seed
    self._needs_reset = True

  def reset(self) -> dm_env.TimeStep:
    observations, _ = self._env.reset(seed=self._seed)
    self._seed = None
    self._needs_reset = False
    self._live = [a for a in self.agents if a in self._env.agents]
    self._observation = {a: self._convert(a, observations[a]) for a in self.agents}
    self._discount = {a: np.float32(1.0) for a in self.agents}
    return dm_env.restart(dict(self._observation))

  def step(self, actions: Mapping[str, Any]) -> dm_env.TimeStep:
    """One joint step; `actions` holds an action for every agent still in the episode."""
    if self._needs_reset:
      return self.reset()
    sent = {}
    for agent in self._live:
      spec = self._action_spec[agent]
      action = actions[agent]
      if isinstance(spec, specs.DiscreteArray):
        action = int(action)
      elif isinstance(spec, specs.BoundedArray):
        action = np.clip(np.asarray(action, spec.dtype), spec.minimum, spec.maximum)
      sent[agent] = action
    observations, rewards, terminated, truncated, _ = self._env.step(sent)
    self._steps += 1
    reward = {a: np.float32(0.0) for a in self.agents}
    for agent in self._live:
      if agent in observations:
        self._observation[agent] = self._convert(agent, observations[agent])
      reward[agent] = np.float32(rewards.get(agent, 0.0))
      environments.check_finite(f'{self._name} (agent {agent})', self._steps, None,
                                reward[agent])
      if terminated.get(agent, False):
        self._discount[agent] = np.float32(0.0)
    for members in self._teams:
      live = [self.agents[i] for i in members if self.agents[i] in self._live]
      total = np.float32(sum(reward[a] for a in live))
      reward.update({a: total for a in live})
    self._live = [a for a in self._live
                  if not (terminated.get(a, False) or truncated.get(a, False))
                  and a in self._env.agents]
    observation, discount = dict(self._observation), dict(self._discount)
    if self._live:
      return dm_env.transition(reward, observation, discount)
    self._needs_reset = True
    return dm_env.TimeStep(dm_env.StepType.LAST, reward, discount, observation)

  def _convert(self, agent: str, observation) -> np.ndarray:
    observation = np.asarray(observation, self._observation_spec[agent].dtype)
    environments.check_finite(f'{self._name} (agent {agent})', self._steps, observation)
    return observation

  def get_state(self) -> bytes:
    """The environment's whole state (episode in progress, random stream), pickled."""
    return pickle.dumps((self._env, self._steps, self._needs_reset, self._seed,
                         self._observation, self._discount, self._live))

  def set_state(self, state: bytes) -> None:
    """Continues from a `get_state` of an environment made the same way."""
    env, self._steps, self._needs_reset, self._seed, self._observation, self._discount, \
        self._live = pickle.loads(state)
    self._env.close()
    self._env = env

  def close(self) -> None:
    self._env.close()


def make_environment(env_id: str, seed: Optional[int] = None, shared_reward: bool = False,
                     **kwargs) -> ParallelEnvironment:
  """`mpe2.<name>.parallel_env(**kwargs)` of `env_id = 'mpe2/<name>'` as a
  `ParallelEnvironment` seeded `seed` (with `shared_reward`, each team's agents receive the
  team's summed reward).

  Raises:
    ConfigError: naming `RunSettings.env_id` (see `check_env_id`), or an argument the
      environment does not take.
  """
  check_env_id(env_id)
  try:
    env = _module(env_id).parallel_env(**kwargs)
  except TypeError as error:
    raise config_lib.ConfigError('RunSettings', 'env_id', f'does not take {kwargs} ({error})',
                                 env_id) from None
  return ParallelEnvironment(env, seed=seed, name=env_id, shared_reward=shared_reward)


def environment_spec(env_id: str, **kwargs) -> core.EnvironmentSpec:
  """Per-agent specs of `env_id` (dicts keyed by agent id, in the agents' order)."""
  env = make_environment(env_id, **kwargs)
  try:
    return core.EnvironmentSpec(env.observation_spec(), env.action_spec())
  finally:
    env.close()


def _size(spec: specs.Array) -> int:
  if isinstance(spec, specs.DiscreteArray):
    return int(spec.num_values)
  return int(np.prod(spec.shape, dtype=np.int64))


class JointLayout:
  """Per-agent observations and actions as flat float32 vectors in the agents' fixed order
  (see the module docstring).

  Args:
    spec: per-agent specs (dicts keyed by agent id, e.g. from `environment_spec`). Observations
      must be rank-1; actions discrete or rank-1 bounded vectors.

  Raises:
    ConfigError: naming `RunSettings.env_id` for other spaces.
  """

  def __init__(self, spec: core.EnvironmentSpec):
    if not isinstance(spec.observation, Mapping) or not isinstance(spec.action, Mapping):
      raise config_lib.ConfigError('RunSettings', 'env_id', 'needs a multi-agent environment '
                                   f'(per-agent specs, e.g. {PREFIX}simple_spread_v3)',
                                   value=None)
    self.agents = tuple(spec.observation)
    self.observation_specs = tuple(spec.observation[a] for a in self.agents)
    self.action_specs = tuple(spec.action[a] for a in self.agents)
    for agent, o, a in zip(self.agents, self.observation_specs, self.action_specs):
      bounded = (isinstance(a, specs.BoundedArray) and len(a.shape) == 1 and
                 np.issubdtype(a.dtype, np.floating))
      if len(o.shape) != 1 or not (isinstance(a, specs.DiscreteArray) or bounded):
        raise config_lib.ConfigError(
            'RunSettings', 'env_id', f'agent {agent} has observations {o.shape} and actions '
            f'{a!r}; supported: vector observations, discrete or bounded vector actions',
            value=None)
    self.discrete = tuple(isinstance(a, specs.DiscreteArray) for a in self.action_specs)
    self.observation_sizes = tuple(_size(o) for o in self.observation_specs)
    self.action_sizes = tuple(_size(a) for a in self.action_specs)
    lows, highs = [], []
    for a, discrete, size in zip(self.action_specs, self.discrete, self.action_sizes):
      if discrete:
        lows.append(np.zeros(size, np.float32))
        highs.append(np.ones(size, np.float32))
      else:
        lows.append(np.broadcast_to(a.minimum, a.shape).astype(np.float32))
        highs.append(np.broadcast_to(a.maximum, a.shape).astype(np.float32))
    self.action_low, self.action_high = np.concatenate(lows), np.concatenate(highs)

  @property
  def num_agents(self) -> int:
    return len(self.agents)

  def observation_spec(self) -> specs.Array:
    """The joint observation x = [o_1, ..., o_N]."""
    return specs.Array((sum(self.observation_sizes),), np.float32, name='joint_observation')

  def action_spec(self) -> specs.BoundedArray:
    """The joint action a = [a_1, ..., a_N] (discrete actions one-hot)."""
    return specs.BoundedArray((sum(self.action_sizes),), np.float32, self.action_low,
                              self.action_high, name='joint_action')

  def joint_observation(self, observations: Mapping[str, Any]) -> np.ndarray:
    """[sum O_i] float32: the agents' observations in order."""
    return np.concatenate([np.asarray(observations[a], np.float32).reshape(-1)
                           for a in self.agents])

  def env_actions(self, joint_action: np.ndarray) -> Dict[str, Any]:
    """The environment's actions of a joint action [sum A_i]: discrete blocks by argmax."""
    actions = {}
    for agent, block, discrete, spec in zip(self.agents, self.split_actions(joint_action),
                                            self.discrete, self.action_specs):
      actions[agent] = int(np.argmax(block)) if discrete else np.asarray(block, spec.dtype)
    return actions

  def split_observations(self, joint: Any) -> List[Any]:
    """[..., sum O_i] -> the agents' [..., O_i] (NumPy arrays or tensors)."""
    return _split(joint, self.observation_sizes)

  def split_actions(self, joint: Any) -> List[Any]:
    """[..., sum A_i] -> the agents' [..., A_i] (NumPy arrays or tensors)."""
    return _split(joint, self.action_sizes)

  def rewards(self, values: Mapping[str, Any]) -> np.ndarray:
    """[N] float32 of a per-agent dict (rewards, discounts) in order."""
    return np.asarray([values[a] for a in self.agents], np.float32)

  def teams(self) -> Dict[str, List[int]]:
    """Agent indices by team (see `teams`)."""
    return teams(self.agents)


def teams(agents: Sequence[str]) -> Dict[str, List[int]]:
  """Indices of `agents` by team, the id without its trailing `_<number>` (MPE: `adversary`,
  `agent`)."""
  by_team: Dict[str, List[int]] = {}
  for i, agent in enumerate(agents):
    by_team.setdefault(agent.rsplit('_', 1)[0], []).append(i)
  return by_team


def _split(joint: Any, sizes: Sequence[int]) -> List[Any]:
  if isinstance(joint, np.ndarray):
    return np.split(joint, np.cumsum(sizes)[:-1], axis=-1)
  return tf.split(joint, list(sizes), axis=-1)


def evaluate(policy: Callable[[np.ndarray], np.ndarray],
             make_env: Callable[[int], ParallelEnvironment], episodes: int,
             seed: int) -> evaluation.EvaluationResult:
  """Runs `episodes` episodes of a joint `policy` side by side (copy i seeded `seed + i`).

  Args:
    policy: joint observations [E, sum O_i] -> joint actions [E, sum A_i] (see `JointLayout`);
      row e belongs to episode e.
    make_env: `seed -> ParallelEnvironment`, e.g.
      `lambda s: make_environment('mpe2/simple_spread_v3', seed=s)`.
    episodes: how many, >= 1.
    seed: the base seed.

  Returns:
    An `EvaluationResult` whose returns are each episode's return averaged over the agents,
    with `details` holding the mean return of every team (`return_<team>`) and every agent
    (`return_<agent id>`).
  """
  if episodes < 1:
    raise ValueError(f'evaluate: episodes={episodes} must be >= 1')
  start = time.time()
  envs = [make_env(seed + i) for i in range(episodes)]
  try:
    layout = JointLayout(core.EnvironmentSpec(envs[0].observation_spec(),
                                              envs[0].action_spec()))
    timesteps = [env.reset() for env in envs]
    returns = np.zeros((episodes, layout.num_agents))
    lengths = np.zeros(episodes, np.int64)
    running = np.ones(episodes, bool)
    while running.any():
      core.check_interrupt()
      observation = np.stack([layout.joint_observation(t.observation) for t in timesteps])
      actions = np.asarray(policy(observation))
      for e in np.flatnonzero(running):
        timesteps[e] = envs[e].step(layout.env_actions(actions[e]))
        returns[e] += layout.rewards(timesteps[e].reward)
        lengths[e] += 1
        running[e] = not timesteps[e].last()
  finally:
    for env in envs:
      env.close()
  details = {f'return_{team}': float(returns[:, members].mean())
             for team, members in layout.teams().items()}
  details.update({f'return_{a}': float(returns[:, i].mean())
                  for i, a in enumerate(layout.agents)})
  return evaluation.EvaluationResult(returns.mean(axis=1), lengths, time.time() - start,
                                     details)
