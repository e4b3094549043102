r"""Multimodality on the multi-goal environment: which goals a trained policy's samples reach.

  python benchmarks/multigoal.py --logdir=runs/soft_q/MultiGoal-v0/seed0 \
      --out=agents/soft_q/curves/soft_q_multigoal.png --rollouts=100

Restores the run's newest checkpoint (Soft Q-learning or SAC, from its config.json), runs
`--rollouts` episodes of the *sampled* policy from the start state (0, 0) (Soft Q-learning:
a = f(s, xi); SAC: a ~ pi(.|s)), counts the episodes that end at each goal, and draws the
trajectories beside the contours of Q(s_0, a) over the action square at the start state
(SAC: the minimum of its twin critics). Prints one JSON line: goals reached (of 4), episodes
per goal, and the mean return.
"""

import json
import os

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from agents import registry
from agents.common import checkpointing
from agents.common import environments
from agents.sac import builder as sac_builder
from agents.soft_q import builder as soft_q_builder
from envs import multigoal

_LOGDIR = flags.DEFINE_string('logdir', None, 'A Soft Q-learning or SAC run on MultiGoal-v0.',
                              required=True)
_OUT = flags.DEFINE_string('out', None, 'PNG to write (default: LOGDIR/multigoal.png).')
_ROLLOUTS = flags.DEFINE_integer('rollouts', 100, 'Episodes of the sampled policy.')
_SEED = flags.DEFINE_integer('seed', 12345, 'Seeds the rollouts.')


def _restore(logdir):
  """(sample(observations) -> actions, q(observation [O], actions [N, A]) -> [N], agent)."""
  with open(os.path.join(logdir, 'config.json')) as f:
    record = json.load(f)
  agent = record['agent']
  launcher = registry.AGENTS[agent]
  fields = {k: tuple(v) if isinstance(v, list) else v for k, v in record['config'].items()}
  config = launcher.config_cls(**fields)
  spec = environments.environment_spec(record['env'])
  strategy = tf.distribute.get_strategy()
  if agent == 'soft_q':
    parts = soft_q_builder.make_components(spec, config, strategy, record['seed'])
    policy, q = parts.policy, lambda o, a: parts.q_network(o, a)
  elif agent == 'sac':
    parts = sac_builder.make_components(spec, config, strategy, record['seed'])
    policy = parts.actor
    q = lambda o, a: tf.minimum(*parts.critic(o, a))
  else:
    raise app.UsageError(f'--logdir: a soft_q or sac run, got {agent}')
  step = checkpointing.newest_intact_step(logdir)
  if step is None:
    raise app.UsageError(f'--logdir: {logdir} holds no checkpoint')
  path = os.path.join(logdir, 'checkpoints', f'ckpt-{step}')
  tf.train.Checkpoint(learner=parts.learner, actor=policy).restore(path).expect_partial()
  return policy, q, agent, step


def main(argv):
  del argv
  policy, q, agent, step = _restore(_LOGDIR.value)
  env = multigoal.MultiGoalEnv()
  counts = np.zeros(len(multigoal.GOALS), np.int64)
  paths, returns = [], []
  for episode in range(_ROLLOUTS.value):
    observation, _ = env.reset(seed=_SEED.value + episode, options={'position': (0.0, 0.0)})
    path, total = [observation], 0.0
    for _ in range(30):
      action = policy.select(observation[None].astype(np.float32)).numpy()[0]
      observation, reward, terminated, _, info = env.step(action)
      path.append(observation)
      total += reward
      if terminated:
        break
    counts += info['goals_reached'].astype(np.int64)
    paths.append(np.array(path))
    returns.append(total)

  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6), dpi=100)
  for path in paths:
    left.plot(path[:, 0], path[:, 1], color='C0', alpha=0.35, linewidth=1)
  left.scatter(multigoal.GOALS[:, 0], multigoal.GOALS[:, 1], marker='*', s=250, color='C3',
               zorder=3)
  for goal, count in zip(multigoal.GOALS, counts):
    left.annotate(str(count), goal + np.array([0.4, 0.4]))
  left.set(xlim=(-7, 7), ylim=(-7, 7), aspect='equal',
           title=f'{agent}: {_ROLLOUTS.value} sampled trajectories from (0, 0)')
  grid = np.linspace(-1, 1, 81, dtype=np.float32)
  actions = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2)
  values = q(np.zeros_like(actions), actions).numpy().reshape(81, 81)
  contour = right.contourf(grid, grid, values, levels=20)
  fig.colorbar(contour, ax=right)
  first = np.array([policy.select(np.zeros((1, 2), np.float32)).numpy()[0] for _ in range(100)])
  right.scatter(first[:, 0], first[:, 1], s=6, color='white', alpha=0.8)
  right.set(aspect='equal', xlabel='a_x', ylabel='a_y',
            title='Q(s0, a) and 100 sampled first actions')
  fig.tight_layout()
  out = _OUT.value or os.path.join(_LOGDIR.value, 'multigoal.png')
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  fig.savefig(out)
  print(json.dumps({'agent': agent, 'checkpoint_step': step,
                    'goals_reached': int((counts > 0).sum()),
                    'episodes_per_goal': counts.tolist(),
                    'episodes_at_no_goal': int(_ROLLOUTS.value - counts.sum()),
                    'mean_return': float(np.mean(returns)), 'png': out}))


if __name__ == '__main__':
  app.run(main)
