"""Torsos: feature extractors shared by policy heads and critics.

Also the small spec helpers the network factories share (`make_torso`,
`dummy_observation`).
"""

import hashlib
from typing import Optional, Sequence

from dm_env import specs
import numpy as np
import tensorflow as tf

from networks import kfac


def layer_seed(seed: int, *path: str) -> int:
  """A seed for the part of a network at `path` below a network seeded with `seed`.

  Hashes the seed with the names on the path, so a layer's initial weights depend on the
  network's seed and the layer's place in it, never on the global TF seed or on how many
  layers were created before it: `layer_seed(7, 'policy_torso', 'dense_0')`.

  Args:
    seed: the enclosing network's seed (any integer).
    *path: names from the network down to the part.

  Returns:
    An integer in `[0, 2**31)`.
  """
  key = '/'.join([str(int(seed))] + [str(name) for name in path])
  return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], 'little') % 2**31


def orthogonal(gain: float, seed: int) -> tf.keras.initializers.Initializer:
  """A seeded orthogonal kernel initializer with the given gain, one per layer.

  Saxe et al. 2013, arXiv:1312.6120; the gains sqrt(2) / 0.01 / 1.0 follow the PPO
  implementation details of Engstrom et al. 2020, arXiv:2005.12729.
  """
  return tf.keras.initializers.Orthogonal(gain=gain, seed=seed)


class MLP(tf.keras.layers.Layer):
  """Multi-layer perceptron torso: `h = act(W_k ... act(W_1 x + b_1) ... + b_k)`.

  Every Dense layer has an orthogonal kernel (gain sqrt(2)) and zero bias, and
  the activation is applied after every layer, including the last one.
  `hidden_sizes=()` gives the identity (the input, cast to float32). Layer `i`'s kernel is
  seeded with `layer_seed(seed, f'dense_{i}')`.

  Call args:
    inputs: `[..., D]` features; any number of leading (batch) dims. Integer or
      float64 inputs are cast to float32.

  Returns:
    `[..., hidden_sizes[-1]]` float32 features (`[..., D]` if `hidden_sizes=()`).
  """

  def __init__(self,
               hidden_sizes: Sequence[int],
               activation: str = 'tanh',
               name: Optional[str] = None,
               gain: float = float(np.sqrt(2.0)),
               seed: int = 0):
    """Creates the MLP.

    Args:
      hidden_sizes: width of each hidden layer, e.g. `(64, 64)`; `()` for the
        identity.
      activation: any Keras activation name or callable, e.g. `'tanh'`, `'relu'`.
      name: Keras layer name.
      gain: gain of the orthogonal kernel initializer.
      seed: seeds every kernel (see `layer_seed`).
    """
    super().__init__(name=name)
    self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
    self.activation = activation
    self._layers = [
        kfac.Dense(
            size,
            activation=activation,
            kernel_initializer=orthogonal(gain, layer_seed(seed, f'dense_{i}')),
            bias_initializer='zeros',
            name=f'dense_{i}') for i, size in enumerate(self.hidden_sizes)
    ]

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    x = tf.cast(inputs, tf.float32)
    for layer in self._layers:
      x = layer(x)
    return x


class NatureCNN(tf.keras.layers.Layer):
  """The convolutional torso of Mnih et al. 2015 (Nature DQN), also PPO's and A2C's on Atari.

  `x / 255`, then conv 32 8×8 stride 4, conv 64 4×4 stride 2, conv 64 3×3 stride 1 (ReLU,
  'valid' padding), flattened, and a 512-unit ReLU layer. Kernels are orthogonal with gain
  sqrt(2) and seeded per layer (`layer_seed(seed, name)`), biases zero.

  Call args:
    inputs: `[B, H, W, C]` uint8 images (84×84×4 on Atari: 4 stacked greyscale frames).

  Returns:
    `[B, 512]` float32 features.
  """

  def __init__(self, name: Optional[str] = None, seed: int = 0):
    super().__init__(name=name)
    gain = float(np.sqrt(2.0))
    conv = lambda filters, size, stride, label: tf.keras.layers.Conv2D(
        filters, size, stride, activation='relu', name=label,
        kernel_initializer=orthogonal(gain, layer_seed(seed, label)), bias_initializer='zeros')
    self._layers = [conv(32, 8, 4, 'conv_0'), conv(64, 4, 2, 'conv_1'), conv(64, 3, 1, 'conv_2'),
                    tf.keras.layers.Flatten(),
                    tf.keras.layers.Dense(512, activation='relu', name='dense',
                                          kernel_initializer=orthogonal(gain, layer_seed(
                                              seed, 'dense')), bias_initializer='zeros')]

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    x = tf.cast(inputs, tf.float32) / 255.0
    for layer in self._layers:
      x = layer(x)
    return x


def is_image(observation_spec: specs.Array) -> bool:
  """Whether observations of this spec are images: uint8 `[H, W, C]`."""
  return (isinstance(observation_spec, specs.Array) and len(observation_spec.shape) == 3
          and np.dtype(observation_spec.dtype) == np.uint8)


def make_torso(observation_spec: specs.Array,
               hidden_sizes: Sequence[int],
               activation: str = 'tanh',
               name: Optional[str] = None,
               seed: int = 0) -> tf.keras.layers.Layer:
  """The torso for a single array observation spec.

  Images (uint8 `[H, W, C]`, see `is_image`) go through the `NatureCNN` and then the MLP
  (`hidden_sizes=()`: the CNN's 512 features alone, as in the Atari papers). Rank-1 specs feed
  the MLP directly; other higher-rank specs are flattened to `[B, -1]` first (so they take
  exactly one batch dim).

  Args:
    observation_spec: a single `dm_env.specs.Array`.
    hidden_sizes: MLP widths.
    activation: MLP activation.
    name: Keras name of the MLP.
    seed: the MLP's seed.

  Returns:
    A Keras layer mapping observations to `[B, hidden_sizes[-1]]` features.

  Raises:
    ValueError: if the spec is not a single `dm_env.specs.Array`.
  """
  if not isinstance(observation_spec, specs.Array):
    raise ValueError('make_torso: expected a single dm_env.specs.Array '
                     f'observation spec, got {observation_spec!r}.')
  mlp = MLP(hidden_sizes, activation=activation, name=name, seed=seed)
  if is_image(observation_spec):
    return tf.keras.Sequential([NatureCNN(name='cnn', seed=seed), mlp],
                               name=None if name is None else name + '_cnn')
  if len(observation_spec.shape) == 1:
    return mlp
  return tf.keras.Sequential([tf.keras.layers.Flatten(), mlp],
                             name=None if name is None else name + '_flat')


def dummy_observation(observation_spec: specs.Array) -> tf.Tensor:
  """A `[1, *shape]` zero observation of the spec's dtype, for building."""
  return tf.zeros((1,) + tuple(observation_spec.shape),
                  dtype=tf.as_dtype(np.dtype(observation_spec.dtype)))
