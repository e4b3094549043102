"""The policy of the on-policy agents' actors: compiled action selection (no optimizer)."""

from typing import Optional, Tuple

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import running_stats
from networks import distributions


class ActorCriticPolicy(tf.Module):
  """Samples actions from an actor-critic network and reports log mu(a|s) and V(s).

  Used by the on-policy agents (PPO, A2C, TRPO): `step` is what the rollout collector calls on
  every environment step, `mode` is the deterministic policy used for evaluation. Sampling uses
  stateless seeds drawn from a checkpointed `tf.random.Generator`, so a seeded run is
  reproducible and a resumed run continues the same stream.

  Args:
    network: an `ActorCritic` (observations -> (distribution, value)).
    observation_spec: the environment's observation spec (fixes the compiled signature).
    seed: seeds action sampling.
    observation_normalizer: running statistics applied to observations first, or None.
    jit_compile: compile `step` with XLA (for actors that call it once per env step).
  """

  def __init__(self, network, observation_spec: specs.Array, seed: int,
               observation_normalizer: Optional[running_stats.RunningMeanStd] = None,
               jit_compile: bool = False):
    super().__init__(name='actor_critic_policy')
    self._network = network
    self._normalizer = observation_normalizer
    self._rng = tf.random.Generator.from_seed(seed)
    signature = [tf.TensorSpec((None,) + tuple(observation_spec.shape),
                               tf.as_dtype(np.dtype(observation_spec.dtype)))]
    self.step = tf.function(self._step, input_signature=signature, autograph=False,
                            jit_compile=jit_compile)
    self.value = tf.function(self._value, input_signature=signature, autograph=False)
    self.mode = tf.function(self._mode, input_signature=signature, autograph=False)

  def reseed(self, seed: int) -> None:
    """Restarts action sampling from `seed`."""
    self._rng.reset_from_seed(seed)

  @property
  def rng_state(self) -> np.ndarray:
    """The sampling generator's state (for actors whose policy is not checkpointed)."""
    return self._rng.state.numpy()

  def set_rng_state(self, state: np.ndarray) -> None:
    """Continues sampling from a `rng_state`."""
    self._rng.reset(state)

  def _normalize(self, observation: tf.Tensor) -> tf.Tensor:
    if self._normalizer is None:
      return observation
    return self._normalizer.normalize(observation)

  def _step(self, observation: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Returns (action [B, ...], log mu(action | s) [B], V(s) [B]) for observations [B, ...]."""
    distribution, value = self._network(self._normalize(observation))
    seed = tf.cast(self._rng.make_seeds(1)[:, 0], tf.int32)
    action = distribution.sample(seed=seed)
    return action, distribution.log_prob(action), value

  def _value(self, observation: tf.Tensor) -> tf.Tensor:
    """Returns V(s) [B] for observations [B, ...]."""
    return self._network.value(self._normalize(observation))

  def _mode(self, observation: tf.Tensor) -> tf.Tensor:
    """Returns the deterministic action (the distribution's mode) [B, ...]."""
    return distributions.mode(self._network.policy(self._normalize(observation)))
