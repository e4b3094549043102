"""Tests for agents.common.checkpointing."""

import os
import shutil
import tempfile

import tensorflow as tf

from agents.common import checkpointing


def _tempdir(test):
  """A fresh directory removed after `test` (absl's create_tempdir needs parsed flags)."""
  path = tempfile.mkdtemp()
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


def _trackables(seed=1, weights=(1.0, 2.0, 3.0), steps=0):
  return dict(
      weights=tf.Variable(weights, dtype=tf.float32),
      env_steps=tf.Variable(steps, dtype=tf.int64),
      rng=tf.random.Generator.from_seed(seed))


class CheckpointerTest(tf.test.TestCase):

  def test_restore_without_checkpoint_returns_none(self):
    trackables = _trackables()
    checkpointer = checkpointing.Checkpointer(_tempdir(self), **trackables)
    self.assertIsNone(checkpointer.restore())
    self.assertIsNone(checkpointer.latest)
    self.assertAllEqual(trackables['weights'], [1.0, 2.0, 3.0])

  def test_round_trip_of_variables_and_generator(self):
    logdir = _tempdir(self)
    saved = _trackables(seed=1)
    saved['rng'].normal([4])  # Advance the generator before saving.
    saved['weights'].assign([4.0, 5.0, 6.0])
    saved['env_steps'].assign(1234)
    path = checkpointing.Checkpointer(logdir, **saved).save(1234)
    self.assertTrue(path.endswith('ckpt-1234'), path)
    self.assertStartsWith(path, os.path.join(logdir, 'checkpoints'))
    expected_draws = saved['rng'].normal([5]).numpy()

    restored = _trackables(seed=99, weights=(0.0, 0.0, 0.0), steps=7)
    checkpointer = checkpointing.Checkpointer(logdir, **restored)
    self.assertEqual(checkpointer.restore(), path)
    self.assertEqual(checkpointer.latest, path)
    self.assertAllEqual(restored['weights'], [4.0, 5.0, 6.0])
    self.assertEqual(restored['env_steps'].numpy(), 1234)
    self.assertAllEqual(restored['rng'].normal([5]), expected_draws)

  def test_keeps_the_newest_checkpoints(self):
    logdir = _tempdir(self)
    trackables = _trackables()
    checkpointer = checkpointing.Checkpointer(logdir, max_to_keep=2, **trackables)
    for step in (10, 20, 30):
      trackables['env_steps'].assign(step)
      checkpointer.save(step)
    self.assertTrue(checkpointer.latest.endswith('ckpt-30'))
    index_files = sorted(f for f in os.listdir(os.path.join(logdir, 'checkpoints'))
                         if f.endswith('.index'))
    self.assertEqual(index_files, ['ckpt-20.index', 'ckpt-30.index'])
    restored = _trackables()
    checkpointing.Checkpointer(logdir, **restored).restore()
    self.assertEqual(restored['env_steps'].numpy(), 30)

  def test_restore_fails_when_an_object_is_missing_from_the_checkpoint(self):
    logdir = _tempdir(self)
    checkpointing.Checkpointer(logdir, weights=tf.Variable([1.0])).save(1)
    checkpointer = checkpointing.Checkpointer(
        logdir, weights=tf.Variable([0.0]), other=tf.Variable([0.0], name='other'))
    # One line naming the variable (e.g. a checkpoint of an older version of the agent),
    # not TensorFlow's AssertionError.
    with self.assertRaisesRegex(checkpointing.MismatchedCheckpoint,
                                r"ckpt-1 does not match this agent.*'other:0'"):
      checkpointer.restore()


if __name__ == '__main__':
  tf.test.main()
