"""Shared helpers for the losses tests: run a function eagerly or XLA-compiled."""

import numpy as np
import tensorflow as tf

# Named parameters for `parameterized.named_parameters`: every numeric test runs both ways.
MODES = (("eager", False), ("jit", True))


def run(fn, *args, jit=False, **kwargs):
  """Calls `fn(*args, **kwargs)` eagerly, or inside `tf.function(jit_compile=True)`.

  Tensor positional args become inputs of the compiled function; kwargs are closed over (so a
  Python float hyper-parameter stays a constant, as in a learner).
  """
  if not jit:
    return fn(*args, **kwargs)
  args = [tf.convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
  return tf.function(lambda *a: fn(*a, **kwargs), jit_compile=True, autograph=False)(*args)


def with_unknown_dims(fn, specs, **kwargs):
  """`fn` compiled with an input signature whose dims are all `None`, plus XLA."""
  return tf.function(lambda *a: fn(*a, **kwargs), input_signature=specs, jit_compile=True,
                     autograph=False)


def spec(rank, dtype=tf.float32):
  return tf.TensorSpec([None] * rank, dtype)


def to_numpy(x):
  return tf.nest.map_structure(lambda t: np.asarray(t), x)
