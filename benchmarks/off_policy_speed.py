r"""Learner throughput of SAC, TD3 and DDPG against the machine's matrix-multiply bound.

  python benchmarks/off_policy_speed.py --agents=sac,td3,ddpg --updates=500

For each agent (Pendulum-v1 specs, hidden 256x256, batch 256; TD3/DDPG with one actor update
per critic update for comparability, i.e. policy_delay 1):
  - `fixed`: gradient updates per second of `learner.update` on one batch already in memory;
  - `replay`: updates per second of `learner.step_from(iterator)` sampling from a filled Reverb
    table (what the training loop runs);
  - `matmul_bound`: iterations per second of a compiled loop of the same matrix multiplications
    (forward passes, weight and input gradients, with the update's shapes) and nothing else,
    both as a plain graph (oneDNN kernels) and with XLA; the faster one is the bound;
  - `sampling`: batches per second drawn from the table's iterator alone, and the CPU time (all
    threads of the process) one batch costs: the share of the machine the replay needs.
Timings compare ratios within one run: the machine is shared, absolute numbers drift.
Prints one JSON line per agent.
"""

import json
import sys
import time

from absl import app
from absl import flags
import numpy as np
import reverb
import tensorflow as tf

from agents.common import core
from agents.common import environments
from agents.common import off_policy
from agents.common import replay as replay_lib
from agents.ddpg import builder as ddpg_builder
from agents.ddpg import config as ddpg_config
from agents.sac import builder as sac_builder
from agents.sac import config as sac_config
from agents.td3 import config as td3_config

_AGENTS = flags.DEFINE_list('agents', ['sac', 'td3', 'ddpg'], 'Agents to measure.')
_UPDATES = flags.DEFINE_integer('updates', 500, 'Timed updates per measurement.')
_JIT = flags.DEFINE_bool('jit_compile', False, 'Compile the learner step with XLA.')

_BATCH = 256
_HIDDEN = (256, 256)


def _make(name, observation_spec, action_spec):
  common = dict(hidden_sizes=_HIDDEN, batch_size=_BATCH, learning_starts=1_000,
                replay_size=100_000, jit_compile=_JIT.value)
  strategy = tf.distribute.get_strategy()
  spec = core.EnvironmentSpec(observation_spec, action_spec)
  if name == 'sac':
    config = sac_config.SACConfig(learning_rate=1e-3, **common)
    return config, sac_builder.make_components(spec, config, strategy, 0)
  if name == 'td3':
    config = td3_config.TD3Config(policy_delay=1, **common)
  else:
    config = ddpg_config.DDPGConfig(**common)
  return config, ddpg_builder.make_components(spec, config, strategy, 0)


def _matmul_program(name: str, obs_size: int, action_size: int):
  """Forward passes [B, in] x [in, out] and the backward products (dW = x^T dy, dx = dy W^T)
  of the update's networks, and nothing else."""
  sizes = lambda n_in, n_out: [n_in, *_HIDDEN, n_out]
  policy_out = 2 * action_size if name == 'sac' else action_size
  policy = sizes(obs_size, policy_out)
  critic = sizes(obs_size + action_size, 1)
  critics = 2 if name in ('sac', 'td3') else 1
  # (network, weight gradients, input gradient of the first layer) for each backward pass;
  # forward passes per update.
  if name == 'sac':
    forwards = [policy] * 2 + [critic] * (3 * critics)   # pi(s'), pi(s); Q'(s'), Q(s, a), Q(s, a_s)
    backwards = [(critic, True, False)] * critics + [(critic, False, True)] * critics + [
        (policy, True, False)]
  else:
    forwards = [policy] * 2 + [critic] * (2 * critics + 1)  # mu'(s'), mu(s); Q', Q, Q_1(s, mu)
    backwards = [(critic, True, False)] * critics + [(critic, False, True), (policy, True, False)]
  weights = {}
  for layers in (policy, critic):
    # Variables, as in the update: the compiler cannot fold or pre-transpose them.
    weights[tuple(layers)] = [tf.Variable(tf.random.normal([a, b]) * 0.05)
                              for a, b in zip(layers[:-1], layers[1:])]

  def body(i, carry):
    total = carry
    for layers in forwards:
      x = tf.fill([_BATCH, layers[0]], carry)
      for w in weights[tuple(layers)]:
        x = tf.matmul(x, w)
      total += x[0, 0]
    for layers, weight_grads, input_grad in backwards:
      ws = weights[tuple(layers)]
      dy = tf.fill([_BATCH, layers[-1]], carry)
      for k in reversed(range(len(ws))):
        if weight_grads:
          total += tf.matmul(tf.fill([_BATCH, layers[k]], carry), dy, transpose_a=True)[0, 0]
        if k > 0 or input_grad:
          dy = tf.matmul(dy, ws[k], transpose_b=True)
      total += dy[0, 0]
    return i + 1, total * 1e-12

  def program(n, jit):
    loop = lambda n: tf.while_loop(lambda i, c: i < n, body, (0, 1e-3))[1]
    return tf.function(loop, jit_compile=jit)
  return program


