"""A3C's threads through `agents.common.loop`: updates interleave without a barrier, the local
copy is synced at a segment's start only, the step budget is exact, an error stops every thread."""

import json
import os
import threading
import time

import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.a3c import builder
from agents.common import core
from agents.common import environments
from agents.common import loop
from tests.agents.a3c import test_learner
from tests.agents.common import fake_envs

_SLOW_STEP_S = 0.05
_T = test_learner._T


class _Slow(gym.Wrapper):
  """Sleeps in every step (the sleep releases the GIL, like a real simulator); sets `stepping`
  when a step starts."""

  def __init__(self, env):
    super().__init__(env)
    self.stepping = threading.Event()

  def step(self, action):
    self.stepping.set()
    time.sleep(_SLOW_STEP_S)
    return self.env.step(action)


def setUpModule():
  fake_envs.register()


def _slow_counter_env(seed):
  env = gym.make(fake_envs.COUNTER_ID, max_episode_steps=50, terminate_at=None)
  return environments.GymnasiumToDmEnv(_Slow(env), seed=seed)


def _fast_counter_env(seed):
  return environments.GymnasiumToDmEnv(
      gym.make(fake_envs.COUNTER_ID, max_episode_steps=50, terminate_at=None), seed=seed)


def make_threaded_agent(envs, seed, **overrides):
  """A3C's global parts and a `core.Agent` of one (SegmentActor, A3CWorkerLearner) per env, put
  together as `builder.make_agent` does; every actor is reset at step 0 as `loop.run` does
  before it starts the threads, so worker i's env (a Counter: id = its seed) has id seed + i."""
  parts, workers = test_learner.make_agent(envs, seed=seed, **overrides)
  agent = core.Agent(actors=[actor for actor, _ in workers],
                     learners=[learner for _, learner in workers],
                     policy=core.mode_policy(parts.policy), state={}, steps_per_act=_T)
  for actor in agent.actors:
    actor.reset(0)
  return parts, agent


def _env_id(item) -> int:
  """The Counter env id in the observations of a reported segment."""
  acted, _ = item
  return int(acted.experience.observation[0, 0, 1])


def _updates(item):
  """(start_update, update) of a reported segment: the global update count at its sync, and the
  one after its own update (start + staleness + 1)."""
  acted, metrics = item
  start = int(acted.experience.start_update)
  return start, start + int(round(metrics['staleness'])) + 1


def _join(threads):
  for thread in threads:
    thread.join(timeout=120)


