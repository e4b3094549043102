"""Critics and actors for off-policy continuous control (DDPG, TD3, SAC, D4PG).

With `observation_batch_norm`, observations pass through a `BatchNormalization` layer before
anything else (DDPG, Lillicrap et al. 2015, section 3): the layer uses the batch statistics
when called with `training=True` (learner updates) and its moving averages otherwise (acting,
target networks).

All critics take `observations [B, O]` and `actions [B, A]` (any shared leading
dims work) and concatenate them before an MLP, as in Fujimoto et al. 2018
(TD3, arXiv:1802.09477) and Haarnoja et al. 2018 (SAC, arXiv:1801.01290).

Every network and factory takes a `seed`; its parts are seeded with
`networks.torso.layer_seed(seed, part_name)`, so initial weights do not depend on the
global TF seed or on the order networks are built in.
"""

from typing import NamedTuple, Optional, Sequence, Tuple

from dm_env import specs
import numpy as np
import tensorflow as tf

from networks import heads
from networks import kfac
from networks.torso import MLP
from networks.torso import dummy_observation
from networks.torso import layer_seed
from networks.torso import make_torso
from networks.torso import orthogonal


def _batch_norm() -> tf.keras.layers.Layer:
  return tf.keras.layers.BatchNormalization(name='observation_batch_norm')


def _maybe_normalize(layer, observations, training):
  if layer is None:
    return observations
  return layer(tf.cast(observations, tf.float32), training=training)


