"""The return type shared by every loss in `losses/`.

A loss returns `LossOutput(loss, extra)`:
  * `loss` is **per element** (the shape of the inputs, e.g. `[T, B]` or `[B]`), never reduced,
    so learners reduce it with `tf.nn.compute_average_loss(loss, global_batch_size=...)` under
    `tf.distribute`.
  * `extra` is a typed NamedTuple of per-element diagnostics defined next to the loss.
"""

from typing import Any, NamedTuple

import tensorflow as tf


class LossOutput(NamedTuple):
  """A per-element loss and a NamedTuple of diagnostics.

  Attributes:
    loss: per-element loss tensor; same leading shape as the loss's inputs.
    extra: a NamedTuple of diagnostic tensors (each field documented by the loss).
  """
  loss: tf.Tensor
  extra: Any
