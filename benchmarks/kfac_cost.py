r"""The cost of one ACKTR update (K-FAC) against one A2C update (RMSProp) on the same rollout.

  python benchmarks/kfac_cost.py --env=CartPole-v1 --num_envs=8 --num_steps_per_env=20 \
      --hidden_sizes=64,64 --updates=500

Both learners get the same network sizes and the same fixed [T, B] rollout collected from the
environment by a random-weight policy; each is compiled as in training (one XLA program per
update) and warmed up, then `--updates` updates are timed, for `--repeats` rounds alternating
between the two. Reports the median time per update of each and their ratio (run it on an idle
machine: ratios measured under load mean nothing). `--inverse_every` sets how often K-FAC
recomputes its eigendecompositions (1: every update, the ACKTR setting); `--nojit_compile`
times both as plain graphs.
"""

import json
import statistics
import time

from absl import app
from absl import flags
import tensorflow as tf

from agents.a2c import builder as a2c_builder
from agents.a2c import config as a2c_config
from agents.acktr import builder as acktr_builder
from agents.acktr import config as acktr_config
from agents.common import environments
from agents.common import rollout as rollout_lib

_ENV = flags.DEFINE_string('env', 'CartPole-v1', 'Environment.')
_NUM_ENVS = flags.DEFINE_integer('num_envs', 8, 'B, environments per rollout.')
_NUM_STEPS = flags.DEFINE_integer('num_steps_per_env', 20, 'T, steps per environment.')
_HIDDEN = flags.DEFINE_list('hidden_sizes', ['64', '64'], 'Torso widths.')
_SHARED = flags.DEFINE_boolean('shared_torso', False, 'One torso for policy and value.')
_UPDATES = flags.DEFINE_integer('updates', 500, 'Updates timed per round.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Rounds, alternating A2C and ACKTR.')
_JIT = flags.DEFINE_boolean('jit_compile', True, 'Compile each update with XLA.')
_INVERSE_EVERY = flags.DEFINE_integer('inverse_every', 1, 'K-FAC eigendecomposition period.')


def _learners():
  spec = environments.environment_spec(_ENV.value)
  shared = dict(jit_compile=_JIT.value, num_envs=_NUM_ENVS.value,
                num_steps_per_env=_NUM_STEPS.value,
                hidden_sizes=tuple(int(h) for h in _HIDDEN.value),
                shared_torso=_SHARED.value, anneal_learning_rate=False)
  strategy = tf.distribute.get_strategy()
  a2c = a2c_builder.make_components(spec, a2c_config.A2CConfig(**shared), strategy, seed=0)
  acktr = acktr_builder.make_components(
      spec, acktr_config.ACKTRConfig(inverse_every=_INVERSE_EVERY.value, **shared), strategy,
      seed=0)
  env = environments.VectorEnv(_ENV.value, _NUM_ENVS.value, seed=0)
  actor = rollout_lib.RolloutActor(env, a2c.policy, _NUM_STEPS.value)
  experience = actor.act(actor.batch_size).experience
  actor.close()
  return {'a2c_rmsprop': a2c.learner, 'acktr_kfac': acktr.learner}, experience


def _time(learner, experience) -> float:
  start = time.perf_counter()
  for _ in range(_UPDATES.value):
    metrics = learner.step(experience)
  float(metrics['loss'])  # Waits for the last update.
  return (time.perf_counter() - start) / _UPDATES.value


def main(argv):
  del argv
  learners, experience = _learners()
  times = {name: [] for name in learners}
  for learner in learners.values():
    for _ in range(20):
      learner.step(experience)
  for _ in range(_REPEATS.value):
    for name, learner in learners.items():
      times[name].append(_time(learner, experience))
  medians = {name: statistics.median(values) for name, values in times.items()}
  result = {f'{name}_ms_per_update': 1e3 * value for name, value in medians.items()}
  result['acktr_over_a2c'] = medians['acktr_kfac'] / medians['a2c_rmsprop']
  result['batch'] = _NUM_ENVS.value * _NUM_STEPS.value
  print(json.dumps(result, indent=1))


if __name__ == '__main__':
  app.run(main)
