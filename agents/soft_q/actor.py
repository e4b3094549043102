"""Soft Q-learning's policies: samples of the amortized sampler (acting), and the best of N
samples by Q (deterministic evaluation)."""

from dm_env import specs
import tensorflow as tf

from agents.common import policies


class SamplerPolicy(tf.Module):
  """Acts with a = f(s, xi), xi ~ N(0, I) (`select`); `mode` is deterministic: the action with
  the largest Q(s, a) among `eval_samples` sampler actions drawn with a fixed noise set.

  Noise comes from a checkpointed `tf.random.Generator`, so a seeded run is reproducible and a
  resumed run continues its stream.

  Args:
    sampler: a `critics.SamplerNetwork`.
    q_network: the soft Q-network (for `mode`).
    observation_spec: fixes the compiled signatures.
    eval_samples: N of `mode`.
    seed: seeds the sampling (and `mode`'s fixed noise).
    jit_compile: compile `select` and `mode` with XLA.
  """

  def __init__(self, sampler, q_network, observation_spec: specs.Array, eval_samples: int,
               seed: int, jit_compile: bool = False):
    super().__init__(name='sampler_policy')
    self._sampler = sampler
    self._q = q_network
    self._rng = tf.random.Generator.from_seed(seed)
    self._mode_noise = tf.random.stateless_normal([eval_samples, sampler.noise_size],
                                                  seed=[seed, 1])
    self.select = policies.compiled(self._select, observation_spec, jit_compile)
    self.mode = policies.compiled(self._mode, observation_spec, jit_compile)

  def reset(self) -> None:
    """Nothing to reset between episodes (the noise is i.i.d.)."""

  def _select(self, observation: tf.Tensor) -> tf.Tensor:
    """Sampled actions [B, A] for observations [B, ...]."""
    observation = tf.cast(observation, tf.float32)
    noise = self._rng.normal([tf.shape(observation)[0], self._sampler.noise_size])
    return self._sampler(observation, noise)

  def _mode(self, observation: tf.Tensor) -> tf.Tensor:
    """The best of `eval_samples` sampler actions by Q, [B, A]."""
    observation = tf.cast(observation, tf.float32)
    batch = tf.shape(observation)[0]
    count = tf.shape(self._mode_noise)[0]
    tiled = tf.repeat(observation, count, axis=0)
    noise = tf.tile(self._mode_noise, [batch, 1])
    actions = self._sampler(tiled, noise)
    q_values = tf.reshape(self._q(tiled, actions), [batch, count])
    best = tf.argmax(q_values, axis=1, output_type=tf.int32)
    actions = tf.reshape(actions, [batch, count, -1])
    return tf.gather(actions, best, axis=1, batch_dims=1)
