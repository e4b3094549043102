"""The agents' config bases and the helpers every config shares: field docs and validation.

No Reverb, gymnasium or agent code is imported here: any config can be built and checked
without them.
"""

import dataclasses
import inspect
import math
import re
from typing import Any, Dict, Iterable, Tuple

_MISSING = object()


class ConfigError(ValueError):
  """A field of a config (or of the run's settings) holds an invalid value.

  The message names the class and the field, `PPOConfig.num_envs=0: must be >= 1`; a launcher
  shows the same error as `--num_envs=0: must be >= 1` (`field`, `value` and `allowed`).

  Args:
    config: the config object (or the name of its class).
    field: the field's name.
    allowed: what the field must be, e.g. 'must be >= 1'.
    value: the offending value (default: the config's field).
  """

  def __init__(self, config: Any, field: str, allowed: str, value: Any = _MISSING):
    owner = config if isinstance(config, str) else type(config).__name__
    if value is _MISSING:
      value = getattr(config, field)
    super().__init__(f'{owner}.{field}={value!r}: {allowed}')
    self.owner = owner
    self.field = field
    self.value = value
    self.allowed = allowed


def field_docs(config_cls) -> Dict[str, str]:
  """Maps each field of a config dataclass to its line in the `Attributes:` of its docstring.

  Fields inherited from a base config are documented by the base's docstring; a subclass may
  document them again to override the text.
  """
  docs = {}
  for cls in reversed(config_cls.__mro__):
    if dataclasses.is_dataclass(cls) and '__doc__' in vars(cls):
      docs.update(_attribute_docs(vars(cls)['__doc__']))
  return docs


def _attribute_docs(doc: str) -> Dict[str, str]:
  doc = inspect.cleandoc(doc or '')
  docs, current = {}, None
  in_attributes = False
  for line in doc.splitlines():
    if line.strip() == 'Attributes:':
      in_attributes = True
      continue
    if not in_attributes:
      continue
    match = re.match(r'^  (\w+): (.*)$', line)
    if match:
      current = match.group(1)
      docs[current] = match.group(2).strip()
    elif line.startswith('    ') and current:
      docs[current] += ' ' + line.strip()
    elif line.strip() and not line.startswith(' '):
      break
  return docs


# The largest integer any setting may take: counts, sizes and seeds all fit TF's int32.
MAX_INT = 2**31 - 1


def check_numbers(config) -> None:
  """Raises ConfigError for a float field that is NaN or infinite, or an int field (sizes
  included) above `MAX_INT`: the checks every config makes before its own."""
  for field in dataclasses.fields(config):
    value = getattr(config, field.name)
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
      if isinstance(v, bool):
        continue
      if isinstance(v, float) and not math.isfinite(v):
        raise ConfigError(config, field.name, 'must be a finite number')
      if isinstance(v, int) and abs(v) > MAX_INT:
        raise ConfigError(config, field.name, f'must be at most {MAX_INT:,} in size')


def memory_estimate(config, observation_size: int, action_size: int) -> Dict[str, float]:
  """Bytes a run of `config` allocates, roughly, by the field that sets the amount.

  Counts the environments (num_envs, num_workers: ~100 kB each), rollout buffers
  (num_steps_per_env), the networks with their optimizer slots and copies (hidden_sizes), the
  replay table (replay_size) and a batch of it (batch_size). An upper-end estimate, to refuse
  settings that cannot fit before anything is allocated.
  """
  get = lambda name, default=0: getattr(config, name, default)
  envs = max(get('num_envs', 1), get('num_workers', 1), 1)
  per_step = 4.0 * (2 * observation_size + action_size + 8)
  sizes = (observation_size + action_size, *get('hidden_sizes', ()), action_size + 1)
  parameters = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
  return {
      'num_envs': 1e5 * envs,
      'num_steps_per_env': 2 * envs * get('num_steps_per_env') * per_step,
      'hidden_sizes': 4.0 * parameters * 4 * 4 * envs,  # 4 networks; weights, 2 slots, copy.
      'replay_size': 1.5 * get('replay_size') * per_step,
      'batch_size': 8 * get('batch_size') * per_step,
  }


def check_memory(config, observation_size: int, action_size: int, available: float) -> None:
  """Raises ConfigError naming the largest contributor when `memory_estimate` exceeds
  `available` bytes."""
  estimate = memory_estimate(config, observation_size, action_size)
  total = sum(estimate.values())
  if total > available:
    name = max(estimate, key=estimate.get)
    raise ConfigError(config, name, f'needs about {total / 2**30:,.1f} GiB (this machine has '
                      f'{available / 2**30:,.1f} GiB to spare)')


def check_positive(config, *names: str) -> None:
  """Raises ConfigError unless every named field is > 0."""
  for name in names:
    value = getattr(config, name)
    if not value > 0:
      raise ConfigError(config, name, 'must be > 0')


def check_non_negative(config, *names: str) -> None:
  """Raises ConfigError unless every named field is >= 0."""
  for name in names:
    value = getattr(config, name)
    if not value >= 0:
      raise ConfigError(config, name, 'must be >= 0')


def check_in_range(config, name: str, low: float, high: float) -> None:
  """Raises ConfigError unless low <= field <= high."""
  value = getattr(config, name)
  if not low <= value <= high:
    raise ConfigError(config, name, f'must be in [{low}, {high}]')


def check_choice(config, name: str, choices: Iterable[str]) -> None:
  """Raises ConfigError unless the field is one of `choices`."""
  value = getattr(config, name)
  choices = tuple(choices)
  if value not in choices:
    raise ConfigError(config, name, f"must be one of {', '.join(choices)}")


