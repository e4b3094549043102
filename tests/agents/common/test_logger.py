"""Tests for agents.common.logger."""

import contextlib
import csv
import glob
import io
import math
import os
import shutil
import tempfile

import tensorflow as tf

from agents.common import logger as logger_lib


def _tempdir(test):
  """A fresh directory removed after `test` (absl's create_tempdir needs parsed flags)."""
  path = tempfile.mkdtemp()
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


def _read_csv(logdir):
  with open(os.path.join(logdir, logger_lib.CSV_NAME), newline='') as f:
    reader = csv.DictReader(f)
    return reader.fieldnames, list(reader)


def _read_scalars(logdir):
  """{tag: {step: value}} from every TensorBoard event file in `logdir`."""
  scalars = {}
  files = glob.glob(os.path.join(logdir, 'events.out.tfevents.*'))
  for path in files:
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        scalars.setdefault(value.tag, {})[event.step] = float(tf.make_ndarray(value.tensor))
  return scalars


class LoggerTest(tf.test.TestCase):

  def _logger(self, logdir, **kwargs):
    # A non-terminal stderr selects the plain console lines (not tqdm), even under `pytest -s`.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
      return logger_lib.Logger(logdir, total_steps=100, name='test', **kwargs)

  def _write(self, logger, step, metrics):
    with contextlib.redirect_stdout(io.StringIO()) as out:
      logger.write(step, metrics)
    return out.getvalue()

  def test_csv_rows_and_columns(self):
    logdir = _tempdir(self)
    logger = self._logger(logdir)
    self._write(logger, 10, {'loss': 1.5, 'episode_return': 20.0})
    self._write(logger, 20, {'loss': tf.constant(2.5), 'episode_return': 30.0})
    logger.close()
    fieldnames, rows = _read_csv(logdir)
    self.assertEqual(fieldnames,
                     ['env_steps', 'kind', 'wall_time_s', 'steps_per_s', 'loss',
                      'episode_return'])
    self.assertEqual([r['kind'] for r in rows], ['train', 'train'])
    self.assertEqual([r['env_steps'] for r in rows], ['10', '20'])
    self.assertEqual([float(r['loss']) for r in rows], [1.5, 2.5])
    self.assertEqual([float(r['episode_return']) for r in rows], [20.0, 30.0])
    self.assertGreaterEqual(float(rows[1]['wall_time_s']), float(rows[0]['wall_time_s']))

  def test_header_widens_when_a_metric_appears_later(self):
    logdir = _tempdir(self)
    logger = self._logger(logdir)
    self._write(logger, 10, {'a': 1.0})
    self._write(logger, 20, {'a': 2.0, 'eval_return': 7.0})
    self._write(logger, 30, {'a': 3.0})
    logger.close()
    fieldnames, rows = _read_csv(logdir)
    self.assertEqual(fieldnames,
                     ['env_steps', 'kind', 'wall_time_s', 'steps_per_s', 'a', 'eval_return'])
    self.assertEqual([r['a'] for r in rows], ['1.0', '2.0', '3.0'])
    self.assertEqual([r['kind'] for r in rows], ['train', 'eval', 'train'])
    self.assertEqual([r['eval_return'] for r in rows], ['', '7.0', ''])

  def test_truncate_drops_later_rows_and_resumes(self):
    logdir = _tempdir(self)
    logger = self._logger(logdir)
    for step in (10, 20, 30, 40):
      self._write(logger, step, {'a': float(step)})
    logger.close()
    resumed = self._logger(logdir, initial_step=20)
    resumed.truncate(20)
    self.assertEqual([r['env_steps'] for r in _read_csv(logdir)[1]], ['10', '20'])
    self._write(resumed, 30, {'a': -30.0, 'b': 1.0})
    resumed.close()
    fieldnames, rows = _read_csv(logdir)
    self.assertEqual(fieldnames, ['env_steps', 'kind', 'wall_time_s', 'steps_per_s', 'a', 'b'])
    self.assertEqual([r['env_steps'] for r in rows], ['10', '20', '30'])
    self.assertEqual([r['a'] for r in rows], ['10.0', '20.0', '-30.0'])
    self.assertEqual([r['b'] for r in rows], ['', '', '1.0'])

  def test_truncate_without_csv_is_a_no_op(self):
    logdir = _tempdir(self)
    logger = self._logger(logdir)
    logger.truncate(0)
    self.assertFalse(os.path.exists(os.path.join(logdir, logger_lib.CSV_NAME)))
    logger.close()

  def test_tensorboard_scalars(self):
    logdir = _tempdir(self)
    logger = self._logger(logdir)
    self._write(logger, 10, {'loss': 1.5, 'missing': math.nan})
    self._write(logger, 20, {'loss': 0.25, 'missing': 4.0, 'eval_return': 3.0})
    logger.close()
    self.assertNotEmpty(glob.glob(os.path.join(logdir, 'events.out.tfevents.*')))
    scalars = _read_scalars(logdir)
    self.assertEqual(scalars['loss/loss'], {10: 1.5, 20: 0.25})
    self.assertEqual(scalars['train/missing'], {20: 4.0})  # NaN is not written.
    self.assertEqual(scalars['eval/return'], {20: 3.0})
    self.assertIn('time/steps_per_s', scalars)
    self.assertIn('time/wall_time_s', scalars)
    self.assertNotIn('env_steps', scalars)
    self.assertFalse([tag for tag in scalars if 'kind' in tag])
    _, rows = _read_csv(logdir)
    self.assertEqual(rows[0]['missing'], 'nan')

  def test_tags_are_grouped(self):
    self.assertEqual([logger_lib.tensorboard_tag(n) for n in (
        'eval_return_agent', 'policy_loss', 'episode_return', 'learning_rate', 'steps_per_s')],
                     ['eval/return_agent', 'loss/policy_loss', 'train/episode_return',
                      'train/learning_rate', 'time/steps_per_s'])

  def test_config_as_text_and_hparams(self):
    logdir = _tempdir(self)
    logger = self._logger(logdir)
    logger.write_config({'agent': 'ppo', 'env': 'CartPole-v1', 'seed': 3,
                         'config': {'learning_rate': 0.001, 'hidden_sizes': [64, 64]}})
    logger.close()
    tags = set()
    for path in glob.glob(os.path.join(logdir, 'events.out.tfevents.*')):
      for event in tf.compat.v1.train.summary_iterator(path):
        for value in event.summary.value:
          tags.add(value.tag)
          if value.tag == 'config':
            text = tf.make_ndarray(value.tensor).item().decode()
            self.assertIn('"learning_rate": 0.001', text)
    self.assertIn('config', tags)
    self.assertIn('_hparams_/session_start_info', tags)

  def test_eta_leaves_out_the_first_row(self):
    logdir = _tempdir(self)
    logger = self._logger(logdir, console_interval_s=0.0)
    logger._start_time -= 1000.0  # A first iteration that took 1000 s (e.g. compilation).
    self._write(logger, 10, {})
    logger._origin = (logger._origin[0] - 1.0, 10)  # Then 10 steps per second.
    line = self._write(logger, 20, {})
    eta = line.split('ETA ')[1].strip()  # 80 steps at 10 steps/s: about 8 s, not ~8000 s.
    hours, minutes, seconds = (int(x) for x in eta.split(':'))
    self.assertLess(3600 * hours + 60 * minutes + seconds, 60)

  def test_console_line(self):
    logdir = _tempdir(self)
    logger = self._logger(logdir, console_interval_s=3600.0)
    first = self._write(logger, 10, {'episode_return': 123.456})
    self.assertIn('[test] step 10/100 (10%)', first)
    self.assertIn('return 123.5', first)
    self.assertEqual(self._write(logger, 20, {}), '')  # Within the interval: silent.
    last = self._write(logger, 100, {})  # The final step is always printed.
    self.assertIn('step 100/100 (100%)', last)
    self.assertIn('return n/a', last)
    logger.close()

  def test_steps_per_second_counts_from_initial_step(self):
    logger = self._logger(_tempdir(self), initial_step=1000)
    self.assertAllClose(logger.steps_per_second(1000), 0.0)
    self.assertGreater(logger.steps_per_second(2000), 0.0)
    logger.close()


if __name__ == '__main__':
  tf.test.main()
