"""Tests for agents.common.plotting."""

import csv
import os
import shutil
import struct
import tempfile
import warnings

import tensorflow as tf

from agents.common import plotting


def _tempdir(test):
  """A fresh directory removed after `test` (absl's create_tempdir needs parsed flags)."""
  path = tempfile.mkdtemp()
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


def _png_size(path):
  with open(path, 'rb') as f:
    header = f.read(24)
  assert header[:8] == b'\x89PNG\r\n\x1a\n', header[:8]
  return struct.unpack('>II', header[16:24])


class PlotLearningCurveTest(tf.test.TestCase):

  def _csv(self, rows, fieldnames):
    path = os.path.join(_tempdir(self), 'metrics.csv')
    with open(path, 'w', newline='') as f:
      writer = csv.DictWriter(f, fieldnames=fieldnames)
      writer.writeheader()
      writer.writerows(rows)
    return path

  def test_writes_png(self):
    csv_path = self._csv(
        [dict(env_steps=100, episode_return=10.0, eval_return=''),
         dict(env_steps=200, episode_return='nan', eval_return=50.0),
         dict(env_steps=300, episode_return=30.0, eval_return=80.0)],
        ['env_steps', 'episode_return', 'eval_return'])
    png_path = os.path.join(_tempdir(self), 'plots', 'nested', 'curve.png')
    self.assertEqual(plotting.plot_learning_curve(csv_path, png_path, title='ppo'), png_path)
    self.assertEqual(_png_size(png_path), (700, 400))

  def test_missing_series_are_skipped(self):
    csv_path = self._csv([dict(env_steps=1, loss=0.5)], ['env_steps', 'loss'])
    png_path = os.path.join(_tempdir(self), 'curve.png')
    with warnings.catch_warnings():
      warnings.simplefilter('ignore', UserWarning)  # matplotlib: an empty legend.
      plotting.plot_learning_curve(csv_path, png_path)
    self.assertGreater(os.path.getsize(png_path), 0)
    self.assertEqual(_png_size(png_path), (700, 400))


if __name__ == '__main__':
  tf.test.main()
