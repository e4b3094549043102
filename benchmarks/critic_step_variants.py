r"""Why the off-policy update stays a plain graph of two critics: two measurements behind the
README's analysis of the matmul bound.

  python benchmarks/critic_step_variants.py --steps=1000

- `xla_vs_graph`: steps per second of one critic step (a 4 -> 256 -> 256 -> 1 ReLU MLP on a
  batch of 256: forward, squared error, backward, SGD) in a compiled `tf.while_loop`, as a
  plain graph and with XLA.
- `twin_vs_batched`: steps per second of two such critics trained with Adam, as two Keras
  networks (what `networks.critics.TwinQNetwork` does) and as one network whose weights carry a
  leading ensemble dimension of 2 (batched matrix multiplications).
Both compare within one run (the machine is shared); prints one JSON line.
"""

import json
import time

from absl import app
from absl import flags
import tensorflow as tf

_STEPS = flags.DEFINE_integer('steps', 1000, 'Timed steps per variant.')

_BATCH, _IN, _HIDDEN = 256, 4, 256


def _mlp() -> tf.keras.Sequential:
  network = tf.keras.Sequential([tf.keras.layers.Dense(_HIDDEN, 'relu'),
                                 tf.keras.layers.Dense(_HIDDEN, 'relu'),
                                 tf.keras.layers.Dense(1)])
  network.build([None, _IN])
  return network


def _rate(step, jit_compile: bool = False) -> float:
  """Steps per second of `step()` (returns a scalar loss) in a compiled loop."""
  loop = tf.function(
      lambda n: tf.while_loop(lambda i, c: i < n, lambda i, c: (i + 1, c + step()),
                              (0, 0.0))[1], jit_compile=jit_compile)
  loop(10).numpy()
  start = time.perf_counter()
  loop(_STEPS.value).numpy()
  return _STEPS.value / (time.perf_counter() - start)


def main(argv):
  del argv
  x = tf.random.normal([_BATCH, _IN], seed=0)
  y = tf.random.normal([_BATCH, 1], seed=1)

  critic = _mlp()

  def sgd_step():
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.square(critic(x) - y))
    for variable, gradient in zip(critic.trainable_variables,
                                  tape.gradient(loss, critic.trainable_variables)):
      variable.assign_sub(1e-3 * gradient)
    return loss

  twin = [_mlp(), _mlp()]
  twin_variables = twin[0].trainable_variables + twin[1].trainable_variables
  twin_optimizer = tf.keras.optimizers.Adam(1e-3)

  def twin_step():
    with tf.GradientTape() as tape:
      loss = tf.add_n([tf.reduce_mean(tf.square(q(x) - y)) for q in twin])
    twin_optimizer.apply_gradients(zip(tape.gradient(loss, twin_variables), twin_variables))
    return loss

  shapes = [[2, _IN, _HIDDEN], [2, 1, _HIDDEN], [2, _HIDDEN, _HIDDEN], [2, 1, _HIDDEN],
            [2, _HIDDEN, 1], [2, 1, 1]]
  batched = [tf.Variable(tf.random.normal(shape, seed=2) * 0.05) for shape in shapes]
  batched_optimizer = tf.keras.optimizers.Adam(1e-3)

  def batched_step():
    with tf.GradientTape() as tape:
      h = tf.nn.relu(tf.einsum('bi,eio->ebo', x, batched[0]) + batched[1])
      h = tf.nn.relu(tf.matmul(h, batched[2]) + batched[3])
      q = tf.matmul(h, batched[4]) + batched[5]
      loss = tf.reduce_sum(tf.reduce_mean(tf.square(q - y), axis=[1, 2]))
    batched_optimizer.apply_gradients(zip(tape.gradient(loss, batched), batched))
    return loss

  record = {
      'xla_vs_graph': {'graph_steps_per_s': _rate(sgd_step),
                       'xla_steps_per_s': _rate(sgd_step, jit_compile=True)},
      'twin_vs_batched': {'two_networks_steps_per_s': _rate(twin_step),
                          'batched_matmul_steps_per_s': _rate(batched_step)},
  }
  print(json.dumps(record), flush=True)


if __name__ == '__main__':
  app.run(main)
