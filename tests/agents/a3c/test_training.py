"""A3C's threads: updates interleave without a barrier; the step budget is exact."""

import threading
import time

import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.a3c import training
from agents.common import environments
from tests.agents.a3c import test_learner
from tests.agents.common import fake_envs

_SLOW_STEP_S = 0.05


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


class InterleavingTest(tf.test.TestCase):

  def test_fast_worker_updates_while_slow_worker_is_inside_one_segment(self):
    agent, workers = test_learner.make_agent([_fast_counter_env(1), _slow_counter_env(3)])
    for worker in workers:
      worker.trace()
    results, lock = [], threading.Lock()
    stop = threading.Event()

    def report(item):
      with lock:
        results.append(item)
        if sum(1 for r in results if getattr(r, 'worker_id', None) == 1) >= 3:
          stop.set()

    threads = training.start_workers(workers, training.StepBudget(100_000), lambda: 0.0, stop,
                                     report)
    for thread in threads:
      thread.join(timeout=120)
    self.assertFalse(any(t.is_alive() for t in threads))
    errors = [r for r in results if isinstance(r, BaseException)]
    self.assertEmpty(errors)
    # The global update counter: every update has its own index, in reporting order per worker.
    updates = sorted(r.update for r in results)
    self.assertEqual(updates, list(range(1, len(results) + 1)))
    self.assertEqual(int(agent.learner.num_updates.numpy()), len(results))
    fast = [r.update for r in results if r.worker_id == 0]
    slow = [r for r in results if r.worker_id == 1]
    self.assertLen(slow, 3)
    inside = []
    for segment in slow:
      self.assertEqual(segment.env_steps, 5)  # One segment: 5 steps of >= 50 ms each.
      inside.append([u for u in fast if segment.start_update < u < segment.update])
      # Every update between the slow worker's sync and its own update came from the fast one.
      self.assertEqual(segment.update - segment.start_update - 1, len(inside[-1]))
    # No barrier: the fast worker applied several updates while the slow one was acting on a
    # single segment with its (by then stale) copy, and the slow update landed on top of them.
    # (The most over the slow segments: on a loaded machine one of them may be starved.)
    self.assertGreaterEqual(max(len(u) for u in inside), 3, (slow, fast))
    self.assertGreaterEqual(len(fast), 3 * len(slow))  # Lockstep would give equal counts.
    self.assertEqual(int(agent.learner.env_steps.numpy()), sum(r.env_steps for r in results))

  def test_local_copy_is_synced_at_segment_start_only(self):
    # While the worker acts (inside its environment's first step), another thread changes the
    # global parameters and counter: the worker keeps acting and learning with the copy it
    # took at the start, and its own update lands after the change.
    env = _slow_counter_env(3)
    agent, (worker,) = test_learner.make_agent([env], learning_rate=1e-6,
                                               anneal_learning_rate=False)
    worker.run_segment(5, 0.0)
    synced = [v.numpy().copy() for v in agent.network.variables]
    stepping = env.gym_env.stepping
    stepping.clear()

    def meddle():
      stepping.wait(timeout=60)
      for v in agent.network.variables:
        v.assign_add(tf.ones_like(v))
      agent.learner.num_updates.assign_add(100)

    thread = threading.Thread(target=meddle)
    thread.start()
    result = worker.run_segment(5, 0.0)
    thread.join()
    self.assertEqual(result.env_steps, 5)
    self.assertEqual(result.start_update, 1)
    self.assertEqual(result.update, 102)
    for old, local, shared in zip(synced, worker.network.variables, agent.network.variables):
      self.assertAllEqual(local.numpy(), old)
      self.assertAllClose(shared.numpy(), old + 1.0, atol=1e-4)  # Plus a tiny update.
    worker.run_segment(5, 0.0)  # The next segment syncs again.
    for local, shared in zip(worker.network.variables, agent.network.variables):
      self.assertAllClose(local.numpy(), shared.numpy(), atol=1e-4)

  def test_budget_is_exact_across_workers(self):
    agent, workers = test_learner.make_agent(
        [test_learner.make_counter_env(0), test_learner.make_counter_env(1),
         test_learner.make_counter_env(2)])
    for worker in workers:
      worker.trace()
    results = []
    threads = training.start_workers(workers, training.StepBudget(103), lambda: 0.0,
                                     threading.Event(), results.append)
    for thread in threads:
      thread.join(timeout=120)
    self.assertEmpty([r for r in results if isinstance(r, BaseException)])
    self.assertEqual(sum(r.env_steps for r in results), 103)
    self.assertEqual(int(agent.learner.env_steps.numpy()), 103)
    self.assertEqual({r.worker_id for r in results}, {0, 1, 2})

  def test_budget_claims(self):
    budget = training.StepBudget(7)
    self.assertEqual(budget.claim(5), 5)
    self.assertEqual(budget.claim(5), 2)
    budget.settle(5, 3)  # Two steps come back.
    self.assertEqual(budget.claim(5), 2)
    budget.settle(2, 2)
    budget.settle(2, 2)
    self.assertEqual(budget.claim(5), 0)

  def test_worker_error_stops_the_others_and_is_reported(self):
    _, workers = test_learner.make_agent([_fast_counter_env(1), _fast_counter_env(3)])

    def broken(max_steps, progress):
      raise RuntimeError('boom')

    workers[1].run_segment = broken
    stop = threading.Event()
    results = []
    threads = training.start_workers(workers, training.StepBudget(10 ** 9), lambda: 0.0, stop,
                                     results.append)
    for thread in threads:
      thread.join(timeout=120)
    self.assertTrue(stop.is_set())
    self.assertLen([r for r in results if isinstance(r, RuntimeError)], 1)
    np.testing.assert_array_less(0, len(results))


if __name__ == '__main__':
  tf.test.main()
