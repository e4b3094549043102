"""The training run of an on-policy agent: collect, update, log, checkpoint, evaluate."""

import dataclasses
import json
import os
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional

import numpy as np
import tensorflow as tf

from agents.common import checkpointing
from agents.common import environments
from agents.common import evaluation
from agents.common import logger as logger_lib
from agents.common import plotting
from agents.common import rollout as rollout_lib


@dataclasses.dataclass(frozen=True)
class RunSettings:
  """What every launcher sets besides the agent's config (the shared flags).

  Attributes:
    agent: the agent's name, e.g. 'ppo'.
    env_id: the gymnasium id.
    num_steps: environment steps to train for.
    seed: the run's seed.
    logdir: where the run writes everything; re-running with the same logdir resumes.
    strategy: the `--strategy` name (recorded in config.json).
    eval_episodes: episodes of the final (and periodic) deterministic evaluation.
    eval_every: evaluate every this many env steps (0: only at the end).
    checkpoint_every: checkpoint every this many env steps (and at the end and on Ctrl-C).
    log_every: write metrics every this many env steps.
  """
  agent: str
  env_id: str
  num_steps: int
  seed: int
  logdir: str
  strategy: str = 'default'
  eval_episodes: int = 10
  eval_every: int = 10_000
  checkpoint_every: int = 10_000
  log_every: int = 1_000


class OnPolicyAgent(NamedTuple):
  """What the run needs from an agent's builder.

  Attributes:
    actor: has `step(obs) -> (action, log_prob, value)`, `value(obs)` and `mode(obs)`.
    update: `update(rollout, progress) -> dict of scalar tensors`.
    trackables: everything to checkpoint, by name.
  """
  actor: Any
  update: Callable[[rollout_lib.Rollout, float], Dict[str, tf.Tensor]]
  trackables: Dict[str, Any]


def write_config(settings: RunSettings, config: Any) -> None:
  """Writes `config.json`, or checks that an existing one (a resumed run) has the same config.

  Raises:
    ValueError: if `logdir` holds a run of another agent, env or config.
  """
  path = os.path.join(settings.logdir, 'config.json')
  record = {'agent': settings.agent, 'env': settings.env_id, 'seed': settings.seed,
            'num_steps': settings.num_steps, 'strategy': settings.strategy,
            'config': dataclasses.asdict(config)}
  record = json.loads(json.dumps(record))  # Tuples as lists, as they come back from disk.
  if os.path.exists(path):
    with open(path) as f:
      previous = json.load(f)
    for key in ('agent', 'env', 'seed', 'config'):
      if previous.get(key) != record[key]:
        raise ValueError(
            f'--logdir={settings.logdir!r} holds a run with a different {key} '
            f'({previous.get(key)!r}); pick a new --logdir or rerun with the same flags')
  os.makedirs(settings.logdir, exist_ok=True)
  with open(path, 'w') as f:
    json.dump(record, f, indent=2)


def check_budget(settings: RunSettings, batch_steps: int) -> None:
  """Raises ValueError naming --num_steps if the budget is less than one iteration."""
  if batch_steps > settings.num_steps:
    raise ValueError(f'--num_steps={settings.num_steps}: must be at least one iteration, '
                     f'num_envs * num_steps_per_env = {batch_steps}')


