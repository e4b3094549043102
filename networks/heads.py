"""Policy and value heads.

Policy heads map features `[..., D]` to a `tfp.distributions` object whose
batch shape is the leading dims `[...]` and whose event shape is the action
shape (`[]` for discrete actions, `[A]` for continuous ones). `ValueHead` and
`DeterministicHead` return plain tensors. Every head takes a `seed` for its
kernels (`networks.torso.layer_seed`).
"""

from typing import Optional

from dm_env import specs
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from networks import distributions
from networks import kfac
from networks.torso import layer_seed
from networks.torso import orthogonal

tfd = tfp.distributions


def dense(units: int, gain: float, name: str, seed: int,
           bias_initializer='zeros') -> kfac.Dense:
  """A Dense layer (K-FAC capturable) whose orthogonal kernel is seeded by
  `layer_seed(seed, name)`."""
  return kfac.Dense(
      units, kernel_initializer=orthogonal(gain, layer_seed(seed, name)),
      bias_initializer=bias_initializer, name=name)


def _check_bounds(low, high, name: str):
  low = np.asarray(low, np.float32)
  high = np.asarray(high, np.float32)
  if low.ndim != 1 or low.shape != high.shape:
    raise ValueError(f'{name}: low and high must be [A] vectors of the same '
                     f'shape, got {low.shape} and {high.shape}.')
  if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
    raise ValueError(f'{name}: action bounds must be finite, got low={low}, '
                     f'high={high}.')
  if not np.all(high > low):
    raise ValueError(f'{name}: need high > low per dimension, got low={low}, '
                     f'high={high}.')
  return low, high


class CategoricalHead(tf.keras.layers.Layer):
  """Softmax policy over `num_actions` discrete actions.

  `logits = W h + b` with an orthogonal kernel of gain 0.01, so the initial
  policy is close to uniform.

  Call args:
    inputs: `[..., D]` features.

  Returns:
    `tfd.Categorical(logits=[..., num_actions])`: batch shape `[...]`, event
    shape `[]`, int32 samples.
  """

  def __init__(self, num_actions: int, name: Optional[str] = None, seed: int = 0):
    """Creates the head.

    Args:
      num_actions: number of discrete actions.
      name: Keras layer name.
      seed: seeds the kernel.
    """
    super().__init__(name=name)
    self.num_actions = int(num_actions)
    self._logits = dense(self.num_actions, 0.01, 'logits', seed)

  def call(self, inputs: tf.Tensor) -> tfd.Distribution:
    return tfd.Categorical(logits=self._logits(inputs))


class GaussianHead(tf.keras.layers.Layer):
  """Diagonal Gaussian policy `N(mu(h), diag(sigma^2))` (unbounded actions).

  `mu = W h + b` (orthogonal, gain 0.01). `log sigma` is either a free
  trainable `[A]` vector initialised to `init_log_std` (state-independent, as
  in TRPO/PPO) or a second Dense output (state-dependent, gain 0.01, bias
  `init_log_std`). Either way it is clipped to `[min_log_std, max_log_std]`
  (no gradient flows through the clip once it is active).

  Call args:
    inputs: `[..., D]` features.

  Returns:
    `tfd.Independent(tfd.Normal(loc, scale), 1)` with `loc`, `scale` of shape
    `[..., A]`: batch shape `[...]`, event shape `[A]`.
  """

  def __init__(self,
               action_size: int,
               state_dependent_std: bool = False,
               init_log_std: float = 0.0,
               min_log_std: float = -20.0,
               max_log_std: float = 2.0,
               name: Optional[str] = None,
               seed: int = 0):
    """Creates the head.

    Args:
      action_size: `A`, the size of the (rank-1) action vector.
      state_dependent_std: whether `log sigma` is a function of the features.
      init_log_std: initial `log sigma` (vector value or Dense bias).
      min_log_std: lower clip of `log sigma`.
      max_log_std: upper clip of `log sigma`.
      name: Keras layer name.
      seed: seeds the kernels.
    """
    super().__init__(name=name)
    self.action_size = int(action_size)
    self.state_dependent_std = bool(state_dependent_std)
    self.min_log_std = float(min_log_std)
    self.max_log_std = float(max_log_std)
    self.init_log_std = float(init_log_std)
    self._mean = dense(self.action_size, 0.01, 'mean', seed)
    self._log_std_layer = None
    self.log_std = None
    if self.state_dependent_std:
      self._log_std_layer = dense(
          self.action_size, 0.01, 'log_std', seed,
          bias_initializer=tf.keras.initializers.Constant(init_log_std))

  def build(self, input_shape):
    if not self.state_dependent_std:
      # Created in build (not __init__) to live under the layer's name scope.
      self.log_std = self.add_weight(
          name='log_std', shape=(self.action_size,),
          initializer=tf.keras.initializers.Constant(self.init_log_std),
          trainable=True)
    super().build(input_shape)

  def loc_and_scale(self, inputs: tf.Tensor):
    """Returns `(loc, scale)`, both `[..., A]`, for features `[..., D]`."""
    if not self.built:
      self(inputs)  # Creates the variables through Keras' __call__.
    loc = self._mean(inputs)
    if self._log_std_layer is not None:
      log_std = self._log_std_layer(inputs)
    else:
      log_std = tf.broadcast_to(self.log_std, tf.shape(loc))
    log_std = tf.clip_by_value(log_std, self.min_log_std, self.max_log_std)
    return loc, tf.exp(log_std)

  def call(self, inputs: tf.Tensor) -> tfd.Distribution:
    loc, scale = self.loc_and_scale(inputs)
    return tfd.Independent(tfd.Normal(loc=loc, scale=scale),
                           reinterpreted_batch_ndims=1)


