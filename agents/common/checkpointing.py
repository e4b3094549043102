"""Checkpoints with `tf.train.CheckpointManager`: re-running the same command resumes.

A checkpoint is trusted only after every tensor in it has been read back: a truncated index or
data file, or a state file (`checkpoints/checkpoint`) that is garbage or names missing files,
never reaches `tf.train.Checkpoint.restore`. The newest intact checkpoint is restored and each
damaged newer one is reported (and renamed `*.damaged`, so the run's later saves cannot be
confused with it). Folders `ckpt-N_temp*` that a kill left mid-save are removed.
"""

import glob
import os
import re
import shutil
from typing import Any, Callable, List, Optional, Tuple

import numpy as np
import tensorflow as tf

_NAME = re.compile(r'^ckpt-(\d+)$')


class MismatchedCheckpoint(RuntimeError):
  """A checkpoint does not hold every variable of the agent restoring it (one written by
  another version of the code, or another agent)."""


class NonFiniteState(RuntimeError):
  """The run's variables hold a NaN or an infinity: they are not saved."""


class NoIntactCheckpoint(RuntimeError):
  """A checkpoint directory holds checkpoints, none of which can be read."""


def directory(logdir: str) -> str:
  """Where a run's checkpoints live."""
  return os.path.join(logdir, 'checkpoints')


def _number(prefix: str) -> int:
  match = _NAME.match(os.path.basename(prefix))
  return int(match.group(1)) if match else -1


def checkpoint_prefixes(checkpoint_dir: str) -> List[str]:
  """Every `ckpt-N` prefix with an index file in `checkpoint_dir`, newest (largest N) first."""
  prefixes = [path[:-len('.index')] for path in glob.glob(os.path.join(checkpoint_dir,
                                                                        'ckpt-*.index'))]
  return sorted((p for p in prefixes if _number(p) >= 0), key=_number, reverse=True)


def checkpoint_steps(logdir: str) -> List[int]:
  """The env steps of a run's checkpoints on disk (`ckpt-N` with an index file), newest first."""
  return [_number(prefix) for prefix in checkpoint_prefixes(directory(logdir))]


def damage(prefix: str) -> Optional[str]:
  """Why the checkpoint at `prefix` cannot be restored (None: every tensor reads back)."""
  try:
    reader = tf.train.load_checkpoint(prefix)
    for name in reader.get_variable_to_shape_map():
      reader.get_tensor(name)
  except Exception as error:  # pylint: disable=broad-except
    # TF reports damage as OpError, IndexError, ValueError, ... depending on the file.
    return f'{type(error).__name__}: {str(error).splitlines()[0][:160]}'
  return None


def intact_checkpoints(checkpoint_dir: str) -> Tuple[List[str], List[Tuple[str, str]]]:
  """The checkpoints that read back, and the damaged ones with the reason, newest first.

  Stops at the newest intact one: only it and the damaged newer ones are read.
  """
  damaged = []
  for prefix in checkpoint_prefixes(checkpoint_dir):
    problem = damage(prefix)
    if problem is None:
      return [prefix], damaged
    damaged.append((prefix, problem))
  return [], damaged


def newest_intact_step(logdir: str) -> Optional[int]:
  """The env step of the checkpoint a run in `logdir` resumes from (None: none intact)."""
  intact, _ = intact_checkpoints(directory(logdir))
  return _number(intact[0]) if intact else None