def run(settings: RunSettings, env: environments.VectorEnv, agent: OnPolicyAgent,
        num_steps_per_env: int, start_time: Optional[float] = None) -> Dict[str, Any]:
  """Trains for `settings.num_steps` env steps at most, resuming from `logdir` if it can.

  Runs whole iterations of `num_envs * num_steps_per_env` steps while the next one fits in the
  budget, so a run never uses more environment steps than it was given.

  Ctrl-C (KeyboardInterrupt) saves a checkpoint before it propagates.

  Args:
    settings: the run's shared settings.
    env: the training environments.
    agent: the agent's actor, update function and trackables.
    num_steps_per_env: T, steps per environment per iteration.
    start_time: `time.time()` when the launcher started building the run (environments,
      networks); timings in evaluation.json count from there. Defaults to now.

  Returns:
    The final evaluation record (also written to `logdir/evaluation.json`).
  """
  start = time.time() if start_time is None else start_time
  env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name='env_steps')
  checkpointer = checkpointing.Checkpointer(settings.logdir, env_steps=env_steps,
                                            **agent.trackables)
  restored = checkpointer.restore()
  log = logger_lib.Logger(settings.logdir, settings.num_steps,
                          name=f'{settings.agent} {settings.env_id}',
                          initial_step=int(env_steps.numpy()))
  if restored:
    log.truncate(int(env_steps.numpy()))
    print(f'Resumed from {restored} at {int(env_steps.numpy()):,} env steps.', flush=True)
  collector = rollout_lib.RolloutCollector(env, agent.actor, num_steps_per_env)
  # A resumed run starts fresh episodes with seeds it has not used before.
  collector.reset(seed=env.seed + int(env_steps.numpy()))
  batch_steps = env.num_envs * num_steps_per_env
  check_budget(settings, batch_steps)
  last_step = settings.num_steps - settings.num_steps % batch_steps

  returns: List[float] = []
  lengths: List[int] = []
  first_iteration_s = None
  next_log = next_multiple(int(env_steps.numpy()), settings.log_every)
  next_checkpoint = next_multiple(int(env_steps.numpy()), settings.checkpoint_every)
  next_eval = next_multiple(int(env_steps.numpy()), settings.eval_every or settings.num_steps)
  metrics: Dict[str, tf.Tensor] = {}
  try:
    while int(env_steps.numpy()) + batch_steps <= settings.num_steps:
      progress = float(env_steps.numpy()) / settings.num_steps
      rollout, episode_returns, episode_lengths = collector.collect()
      metrics = agent.update(rollout, progress)
      env_steps.assign_add(batch_steps)
      returns.extend(episode_returns)
      lengths.extend(episode_lengths)
      step = int(env_steps.numpy())
      if first_iteration_s is None:
        first_iteration_s = time.time() - start
      if step >= next_eval and settings.eval_every and step < last_step:
        result = evaluate(_mode_policy(agent.actor), settings)
        log.write(step, {'eval_return': result.mean_return})
        next_eval = next_multiple(step, settings.eval_every)
      if step >= next_log or step >= last_step:
        row = {k: float(v) for k, v in metrics.items()}
        row['episode_return'] = float(np.mean(returns)) if returns else float('nan')
        row['episode_length'] = float(np.mean(lengths)) if lengths else float('nan')
        log.write(step, row)
        returns, lengths = [], []
        next_log = next_multiple(step, settings.log_every)
      if step >= next_checkpoint:
        checkpointer.save(step)
        next_checkpoint = next_multiple(step, settings.checkpoint_every)
  except KeyboardInterrupt:
    path = checkpointer.save(int(env_steps.numpy()))
    log.close()
    print(f'\nInterrupted: saved {path} at {int(env_steps.numpy()):,} env steps; rerun the same '
          'command to resume.', flush=True)
    raise
  train_time_s = time.time() - start
  return finish(settings, checkpointer, log, _mode_policy(agent.actor),
                step=int(env_steps.numpy()), start=start, train_time_s=train_time_s,
                first_iteration_s=first_iteration_s, restored=restored)


def evaluate(policy: Callable[[np.ndarray], np.ndarray],
             settings: RunSettings) -> evaluation.EvaluationResult:
  """`settings.eval_episodes` episodes of the deterministic `policy` (observations -> actions).

  Evaluation seeds are far from the training seeds, and the same at every evaluation.
  """
  return evaluation.evaluate(policy, settings.env_id, settings.eval_episodes,
                             seed=settings.seed + 1_000_000)


def finish(settings: RunSettings, checkpointer: checkpointing.Checkpointer,
           log: logger_lib.Logger, policy: Callable[[np.ndarray], np.ndarray], *, step: int,
           start: float, train_time_s: float, first_iteration_s: Optional[float],
           restored: Optional[str], **extra_record) -> Dict[str, Any]:
  """The end of every training run: checkpoint, final evaluation, evaluation.json, plot.

  Args:
    settings: the run's settings.
    checkpointer: saves the final checkpoint.
    log: the run's logger (gets the final evaluation row, then is closed).
    policy: the deterministic policy, observations [N, ...] -> actions [N, ...].
    step: env steps done.
    start: `time.time()` when the run started.
    train_time_s: seconds from `start` to the end of the last update.
    first_iteration_s: seconds from `start` to the end of the first iteration.
    restored: the checkpoint the run resumed from, or None.
    **extra_record: more fields for evaluation.json.

  Returns:
    The record written to `logdir/evaluation.json`.
  """
  checkpointer.save(step)
  result = evaluate(policy, settings)
  log.write(step, {'eval_return': result.mean_return})
  log.close()
  record = {
      'env_steps': step,
      'mean_return': result.mean_return,
      'std_return': result.std_return,
      'episodes': int(len(result.returns)),
      'returns': [float(r) for r in result.returns],
      'wall_time_s': time.time() - start,
      'train_time_s': train_time_s,
      'first_iteration_s': first_iteration_s,
      'resumed_from': restored,
      **extra_record,
  }
  with open(os.path.join(settings.logdir, 'evaluation.json'), 'w') as f:
    json.dump(record, f, indent=2)
  plotting.plot_learning_curve(
      os.path.join(settings.logdir, logger_lib.CSV_NAME),
      os.path.join(settings.logdir, 'learning_curve.png'),
      title=f'{settings.agent} {settings.env_id} seed {settings.seed}')
  return record


def next_multiple(value: int, every: int) -> int:
  """The smallest multiple of `every` above `value` (when to log, checkpoint or evaluate next)."""
  return (value // every + 1) * every


def _mode_policy(actor) -> Callable[[np.ndarray], np.ndarray]:
  return lambda observation: actor.mode(observation).numpy()
