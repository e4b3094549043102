"""REINFORCE factories: networks, actor and learner from an environment spec and a config."""

from typing import NamedTuple

import tensorflow as tf

from agents.common import core
from agents.common import distribute
from agents.common import episodes
from agents.common import policies
from agents.reinforce import config as config_lib
from agents.reinforce import learner as learner_lib
from networks import actor_critic


class ReinforceComponents(NamedTuple):
  """The parts of a REINFORCE agent; `learner` and `policy` hold every checkpointed variable."""
  network: actor_critic.ActorCritic
  policy: policies.ActorCriticPolicy
  learner: learner_lib.ReinforceLearner


def make_components(spec: core.EnvironmentSpec, config: config_lib.ReinforceConfig,
                    strategy: tf.distribute.Strategy, seed: int) -> ReinforceComponents:
  """Builds REINFORCE: separate policy and value MLPs, softmax or diagonal Gaussian policy.

  Raises:
    ConfigError: naming `RunSettings.strategy` for any but the default strategy.
  """
  distribute.require_default_strategy(strategy, 'REINFORCE', 'its update is not replicated')
  network = policies.make_network(spec, config, seed, shared_torso=False)
  learner = learner_lib.ReinforceLearner(network, config, spec.observation, spec.action)
  policy = policies.ActorCriticPolicy(network, spec.observation, seed=seed)
  return ReinforceComponents(network, policy, learner)


def make_agent(config: config_lib.ReinforceConfig, context: core.BuildContext) -> core.Agent:
  """REINFORCE for the run in `context`: an actor of `config.num_envs` whole episodes per
  update, seeded from `context.env_seed`."""
  parts = make_components(context.spec, config, context.strategy, context.seed)
  actor = episodes.EpisodeActor(context.env_id, config.num_envs, context.env_seed, parts.policy,
                                options=context.env_options)
  return core.Agent(actors=[actor], learners=[parts.learner],
                    policy=core.mode_policy(parts.policy),
                    state=dict(learner=parts.learner, actor=parts.policy), close=actor.close)