def _remove_temporaries(checkpoint_dir: str) -> None:
  for path in glob.glob(os.path.join(checkpoint_dir, 'ckpt-*_temp*')):
    if os.path.isdir(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      os.remove(path)


def _write_state(checkpoint_dir: str, prefixes: List[str]) -> None:
  """Writes the state file `CheckpointManager` reads: `prefixes` (oldest first; the last is
  the latest), with their index files' times, atomically."""
  names = [os.path.basename(p) for p in prefixes]
  times = [os.path.getmtime(p + '.index') for p in prefixes]
  lines = [f'model_checkpoint_path: "{names[-1]}"']
  lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
  lines += [f'all_model_checkpoint_timestamps: {t}' for t in times]
  lines.append(f'last_preserved_timestamp: {min(times) - 1.0}')  # Older: not kept forever.
  path = os.path.join(checkpoint_dir, 'checkpoint')
  with open(path + '.tmp', 'w') as f:
    f.write('\n'.join(lines) + '\n')
  os.replace(path + '.tmp', path)


class Checkpointer:
  """Saves and restores every trackable of a run (networks, optimizers, counters, RNGs).

  Checkpoints go to `logdir/checkpoints`; the newest `max_to_keep` are kept. The caller keeps
  the environment-step counter as a `tf.Variable` among the trackables, so a restored run knows
  where it stopped.

  Args:
    logdir: the run's directory.
    max_to_keep: checkpoints kept.
    warn: receives one line per damaged checkpoint skipped at `restore`.
    **trackables: what to save, by name.
  """

  def __init__(self, logdir: str, max_to_keep: int = 3,
               warn: Callable[[str], None] = print, **trackables):
    self._directory = directory(logdir)
    self._max_to_keep = max_to_keep
    self._warn = warn
    self._checkpoint = tf.train.Checkpoint(**trackables)
    self._manager = None

  def _make_manager(self) -> None:
    self._manager = tf.train.CheckpointManager(self._checkpoint, self._directory,
                                               max_to_keep=self._max_to_keep)

  def restore(self) -> Optional[str]:
    """Restores the newest intact checkpoint; returns its path, or None if there is none.

    Damaged newer checkpoints are renamed `*.damaged` with a warning; the state file is
    rewritten to list the intact checkpoints.

    Raises:
      NoIntactCheckpoint: if checkpoints exist and none of them reads back.
      MismatchedCheckpoint: if the newest intact one lacks some of the agent's variables.
    """
    _remove_temporaries(self._directory)
    intact, damaged = intact_checkpoints(self._directory)
    for prefix, problem in damaged:
      for path in glob.glob(prefix + '.*'):
        if not path.endswith('.damaged'):
          os.replace(path, path + '.damaged')
      self._warn(f'Warning: checkpoint {prefix} is damaged ({problem}); renamed it *.damaged.')
    if damaged and not intact:
      raise NoIntactCheckpoint(
          f'no intact checkpoint in {self._directory} ({len(damaged)} damaged)')
    if intact:
      # The state file is rewritten from the files themselves: it may be missing, garbage or
      # name checkpoints that are gone.
      older = [p for p in checkpoint_prefixes(self._directory) if _number(p) < _number(intact[0])]
      _write_state(self._directory, list(reversed(older[:self._max_to_keep - 1])) + intact)
    self._make_manager()
    path = self._manager.latest_checkpoint
    if path:
      # Optimizer slots are restored when first created; expect_partial keeps a run that ends
      # before then (e.g. on a fault) from warning about them at exit.
      status = self._checkpoint.restore(path)
      try:
        status.assert_existing_objects_matched()
      except AssertionError as error:
        unmatched = str(error).partition('unmatched objects:')[2].strip()
        raise MismatchedCheckpoint(
            f'{path} does not match this agent (written by another version of the code?); '
            f'not in it: {unmatched[:200]}') from None
      status.expect_partial()
    return path

  def save(self, step: int, before: Callable[[], Any] = lambda: None) -> str:
    """Writes a checkpoint tagged with `step` and returns its path.

    Args:
      step: the env step the checkpoint is tagged with.
      before: called once the variables are known to be finite, just before writing (e.g. to
        save state kept outside the checkpoint that it refers to).

    Raises:
      NonFiniteState: (nothing written, `before` not called) if a float variable holds a NaN
        or an infinity.
    """
    bad = self.first_nonfinite()
    if bad is not None:
      raise NonFiniteState(f'variable {bad} is not finite; no checkpoint was written at '
                           f'{step:,} env steps')
    before()
    if self._manager is None:
      self._make_manager()
    return self._manager.save(checkpoint_number=step)

  def first_nonfinite(self) -> Optional[str]:
    """The name of the first checkpointed float variable with a NaN or infinity, or None."""
    variables = [t for t in tf.train.TrackableView(self._checkpoint).descendants()
                 if isinstance(t, tf.Variable) and t.dtype.is_floating]
    if not variables:
      return None
    finite = tf.stack([tf.reduce_all(tf.math.is_finite(v)) for v in variables]).numpy()
    if finite.all():
      return None
    return variables[int(np.argmin(finite))].name

  @property
  def latest(self) -> Optional[str]:
    if self._manager is None:
      return None
    return self._manager.latest_checkpoint
