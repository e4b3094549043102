"""Running mean and variance of observations (or returns), kept as checkpointable TF variables."""

import tensorflow as tf


class RunningMeanStd(tf.Module):
  """Mean and variance over every sample seen, merged batch by batch (Chan et al. 1979).

  `normalize(x)` gives `clip((x - mean) / sqrt(var + eps), -clip, clip)`. The statistics live in
  non-trainable variables so they are checkpointed and mirrored like the networks.
  """

  def __init__(self, shape, epsilon: float = 1e-8, clip: float = 10.0, name=None):
    super().__init__(name=name)
    self.mean = tf.Variable(tf.zeros(shape, tf.float32), trainable=False, name='mean')
    self.var = tf.Variable(tf.ones(shape, tf.float32), trainable=False, name='var')
    self.count = tf.Variable(1e-4, dtype=tf.float32, trainable=False, name='count')
    self._epsilon = epsilon
    self._clip = clip

  def update(self, batch: tf.Tensor) -> None:
    """Merges the statistics of `batch` [N, *shape] (leading dims are flattened into N)."""
    batch = tf.reshape(tf.cast(batch, tf.float32), [-1] + self.mean.shape.as_list())
    batch_mean = tf.reduce_mean(batch, axis=0)
    batch_var = tf.math.reduce_variance(batch, axis=0)
    batch_count = tf.cast(tf.shape(batch)[0], tf.float32)
    delta = batch_mean - self.mean
    total = self.count + batch_count
    new_mean = self.mean + delta * batch_count / total
    m2 = self.var * self.count + batch_var * batch_count + tf.square(delta) * self.count * (
        batch_count / total)
    self.mean.assign(new_mean)
    self.var.assign(m2 / total)
    self.count.assign(total)

  def normalize(self, x: tf.Tensor) -> tf.Tensor:
    """Standardizes `x` [..., *shape] with the current statistics and clips to [-clip, clip]."""
    x = (tf.cast(x, tf.float32) - self.mean) / tf.sqrt(self.var + self._epsilon)
    return tf.clip_by_value(x, -self._clip, self._clip)


class RewardScaler(tf.Module):
  """Divides rewards by the running standard deviation of the discounted return.

  The reward scaling of PPO implementations (Engstrom et al. 2020, arXiv:2005.12729, sec. 3):
  each environment keeps a running discounted return R <- gamma * R + r (reset where an episode
  ended), whose variance over all steps seen scales the rewards. The mean is not subtracted.
  """

  def __init__(self, num_envs: int, discount: float, epsilon: float = 1e-8,
               clip: float = 10.0, name=None):
    super().__init__(name=name)
    self.stats = RunningMeanStd((), epsilon=epsilon, clip=clip)
    self.returns = tf.Variable(tf.zeros([num_envs]), trainable=False, name='returns')
    self._discount = discount
    self._epsilon = epsilon
    self._clip = clip

  def __call__(self, rewards: tf.Tensor, episode_ends: tf.Tensor) -> tf.Tensor:
    """Updates the statistics with [T, B] `rewards` and returns them scaled.

    Args:
      rewards: [T, B] rewards in time order, continuing the previous call's streams.
      episode_ends: [T, B] 1.0 where the episode ended (terminated or truncated) after step t.
    """
    def accumulate(previous, inputs):
      reward, end = inputs
      current = self._discount * previous + reward
      return current * (1.0 - end)  # The next step starts a new episode.

    # Returns including step t (before the reset), and the carried state after step t.
    carried = tf.scan(accumulate, (rewards, episode_ends), initializer=self.returns)
    previous = tf.concat([self.returns[None], carried[:-1]], axis=0)
    returns = self._discount * previous + rewards
    self.returns.assign(carried[-1])
    self.stats.update(returns)
    scaled = rewards / tf.sqrt(self.stats.var + self._epsilon)
    return tf.clip_by_value(scaled, -self._clip, self._clip)
