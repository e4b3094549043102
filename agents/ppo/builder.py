"""PPO factories: networks, optimizer, actor and learner from an environment spec and a config."""

from typing import NamedTuple, Optional

from dm_env import specs
import tensorflow as tf

from agents.common import actors
from agents.common import running_stats
from agents.ppo import config as config_lib
from agents.ppo import learner as learner_lib
from networks import actor_critic


class PPOAgent(NamedTuple):
  """The parts of a PPO agent; `learner` tracks every variable that is checkpointed."""
  network: actor_critic.ActorCritic
  actor: actors.PolicyValueActor
  learner: learner_lib.PPOLearner
  observation_normalizer: Optional[running_stats.RunningMeanStd]


def make_agent(observation_spec: specs.Array, action_spec: specs.Array,
               config: config_lib.PPOConfig, strategy: tf.distribute.Strategy,
               seed: int) -> PPOAgent:
  """Builds PPO for an environment: variables live in `strategy.scope()`.

  Continuous actions use a diagonal Gaussian with a state-independent, learned log standard
  deviation (Schulman et al. 2017, section 6.1); discrete actions a categorical distribution.
  """
  with strategy.scope():
    make_network = lambda: actor_critic.make_actor_critic(
        observation_spec, action_spec, hidden_sizes=config.hidden_sizes,
        activation=config.activation, shared_torso=config.shared_torso,
        init_log_std=config.init_log_std)
    network = make_network()
    old_network = make_network() if config.objective == 'kl_penalty' else None
    normalizer = None
    if config.normalize_observations:
      normalizer = running_stats.RunningMeanStd(observation_spec.shape, name='obs_stats')
    scaler = None
    if config.normalize_rewards:
      scaler = running_stats.RewardScaler(config.num_envs, config.discount, name='reward_scaler')
    optimizer = tf.keras.optimizers.Adam(
        learning_rate=config.learning_rate, epsilon=config.adam_epsilon)
  learner = learner_lib.PPOLearner(network, optimizer, config, strategy, seed=seed,
                                   observation_normalizer=normalizer, reward_scaler=scaler,
                                   old_network=old_network)
  actor = actors.PolicyValueActor(network, observation_spec, seed=seed,
                                  observation_normalizer=normalizer)
  return PPOAgent(network, actor, learner, normalizer)

