"""SAC action selection: samples of the tanh-squashed Gaussian policy (compiled)."""

from dm_env import specs
import numpy as np
import tensorflow as tf

from networks import critics
from networks import distributions


class SquashedGaussianPolicy(tf.Module):
  """Acts with a = mid + half_range * tanh(u), u ~ N(loc(s), scale(s)^2) (SAC's policy).

  `mode` is the evaluation action mid + half_range * tanh(loc(s)). Noise comes from a
  checkpointed `tf.random.Generator`, so a seeded run is reproducible and a resumed run
  continues its stream.

  Args:
    policy: a `critics.StochasticActor` with a tanh-Gaussian head.
    observation_spec: fixes the compiled signature.
    seed: seeds the sampling.
    jit_compile: compile `select` and `mode` with XLA.
  """

  def __init__(self, policy: critics.StochasticActor, observation_spec: specs.Array,
               seed: int, jit_compile: bool = True):
    super().__init__(name='squashed_gaussian_policy')
    self._policy = policy
    self._rng = tf.random.Generator.from_seed(seed)
    signature = [tf.TensorSpec((None,) + tuple(observation_spec.shape),
                               tf.as_dtype(np.dtype(observation_spec.dtype)))]
    self.select = tf.function(self._select, input_signature=signature, autograph=False,
                              jit_compile=jit_compile)
    self.mode = tf.function(self._mode, input_signature=signature, autograph=False,
                            jit_compile=jit_compile)

  def reset(self) -> None:
    """Nothing to reset between episodes (the policy's noise is i.i.d.)."""

  def _select(self, observation: tf.Tensor) -> tf.Tensor:
    """Sampled actions [B, A] for observations [B, ...]."""
    seed = tf.cast(self._rng.make_seeds(1)[:, 0], tf.int32)
    return self._policy(observation).sample(seed=seed)

  def _mode(self, observation: tf.Tensor) -> tf.Tensor:
    """The deterministic evaluation action [B, A]."""
    return distributions.mode(self._policy(observation))