class TanhGaussianHead(GaussianHead):
  """Tanh-squashed Gaussian policy on the box `[low, high]` (SAC).

  `u ~ N(mu(h), diag(sigma(h)^2))`, `a = mid + half_range * tanh(u)` with
  `mid = (high + low) / 2`, `half_range = (high - low) / 2` per dimension, so
  `log pi(a|s) = log N(u) - sum log(1 - tanh(u)^2) - sum log(half_range)`
  (Haarnoja et al. 2018, arXiv:1801.01290, appendix C). The tanh log-det is
  TFP's stable `2 (log 2 - u - softplus(-2u))`; actions at the bounds get a
  finite log-prob (see `distributions.ClippedTanh`). The standard deviation is
  state-dependent by default.

  Call args:
    inputs: `[..., D]` features.

  Returns:
    `tfd.TransformedDistribution` with batch shape `[...]`, event shape `[A]`,
    samples strictly inside `[low, high]` up to float rounding at the bounds.
    It has no analytic `mean`/`entropy`: use `distributions.mode` and
    `-log_prob(sample)`.
  """

  def __init__(self,
               action_spec_low,
               action_spec_high,
               state_dependent_std: bool = True,
               init_log_std: float = 0.0,
               min_log_std: float = -20.0,
               max_log_std: float = 2.0,
               epsilon: float = 1e-6,
               name: Optional[str] = None,
               seed: int = 0):
    """Creates the head.

    Args:
      action_spec_low: `[A]` finite lower bounds.
      action_spec_high: `[A]` finite upper bounds, `> low`.
      state_dependent_std: see `GaussianHead` (default True here).
      init_log_std: see `GaussianHead`.
      min_log_std: see `GaussianHead`.
      max_log_std: see `GaussianHead`.
      epsilon: inverse-tanh clip band, see `distributions.ClippedTanh`.
      name: Keras layer name.
      seed: seeds the kernels.
    """
    low, high = _check_bounds(action_spec_low, action_spec_high,
                              'TanhGaussianHead')
    super().__init__(
        action_size=low.shape[0],
        state_dependent_std=state_dependent_std,
        init_log_std=init_log_std,
        min_log_std=min_log_std,
        max_log_std=max_log_std,
        name=name,
        seed=seed)
    self.low = low
    self.high = high
    self.epsilon = float(epsilon)

  def call(self, inputs: tf.Tensor) -> tfd.Distribution:
    loc, scale = self.loc_and_scale(inputs)
    return distributions.tanh_squashed_gaussian(
        loc, scale, self.low, self.high, self.epsilon)


