"""DDPG/TD3 action selection: mu(s) plus exploration noise, clipped to the action bounds."""

from dm_env import specs
import tensorflow as tf

from agents.common import policies
from networks import heads


class NoisyDeterministicPolicy(tf.Module):
  """Acts with `clip(mu(s) + half_range * noise, low, high)` (compiled, no optimizer).

  `noise` is i.i.d. Gaussian N(0, sigma^2) (TD3, Fujimoto et al. 2018, section 6.1) or an
  Ornstein-Uhlenbeck process x <- x - theta x + sigma N(0, 1), reset to 0 at each episode start
  (DDPG, Lillicrap et al. 2015, section 7). Noise is drawn from a checkpointed
  `tf.random.Generator`, so a seeded run is reproducible and a resumed run continues its stream.

  Args:
    policy: the deterministic actor network, observations [B, ...] -> actions [B, A].
    observation_spec: fixes the compiled signature.
    action_spec: the bounds.
    noise: 'gaussian' or 'ou'.
    sigma: the noise scale, in units of half the action range.
    ou_theta: the OU mean-reversion rate.
    seed: seeds the noise.
    jit_compile: compile `select` and `mode` with XLA.
  """

  def __init__(self, policy: tf.keras.Model, observation_spec: specs.Array,
               action_spec: specs.BoundedArray, noise: str, sigma: float, ou_theta: float,
               seed: int, jit_compile: bool = True):
    super().__init__(name='noisy_deterministic_policy')
    if noise not in ('gaussian', 'ou'):
      raise ValueError(f"NoisyDeterministicPolicy: noise={noise!r}, use 'gaussian' or 'ou'")
    self._policy = policy
    low, high = heads.action_bounds(action_spec)
    self._low, self._high = tf.constant(low), tf.constant(high)
    self._half_range = tf.constant((high - low) / 2.0)
    self._noise = noise
    self._sigma = float(sigma)
    self._theta = float(ou_theta)
    self._rng = tf.random.Generator.from_seed(seed)
    self._ou_state = tf.Variable(tf.zeros(low.shape), trainable=False, name='ou_state')
    self.select = policies.compiled(self._select, observation_spec, jit_compile)
    self.mode = policies.compiled(self._mode, observation_spec, jit_compile)

  @property
  def network_variables(self):
    """The deterministic actor network's variables: what an actor process pulls."""
    return self._policy.variables

  def reseed(self, seed: int) -> None:
    """Restarts the noise stream from `seed` (e.g. one per actor process)."""
    self._rng.reset_from_seed(seed)

  def reset(self) -> None:
    """Called at every episode start: restarts the OU process at 0."""
    if self._noise == 'ou':
      self._ou_state.assign(tf.zeros_like(self._ou_state))

  def _select(self, observation: tf.Tensor) -> tf.Tensor:
    """Exploratory actions [B, A] for observations [B, ...]."""
    action = self._policy(observation, training=False)
    gaussian = self._rng.normal(tf.shape(action))
    if self._noise == 'ou':
      state = self._ou_state - self._theta * self._ou_state + self._sigma * gaussian[0]
      self._ou_state.assign(state)
      noise = tf.broadcast_to(state, tf.shape(action))
    else:
      noise = self._sigma * gaussian
    return tf.clip_by_value(action + self._half_range * noise, self._low, self._high)

  def _mode(self, observation: tf.Tensor) -> tf.Tensor:
    """The deterministic policy mu(s) [B, A]."""
    return self._policy(observation, training=False)
