"""Checkpoints with `tf.train.CheckpointManager`: re-running the same command resumes."""

import os
from typing import Optional

import tensorflow as tf


class Checkpointer:
  """Saves and restores every trackable of a run (networks, optimizers, counters, RNGs).

  Checkpoints go to `logdir/checkpoints`; the newest `max_to_keep` are kept. The caller keeps
  the environment-step counter as a `tf.Variable` among the trackables, so a restored run knows
  where it stopped.
  """

  def __init__(self, logdir: str, max_to_keep: int = 3, **trackables):
    self._checkpoint = tf.train.Checkpoint(**trackables)
    self._manager = tf.train.CheckpointManager(
        self._checkpoint, os.path.join(logdir, 'checkpoints'), max_to_keep=max_to_keep)

  def restore(self) -> Optional[str]:
    """Restores the latest checkpoint if there is one; returns its path or None."""
    path = self._manager.latest_checkpoint
    if path:
      self._checkpoint.restore(path).assert_existing_objects_matched()
    return path

  def save(self, step: int) -> str:
    """Writes a checkpoint tagged with `step` and returns its path."""
    return self._manager.save(checkpoint_number=step)

  @property
  def latest(self) -> Optional[str]:
    return self._manager.latest_checkpoint
