"""The one training loop, with scripted actors and learners: interleaving, budget, resume,
threads, signals, config checks."""

import csv
import dataclasses
import json
import os
import signal
import tempfile
import threading
import time

import numpy as np
import tensorflow as tf

from agents.common import config as config_lib
from agents.common import core
from agents.common import loop
from tests.agents.common import fake_envs


def setUpModule():
  fake_envs.register()


class _Actor:
  """Takes `steps` env steps per act (fewer if the budget is smaller and `partial`), records
  every call, and ends an episode of return 1 every 4 acts."""

  def __init__(self, steps=2, partial=True):
    self.steps, self.partial = steps, partial
    self.calls, self.resets = [], []
    self.acts = 0

  def reset(self, env_steps):
    self.resets.append(env_steps)

  def act(self, max_steps):
    self.calls.append(max_steps)
    steps = min(self.steps, max_steps) if self.partial else (
        self.steps if max_steps >= self.steps else 0)
    if not steps:
      return core.Acted(None, 0)
    self.acts += 1
    ended = self.acts % 4 == 0
    return core.Acted(('experience', self.acts), steps, [1.0] if ended else [],
                      [4 * steps] if ended else [])

  def close(self):
    pass


class _Learner:
  """Counts its steps in a variable (checkpointed) and reports the experience it got."""

  def __init__(self, on_step=None):
    self.count = tf.Variable(0, dtype=tf.int64)
    self.seen = []
    self.on_step = on_step

  def step(self, experience):
    self.seen.append(experience)
    self.count.assign_add(1)
    if self.on_step:
      self.on_step(int(self.count.numpy()))
    return {'loss': tf.constant(float(self.count.numpy()))}


def _slow_policy(observation):
  time.sleep(0.05)  # Evaluation takes >= 3 policy calls (the counter env ends after 3 steps).
  return np.zeros(len(observation), np.int32)


def _agent(actor, learner, **kwargs):
  return core.Agent(actors=[actor], learners=[learner],
                    policy=lambda obs: np.zeros(len(obs), np.int32),
                    state=dict(learner_count=learner.count), **kwargs)


def _settings(logdir, num_steps, **kwargs):
  values = dict(agent='test', env_id=fake_envs.COUNTER_ID, num_steps=num_steps, seed=0,
                logdir=logdir, eval_episodes=1, eval_every=0, checkpoint_every=10, log_every=4)
  values.update(kwargs)
  return loop.RunSettings(**values)


def _rows(logdir):
  with open(os.path.join(logdir, 'metrics.csv'), newline='') as f:
    return list(csv.DictReader(f))


