"""Distribution helpers: the squashing bijector, squashed Gaussians and `mode`.

Heads build their distributions with these functions so that every policy in
the library is a plain `tfp.distributions` object (STYLE §5).
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions
tfb = tfp.bijectors


class ClippedTanh(tfb.AutoCompositeTensorBijector):
  """`Y = tanh(X)` whose inverse clips `Y` to `[-1 + eps, 1 - eps]` first.

  Identical to `tfb.Tanh` (same numerically stable forward log-det
  `log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x))`) except that
  `inverse(y) = atanh(clip(y, -1 + eps, 1 - eps))`. In float32 `tanh(x)`
  rounds to exactly +-1 for |x| > ~9, so actions that were sampled (or stored
  in replay, or clipped by an environment) at the action bounds would otherwise
  have an infinite pre-image and a NaN / infinite `log_prob`. Inside the
  clipped band the density is exact; at the band the log-density is finite
  (about `log N(atanh(1 - eps)) - log(2 eps)`).

  When `log_prob` is evaluated on the very tensor returned by `sample` (same
  graph or eager), TFP's bijector cache returns the exact pre-tanh sample and
  the clip is never applied.
  """

  def __init__(self, epsilon: float = 1e-6, validate_args: bool = False,
               name: str = 'clipped_tanh'):
    """Creates the bijector.

    Args:
      epsilon: half-width of the excluded band at each end of (-1, 1), in the
        tanh output space. 1e-6 is representable around 1 in float32.
      validate_args: passed to `tfb.Bijector`.
      name: name scope.
    """
    parameters = dict(locals())
    self._epsilon = float(epsilon)
    with tf.name_scope(name) as name:
      super().__init__(
          forward_min_event_ndims=0,
          validate_args=validate_args,
          parameters=parameters,
          name=name)

  @property
  def epsilon(self) -> float:
    return self._epsilon

  @classmethod
  def _is_increasing(cls):
    return True

  @classmethod
  def _parameter_properties(cls, dtype):
    return dict()

  def _forward(self, x):
    return tf.math.tanh(x)

  def _inverse(self, y):
    bound = tf.cast(1.0 - self._epsilon, y.dtype)
    return tf.atanh(tf.clip_by_value(y, -bound, bound))

  def _forward_log_det_jacobian(self, x):
    return 2. * (np.log(2.) - x - tf.math.softplus(-2. * x))


def squash_to_bounds_bijector(low, high, epsilon: float = 1e-6) -> tfb.Bijector:
  """Bijector `u -> mid + half_range * tanh(u)` onto the box `(low, high)`.

  `mid = (high + low) / 2`, `half_range = (high - low) / 2`, per dimension.
  Its forward log-det is `sum log(1 - tanh(u)^2) + sum log(half_range)` over
  the event (computed stably, see `ClippedTanh`).

  Args:
    low: `[A]` (or broadcastable) finite lower bounds.
    high: `[A]` finite upper bounds, `high > low`.
    epsilon: see `ClippedTanh`.

  Returns:
    A `tfb.Chain([Shift(mid), Scale(half_range), ClippedTanh(epsilon)])`.
  """
  low = tf.convert_to_tensor(low, tf.float32)
  high = tf.convert_to_tensor(high, tf.float32)
  return tfb.Chain([
      tfb.Shift((high + low) / 2.0),
      tfb.Scale((high - low) / 2.0),
      ClippedTanh(epsilon),
  ])


def tanh_squashed_gaussian(loc, scale, low, high,
                           epsilon: float = 1e-6) -> tfd.Distribution:
  """Diagonal Gaussian pushed through tanh and rescaled to `(low, high)`.

  `a = mid + half_range * tanh(u)`, `u ~ N(loc, diag(scale^2))`, so
  `log pi(a) = log N(u) - sum_i log(1 - tanh(u_i)^2) - sum_i log(half_range_i)`
  (Haarnoja et al. 2018, SAC, arXiv:1801.01290, appendix C).

  Args:
    loc: `[..., A]` pre-squash means.
    scale: `[..., A]` pre-squash standard deviations (> 0).
    low: `[A]` lower action bounds.
    high: `[A]` upper action bounds.
    epsilon: see `ClippedTanh`.

  Returns:
    A `tfd.TransformedDistribution` with batch shape `[...]` and event shape
    `[A]`. It has no analytic `mean`/`entropy`; use `mode` below for the
    deterministic action and `-log_prob(sample)` for entropy estimates.
  """
  base = tfd.Independent(tfd.Normal(loc=loc, scale=scale),
                         reinterpreted_batch_ndims=1)
  return tfd.TransformedDistribution(
      distribution=base, bijector=squash_to_bounds_bijector(low, high, epsilon))


def mode(dist: tfd.Distribution) -> tf.Tensor:
  """The deterministic (evaluation) action of a policy distribution.

  - `Categorical`: `argmax` of the logits, `[...]` int32.
  - `Normal` / `Independent(Normal)`: the mean, `[..., A]`.
  - `TransformedDistribution` (e.g. tanh-squashed Gaussian):
    `bijector.forward(mode(base))`, i.e. `mid + half_range * tanh(loc)`. This
    is the usual SAC evaluation action, the image of the base mode, not the
    exact mode of the squashed density (TFP does not implement it).
  - `Deterministic`: its `loc`.

  Args:
    dist: a distribution returned by one of the heads in `networks.heads`.

  Returns:
    A tensor shaped like `dist.sample()`.
  """
  if isinstance(dist, tfd.TransformedDistribution):
    return dist.bijector.forward(mode(dist.distribution))
  if isinstance(dist, tfd.Independent):
    return mode(dist.distribution)
  return dist.mode()


def gumbel_softmax(logits: tf.Tensor, temperature: float, seed: tf.Tensor,
                   hard: bool = True) -> tf.Tensor:
  """A differentiable sample of Categorical(logits) by the Gumbel-softmax relaxation (Jang et
  al. 2017, arXiv:1611.01144, eq. 1; the concrete distribution of Maddison et al. 2017).

      y = softmax((logits + g) / temperature),  g_k ~ Gumbel(0, 1) i.i.d.

  drawn from `tfd.RelaxedOneHotCategorical`. With `hard`, the value is the one-hot
  `one_hot(argmax y)`, an exact sample of Categorical(logits), while the gradient is y's
  (the straight-through estimator, section 2.2): what MADDPG's discrete actors feed their
  critics (Lowe et al. 2017, section 4).

  Args:
    logits: [..., K] unnormalized log-probabilities.
    temperature: tau > 0; the relaxed sample tends to one-hot as tau -> 0.
    seed: a stateless seed, [2] int32.
    hard: return the straight-through one-hot sample instead of the relaxed y.

  Returns:
    [..., K] float32: one-hot vectors (hard) or points of the simplex, differentiable in
    `logits`.
  """
  relaxed = tfd.RelaxedOneHotCategorical(temperature, logits=logits).sample(seed=seed)
  if not hard:
    return relaxed
  one_hot = tf.one_hot(tf.argmax(relaxed, axis=-1), tf.shape(logits)[-1], dtype=relaxed.dtype)
  return one_hot + (relaxed - tf.stop_gradient(relaxed))  # Exactly one-hot, y's gradient.
