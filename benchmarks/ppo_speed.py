r"""Where PPO's time goes on CartPole-v1 (RL-Zoo settings), and the floors under each part.

  python benchmarks/ppo_speed.py --iterations=100

With the `--tuned` CartPole-v1 settings (8 envs x 32 steps per iteration, 20 epochs of one
minibatch of 256, 64x64 tanh networks), in one process:
  - `build_s`: creating the 8 environments and the agent;
  - `rollout_first_s`, `update_first_s`: the first call of each (graph tracing; for the update
    also the XLA compilation when `--jit_compile`);
  - `rollout_ms`, `update_ms`: one iteration's rollout and update after that;
  - `env_ms`: the same 8 x 32 environment steps driven from Python with fixed actions: the
    environments' own cost, below which no rollout can go;
  - `graph_loop_ms`: the rollout's compiled loop stepping the environments through
    `tf.numpy_function` with fixed actions, no policy: the floor of an in-graph rollout;
  - `call_us`: the cost of calling an empty `tf.function` from Python (what a rollout driven
    from Python pays per step on top of the policy);
  - `update_matmul_ms`: a compiled loop of only the update's matrix multiplications (forward,
    weight and input gradients of both networks, 20 x batch 256), plain graph and XLA;
  - `projected_s`: build + first calls + the remaining iterations of `--num_steps` at the
    measured per-iteration cost, to set against Stable-Baselines3's time for the same run.
Timings compare within one run: the machine is shared, absolute numbers drift.
Prints one JSON line.
"""

import json
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import environments
from agents.common import rollout as rollout_lib
from agents.ppo import builder
from agents.ppo import config as config_lib

_ITERATIONS = flags.DEFINE_integer('iterations', 100, 'Timed iterations per measurement.')
_NUM_STEPS = flags.DEFINE_integer('num_steps', 50_000, 'Env steps of the projected run.')
_JIT = flags.DEFINE_bool('jit_compile', True, 'Compile the update with XLA (as the default).')

_ENV = 'CartPole-v1'


def _ms_per_call(fn, n: int) -> float:
  start = time.perf_counter()
  for _ in range(n):
    fn()
  return (time.perf_counter() - start) / n * 1e3


def _first_call_s(fn) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def _graph_loop(env: environments.VectorEnv, num_steps: int):
  """The rollout's loop structure with fixed actions: env steps through numpy_function only."""
  num_envs = env.num_envs
  obs_shape = (num_envs,) + tuple(env.observation_spec().shape)

  def env_step(action):
    step = env.step(action)
    return step.observation, step.reward

  @tf.function(autograph=False)
  def loop():
    rewards = tf.TensorArray(tf.float32, size=num_steps, element_shape=[num_envs])

    def body(t, observation, rewards):
      action = tf.fill([num_envs], t % 2)
      next_observation, reward = tf.numpy_function(env_step, [action],
                                                   [tf.float32, tf.float32])
      next_observation.set_shape(obs_shape)
      reward.set_shape([num_envs])
      return t + 1, next_observation, rewards.write(t, reward)

    _, _, rewards = tf.while_loop(lambda t, *_: t < num_steps, body,
                                  (tf.constant(0), tf.zeros(obs_shape), rewards))
    return rewards.stack()

  return loop


