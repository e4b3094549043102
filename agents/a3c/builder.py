"""A3C factories: global network and learner, and one (actor, learner) pair per worker."""

from typing import NamedTuple

import tensorflow as tf

from agents.a3c import actor as actor_lib
from agents.a3c import config as config_lib
from agents.a3c import learner as learner_lib
from agents.common import core
from agents.common import environments
from agents.common import policies
from networks import actor_critic


class A3CComponents(NamedTuple):
  """The global parts of A3C; `learner` and `policy` hold every variable to checkpoint.

  Attributes:
    network: the global `ActorCritic` (theta, theta_v).
    policy: acts with the global parameters (evaluation uses its `mode`).
    learner: the `A3CLearner` (shared optimizer, global env-step and update counters).
  """
  network: actor_critic.ActorCritic
  policy: policies.ActorCriticPolicy
  learner: learner_lib.A3CLearner


def make_network(spec: core.EnvironmentSpec, config: config_lib.A3CConfig,
                 seed: int) -> actor_critic.ActorCritic:
  """The global network, or a worker's local copy (same architecture)."""
  return policies.make_network(spec, config, seed, shared_torso=config.shared_torso)


def make_components(spec: core.EnvironmentSpec, config: config_lib.A3CConfig,
                    strategy: tf.distribute.Strategy, seed: int,
                    horizon: int = 1) -> A3CComponents:
  """Builds A3C's global parts (raises ConfigError naming `RunSettings.strategy` unless it is
  the default strategy).

  Discrete actions use a categorical (softmax) policy, as in the paper; continuous actions a
  diagonal Gaussian with a learned, state-independent log standard deviation.
  """
  network = make_network(spec, config, seed)
  learner = learner_lib.A3CLearner(network, config, strategy, horizon=horizon)
  policy = policies.ActorCriticPolicy(network, spec.observation, seed=seed)
  return A3CComponents(network, policy, learner)


def make_worker(parts: A3CComponents, worker_id: int, env, config: config_lib.A3CConfig,
                seed: int):
  """Worker `worker_id`'s (SegmentActor, A3CWorkerLearner) on `env`, sharing a local network
  (its sampling is seeded from `seed + worker_id`)."""
  spec = core.EnvironmentSpec(env.observation_spec(), env.action_spec())
  local = make_network(spec, config, seed)
  actor = actor_lib.SegmentActor(worker_id, parts.learner, local, env, config.t_max,
                                 seed=seed + worker_id)
  return actor, learner_lib.A3CWorkerLearner(parts.learner, local)


def make_agent(config: config_lib.A3CConfig, context: core.BuildContext) -> core.Agent:
  """A3C for the run in `context`: `config.num_workers` threads, each acting in its own
  environment (worker i seeded `context.env_seed + i`) and updating the global parameters."""
  parts = make_components(context.spec, config, context.strategy, context.seed,
                          context.num_steps)
  workers = [make_worker(parts, i, environments.make_environment(
      context.env_id, options=context.env_options), config,
                         context.env_seed) for i in range(config.num_workers)]
  actors = [actor for actor, _ in workers]

  def close():
    for actor in actors:
      actor.close()

  return core.Agent(actors=actors, learners=[learner for _, learner in workers],
                    policy=core.mode_policy(parts.policy),
                    state=dict(learner=parts.learner, actor=parts.policy),
                    steps_per_act=config.t_max, close=close,
                    report=lambda: {'num_workers': config.num_workers})
