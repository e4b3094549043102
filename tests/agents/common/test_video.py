"""Tests of agents.common.video: evaluation episodes recorded as MP4 videos."""

import importlib.util
import os
import shutil
import tempfile
import unittest
from unittest import mock

import imageio
import numpy as np
import tensorflow as tf

from agents.common import evaluation
from agents.common import video


def _policy(observation: np.ndarray) -> np.ndarray:
  """Pushes the cart towards the pole's lean: episodes of different lengths per seed."""
  return (observation[:, 2] > 0).astype(np.int64)


def _frames(path: str) -> int:
  """The frames in an MP4 (read with ffmpeg, which the video extra installs)."""
  with imageio.v2.get_reader(path, format='FFMPEG') as reader:
    return reader.count_frames()


@unittest.skipUnless(importlib.util.find_spec('moviepy'), "needs the video extra (moviepy)")
class RecordTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = os.path.join(tempfile.mkdtemp(), 'videos')
    self.addCleanup(shutil.rmtree, os.path.dirname(self.folder), ignore_errors=True)

  def test_every_episode_is_recorded_with_the_returns_of_the_evaluation(self):
    result, paths = video.record(_policy, 'CartPole-v1', 2, 7, self.folder)
    expected = evaluation.evaluate(_policy, 'CartPole-v1', 2, 7)
    self.assertAllEqual(result.returns, expected.returns)
    self.assertAllEqual(result.lengths, expected.lengths)
    self.assertEqual(paths, [os.path.join(self.folder, f'episode-{i}.mp4') for i in range(2)])
    self.assertEqual(sorted(os.listdir(self.folder)), ['episode-0.mp4', 'episode-1.mp4'])
    for path, length in zip(paths, result.lengths):
      self.assertEqual(_frames(path), length + 1)  # The first observation, then every step.

  def test_an_environment_that_cannot_render_is_refused(self):
    with self.assertRaisesRegex(video.VideoError,
                                r"^MultiGoal-v0 cannot render frames \(its render modes: \[\]"):
      video.record(_policy, 'MultiGoal-v0', 1, 0, self.folder)
    self.assertFalse(os.path.exists(self.folder))


class MissingMoviepyTest(tf.test.TestCase):

  def test_without_moviepy_the_extra_is_named(self):
    with mock.patch.object(video.importlib.util, 'find_spec', return_value=None):
      with self.assertRaisesRegex(video.VideoError, r"needs moviepy: pip install -e '.\[video\]'"):
        video.check_renders('CartPole-v1')


if __name__ == '__main__':
  tf.test.main()
