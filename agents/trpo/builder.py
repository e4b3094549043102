"""TRPO factories: networks, actor and learner from an environment spec and a config."""

from typing import NamedTuple, Optional

import tensorflow as tf

from agents.common import core
from agents.common import distribute
from agents.common import policies
from agents.common import rollout
from agents.common import running_stats
from agents.trpo import config as config_lib
from agents.trpo import learner as learner_lib
from networks import actor_critic


class TRPOComponents(NamedTuple):
  """The parts of a TRPO agent; `learner` and `policy` hold every variable to checkpoint."""
  network: actor_critic.ActorCritic
  policy: policies.ActorCriticPolicy
  learner: learner_lib.TRPOLearner
  observation_normalizer: Optional[running_stats.RunningMeanStd]


def make_components(spec: core.EnvironmentSpec, config: config_lib.TRPOConfig,
                    strategy: tf.distribute.Strategy, seed: int) -> TRPOComponents:
  """Builds TRPO's networks, policy and learner.

  Separate policy and value MLPs (the policy is changed only by the trust-region step, the
  value function only by Adam). Discrete actions: a categorical (softmax) policy; continuous
  actions: a diagonal Gaussian with a state-independent learned log-std (Schulman et al. 2015,
  section 8). A second network of the same architecture, `old_network`, holds pi_old during an
  update for the analytic KL[pi_old || pi].

  Raises:
    ConfigError: naming `RunSettings.strategy` under any strategy but the default one.
  """
  distribute.require_default_strategy(
      strategy, 'TRPO', 'its conjugate-gradient solve and line search run on one device')
  network = policies.make_network(spec, config, seed, shared_torso=False)
  old_network = policies.make_network(spec, config, seed, shared_torso=False)
  normalizer = policies.make_observation_normalizer(spec, config)
  learner = learner_lib.TRPOLearner(network, old_network, config, strategy, seed=seed,
                                    observation_normalizer=normalizer)
  policy = policies.ActorCriticPolicy(network, spec.observation, seed=seed,
                                      observation_normalizer=normalizer)
  return TRPOComponents(network, policy, learner, normalizer)


def make_agent(config: config_lib.TRPOConfig, context: core.BuildContext) -> core.Agent:
  """TRPO for the run in `context`: a rollout actor over `config.num_envs` environments."""
  return rollout.make_agent(
      context, config, make_components(context.spec, config, context.strategy, context.seed))
