"""ACKTR factories: A2C's network, actor and agent with the K-FAC learner."""

from agents.a2c import builder as a2c_builder
from agents.acktr import config as config_lib
from agents.acktr import learner as learner_lib
from agents.common import core
from agents.common import rollout


def make_components(spec: core.EnvironmentSpec, config: config_lib.ACKTRConfig,
                    strategy, seed: int, horizon: int = 1) -> a2c_builder.A2CComponents:
  """ACKTR's network, policy and learner: A2C's, with `ACKTRLearner` (variables in
  `strategy.scope()`; the Fisher's samples are seeded by `seed`)."""
  return a2c_builder.make_components(spec, config, strategy, seed, horizon,
                                     learner_cls=learner_lib.ACKTRLearner, fisher_seed=seed)


def make_agent(config: config_lib.ACKTRConfig, context: core.BuildContext) -> core.Agent:
  """ACKTR for the run in `context`: a rollout actor over `config.num_envs` environments."""
  return rollout.make_agent(context, config, make_components(
      context.spec, config, context.strategy, context.seed, context.num_steps))
