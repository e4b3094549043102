"""SAC action selection: samples of the tanh-squashed Gaussian policy (compiled)."""

from dm_env import specs
import tensorflow as tf

from agents.common import policies
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
    self.select = policies.compiled(self._select, observation_spec, jit_compile)
    self.mode = policies.compiled(self._mode, observation_spec, jit_compile)

  def reset(self) -> None:
    """Nothing to reset between episodes (the policy's noise is i.i.d.)."""

  def _select(self, observation: tf.Tensor) -> tf.Tensor:
    """Sampled actions [B, A] for observations [B, ...]."""
    seed = tf.cast(self._rng.make_seeds(1)[:, 0], tf.int32)
    return self._policy(observation).sample(seed=seed)

  def _mode(self, observation: tf.Tensor) -> tf.Tensor:
    """The deterministic evaluation action [B, A]."""
    return distributions.mode(self._policy(observation))
