"""A2C factories: network, actor and learner from an environment spec and a config."""

from typing import NamedTuple, Optional

import tensorflow as tf

from agents.a2c import config as config_lib
from agents.a2c import learner as learner_lib
from agents.common import core
from agents.common import policies
from agents.common import rollout
from agents.common import running_stats
from networks import actor_critic


class A2CComponents(NamedTuple):
  """The parts of an A2C agent; `learner` and `policy` hold every variable to checkpoint."""
  network: actor_critic.ActorCritic
  policy: policies.ActorCriticPolicy
  learner: learner_lib.A2CLearner
  observation_normalizer: Optional[running_stats.RunningMeanStd]


def make_components(spec: core.EnvironmentSpec,
                    config: config_lib.SynchronousActorCriticConfig,
                    strategy: tf.distribute.Strategy, seed: int, horizon: int = 1,
                    learner_cls=learner_lib.A2CLearner, **learner_kwargs) -> A2CComponents:
  """Builds A2C's network, policy and learner; variables live in `strategy.scope()`.

  Discrete actions use a categorical (softmax) policy, as in the paper; continuous actions a
  diagonal Gaussian with a learned, state-independent log standard deviation. `horizon` is the
  env steps the learning rate anneals over. `learner_cls(network, config, strategy,
  horizon=, observation_normalizer=, **learner_kwargs)` makes the learner (ACKTR's is A2C's
  with K-FAC).
  """
  with strategy.scope():
    network = policies.make_network(spec, config, seed, shared_torso=config.shared_torso)
    normalizer = policies.make_observation_normalizer(spec, config)
  learner = learner_cls(network, config, strategy, horizon=horizon,
                        observation_normalizer=normalizer, **learner_kwargs)
  policy = policies.ActorCriticPolicy(network, spec.observation, seed=seed,
                                      observation_normalizer=normalizer)
  return A2CComponents(network, policy, learner, normalizer)


def make_agent(config: config_lib.A2CConfig, context: core.BuildContext) -> core.Agent:
  """A2C for the run in `context`: a rollout actor over `config.num_envs` environments."""
  return rollout.make_agent(context, config, make_components(
      context.spec, config, context.strategy, context.seed, context.num_steps))
