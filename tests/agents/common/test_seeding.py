"""Tests for agents.common.seeding."""

import random

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
# The public API can enable op determinism but not disable it again (needed to clean up).
from tensorflow.python.framework import config as tf_config  # pylint: disable=g-direct-tensorflow-import

from agents.common import seeding


def _draws():
  return (random.random(), np.random.rand(3).tolist(),
          tf.random.uniform([3]).numpy().tolist(), tf.random.normal([2]).numpy().tolist())


class SeedingTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    was_enabled = tf_config.is_op_determinism_enabled()
    # Op determinism is process-wide: put it back so other tests in this worker are unaffected.
    self.addCleanup(lambda: (tf_config.enable_op_determinism() if was_enabled
                             else tf_config.disable_op_determinism()))

  @parameterized.parameters(False, True)
  def test_same_seed_same_draws(self, deterministic_ops):
    seeding.set_global_seeds(7, deterministic_ops=deterministic_ops)
    first = _draws()
    seeding.set_global_seeds(7, deterministic_ops=deterministic_ops)
    self.assertEqual(_draws(), first)
    seeding.set_global_seeds(8, deterministic_ops=deterministic_ops)
    other = _draws()
    for a, b in zip(first, other):
      self.assertNotEqual(a, b)
    self.assertEqual(tf_config.is_op_determinism_enabled(), deterministic_ops)

  def test_large_seed(self):
    seeding.set_global_seeds(2**40 + 3, deterministic_ops=False)
    first = _draws()
    seeding.set_global_seeds(2**40 + 3, deterministic_ops=False)
    self.assertEqual(_draws(), first)


if __name__ == '__main__':
  tf.test.main()
