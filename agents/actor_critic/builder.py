"""One-step actor-critic factories: networks, actor and learner from a spec and a config."""

from typing import NamedTuple

import tensorflow as tf

from agents.actor_critic import config as config_lib
from agents.actor_critic import learner as learner_lib
from agents.common import core
from agents.common import distribute
from agents.common import policies
from agents.common import transitions
from networks import actor_critic


class ActorCriticComponents(NamedTuple):
  """The parts of a one-step actor-critic; `learner` and `policy` hold every variable."""
  network: actor_critic.ActorCritic
  policy: policies.ActorCriticPolicy
  learner: learner_lib.ActorCriticLearner


def make_components(spec: core.EnvironmentSpec, config: config_lib.ActorCriticConfig,
                    strategy: tf.distribute.Strategy, seed: int) -> ActorCriticComponents:
  """Builds the one-step actor-critic: separate policy and value MLPs.

  Raises:
    ConfigError: naming `RunSettings.strategy` for any but the default strategy.
  """
  distribute.require_default_strategy(strategy, 'the one-step actor-critic',
                                      'its per-step update is not replicated')
  network = policies.make_network(spec, config, seed, shared_torso=False)
  policy = policies.ActorCriticPolicy(network, spec.observation, seed=seed,
                                      jit_compile=config.jit_compile)
  learner = learner_lib.ActorCriticLearner(network, config, spec.observation, spec.action)
  return ActorCriticComponents(network, policy, learner)


def make_agent(config: config_lib.ActorCriticConfig,
               context: core.BuildContext) -> core.Agent:
  """The one-step actor-critic for the run in `context`: one update per step of
  `config.num_envs` environments."""
  parts = make_components(context.spec, config, context.strategy, context.seed)
  return transitions.make_agent(context, config, parts.policy, parts.learner)