def _concat(observations: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
  return tf.concat([tf.cast(observations, tf.float32),
                    tf.cast(actions, tf.float32)], axis=-1)


class QNetwork(tf.keras.layers.Layer):
  """Action-value critic `Q(s, a) = w^T MLP([s, a]) + b`.

  Hidden layers: orthogonal gain sqrt(2); output layer: orthogonal gain 1.0.

  Call args:
    observations: `[..., O]`.
    actions: `[..., A]`.

  Returns:
    `[...]` Q-values.
  """

  def __init__(self,
               hidden_sizes: Sequence[int] = (256, 256),
               activation: str = 'relu',
               name: Optional[str] = None,
               observation_batch_norm: bool = False,
               seed: int = 0):
    """Creates the critic.

    Args:
      hidden_sizes: MLP widths.
      activation: MLP activation.
      name: Keras layer name.
      observation_batch_norm: batch-normalize observations first (see the module doc).
      seed: the critic's seed.
    """
    super().__init__(name=name)
    self._normalize = _batch_norm() if observation_batch_norm else None
    self._torso = MLP(hidden_sizes, activation=activation, name='torso',
                      seed=layer_seed(seed, 'torso'))
    self._head = heads.ValueHead(name='q_value', seed=layer_seed(seed, 'q_value'))

  def call(self, observations: tf.Tensor, actions: tf.Tensor,
           training: Optional[bool] = None) -> tf.Tensor:
    observations = _maybe_normalize(self._normalize, observations, training)
    return self._head(self._torso(_concat(observations, actions)))


class TwinQNetwork(tf.keras.layers.Layer):
  """Two independent Q networks (clipped double Q-learning, TD3 / SAC).

  Call args:
    observations: `[..., O]`.
    actions: `[..., A]`.

  Returns:
    `(q1, q2)`, each `[...]`; the networks share no variables.
  """

  def __init__(self,
               hidden_sizes: Sequence[int] = (256, 256),
               activation: str = 'relu',
               name: Optional[str] = None,
               observation_batch_norm: bool = False,
               seed: int = 0):
    """Creates both critics with the same architecture, separate weights and seeds."""
    super().__init__(name=name)
    self.q1_network = QNetwork(hidden_sizes, activation, name='q1',
                               observation_batch_norm=observation_batch_norm,
                               seed=layer_seed(seed, 'q1'))
    self.q2_network = QNetwork(hidden_sizes, activation, name='q2',
                               observation_batch_norm=observation_batch_norm,
                               seed=layer_seed(seed, 'q2'))

  def call(self, observations: tf.Tensor, actions: tf.Tensor,
           training: Optional[bool] = None) -> Tuple[tf.Tensor, tf.Tensor]:
    return (self.q1_network(observations, actions, training=training),
            self.q2_network(observations, actions, training=training))


class DistributionalQ(NamedTuple):
  """Output of `DistributionalQNetwork`.

  Attributes:
    logits: `[..., N]` unnormalised log-probabilities of the return atoms.
    support: `[N]` atom locations `linspace(v_min, v_max, N)`.
  """
  logits: tf.Tensor
  support: tf.Tensor

  def q_values(self) -> tf.Tensor:
    """Expected return `sum_i softmax(logits)_i z_i`, shape `[...]`."""
    return tf.reduce_sum(tf.nn.softmax(self.logits) * self.support, axis=-1)


class DistributionalQNetwork(tf.keras.layers.Layer):
  """Categorical return distribution `Z(s, a)` on a fixed support (D4PG).

  `p(s, a) = softmax(W MLP([s, a]) + b)` over atoms `z_i = linspace(v_min,
  v_max, num_atoms)` (Bellemare et al. 2017, C51, arXiv:1707.06887;
  Barth-Maron et al. 2018, D4PG, arXiv:1804.08617).

  Call args:
    observations: `[..., O]`.
    actions: `[..., A]`.

  Returns:
    `DistributionalQ(logits [..., num_atoms], support [num_atoms])`.
  """

  def __init__(self,
               num_atoms: int = 51,
               v_min: float = -150.0,
               v_max: float = 150.0,
               hidden_sizes: Sequence[int] = (256, 256),
               activation: str = 'relu',
               name: Optional[str] = None,
               seed: int = 0):
    """Creates the critic.

    Args:
      num_atoms: number of atoms `N` (>= 2).
      v_min: smallest atom.
      v_max: largest atom (> v_min).
      hidden_sizes: MLP widths.
      activation: MLP activation.
      name: Keras layer name.
      seed: the critic's seed.
    """
    super().__init__(name=name)
    if num_atoms < 2 or not v_max > v_min:
      raise ValueError('DistributionalQNetwork: need num_atoms >= 2 and '
                       f'v_max > v_min, got {num_atoms}, {v_min}, {v_max}.')
    self.num_atoms = int(num_atoms)
    self.v_min = float(v_min)
    self.v_max = float(v_max)
    self._torso = MLP(hidden_sizes, activation=activation, name='torso',
                      seed=layer_seed(seed, 'torso'))
    self._logits = kfac.Dense(
        self.num_atoms, kernel_initializer=orthogonal(1.0, layer_seed(seed, 'logits')),
        bias_initializer='zeros', name='logits')

  @property
  def support(self) -> tf.Tensor:
    """`[num_atoms]` float32 atom locations."""
    return tf.linspace(self.v_min, self.v_max, self.num_atoms)

  def call(self, observations: tf.Tensor,
           actions: tf.Tensor) -> DistributionalQ:
    logits = self._logits(self._torso(_concat(observations, actions)))
    return DistributionalQ(logits=logits, support=self.support)


class DeterministicActor(tf.keras.Model):
  """Deterministic policy `mu(s) = mid + half_range * tanh(W MLP(s) + b)`.

  Call args:
    observations: `[B, ...]`.

  Returns:
    `[B, A]` actions inside the action bounds.
  """

  def __init__(self, torso: tf.keras.layers.Layer,
               head: heads.DeterministicHead, name: Optional[str] = None,
               observation_batch_norm: bool = False):
    """Creates the actor from a torso and a `heads.DeterministicHead`."""
    super().__init__(name=name)
    self.normalize = _batch_norm() if observation_batch_norm else None
    self.torso = torso
    self.head = head

  def call(self, observations: tf.Tensor, training: Optional[bool] = None) -> tf.Tensor:
    observations = _maybe_normalize(self.normalize, observations, training)
    return self.head(self.torso(observations))


class StochasticActor(tf.keras.Model):
  """Stochastic policy `pi(.|s)`: an MLP torso and a policy head (SAC: `TanhGaussianHead`).

  Call args:
    observations: `[B, ...]`.

  Returns:
    The head's distribution, batch shape `[B]`, event shape `[A]`.
  """

  def __init__(self, torso: tf.keras.layers.Layer, head: tf.keras.layers.Layer,
               name: Optional[str] = None):
    """Creates the actor from a torso and a policy head."""
    super().__init__(name=name)
    self.torso = torso
    self.head = head

  def call(self, observations: tf.Tensor):
    return self.head(self.torso(observations))

  def loc_and_scale(self, observations: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """`(loc, scale)` `[B, A]` of the pre-squash Gaussian (Gaussian heads only)."""
    return self.head.loc_and_scale(self.torso(observations))


class ValueNetwork(tf.keras.Model):
  """State-value network `V(s) = w^T MLP(s) + b` (SAC v1's soft value function).

  Call args:
    observations: `[B, ...]`.

  Returns:
    `[B]` values.
  """

  def __init__(self, torso: tf.keras.layers.Layer, name: Optional[str] = None,
               seed: int = 0):
    """Creates the network on `torso`; `seed` seeds the value head's kernel."""
    super().__init__(name=name)
    self.torso = torso
    self.head = heads.ValueHead(name='value', seed=layer_seed(seed, 'value'))

  def call(self, observations: tf.Tensor) -> tf.Tensor:
    return self.head(self.torso(observations))


def _check_continuous(action_spec, caller: str):
  if (not isinstance(action_spec, specs.BoundedArray) or
      isinstance(action_spec, specs.DiscreteArray) or
      len(action_spec.shape) != 1 or
      not np.issubdtype(action_spec.dtype, np.floating)):
    raise ValueError(f'{caller}: expected a rank-1 float BoundedArray action '
                     f'spec, got {action_spec!r}.')


def _dummy_inputs(observation_spec, action_spec):
  observation = dummy_observation(observation_spec)
  action = tf.zeros((1,) + tuple(action_spec.shape), tf.float32)
  return observation, action


def _check_observation(observation_spec, caller: str):
  if (not isinstance(observation_spec, specs.Array) or
      len(observation_spec.shape) != 1):
    raise ValueError(f'{caller}: expected a rank-1 dm_env.specs.Array '
                     f'observation spec, got {observation_spec!r}.')


def make_deterministic_actor(observation_spec: specs.Array,
                             action_spec: specs.BoundedArray,
                             hidden_sizes: Sequence[int] = (256, 256),
                             activation: str = 'relu',
                             observation_batch_norm: bool = False,
                             seed: int = 0) -> DeterministicActor:
  """Builds a `DeterministicActor` (DDPG/TD3) with its variables created.

  Args:
    observation_spec: a single `dm_env.specs.Array` (higher ranks flattened).
    action_spec: rank-1 float `BoundedArray`; its bounds set the tanh scaling.
    hidden_sizes: MLP widths.
    activation: MLP activation.
    observation_batch_norm: batch-normalize observations first (see the module doc).
    seed: the actor's seed.

  Returns:
    A built actor mapping `[B, *obs_shape]` to `[B, A]` actions.
  """
  _check_continuous(action_spec, 'make_deterministic_actor')
  if observation_batch_norm:
    _check_observation(observation_spec, 'make_deterministic_actor')
  low, high = heads.action_bounds(action_spec)
  actor = DeterministicActor(
      make_torso(observation_spec, hidden_sizes, activation, name='torso',
                 seed=layer_seed(seed, 'torso')),
      heads.DeterministicHead(low, high, name='action_head',
                              seed=layer_seed(seed, 'action_head')),
      name='deterministic_actor', observation_batch_norm=observation_batch_norm)
  actor(dummy_observation(observation_spec))
  return actor


def make_stochastic_actor(observation_spec: specs.Array,
                          action_spec: specs.BoundedArray,
                          hidden_sizes: Sequence[int] = (256, 256),
                          activation: str = 'relu',
                          seed: int = 0,
                          **head_kwargs) -> StochasticActor:
  """Builds a tanh-squashed Gaussian `StochasticActor` (SAC) with its variables created.

  Args:
    observation_spec: a single `dm_env.specs.Array` (higher ranks flattened).
    action_spec: rank-1 float `BoundedArray`; samples lie inside its bounds.
    hidden_sizes: MLP widths.
    activation: MLP activation.
    seed: the actor's seed.
    **head_kwargs: forwarded to `heads.TanhGaussianHead` (e.g. `min_log_std`); the standard
      deviation is state-dependent.

  Returns:
    A built actor mapping `[B, *obs_shape]` to a distribution over `[B, A]` actions.
  """
  _check_continuous(action_spec, 'make_stochastic_actor')
  low, high = heads.action_bounds(action_spec)
  actor = StochasticActor(
      make_torso(observation_spec, hidden_sizes, activation, name='torso',
                 seed=layer_seed(seed, 'torso')),
      heads.TanhGaussianHead(low, high, state_dependent_std=True, name='policy_head',
                             seed=layer_seed(seed, 'policy_head'), **head_kwargs),
      name='stochastic_actor')
  actor.loc_and_scale(dummy_observation(observation_spec))
  return actor


def make_value_network(observation_spec: specs.Array,
                       hidden_sizes: Sequence[int] = (256, 256),
                       activation: str = 'relu',
                       seed: int = 0) -> ValueNetwork:
  """Builds a `ValueNetwork` (SAC v1's V and target V) with its variables created."""
  torso = make_torso(observation_spec, hidden_sizes, activation, name='torso',
                     seed=layer_seed(seed, 'torso'))
  network = ValueNetwork(torso, name='value', seed=seed)
  network(dummy_observation(observation_spec))
  return network


def make_q_network(observation_spec: specs.Array,
                   action_spec: specs.BoundedArray,
                   hidden_sizes: Sequence[int] = (256, 256),
                   activation: str = 'relu',
                   twin: bool = False,
                   observation_batch_norm: bool = False,
                   seed: int = 0):
  """Builds a `QNetwork` (or `TwinQNetwork` if `twin`) with variables created.

  Args:
    observation_spec: rank-1 `dm_env.specs.Array`.
    action_spec: rank-1 float `BoundedArray`.
    hidden_sizes: MLP widths.
    activation: MLP activation.
    twin: build two independent critics.
    observation_batch_norm: batch-normalize observations first (see the module doc).
    seed: the critic's seed.

  Returns:
    A built critic mapping `([B, O], [B, A])` to `[B]` (or a pair of `[B]`).
  """
  _check_observation(observation_spec, 'make_q_network')
  _check_continuous(action_spec, 'make_q_network')
  cls = TwinQNetwork if twin else QNetwork
  critic = cls(hidden_sizes, activation, name='twin_q' if twin else 'q',
               observation_batch_norm=observation_batch_norm, seed=seed)
  critic(*_dummy_inputs(observation_spec, action_spec))
  return critic


def make_distributional_q_network(observation_spec: specs.Array,
                                  action_spec: specs.BoundedArray,
                                  num_atoms: int = 51,
                                  v_min: float = -150.0,
                                  v_max: float = 150.0,
                                  hidden_sizes: Sequence[int] = (256, 256),
                                  activation: str = 'relu',
                                  seed: int = 0) -> DistributionalQNetwork:
  """Builds a `DistributionalQNetwork` (D4PG) with variables created.

  Args:
    observation_spec: rank-1 `dm_env.specs.Array`.
    action_spec: rank-1 float `BoundedArray`.
    num_atoms: number of atoms.
    v_min: smallest atom.
    v_max: largest atom.
    hidden_sizes: MLP widths.
    activation: MLP activation.
    seed: the critic's seed.

  Returns:
    A built critic mapping `([B, O], [B, A])` to `DistributionalQ`.
  """
  _check_observation(observation_spec, 'make_distributional_q_network')
  _check_continuous(action_spec, 'make_distributional_q_network')
  critic = DistributionalQNetwork(num_atoms, v_min, v_max, hidden_sizes,
                                  activation, name='distributional_q', seed=seed)
  critic(*_dummy_inputs(observation_spec, action_spec))
  return critic


class SamplerNetwork(tf.keras.Model):
  """Soft Q-learning's amortized sampler: noise to actions, a = mid + half_range tanh(g(s, xi)).

  Haarnoja et al. 2017, arXiv:1702.08165, section 3.2: a = f(s, xi) with xi ~ N(0, I) of the
  action's size, trained by amortized SVGD (eqs. 13-14) so that its samples follow
  exp(Q(s, .) / alpha). g is an MLP on the concatenation [s, xi] with a linear output (gain 1,
  so different noise gives different actions from the start).

  Call args:
    observations: `[B, O]`.
    noise: `[B, A]`.

  Returns:
    `[B, A]` actions inside the action bounds.
  """

  def __init__(self, hidden_sizes: Sequence[int], activation: str, low, high,
               name: Optional[str] = None, seed: int = 0):
    """Creates the sampler for actions in `[low, high]`; `seed` seeds every kernel."""
    super().__init__(name=name)
    self.low = np.asarray(low, np.float32)
    self.high = np.asarray(high, np.float32)
    self.torso = MLP(hidden_sizes, activation=activation, name='torso',
                     seed=layer_seed(seed, 'torso'))
    self.head = heads.dense(self.low.shape[0], gain=1.0, name='action', seed=seed)

  @property
  def noise_size(self) -> int:
    """The size of xi (the action's)."""
    return int(self.low.shape[0])

  def call(self, observations: tf.Tensor, noise: tf.Tensor) -> tf.Tensor:
    squashed = tf.tanh(self.head(self.torso(_concat(observations, noise))))
    return (self.high + self.low) / 2.0 + (self.high - self.low) / 2.0 * squashed


def make_sampler_network(observation_spec: specs.Array, action_spec: specs.BoundedArray,
                         hidden_sizes: Sequence[int] = (128, 128), activation: str = 'relu',
                         seed: int = 0) -> SamplerNetwork:
  """Builds a `SamplerNetwork` for the environment with its variables created."""
  _check_observation(observation_spec, 'make_sampler_network')
  _check_continuous(action_spec, 'make_sampler_network')
  low = np.broadcast_to(action_spec.minimum, action_spec.shape)
  high = np.broadcast_to(action_spec.maximum, action_spec.shape)
  sampler = SamplerNetwork(hidden_sizes, activation, low, high, name='sampler', seed=seed)
  sampler(*_dummy_inputs(observation_spec, action_spec))
  return sampler