ACTIVATIONS = ('tanh', 'relu', 'elu', 'gelu', 'swish')


def check_network(config) -> None:
  """Raises ConfigError for an unknown `activation` or a `hidden_sizes` entry below 1."""
  check_choice(config, 'activation', ACTIVATIONS)
  if any(h < 1 for h in config.hidden_sizes):
    raise ConfigError(config, 'hidden_sizes', 'sizes must be >= 1')


def check_documented(config_cls) -> None:
  """Raises TypeError if a dataclass field has no line in the docstring (used by tests)."""
  missing = [f.name for f in dataclasses.fields(config_cls) if f.name not in field_docs(config_cls)]
  if missing:
    raise TypeError(f'{config_cls.__name__}: undocumented fields {missing}')


@dataclasses.dataclass(frozen=True)
class OnPolicyConfig:
  """Fields of every on-policy agent (REINFORCE, actor-critic, A2C, A3C, TRPO, PPO).

  Attributes:
    discount: gamma.
    hidden_sizes: hidden layer sizes of the policy and value MLPs.
    activation: activation of the hidden layers.
    init_log_std: initial log standard deviation of the Gaussian policy (continuous actions).
  """
  discount: float = 0.99
  hidden_sizes: Tuple[int, ...] = (64, 64)
  activation: str = 'tanh'
  init_log_std: float = 0.0

  def __post_init__(self):
    check_numbers(self)
    check_in_range(self, 'discount', 0.0, 1.0)
    check_network(self)

  @property
  def min_num_steps(self) -> int:
    """The fewest env steps a run needs before its first update."""
    return 1


@dataclasses.dataclass(frozen=True)
class ParallelEnvConfig(OnPolicyConfig):
  """Fields of the agents that step N environments T steps for each update (the rollout
  agents, ACER's segments, the off-policy actor-critic): N * T transitions per update.

  Attributes:
    num_envs: N, environments stepped in parallel.
    num_steps_per_env: T, steps per environment per update.
  """
  num_envs: int = 1
  num_steps_per_env: int = 2048

  def __post_init__(self):
    super().__post_init__()
    check_positive(self, 'num_envs', 'num_steps_per_env')

  @property
  def batch_size(self) -> int:
    """Transitions per update, N * T."""
    return self.num_envs * self.num_steps_per_env

  @property
  def min_num_steps(self) -> int:
    """The N * T steps of the first update."""
    return self.batch_size


@dataclasses.dataclass(frozen=True)
class RolloutConfig(ParallelEnvConfig):
  """Fields of the agents that learn from [T, B] rollouts of N parallel environments (A2C,
  TRPO, PPO): one update per rollout of N * T transitions.

  Attributes:
    gae_lambda: lambda of GAE (Schulman et al. 2016, arXiv:1506.02438).
    normalize_observations: standardize observations with running statistics.
    jit_compile: compile the update with XLA (used without a distribution strategy).
  """
  gae_lambda: float = 0.95
  normalize_observations: bool = False
  jit_compile: bool = True

  def __post_init__(self):
    super().__post_init__()
    check_in_range(self, 'gae_lambda', 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class OffPolicyConfig:
  """Replay and training-loop settings shared by the off-policy agents (DDPG, TD3, SAC).

  Attributes:
    replay_size: transitions the replay table holds (the oldest are removed first).
    batch_size: transitions per gradient update (global, over all replicas).
    learning_starts: env steps taken with uniformly random actions before the first update;
      also the table's minimum size for sampling.
    updates_per_step: gradient updates per environment step; the table's rate limiter keeps
      batch_size * updates_per_step samples per insert.
    n_step: N of the N-step transitions written to replay (1: one-step TD targets).
    discount: gamma.
    jit_compile: compile the learner step and action selection with XLA (the learner step is a
      plain graph under a distribution strategy). Off by default: on CPU, XLA's matmuls are
      slower than the oneDNN kernels of a plain graph (benchmarks/off_policy_speed.py).
    prioritized_replay: sample transitions in proportion to p_i^alpha, p_i = |TD error| + eps
      (Schaul et al. 2016, arXiv:1511.05952, eq. 1); new transitions get the largest priority
      set so far; the critic losses are weighted by the importance weights (eq. 2, normalized
      by the batch maximum).
    priority_exponent: alpha of prioritized replay (0: uniform).
    importance_exponent: beta of the importance weights, kept constant (the paper anneals it
      towards 1; 0: no correction, 1: full correction).
    priority_epsilon: eps added to |TD error| so that no transition stops being sampled.
  """
  replay_size: int = 1_000_000
  batch_size: int = 256
  learning_starts: int = 10_000
  updates_per_step: int = 1
  n_step: int = 1
  discount: float = 0.99
  jit_compile: bool = False
  prioritized_replay: bool = False
  priority_exponent: float = 0.6
  importance_exponent: float = 0.4
  priority_epsilon: float = 1e-6

  def __post_init__(self):
    check_numbers(self)
    check_positive(self, 'replay_size', 'batch_size', 'learning_starts', 'updates_per_step',
                   'n_step', 'priority_epsilon')
    check_in_range(self, 'discount', 0.0, 1.0)
    check_non_negative(self, 'priority_exponent')
    check_in_range(self, 'importance_exponent', 0.0, 1.0)
    if self.learning_starts > self.replay_size:
      raise ConfigError(self, 'learning_starts', f'must be <= replay_size={self.replay_size}')

  @property
  def samples_per_insert(self) -> float:
    """The replay ratio the table's rate limiter keeps."""
    return float(self.batch_size * self.updates_per_step)

  @property
  def min_num_steps(self) -> int:
    """The random steps before the first update, and one more."""
    return self.learning_starts + 1