class ThreadsTest(tf.test.TestCase):

  def test_fast_worker_updates_while_slow_worker_is_inside_one_segment(self):
    parts, agent = make_threaded_agent([_fast_counter_env(0), _slow_counter_env(0)], seed=1)
    fast_id, slow_id = 1, 2  # seed + worker id.
    results, lock = [], threading.Lock()
    stop = threading.Event()

    def report(item):
      with lock:
        results.append(item)
        if sum(1 for r in results
               if not isinstance(r, BaseException) and _env_id(r) == slow_id) >= 3:
          stop.set()

    threads = loop.start_threads(agent, loop.StepBudget(100_000), stop, report)
    _join(threads)
    self.assertFalse(any(t.is_alive() for t in threads))
    errors = [r for r in results if isinstance(r, BaseException)]
    self.assertEmpty(errors)
    self.assertEqual({_env_id(r) for r in results}, {fast_id, slow_id})
    # The global update counter: every update has its own index.
    updates = sorted(_updates(r)[1] for r in results)
    self.assertEqual(updates, list(range(1, len(results) + 1)))
    self.assertEqual(int(parts.learner.num_updates.numpy()), len(results))
    fast = [_updates(r)[1] for r in results if _env_id(r) == fast_id]
    slow = [r for r in results if _env_id(r) == slow_id]
    self.assertLen(slow, 3)
    inside = []
    for item in slow:
      acted, metrics = item
      start, update = _updates(item)
      self.assertEqual(acted.env_steps, 5)  # One segment: 5 steps of >= 50 ms each.
      self.assertEqual(metrics['segment_length'], 5.0)
      inside.append([u for u in fast if start < u < update])
      # Every update between the slow worker's sync and its own update came from the fast one.
      self.assertEqual(metrics['staleness'], len(inside[-1]))
    # No barrier: the fast worker applied several updates while the slow one was acting on a
    # single segment with its (by then stale) copy, and the slow update landed on top of them.
    # (The most over the slow segments: on a loaded machine one of them may be starved.)
    self.assertGreaterEqual(max(len(u) for u in inside), 3, (slow, fast))
    self.assertGreaterEqual(len(fast), 3 * len(slow))  # Lockstep would give equal counts.
    self.assertEqual(int(parts.learner.env_steps.numpy()),
                     sum(acted.env_steps for acted, _ in results))

  def test_local_copy_is_synced_at_segment_start_only(self):
    # While the worker acts (inside its environment's first step), another thread changes the
    # global parameters and counter: the worker keeps acting and learning with the copy it
    # took at the start, and its own update lands after the change.
    env = _slow_counter_env(3)
    parts, ((actor, worker),) = test_learner.make_agent([env], learning_rate=1e-6,
                                                        anneal_learning_rate=False)
    worker.step(actor.act(5).experience)
    synced = [v.numpy().copy() for v in parts.network.variables]
    stepping = env.gym_env.stepping
    stepping.clear()

    def meddle():
      stepping.wait(timeout=60)
      for v in parts.network.variables:
        v.assign_add(tf.ones_like(v))
      parts.learner.num_updates.assign_add(100)

    thread = threading.Thread(target=meddle)
    thread.start()
    acted = actor.act(5)
    thread.join()
    metrics = worker.step(acted.experience)
    self.assertEqual(acted.env_steps, 5)
    self.assertEqual(int(acted.experience.start_update), 1)
    self.assertEqual(float(metrics['staleness']), 100.0)  # Its update is the 102nd.
    self.assertEqual(int(parts.learner.num_updates.numpy()), 102)
    for old, local, shared in zip(synced, actor.network.variables, parts.network.variables):
      self.assertAllEqual(local.numpy(), old)
      self.assertAllClose(shared.numpy(), old + 1.0, atol=1e-4)  # Plus a tiny update.
    worker.step(actor.act(5).experience)  # The next segment syncs again.
    for local, shared in zip(actor.network.variables, parts.network.variables):
      self.assertAllClose(local.numpy(), shared.numpy(), atol=1e-4)

  def test_budget_is_exact_across_workers(self):
    parts, agent = make_threaded_agent(
        [test_learner.make_counter_env(0), test_learner.make_counter_env(1),
         test_learner.make_counter_env(2)], seed=0)
    results = []
    threads = loop.start_threads(agent, loop.StepBudget(103), threading.Event(),
                                 results.append)
    _join(threads)
    self.assertFalse(any(t.is_alive() for t in threads))
    self.assertEmpty([r for r in results if isinstance(r, BaseException)])
    self.assertEqual(sum(acted.env_steps for acted, _ in results), 103)
    for acted, metrics in results:
      self.assertEqual(metrics['segment_length'], acted.env_steps)
    self.assertEqual(int(parts.learner.env_steps.numpy()), 103)
    self.assertEqual(int(parts.learner.num_updates.numpy()), len(results))
    self.assertEqual({_env_id(r) for r in results}, {0, 1, 2})  # Every worker acted.

  def test_budget_claims(self):
    budget = loop.StepBudget(7)
    self.assertEqual(budget.claim(5), 5)
    self.assertEqual(budget.claim(5), 2)
    budget.settle(5, 3)  # Two steps come back.
    self.assertEqual(budget.claim(5), 2)
    budget.settle(2, 2)
    budget.settle(2, 2)
    self.assertEqual(budget.claim(5), 0)

  def test_claim_waits_for_outstanding_steps(self):
    # With nothing left but steps still claimed, a claim waits for them instead of ending the
    # thread early, and gets what comes back unused.
    budget = loop.StepBudget(5)
    self.assertEqual(budget.claim(5), 5)
    claimed = []
    thread = threading.Thread(target=lambda: claimed.append(budget.claim(5)))
    thread.start()
    thread.join(timeout=0.2)
    self.assertTrue(thread.is_alive())
    budget.settle(5, 3)
    thread.join(timeout=60)
    self.assertEqual(claimed, [2])

  def test_worker_error_stops_the_others_and_is_reported(self):
    _, agent = make_threaded_agent([_fast_counter_env(1), _fast_counter_env(3)], seed=1)

    def broken(max_steps):
      raise RuntimeError('boom')

    agent.actors[1].act = broken
    stop = threading.Event()
    results = []
    threads = loop.start_threads(agent, loop.StepBudget(10 ** 9), stop, results.append)
    _join(threads)
    self.assertFalse(any(t.is_alive() for t in threads))
    self.assertTrue(stop.is_set())
    self.assertLen([r for r in results if isinstance(r, RuntimeError)], 1)
    np.testing.assert_array_less(0, len(results))


class RunTest(tf.test.TestCase):

  def test_run_trains_workers_in_threads_for_exactly_the_budget(self):
    # Counter envs without a time limit; the one evaluation episode (env id 1_000_000, even)
    # terminates after 3 steps.
    env = test_learner.make_counter_env(0)
    spec = core.EnvironmentSpec(env.observation_spec(), env.action_spec())
    env.close()
    logdir = self.get_temp_dir()
    settings = loop.RunSettings(agent='a3c', env_id=fake_envs.COUNTER_ID, num_steps=53, seed=0,
                                logdir=logdir, eval_episodes=1, eval_every=0,
                                checkpoint_every=20, log_every=10)
    context = core.BuildContext(env_id=settings.env_id, spec=spec, seed=0, env_seed=0,
                                num_steps=settings.num_steps,
                                strategy=tf.distribute.get_strategy(), logdir=logdir)
    agent = builder.make_agent(test_learner.make_config(num_workers=2), context)
    try:
      record = loop.run(settings, agent)
    finally:
      agent.close()
    learner = agent.state['learner']
    self.assertEqual(record['env_steps'], 53)
    self.assertEqual(int(learner.env_steps.numpy()), 53)
    self.assertEqual(record['updates'], int(learner.num_updates.numpy()))
    self.assertGreaterEqual(record['updates'], 53 // _T)
    self.assertEqual(record['num_workers'], 2)
    self.assertEqual(record['episodes'], 1)
    with open(os.path.join(logdir, 'evaluation.json')) as f:
      self.assertEqual(json.load(f)['env_steps'], 53)


if __name__ == '__main__':
  tf.test.main()
