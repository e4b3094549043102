"""Tests for agents.common.reporting on run logdirs written by hand (no training)."""

import os
import shutil
import struct
import tempfile

import numpy as np
import tensorflow as tf

from agents.common import reporting
from agents.common import runs
from agents.common import statistics
from tests.agents.common import fake_runs


def _tempdir(test):
  path = tempfile.mkdtemp()
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


def _png_size(path):
  with open(path, 'rb') as f:
    header = f.read(24)
  assert header[:8] == b'\x89PNG\r\n\x1a\n', header[:8]
  return struct.unpack('>II', header[16:24])


def _table_row(text, first_cell):
  return next(line for line in text.splitlines() if line.startswith(f'| {first_cell} |'))


class WriteReportTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = _tempdir(self)
    finals = {0: 100.0, 1: 200.0, 2: 150.0, 3: 400.0}
    for seed, final in finals.items():  # Group 1: lr 1e-3, evaluated at the same steps.
      fake_runs.write_run(os.path.join(self.root, 'lr1e-3', f'seed{seed}'),
                          fake_runs.config_record(seed=seed),
                          [(1000, 10.0 + seed), (2000, final)], final=final,
                          train_time_s=2.0 + seed)
    for seed, offset in ((0, 0), (1, 30)):  # Group 2: lr 1e-2, evaluated at other steps.
      fake_runs.write_run(os.path.join(self.root, 'lr1e-2', f'seed{seed}'),
                          fake_runs.config_record(seed=seed, actor_learning_rate=0.01),
                          [(1000 + offset, 5.0), (2000 + offset, 50.0 + seed)],
                          final=50.0 + seed, env_steps=2000 + offset)
    fake_runs.write_run(os.path.join(self.root, 'lr1e-2', 'seed2'),  # Unfinished.
                        fake_runs.config_record(seed=2, actor_learning_rate=0.01),
                        [(1030, 7.0), (1500, 9.0)])
    fake_runs.write_run(os.path.join(self.root, 'acrobot', 'seed0'),
                        fake_runs.config_record(agent='a2c', env='Acrobot-v1'),
                        [(500, -500.0), (1000, -100.0)], final=-100.0)
    self.out = os.path.join(_tempdir(self), 'report')
    self.path = reporting.write_report([self.root], self.out, name='Learning rates', reps=2000)
    with open(self.path) as f:
      self.text = f.read()

  def test_writes_the_report_and_one_png_per_env(self):
    self.assertEqual(self.path, os.path.join(self.out, 'report.md'))
    self.assertTrue(self.text.startswith('# Learning rates\n'))
    self.assertIn('8 run(s) in 3 group(s)', self.text)
    for env in ('CartPole-v1', 'Acrobot-v1'):
      png = os.path.join(self.out, f'curves_{env}.png')
      self.assertEqual(_png_size(png), (800, 450))
      self.assertIn(f'![{env}](curves_{env}.png)', self.text)

  def test_final_scores_per_group_with_intervals(self):
    row = _table_row(self.text, 'reinforce (actor_learning_rate=0.001)')
    self.assertIn('| CartPole-v1 | 4 | s0: 100.0, s1: 200.0, s2: 150.0, s3: 400.0 |', row)
    scores = [100.0, 200.0, 150.0, 400.0]
    expected = statistics.interval_estimates(scores, statistics.SEED_AGGREGATES, reps=2000)
    self.assertEqual(expected['mean'].point, 212.5)
    self.assertEqual(expected['median'].point, 175.0)
    self.assertEqual(expected['iqm'].point, 175.0)  # mean(150, 200): one dropped each side.
    for name in ('mean', 'median', 'iqm'):
      self.assertIn(reporting.format_estimate(expected[name]), row)
    # Only the two finished seeds of the second group count.
    row = _table_row(self.text, 'reinforce (actor_learning_rate=0.01)')
    self.assertIn('| 2 | s0: 50.0, s1: 51.0 |', row)

  def test_wall_clock_and_steps_per_second(self):
    section = self.text.split('## Wall-clock')[1].split('## Settings')[0]
    lines = [line for line in section.splitlines()
             if line.startswith('| reinforce (actor_learning_rate=0.001)')]
    # Train times 2, 3, 4, 5 s for 2,000 steps: mean 3.5 s; steps/s 1000, 667, 500, 400;
    # updates/s 45 / train time.
    self.assertEqual(lines, ['| reinforce (actor_learning_rate=0.001) | CartPole-v1 | 2,000 | '
                             '3.50 (2.00–5.00) | 641.7 (400.0–1,000.0) | 14.4 (9.00–22.5) |'])

  def test_interpolation_and_unfinished_runs_are_said(self):
    # Seeds at 1000/2000, 1030/2030 and (unfinished) 1030/1500: the mean is drawn on 1030
    # and 1500, where all three have been evaluated.
    self.assertIn('reinforce (actor_learning_rate=0.01): the seeds were evaluated at different '
                  'env steps; their curves are interpolated linearly onto the 2 steps', self.text)
    self.assertIn('`' + os.path.join(self.root, 'lr1e-2', 'seed2') + '` | unfinished |',
                  self.text)

  def test_config_differences_only(self):
    section = self.text.split('## Settings that differ between groups')[1].split('## Runs')[0]
    names = [line.split(' | ')[0][2:] for line in section.splitlines()
             if line.startswith('| ') and not line.startswith('| setting')]
    self.assertEqual(names, ['agent', 'config.actor_learning_rate', 'env'])

  def test_a_path_without_runs_is_an_error_and_writes_nothing(self):
    empty = _tempdir(self)
    out = os.path.join(_tempdir(self), 'nothing')
    with self.assertRaisesRegex(runs.RunError, 'no run in it'):
      reporting.write_report([self.root, empty], out)
    self.assertFalse(os.path.exists(out))


class LabelTest(tf.test.TestCase):

  def test_labels_name_what_tells_groups_of_one_agent_apart(self):
    root = _tempdir(self)
    loaded = [runs.load_run(fake_runs.write_run(
        os.path.join(root, name), fake_runs.config_record(**config), [(1, 1.0)]))
              for name, config in (('a', {}), ('b', {'discount': 0.9, 'num_envs': 4}),
                                   ('c', {'agent': 'a2c'}))]
    labels = reporting.group_labels(runs.group_runs(loaded))
    self.assertEqual(labels, ['a2c', 'reinforce (discount=0.99, num_envs=2)',
                              'reinforce (discount=0.9, num_envs=4)'])

  def test_format_number(self):
    self.assertEqual([reporting.format_number(v) for v in (1234.56, -1.0, 0.01234, None,
                                                           float('nan'), np.float64(99.96))],
                     ['1,234.6', '-1.00', '0.0123', '—', '—', '100.'])


if __name__ == '__main__':
  tf.test.main()
