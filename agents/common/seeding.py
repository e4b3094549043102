"""Seeding: the same seed gives the same run on CPU."""

import random

import numpy as np
import tensorflow as tf


def set_global_seeds(seed: int, deterministic_ops: bool = True) -> None:
  """Seeds Python, NumPy and TensorFlow, and (optionally) makes TF ops deterministic.

  Call once from a launcher's `main`, before any variable is created. With
  `deterministic_ops`, `tf.config.experimental.enable_op_determinism` makes reductions and
  scatter ops reproducible, so two runs with the same seed on CPU give identical results.

  Args:
    seed: a non-negative integer.
    deterministic_ops: whether to enable TF op determinism.
  """
  random.seed(seed)
  np.random.seed(seed % 2**32)
  tf.random.set_seed(seed)
  if deterministic_ops:
    tf.config.experimental.enable_op_determinism()
