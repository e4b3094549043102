"""A2C factories: network, optimizer, actor and learner from an environment spec and a config."""

from typing import NamedTuple, Optional

from dm_env import specs
import tensorflow as tf

from agents.a2c import config as config_lib
from agents.a2c import learner as learner_lib
from agents.common import actors
from agents.common import learning
from agents.common import running_stats
from networks import actor_critic


class A2CAgent(NamedTuple):
  """The parts of an A2C agent; `learner` tracks every variable that is checkpointed."""
  network: actor_critic.ActorCritic
  actor: actors.PolicyValueActor
  learner: learner_lib.A2CLearner
  observation_normalizer: Optional[running_stats.RunningMeanStd]


def make_agent(observation_spec: specs.Array, action_spec: specs.Array,
               config: config_lib.A2CConfig, strategy: tf.distribute.Strategy,
               seed: int) -> A2CAgent:
  """Builds A2C for an environment: variables live in `strategy.scope()`.

  Discrete actions use a categorical (softmax) policy, as in the paper; continuous actions a
  diagonal Gaussian with a learned, state-independent log standard deviation.
  """
  with strategy.scope():
    network = actor_critic.make_actor_critic(
        observation_spec, action_spec, hidden_sizes=config.hidden_sizes,
        activation=config.activation, shared_torso=config.shared_torso,
        init_log_std=config.init_log_std)
    normalizer = None
    if config.normalize_observations:
      normalizer = running_stats.RunningMeanStd(observation_spec.shape, name='obs_stats')
    optimizer = learning.make_optimizer(
        config.optimizer, config.learning_rate, epsilon=config.optimizer_epsilon,
        rmsprop_decay=config.rmsprop_decay)
  learner = learner_lib.A2CLearner(network, optimizer, config, strategy,
                                   observation_normalizer=normalizer)
  actor = actors.PolicyValueActor(network, observation_spec, seed=seed,
                                  observation_normalizer=normalizer)
  return A2CAgent(network, actor, learner, normalizer)

