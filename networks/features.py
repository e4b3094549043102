"""Fixed (untrained) state features for linear function approximation: tile coding and the
raw, rescaled observation, each with a bias feature.

Used by linear learners such as DPG's COPDAC-Q (Silver et al. 2014, section 5.2 tile-codes
the state space). Both map observations `[B, d]` of a box-bounded spec to float32 features
`[B, size]`.
"""

from typing import Optional

from dm_env import specs
import numpy as np
import tensorflow as tf


def _bounds(spec: specs.Array, caller: str):
  if len(spec.shape) != 1 or not isinstance(spec, specs.BoundedArray):
    raise ValueError(f'{caller}: needs a rank-1 bounded observation spec, got {spec!r}')
  low = np.broadcast_to(spec.minimum, spec.shape).astype(np.float32)
  high = np.broadcast_to(spec.maximum, spec.shape).astype(np.float32)
  if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
    raise ValueError(f'{caller}: needs finite bounds low < high, got {low} and {high}')
  return low, high


class TileCoding(tf.keras.layers.Layer):
  """Binary features from `num_tilings` overlapping grids over a box (Sutton & Barto 2018,
  section 9.5.4), and a bias feature.

  Each grid cuts every dimension of `[low, high]` into `tiles` intervals and is offset from the
  first by `k (1, 3, 5, ...) / num_tilings` of an interval (tiling k; the book's asymmetric
  displacement), so it spans `tiles + 1` intervals per dimension. An observation activates
  one tile per tiling: `num_tilings` ones among `num_tilings (tiles + 1)^d` features, then the
  bias 1. Inputs outside the box are clipped to it.

  Args:
    low: [d] lower bounds.
    high: [d] upper bounds (> low).
    num_tilings: grids (>= 1).
    tiles: intervals per dimension of each grid (>= 1).
  """

  def __init__(self, low, high, num_tilings: int = 8, tiles: int = 8,
               name: Optional[str] = None):
    super().__init__(name=name)
    low, high = np.asarray(low, np.float32), np.asarray(high, np.float32)
    if num_tilings < 1 or tiles < 1:
      raise ValueError(f'TileCoding: num_tilings={num_tilings} and tiles={tiles} must be >= 1')
    dims = low.shape[0]
    self.num_tilings, self.tiles = int(num_tilings), int(tiles)
    self._low, self._high = tf.constant(low), tf.constant(high)
    self._per_tiling = (tiles + 1)**dims
    self.size = num_tilings * self._per_tiling + 1
    odd = 2 * np.arange(dims) + 1
    self._offsets = tf.constant((np.arange(num_tilings)[:, None] * odd[None] / num_tilings) % 1.0,
                                tf.float32)  # [K, d], in intervals.
    self._strides = tf.constant((tiles + 1)**np.arange(dims), tf.int32)  # [d]
    self._first = tf.constant(np.arange(num_tilings) * self._per_tiling, tf.int32)  # [K]

  def call(self, observations: tf.Tensor) -> tf.Tensor:
    x = tf.clip_by_value(tf.cast(observations, tf.float32), self._low, self._high)
    scaled = (x - self._low) / (self._high - self._low) * self.tiles  # [B, d] in [0, tiles].
    cells = tf.cast(tf.floor(scaled[:, None, :] + self._offsets[None]), tf.int32)  # [B, K, d]
    cells = tf.minimum(cells, self.tiles)
    index = tf.reduce_sum(cells * self._strides, axis=-1) + self._first  # [B, K]
    active = tf.reduce_sum(tf.one_hot(index, self.size - 1), axis=1)  # [B, size - 1]
    return tf.concat([active, tf.ones_like(active[:, :1])], axis=-1)


class ScaledObservation(tf.keras.layers.Layer):
  """The observation rescaled from its box to [-1, 1] per dimension, and a bias feature."""

  def __init__(self, low, high, name: Optional[str] = None):
    super().__init__(name=name)
    self._low = tf.constant(np.asarray(low, np.float32))
    self._high = tf.constant(np.asarray(high, np.float32))
    self.size = int(self._low.shape[0]) + 1

  def call(self, observations: tf.Tensor) -> tf.Tensor:
    x = tf.cast(observations, tf.float32)
    scaled = 2.0 * (x - self._low) / (self._high - self._low) - 1.0
    return tf.concat([scaled, tf.ones_like(scaled[:, :1])], axis=-1)


FEATURES = ('tiles', 'linear')


def make_features(kind: str, observation_spec: specs.Array, num_tilings: int = 8,
                  tiles: int = 8) -> tf.keras.layers.Layer:
  """'tiles' (`TileCoding`) or 'linear' (`ScaledObservation`) features of a bounded spec; the
  layer's `size` is the feature count.

  Raises:
    ValueError: for an unknown kind, or a spec that is not a rank-1 box with finite bounds.
  """
  low, high = _bounds(observation_spec, f'make_features({kind!r})')
  if kind == 'tiles':
    return TileCoding(low, high, num_tilings, tiles, name='tile_coding')
  if kind == 'linear':
    return ScaledObservation(low, high, name='scaled_observation')
  raise ValueError(f'make_features: kind={kind!r}, use one of {FEATURES}')