class LoopTest(tf.test.TestCase):

  def test_interleaves_acting_and_learning_within_the_budget(self):
    logdir = tempfile.mkdtemp()
    actor, learner = _Actor(steps=3, partial=False), _Learner()
    record = loop.run(_settings(logdir, 20), _agent(actor, learner, learning_starts=6,
                                                      learner_steps_per_act=2))
    # Acts of 3 steps while they fit in 20: 6 acts, 18 steps; the 7th call gets 2 and stops.
    self.assertEqual(actor.calls, [20, 17, 14, 11, 8, 5, 2])
    self.assertEqual(record['env_steps'], 18)
    # Learning starts at 6 steps (after the 2nd act): 2 steps after each of acts 2..6.
    self.assertEqual(learner.seen, [('experience', i) for i in (2, 2, 3, 3, 4, 4, 5, 5, 6, 6)])
    self.assertEqual(record['updates'], 10)
    self.assertEqual(actor.resets, [0])
    rows = [r for r in _rows(logdir) if r['loss']]
    # A row when the step count passes a multiple of 4 (at 6, 9, 12 and 18), with the mean of
    # the learner's metrics since the last row.
    self.assertEqual([int(r['env_steps']) for r in rows], [6, 9, 12, 18])
    self.assertEqual([float(r['loss']) for r in rows], [1.5, 3.5, 5.5, 8.5])
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      self.assertEqual(json.load(f)['env_steps'], 18)

  def test_resume_continues_counters_and_logs(self):
    logdir = tempfile.mkdtemp()
    settings = _settings(logdir, 20)
    loop.run(settings, _agent(_Actor(), _Learner()))
    actor, learner = _Actor(), _Learner()
    record = loop.run(dataclasses.replace(settings, num_steps=30), _agent(actor, learner))
    self.assertEqual(actor.resets, [20])  # New episodes seeded from the restored step count.
    self.assertEqual(int(learner.count.numpy()), 15)  # Restored 10, then 5 more acts.
    self.assertEqual(record['updates'], 15)
    self.assertIn('ckpt-20', record['resumed_from'])
    steps = [int(r['env_steps']) for r in _rows(logdir) if r['loss']]
    self.assertEqual(steps, sorted(set(steps)))
    self.assertEqual(steps[-1], 30)

  def test_finished_run_rerun_only_evaluates(self):
    logdir = tempfile.mkdtemp()
    settings = _settings(logdir, 8)
    loop.run(settings, _agent(_Actor(), _Learner()))
    actor = _Actor()
    record = loop.run(settings, _agent(actor, _Learner()))
    self.assertEqual(actor.calls, [])
    self.assertEqual(record['env_steps'], 8)

  def test_periodic_evaluation_at_the_end_is_not_repeated(self):
    logdir = tempfile.mkdtemp()
    agent = dataclasses.replace(_agent(_Actor(), _Learner()), policy=_slow_policy)
    record = loop.run(_settings(logdir, 8, eval_every=4), agent)
    evals = [int(r['env_steps']) for r in _rows(logdir) if r['eval_return']]
    self.assertEqual(evals, [4, 8])
    # The evaluation at the last step is the final one, outside the training time.
    self.assertGreaterEqual(record['wall_time_s'] - record['train_time_s'], 0.1)

  def test_sigterm_saves_a_checkpoint_and_raises(self):
    logdir = tempfile.mkdtemp()
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(count):
      if count == 3:
        os.kill(os.getpid(), signal.SIGTERM)

    with self.assertRaises(KeyboardInterrupt):
      loop.run(_settings(logdir, 100), _agent(_Actor(), _Learner(on_step=terminate)))
    self.assertIs(signal.getsignal(signal.SIGTERM), previous)  # Handlers are put back.
    self.assertTrue(tf.train.latest_checkpoint(os.path.join(logdir, 'checkpoints')).endswith(
        'ckpt-6'))
    self.assertFalse(os.path.exists(os.path.join(logdir, 'evaluation.json')))

  def test_threaded_actors_take_exactly_the_budget(self):
    logdir = tempfile.mkdtemp()
    actors = [_Actor(steps=3), _Actor(steps=5)]
    learners = [_Learner(), _Learner()]
    agent = core.Agent(actors=actors, learners=learners, policy=lambda obs: np.zeros(len(obs)),
                       state={}, steps_per_act=5)
    record = loop.run(_settings(logdir, 101), agent)
    self.assertEqual(record['env_steps'], 101)
    self.assertEqual(record['updates'], sum(len(learner.seen) for learner in learners))
    self.assertEqual([a.resets for a in actors], [[0], [0]])

  def test_a_failing_thread_stops_the_run(self):
    actor = _Actor()

    def fail(count):
      if count == 2:
        raise RuntimeError('boom')

    agent = core.Agent(actors=[actor, _Actor()], learners=[_Learner(on_step=fail), _Learner()],
                       policy=lambda obs: obs, state={}, steps_per_act=2)
    with self.assertRaisesRegex(RuntimeError, 'boom'):
      loop.run(_settings(tempfile.mkdtemp(), 10_000), agent)
    self.assertEqual(threading.active_count(), 1)

  def test_agent_needs_one_learner_per_actor(self):
    with self.assertRaisesRegex(ValueError, 'one learner per actor'):
      core.Agent(actors=[_Actor()], learners=[], policy=None, state={})


@dataclasses.dataclass(frozen=True)
class _Annealed:
  learning_rate: float = 1e-3
  anneal_learning_rate: bool = True

  @property
  def min_num_steps(self):
    return 4


class RunFilesTest(tf.test.TestCase):

  def test_settings_and_budget_name_the_field(self):
    with self.assertRaisesRegex(config_lib.ConfigError, r'^RunSettings.num_steps=0: must be'):
      _settings('x', 0)
    with self.assertRaisesRegex(config_lib.ConfigError, r'^RunSettings.num_steps=3: must be >= 4'):
      loop.check_budget(_settings('x', 3), _Annealed())
    loop.check_budget(_settings('x', 4), _Annealed())

  def test_changed_config_is_refused_naming_the_field(self):
    logdir = tempfile.mkdtemp()
    settings = _settings(logdir, 100)
    loop.write_config(settings, _Annealed(), 100)
    loop.write_config(settings, _Annealed(), 100)  # The same config: accepted.
    with self.assertRaisesRegex(config_lib.ConfigError,
                                r'RunSettings.logdir=.*holds a run with learning_rate=0.001 '
                                r'\(this run: 0.01\)'):
      loop.write_config(settings, _Annealed(learning_rate=1e-2), 100)

  def test_schedule_horizon_is_the_first_runs_budget(self):
    logdir = tempfile.mkdtemp()
    settings = _settings(logdir, 100)
    self.assertEqual(loop.schedule_horizon(settings, _Annealed()), 100)
    loop.write_config(settings, _Annealed(), 100)
    longer = dataclasses.replace(settings, num_steps=200)
    with self.assertRaisesRegex(config_lib.ConfigError,
                                r'RunSettings.num_steps=200: .*anneals learning_rate to 0 '
                                r'over 100 env steps'):
      loop.schedule_horizon(longer, _Annealed())
    constant = _Annealed(anneal_learning_rate=False)
    other = dataclasses.replace(settings, logdir=tempfile.mkdtemp())
    loop.write_config(other, constant, 100)
    self.assertEqual(
        loop.schedule_horizon(dataclasses.replace(other, num_steps=200), constant), 100)


if __name__ == '__main__':
  tf.test.main()