def _matmul_loop(config: config_lib.PPOConfig, obs_size: int, num_actions: int, jit: bool):
  """K x M steps of the update's matrix multiplications on minibatches, nothing else."""
  sizes = [obs_size, *config.hidden_sizes]
  networks = [sizes + [num_actions], sizes + [1]]  # Policy logits, value.
  weights = [[tf.Variable(tf.random.normal([a, b]) * 0.1) for a, b in zip(n[:-1], n[1:])]
             for n in networks]
  x = tf.random.normal([config.minibatch_size, obs_size])
  steps = config.num_epochs * (config.batch_size // config.minibatch_size)

  def one_step(x):
    total = 0.0
    for layers in weights:
      activations = [x]
      for w in layers:
        activations.append(tf.matmul(activations[-1], w))
      grad = activations[-1]
      for i in reversed(range(len(layers))):
        total += tf.reduce_sum(tf.matmul(activations[i], grad, transpose_a=True))
        if i > 0:
          grad = tf.matmul(grad, layers[i], transpose_b=True)
    return total

  def loop():
    body = lambda i, acc: (i + 1, acc + one_step(x + tf.cast(i, tf.float32) * 1e-6))
    return tf.while_loop(lambda i, _: i < steps, body, (0, 0.0))[1]

  return tf.function(loop, jit_compile=jit, autograph=False)


def measure() -> dict:
  config = config_lib.PPOConfig(**config_lib.TUNED[_ENV], jit_compile=_JIT.value)
  n = _ITERATIONS.value
  start = time.perf_counter()
  env = environments.VectorEnv(_ENV, config.num_envs, seed=0)
  parts = builder.make_components(core.EnvironmentSpec(env.observation_spec(), env.action_spec()),
                                  config, tf.distribute.get_strategy(), seed=0,
                                  horizon=100 * n * config.batch_size)
  collector = rollout_lib.RolloutActor(env, parts.policy, config.num_steps_per_env)
  collector.reset(env_steps=0)
  build_s = time.perf_counter() - start

  start = time.perf_counter()
  rollout, _, _ = collector.collect()
  rollout_first_s = time.perf_counter() - start
  update = lambda: parts.learner.step(rollout)['loss'].numpy()
  update_first_s = _first_call_s(update)
  rollout_ms = _ms_per_call(collector.collect, n)
  update_ms = _ms_per_call(update, n)

  actions = [np.zeros(config.num_envs, np.int64), np.ones(config.num_envs, np.int64)]
  env.reset(seed=1)
  def python_loop():
    for t in range(config.num_steps_per_env):
      env.step(actions[t % 2])
  env_ms = _ms_per_call(python_loop, n)
  graph_loop = _graph_loop(env, config.num_steps_per_env)
  graph_loop()
  graph_loop_ms = _ms_per_call(lambda: graph_loop().numpy(), n)

  empty = tf.function(lambda x: x, autograph=False)
  x = tf.zeros([config.num_envs, 4])
  empty(x)
  call_us = _ms_per_call(lambda: empty(x), 20 * n) * 1e3

  matmul_ms = {}
  for jit in (False, True):
    loop = _matmul_loop(config, env.observation_spec().shape[0], env.action_spec().num_values,
                        jit)
    loop()
    matmul_ms['xla' if jit else 'graph'] = _ms_per_call(lambda: loop().numpy(), n)

  iterations = _NUM_STEPS.value // config.batch_size
  record = {
      'env': _ENV, 'num_envs': config.num_envs, 'steps_per_env': config.num_steps_per_env,
      'epochs': config.num_epochs, 'minibatch': config.minibatch_size,
      'jit_compile': _JIT.value, 'iterations_timed': n,
      'build_s': build_s, 'rollout_first_s': rollout_first_s, 'update_first_s': update_first_s,
      'rollout_ms': rollout_ms, 'update_ms': update_ms, 'env_ms': env_ms,
      'graph_loop_ms': graph_loop_ms, 'call_us': call_us,
      'update_matmul_ms': matmul_ms,
      'projected_iterations': iterations,
      'projected_s': (build_s + rollout_first_s + update_first_s
                      + (iterations - 1) * (rollout_ms + update_ms) / 1e3),
  }
  env.close()
  return record


def main(argv):
  del argv
  if _ITERATIONS.value < 1:
    raise app.UsageError(f'--iterations={_ITERATIONS.value}: must be >= 1')
  print(json.dumps(measure()), flush=True)


if __name__ == '__main__':
  app.run(main)