def _rate(fn, n):
  fn()
  start = time.perf_counter()
  fn()
  return n / (time.perf_counter() - start)


def measure(name: str):
  env = environments.make_environment('Pendulum-v1', seed=0)
  observation_spec, action_spec = env.observation_spec(), env.action_spec()
  config, agent = _make(name, observation_spec, action_spec)
  signature, packed = off_policy.table_signature(observation_spec, action_spec)
  server = replay_lib.make_server([replay_lib.make_uniform_table(
      replay_lib.DEFAULT_TABLE, config.replay_size, signature)])
  address = f'localhost:{server.port}'
  client = reverb.Client(address)
  writer = replay_lib.NStepTransitionWriter(client, replay_lib.DEFAULT_TABLE, 1, 0.99,
                                            packed=packed)
  rng = np.random.default_rng(0)
  timestep = env.reset()
  writer.observe_first(timestep)
  for _ in range(5_000):
    action = rng.uniform(-2, 2, size=(1,)).astype(np.float32)
    timestep = env.step(action)
    writer.observe(action, timestep)
    if timestep.last():
      timestep = env.reset()
      writer.observe_first(timestep)
  writer.flush()
  replay = off_policy.Replay(client, address, server, packed)
  iterator = off_policy.make_iterator(replay, config, tf.distribute.get_strategy(),
                                      observation_spec, action_spec)
  batch = next(iterator)
  n = _UPDATES.value

  def fixed():
    for _ in range(n):
      agent.learner.update(batch)
    agent.learner.num_updates.numpy()

  def sampled():
    for _ in range(n):
      agent.learner.step_from(iterator)
    agent.learner.num_updates.numpy()

  def sample():
    for _ in range(n):
      next(iterator)

  sample()
  cpu = time.process_time()
  sampling_rate = _rate(sample, n)
  sampling_cpu_ms = (time.process_time() - cpu) / (2 * n) * 1e3  # `_rate` runs it twice.

  program = _matmul_program(name, observation_spec.shape[0], action_spec.shape[0])
  bounds = {}
  for jit in (False, True):
    compiled = program(n, jit)
    bounds['xla' if jit else 'graph'] = _rate(lambda: compiled(n).numpy(), n)
  record = {
      'agent': name, 'batch': _BATCH, 'hidden': list(_HIDDEN), 'jit_compile': _JIT.value,
      'updates_per_s_fixed_batch': _rate(fixed, n),
      'updates_per_s_from_replay': _rate(sampled, n),
      'matmul_bound_per_s': max(bounds.values()), 'matmul_bound_by_backend': bounds,
      'sampling_batches_per_s': sampling_rate, 'sampling_cpu_ms_per_batch': sampling_cpu_ms,
  }
  record['fraction_of_bound'] = record['updates_per_s_from_replay'] / record['matmul_bound_per_s']
  server.stop()
  env.close()
  return record


def main(argv):
  del argv
  for name in _AGENTS.value:
    if name not in ('sac', 'td3', 'ddpg'):
      print(f'error: --agents: unknown agent {name!r}; use sac, td3, ddpg', file=sys.stderr)
      sys.exit(2)
  for name in _AGENTS.value:
    print(json.dumps(measure(name)), flush=True)


if __name__ == '__main__':
  app.run(main)
