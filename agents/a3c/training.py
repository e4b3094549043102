"""The A3C run: worker threads update the global parameters while the main thread logs,
checkpoints and evaluates, with the outputs of `on_policy.run` (resumable from `logdir`)."""

import queue
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import dm_env
import numpy as np

from agents.a3c import builder
from agents.a3c import worker as worker_lib
from agents.common import checkpointing
from agents.common import logger as logger_lib
from agents.common import on_policy

_POLL_S = 0.05


class StepBudget:
  """Hands out environment steps to workers, so that a run takes exactly its budget.

  A worker claims up to t_max steps before a segment and settles the claim after it (a segment
  that ends with its episode uses fewer). The lock guards only this count, never an update.
  """

  def __init__(self, remaining: int):
    self._remaining = remaining
    self._outstanding = 0
    self._condition = threading.Condition()

  def claim(self, steps: int) -> int:
    """Returns min(steps, remaining) (> 0), or 0 once the budget is spent."""
    with self._condition:
      # Steps claimed by other workers may come back unused: wait for them, do not stop early.
      while self._remaining == 0 and self._outstanding > 0:
        self._condition.wait()
      claimed = min(steps, self._remaining)
      self._remaining -= claimed
      self._outstanding += claimed
      return claimed

  def settle(self, claimed: int, used: int) -> None:
    """Records that a claim of `claimed` steps took `used` of them."""
    with self._condition:
      self._outstanding -= claimed
      self._remaining += claimed - used
      self._condition.notify_all()


def start_workers(workers: Sequence[worker_lib.Worker], budget: StepBudget,
                  progress: Callable[[], float], stop: threading.Event,
                  report: Callable[[Any], None]) -> List[threading.Thread]:
  """Starts one thread per worker, each looping `run_segment` until the budget or `stop` ends.

  No thread waits for another between segments: each applies its update to the global
  parameters as soon as its segment is done. Every `SegmentResult` goes to `report`; an
  exception in a worker sets `stop` and goes to `report` as well, for the caller to re-raise.

  Returns:
    The started (daemon) threads.
  """

  def loop(worker: worker_lib.Worker) -> None:
    try:
      while not stop.is_set():
        claimed = budget.claim(worker.t_max)
        if not claimed:
          return
        used = claimed
        try:
          result = worker.run_segment(claimed, progress())
          used = result.env_steps
        finally:
          budget.settle(claimed, used)
        report(result)
    except BaseException as error:  # pylint: disable=broad-except
      stop.set()
      report(error)

  threads = [threading.Thread(target=loop, args=(w,), name=f'a3c_worker_{w.worker_id}',
                              daemon=True) for w in workers]
  for thread in threads:
    thread.start()
  return threads


def run(settings: on_policy.RunSettings, agent: builder.A3CAgent,
        make_envs: Callable[[int], List[dm_env.Environment]],
        start_time: Optional[float] = None) -> Dict[str, Any]:
  """Trains for exactly `settings.num_steps` env steps (summed over workers), resuming if it can.

  The global parameters, shared optimizer statistics and counters are checkpointed; workers are
  built after the restore, with environments and action sampling seeded from the seed and the
  restored step count (`make_envs(seed)` gives one environment per worker). Periodic
  checkpoints and evaluations read the global parameters while the workers keep updating them
  (as the workers' own syncs do); the final ones, and the one written on Ctrl-C, are taken after
  every worker has stopped.

  Returns:
    The final evaluation record (also written to `logdir/evaluation.json`).
  """
  start = time.time() if start_time is None else start_time
  learner = agent.learner
  checkpointer = checkpointing.Checkpointer(settings.logdir, learner=learner)
  restored = checkpointer.restore()
  step = int(learner.env_steps.numpy())
  log = logger_lib.Logger(settings.logdir, settings.num_steps,
                          name=f'{settings.agent} {settings.env_id}', initial_step=step)
  if restored:
    log.truncate(step)
    print(f'Resumed from {restored} at {step:,} env steps.', flush=True)
  # A resumed run starts fresh episodes with seeds it has not used before.
  workers = agent.make_workers(make_envs(settings.seed + step),
                               settings.seed + step + 1_000_003)
  for worker in workers:
    worker.trace()  # One thread at a time, before they run.

  results: queue.Queue = queue.Queue()
  stop = threading.Event()
  budget = StepBudget(max(0, settings.num_steps - step))
  progress = lambda: float(learner.env_steps.numpy()) / settings.num_steps
  returns: List[float] = []
  lengths: List[int] = []
  rows: List[Dict[str, float]] = []
  first_iteration_s = None
  next_log = on_policy.next_multiple(step, settings.log_every)
  next_checkpoint = on_policy.next_multiple(step, settings.checkpoint_every)
  next_eval = on_policy.next_multiple(step, settings.eval_every or settings.num_steps)
  threads: List[threading.Thread] = []
  try:
    threads = start_workers(workers, budget, progress, stop, results.put)
    while True:
      running = any(t.is_alive() for t in threads)
      try:
        items = [results.get(timeout=_POLL_S)]
      except queue.Empty:
        items = []
      while not results.empty():
        items.append(results.get_nowait())
      for item in items:
        if isinstance(item, BaseException):
          raise item
        if first_iteration_s is None:
          first_iteration_s = time.time() - start
        returns.extend(item.episode_returns)
        lengths.extend(item.episode_lengths)
        rows.append(dict(item.metrics, segment_length=item.env_steps,
                         staleness=item.update - item.start_update - 1))
      step = int(learner.env_steps.numpy())
      finished = not running and results.empty()
      if step >= next_eval and settings.eval_every and step < settings.num_steps:
        result = on_policy.evaluate(_mode_policy(agent), settings)
        log.write(step, {'eval_return': result.mean_return})
        next_eval = on_policy.next_multiple(step, settings.eval_every)
      if rows and (step >= next_log or finished):
        row = {k: float(np.mean([r[k] for r in rows])) for k in rows[-1]}
        row['num_updates'] = float(learner.num_updates.numpy())
        row['episode_return'] = float(np.mean(returns)) if returns else float('nan')
        row['episode_length'] = float(np.mean(lengths)) if lengths else float('nan')
        log.write(step, row)
        rows, returns, lengths = [], [], []
        next_log = on_policy.next_multiple(step, settings.log_every)
      if step >= next_checkpoint and step < settings.num_steps:
        checkpointer.save(step)
        next_checkpoint = on_policy.next_multiple(step, settings.checkpoint_every)
      if finished:
        break
  except KeyboardInterrupt:
    _stop(stop, threads)
    path = checkpointer.save(int(learner.env_steps.numpy()))
    log.close()
    print(f'\nInterrupted: saved {path} at {int(learner.env_steps.numpy()):,} env steps; rerun '
          'the same command to resume.', flush=True)
    raise
  finally:
    _stop(stop, threads)
  train_time_s = time.time() - start
  step = int(learner.env_steps.numpy())
  return on_policy.finish(
      settings, checkpointer, log, _mode_policy(agent), step=step, start=start,
      train_time_s=train_time_s, first_iteration_s=first_iteration_s, restored=restored,
      num_updates=int(learner.num_updates.numpy()), num_workers=len(workers))


def _stop(stop: threading.Event, threads: Sequence[threading.Thread]) -> None:
  """Asks the workers to stop after their current segment and waits for them."""
  stop.set()
  for thread in threads:
    thread.join()




def _mode_policy(agent: builder.A3CAgent):
  return lambda observation: agent.actor.mode(observation).numpy()
