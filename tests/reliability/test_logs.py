"""What a run's logs hold after kills, interrupts and reruns: every step once, whole-run
timings."""

import dataclasses
import glob
import os
import tempfile

import tensorflow as tf

from agents.common import loop
from tests.agents.common import fake_envs
from tests.agents.common import test_loop


def setUpModule():
  fake_envs.register()


class _Crash(Exception):
  """Stands for a kill: the run ends without its final checkpoint."""


def _event_steps(logdir, tag):
  steps = []
  for path in glob.glob(os.path.join(logdir, 'events.out.tfevents.*')):
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
      event = tf.compat.v1.Event.FromString(record)
      steps += [event.step for value in event.summary.value if value.tag == tag]
  return sorted(steps)


class LogsTest(tf.test.TestCase):

  def test_points_after_the_restored_checkpoint_are_dropped(self):
    logdir = tempfile.mkdtemp()
    settings = test_loop._settings(logdir, 30, checkpoint_every=10, log_every=2)

    def crash(count):
      if count == 8:  # 16 env steps: checkpoint at 10, rows up to 14.
        raise _Crash()

    with self.assertRaises(_Crash):
      loop.run(settings, test_loop._agent(test_loop._Actor(), test_loop._Learner(crash)))
    self.assertIn(14, _event_steps(logdir, 'loss/loss'))
    loop.run(settings, test_loop._agent(test_loop._Actor(), test_loop._Learner()))
    for steps in (_event_steps(logdir, 'loss/loss'),
                  [int(r['env_steps']) for r in test_loop._rows(logdir) if r['loss']]):
      self.assertEqual(steps, sorted(set(steps)))
      self.assertEqual(steps[-1], 30)

  def test_an_interrupt_during_evaluation_still_writes_the_steps_row(self):
    logdir = tempfile.mkdtemp()

    def interrupted(observation):
      raise KeyboardInterrupt

    agent = dataclasses.replace(test_loop._agent(test_loop._Actor(), test_loop._Learner()),
                                policy=interrupted)
    with self.assertRaises(KeyboardInterrupt):
      loop.run(test_loop._settings(logdir, 100, eval_every=4, log_every=8), agent)
    rows = [r for r in test_loop._rows(logdir) if r['loss']]
    self.assertEqual([int(r['env_steps']) for r in rows], [4])
    self.assertTrue(tf.train.latest_checkpoint(os.path.join(logdir, 'checkpoints')).endswith(
        'ckpt-4'))

  def test_rerunning_a_finished_run_writes_nothing(self):
    logdir = tempfile.mkdtemp()
    settings = test_loop._settings(logdir, 8)
    first = loop.run(settings, test_loop._agent(test_loop._Actor(), test_loop._Learner()))
    with open(os.path.join(logdir, 'metrics.csv'), 'rb') as f:
      before = f.read()
    again = loop.run(settings, test_loop._agent(test_loop._Actor(), test_loop._Learner()))
    self.assertEqual(again, first)
    with open(os.path.join(logdir, 'metrics.csv'), 'rb') as f:
      self.assertEqual(f.read(), before)

  def test_timings_cover_the_whole_run_across_resumes(self):
    logdir = tempfile.mkdtemp()
    settings = test_loop._settings(logdir, 20)
    agent = lambda: dataclasses.replace(
        test_loop._agent(test_loop._Actor(), test_loop._Learner()), policy=test_loop._slow_policy)
    first = loop.run(settings, agent())
    second = loop.run(dataclasses.replace(settings, num_steps=40), agent())
    self.assertGreater(second['train_time_s'], first['train_time_s'])
    self.assertLess(second['process_wall_time_s'], second['wall_time_s'])


if __name__ == '__main__':
  tf.test.main()
