"""PPO factories: networks, actor and learner from an environment spec and a config."""

from typing import NamedTuple, Optional

import tensorflow as tf

from agents.common import core
from agents.common import policies
from agents.common import rollout
from agents.common import running_stats
from agents.ppo import config as config_lib
from agents.ppo import learner as learner_lib
from networks import actor_critic


class PPOComponents(NamedTuple):
  """The parts of a PPO agent; `learner` and `policy` hold every variable to checkpoint."""
  network: actor_critic.ActorCritic
  policy: policies.ActorCriticPolicy
  learner: learner_lib.PPOLearner
  observation_normalizer: Optional[running_stats.RunningMeanStd]


def make_components(spec: core.EnvironmentSpec, config: config_lib.PPOConfig,
                    strategy: tf.distribute.Strategy, seed: int,
                    horizon: int = 1) -> PPOComponents:
  """Builds PPO's networks, policy and learner; variables live in `strategy.scope()`.

  Continuous actions use a diagonal Gaussian with a state-independent, learned log standard
  deviation (Schulman et al. 2017, section 6.1); discrete actions a categorical distribution.
  `horizon` is the env steps the schedules anneal over.
  """
  with strategy.scope():
    make_network = lambda: policies.make_network(spec, config, seed,
                                                 shared_torso=config.shared_torso)
    network = make_network()
    old_network = make_network() if config.objective == 'kl_penalty' else None
    normalizer = policies.make_observation_normalizer(spec, config)
    scaler = None
    if config.normalize_rewards:
      scaler = running_stats.RewardScaler(config.num_envs, config.discount, name='reward_scaler')
  learner = learner_lib.PPOLearner(network, config, strategy, seed=seed, horizon=horizon,
                                   observation_normalizer=normalizer, reward_scaler=scaler,
                                   old_network=old_network)
  policy = policies.ActorCriticPolicy(network, spec.observation, seed=seed,
                                      observation_normalizer=normalizer)
  return PPOComponents(network, policy, learner, normalizer)


def make_agent(config: config_lib.PPOConfig, context: core.BuildContext) -> core.Agent:
  """PPO for the run in `context`: a rollout actor over `config.num_envs` environments."""
  return rollout.make_agent(context, config, make_components(
      context.spec, config, context.strategy, context.seed, context.num_steps))
