"""Tests for agents.common.runs: finding, reading and grouping run logdirs written by hand."""

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from agents.common import runs
from tests.agents.common import fake_runs


def _tempdir(test):
  path = tempfile.mkdtemp()
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


class FindAndLoadTest(tf.test.TestCase):

  def test_finds_run_logdirs_at_any_depth_but_not_inside_a_run(self):
    root = _tempdir(self)
    a = fake_runs.write_run(os.path.join(root, 'a', 'seed0'), fake_runs.config_record(),
                            [(1000, 1.0)])
    b = fake_runs.write_run(os.path.join(root, 'b', 'x', 'seed1'),
                            fake_runs.config_record(seed=1), [(1000, 1.0)])
    fake_runs.write_run(os.path.join(b, 'worker1'), fake_runs.config_record(seed=1),
                        [(1000, 1.0)])  # A multi-worker run's second worker: part of b.
    os.makedirs(os.path.join(root, 'empty'))
    self.assertEqual(runs.find_logdirs(root), [a, b])
    self.assertEqual(runs.find_logdirs(a), [a])
    self.assertEqual(runs.find_logdirs(os.path.join(root, 'empty')), [])

  def test_load_run_reads_evaluation_rows_and_the_final_record(self):
    logdir = fake_runs.write_run(os.path.join(_tempdir(self), 'r'),
                                 fake_runs.config_record(seed=3),
                                 [(500, 10.0), (1000, 30.0), (1500, float('nan'))], final=42.0)
    run = runs.load_run(logdir)
    self.assertEqual((run.agent, run.env, run.seed), ('reinforce', 'CartPole-v1', 3))
    self.assertAllEqual(run.eval_steps, [500, 1000])  # The NaN evaluation is left out.
    self.assertAllEqual(run.eval_returns, [10.0, 30.0])
    self.assertEqual(run.final_return, 42.0)
    self.assertEqual(run.evaluation['train_time_s'], 2.0)

  def test_an_unfinished_run_has_no_final_return(self):
    logdir = fake_runs.write_run(os.path.join(_tempdir(self), 'r'), fake_runs.config_record(),
                                 [(500, 10.0)])
    self.assertIsNone(runs.load_run(logdir).final_return)

  def test_files_that_do_not_read_back_name_the_file(self):
    logdir = os.path.join(_tempdir(self), 'r')
    os.makedirs(logdir)
    with open(os.path.join(logdir, 'config.json'), 'w') as f:
      f.write('{not json')
    with self.assertRaisesRegex(runs.RunError, 'config.json: does not read back'):
      runs.load_run(logdir)
    fake_runs.write_run(logdir, fake_runs.config_record(), [(500, 1.0)])
    with open(os.path.join(logdir, 'metrics.csv'), 'a') as f:
      f.write('oops,eval,1,1,abc,,,,\n')
    with self.assertRaisesRegex(runs.RunError, r'metrics.csv:4: .*not a number'):
      runs.load_run(logdir)


class GroupTest(tf.test.TestCase):

  def _run(self, root, name, **config):
    return runs.load_run(fake_runs.write_run(os.path.join(root, name),
                                             fake_runs.config_record(**config), [(100, 1.0)],
                                             final=1.0))

  def test_runs_differing_only_in_the_seed_form_a_group(self):
    root = _tempdir(self)
    loaded = [self._run(root, 'a1', seed=1), self._run(root, 'b0', seed=0, discount=0.9),
              self._run(root, 'a0', seed=0), self._run(root, 'c0', agent='a2c', seed=0),
              self._run(root, 'd0', env='Acrobot-v1', seed=0)]
    groups = runs.group_runs(loaded)
    self.assertEqual([(g.env, g.agent, [r.seed for r in g.runs]) for g in groups],
                     [('Acrobot-v1', 'reinforce', [0]), ('CartPole-v1', 'a2c', [0]),
                      ('CartPole-v1', 'reinforce', [0, 1]), ('CartPole-v1', 'reinforce', [0])])
    self.assertNotIn('seed', groups[2].settings)
    differences = runs.config_differences(groups[2:])
    self.assertEqual(differences, {'config.discount': [0.99, 0.9]})

  def test_config_differences_name_fields_only_some_groups_have(self):
    root = _tempdir(self)
    groups = runs.group_runs([self._run(root, 'a', seed=0),
                              self._run(root, 'b', seed=0, clip_epsilon=0.2)])
    self.assertEqual(runs.config_differences(groups), {'config.clip_epsilon': [None, 0.2]})


class CommonCurveTest(tf.test.TestCase):

  def _run(self, points):
    steps, values = zip(*points) if points else ((), ())
    return runs.Run('x', {}, None, np.asarray(steps, np.int64), np.asarray(values, float))

  def test_same_steps_are_kept(self):
    steps, curves, interpolated = runs.common_curve(
        [self._run([(10, 1.0), (20, 2.0)]), self._run([(10, 3.0), (20, 4.0)])])
    self.assertAllEqual(steps, [10, 20])
    self.assertAllEqual(curves, [[1.0, 2.0], [3.0, 4.0]])
    self.assertFalse(interpolated)

  def test_other_steps_are_interpolated_where_every_run_was_evaluated(self):
    steps, curves, interpolated = runs.common_curve(
        [self._run([(0, 0.0), (10, 10.0), (20, 20.0), (30, 30.0)]),
         self._run([(5, 50.0), (25, 250.0)])])
    self.assertTrue(interpolated)
    self.assertAllEqual(steps, [5, 10, 20, 25])
    self.assertAllClose(curves, [[5.0, 10.0, 20.0, 25.0], [50.0, 100.0, 200.0, 250.0]])

  def test_no_overlap_or_no_evaluation_gives_no_points(self):
    steps, _, _ = runs.common_curve([self._run([(0, 0.0), (10, 1.0)]),
                                     self._run([(20, 0.0), (30, 1.0)])])
    self.assertEqual(len(steps), 0)
    steps, curves, _ = runs.common_curve([self._run([(0, 0.0)]), self._run([])])
    self.assertEqual((len(steps), curves.shape), (0, (2, 0)))


if __name__ == '__main__':
  tf.test.main()
