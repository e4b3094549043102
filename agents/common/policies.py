"""The actors' policies: compiled action selection (no optimizer), the compile convention
every policy follows, and the on-policy agents' network and `ActorCriticPolicy`."""

from typing import Callable, Optional, Tuple

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import running_stats
from networks import actor_critic
from networks import distributions


def compiled(method: Callable[[tf.Tensor], object], observation_spec: specs.Array,
             jit_compile: Optional[bool] = None):
  """`method(observation)` as the `tf.function` a policy's actor calls.

  The actors' compile convention: one trace for a batch of observations [B, ...] of
  `observation_spec` (any B), without AutoGraph (the graph code has no Python control flow on
  tensors, and tracing does not convert every function it reaches), with XLA where
  `jit_compile` says so (None: TF's default).
  """
  signature = [tf.TensorSpec((None,) + tuple(observation_spec.shape),
                             tf.as_dtype(np.dtype(observation_spec.dtype)))]
  return tf.function(method, input_signature=signature, autograph=False, jit_compile=jit_compile)


def make_network(spec: core.EnvironmentSpec, config, seed: int, *,
                 shared_torso: bool) -> actor_critic.ActorCritic:
  """The `ActorCritic` of an on-policy config (`OnPolicyConfig`: hidden sizes, activation,
  initial log std) for an environment: a categorical policy for discrete actions, a diagonal
  Gaussian with a learned, state-independent log std for continuous ones.

  Args:
    spec: the environment's observation and action specs.
    config: has `hidden_sizes`, `activation` and `init_log_std`.
    seed: seeds the initializers.
    shared_torso: one torso for the policy and the value (else two networks).
  """
  return actor_critic.make_actor_critic(
      spec.observation, spec.action, hidden_sizes=config.hidden_sizes,
      activation=config.activation, shared_torso=shared_torso,
      init_log_std=config.init_log_std, seed=seed)


def make_observation_normalizer(spec: core.EnvironmentSpec,
                                config) -> Optional[running_stats.RunningMeanStd]:
  """Running observation statistics when `config.normalize_observations` (a `RolloutConfig`),
  else None."""
  if not config.normalize_observations:
    return None
  return running_stats.RunningMeanStd(spec.observation.shape, name='obs_stats')


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
    self.step = compiled(self._step, observation_spec, jit_compile)
    self.value = compiled(self._value, observation_spec)
    self.mode = compiled(self._mode, observation_spec)

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
