"""A3C factories: global network, shared optimizer, learner, evaluation actor and workers."""

from typing import Callable, List, NamedTuple

import dm_env
from dm_env import specs
import tensorflow as tf

from agents.a3c import config as config_lib
from agents.a3c import learner as learner_lib
from agents.a3c import worker as worker_lib
from agents.common import policies
from agents.common import learning
from networks import actor_critic


class A3CAgent(NamedTuple):
  """The global parts of A3C; `learner` tracks every variable that is checkpointed.

  Attributes:
    network: the global `ActorCritic` (theta, theta_v).
    actor: acts with the global parameters (evaluation uses its `mode`).
    learner: the `A3CLearner` (shared optimizer, global env-step and update counters).
    make_workers: `(envs, seed) -> workers`, one `Worker` per environment, each with a local
      copy of the networks (worker i samples actions with seed `seed + i`).
  """
  network: actor_critic.ActorCritic
  actor: policies.ActorCriticPolicy
  learner: learner_lib.A3CLearner
  make_workers: Callable[[List[dm_env.Environment], int], List[worker_lib.Worker]]


def make_agent(observation_spec: specs.Array, action_spec: specs.Array,
               config: config_lib.A3CConfig, strategy: tf.distribute.Strategy,
               seed: int) -> A3CAgent:
  """Builds A3C for an environment (raises ValueError naming --strategy unless default).

  Discrete actions use a categorical (softmax) policy, as in the paper; continuous actions a
  diagonal Gaussian with a learned, state-independent log standard deviation.
  """
  make_network = lambda: _make_network(observation_spec, action_spec, config)
  network = make_network()
  optimizer = learning.make_optimizer(
      config.optimizer, config.learning_rate, epsilon=config.optimizer_epsilon,
      rmsprop_decay=config.rmsprop_decay)
  learner = learner_lib.A3CLearner(network, optimizer, config, strategy)
  actor = policies.ActorCriticPolicy(network, observation_spec, seed=seed)

  def make_workers(envs: List[dm_env.Environment], worker_seed: int) -> List[worker_lib.Worker]:
    return [worker_lib.Worker(i, learner, make_network(), env, config.t_max,
                              seed=worker_seed + i) for i, env in enumerate(envs)]

  return A3CAgent(network, actor, learner, make_workers)


def _make_network(observation_spec, action_spec, config) -> actor_critic.ActorCritic:
  return actor_critic.make_actor_critic(
      observation_spec, action_spec, hidden_sizes=config.hidden_sizes,
      activation=config.activation, shared_torso=config.shared_torso,
      init_log_std=config.init_log_std)

