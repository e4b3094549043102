"""Off-policy actor-critic factories: the network, the behaviour policy, the learner and a
rollout actor."""

from typing import NamedTuple

import dm_env

from agents.common import config as common_config
from agents.common import core
from agents.common import distribute
from agents.common import policies
from agents.common import rollout
from agents.off_policy_ac import config as config_lib
from agents.off_policy_ac import learner as learner_lib
from networks import actor_critic


class OffPolicyActorCriticComponents(NamedTuple):
  """The parts of the agent; `policy` and `learner` hold every variable."""
  network: actor_critic.ActorCritic
  policy: learner_lib.MixturePolicy
  learner: learner_lib.OffPolicyActorCriticLearner


def make_components(spec: core.EnvironmentSpec, config: config_lib.OffPolicyActorCriticConfig,
                    seed: int) -> OffPolicyActorCriticComponents:
  """Separate policy and value MLPs, the behaviour mixture around the policy, the learner.

  Raises:
    ConfigError: naming `RunSettings.env_id` for actions that are not discrete.
  """
  if not isinstance(spec.action, dm_env.specs.DiscreteArray):
    raise common_config.ConfigError(
        'RunSettings', 'env_id', 'the off-policy actor-critic needs discrete actions (its '
        f'behaviour mixes pi with the uniform policy), got {spec.action!r}', value=None)
  network = policies.make_network(spec, config, seed, shared_torso=False)
  policy = learner_lib.MixturePolicy(network, spec.observation, spec.action.num_values,
                                     config.behaviour_epsilon, seed=seed)
  learner = learner_lib.OffPolicyActorCriticLearner(network, config)
  return OffPolicyActorCriticComponents(network, policy, learner)


def make_agent(config: config_lib.OffPolicyActorCriticConfig,
               context: core.BuildContext) -> core.Agent:
  """The off-policy actor-critic for the run in `context`: a rollout actor following the
  behaviour policy over `config.num_envs` environments."""
  distribute.require_default_strategy(context.strategy, 'the off-policy actor-critic',
                                      'its update is not replicated')
  return rollout.make_agent(context, config,
                            make_components(context.spec, config, context.seed))