class DeterministicHead(tf.keras.layers.Layer):
  """Deterministic action `a = mid + half_range * tanh(W h + b)` (DDPG/TD3).

  Orthogonal kernel with gain 0.01, so initial actions sit near the middle of
  the box.

  Call args:
    inputs: `[..., D]` features.

  Returns:
    `[..., A]` float32 actions inside `[low, high]` (a tensor, not a
    distribution: exploration noise is added by the actor).
  """

  def __init__(self, low, high, name: Optional[str] = None, seed: int = 0):
    """Creates the head.

    Args:
      low: `[A]` finite lower bounds.
      high: `[A]` finite upper bounds, `> low`.
      name: Keras layer name.
      seed: seeds the kernel.
    """
    super().__init__(name=name)
    self.low, self.high = _check_bounds(low, high, 'DeterministicHead')
    self.action_size = self.low.shape[0]
    self._pre_tanh = dense(self.action_size, 0.01, 'action', seed)

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    mid = (self.high + self.low) / 2.0
    half_range = (self.high - self.low) / 2.0
    return mid + half_range * tf.tanh(self._pre_tanh(inputs))


class ValueHead(tf.keras.layers.Layer):
  """State-value head `V(s) = w^T h + b` (orthogonal kernel, gain 1.0).

  Call args:
    inputs: `[..., D]` features.

  Returns:
    `[...]` values (the trailing unit dim squeezed).
  """

  def __init__(self, name: Optional[str] = None, seed: int = 0):
    """Creates the head (`seed` seeds the kernel)."""
    super().__init__(name=name)
    self._value = dense(1, 1.0, 'value', seed)

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    return tf.squeeze(self._value(inputs), axis=-1)


def action_bounds(action_spec: specs.BoundedArray):
  """Returns `(low, high)` float32 `[A]` arrays broadcast to the spec's shape."""
  low = np.broadcast_to(action_spec.minimum, action_spec.shape)
  high = np.broadcast_to(action_spec.maximum, action_spec.shape)
  return low.astype(np.float32), high.astype(np.float32)


def make_policy_head(action_spec, *, tanh_squash: bool = False,
                     **kwargs) -> tf.keras.layers.Layer:
  """Picks the policy head for an environment's action spec.

  - `specs.DiscreteArray` -> `CategoricalHead(num_values)`.
  - rank-1 float `specs.BoundedArray` -> `GaussianHead(A, **kwargs)`, or
    `TanhGaussianHead(minimum, maximum, **kwargs)` if `tanh_squash` (bounds
    read from the spec, scalar bounds broadcast to the shape).
  - rank-1 float unbounded `specs.Array` -> `GaussianHead` (not squashable).

  Args:
    action_spec: a `dm_env.specs` spec.
    tanh_squash: use the tanh-squashed Gaussian for continuous actions.
    **kwargs: forwarded to the head's constructor (e.g. `init_log_std`,
      `state_dependent_std`, `name`, `seed`).

  Returns:
    A Keras layer mapping features `[..., D]` to a distribution.

  Raises:
    ValueError: for nested, integer (non-`DiscreteArray`), non-rank-1 or
      infinitely-bounded (with `tanh_squash`) specs.
  """
  if isinstance(action_spec, specs.DiscreteArray):
    if tanh_squash:
      raise ValueError('make_policy_head: tanh_squash needs a continuous '
                       f'action spec, got {action_spec!r}.')
    return CategoricalHead(action_spec.num_values, **kwargs)
  if not isinstance(action_spec, specs.Array):
    raise ValueError('make_policy_head: expected a single dm_env.specs.Array '
                     f'(DiscreteArray or BoundedArray), got {action_spec!r}.')
  if not np.issubdtype(action_spec.dtype, np.floating):
    raise ValueError('make_policy_head: integer actions must use '
                     f'specs.DiscreteArray, got {action_spec!r}.')
  if len(action_spec.shape) != 1:
    raise ValueError('make_policy_head: continuous actions must be rank-1 '
                     f'[A], got shape {action_spec.shape} in {action_spec!r}.')
  if tanh_squash:
    if not isinstance(action_spec, specs.BoundedArray):
      raise ValueError('make_policy_head: tanh_squash needs a BoundedArray, '
                       f'got {action_spec!r}.')
    low, high = action_bounds(action_spec)
    return TanhGaussianHead(low, high, **kwargs)
  return GaussianHead(action_spec.shape[0], **kwargs)
