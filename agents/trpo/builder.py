"""TRPO factories: networks, value optimizer, actor and learner from an environment spec."""

from typing import NamedTuple, Optional

from dm_env import specs
import tensorflow as tf

from agents.common import actors
from agents.common import running_stats
from agents.trpo import config as config_lib
from agents.trpo import learner as learner_lib
from networks import actor_critic


class TRPOAgent(NamedTuple):
  """The parts of a TRPO agent; `learner` tracks every variable that is checkpointed."""
  network: actor_critic.ActorCritic
  actor: actors.PolicyValueActor
  learner: learner_lib.TRPOLearner
  observation_normalizer: Optional[running_stats.RunningMeanStd]


def make_agent(observation_spec: specs.Array, action_spec: specs.Array,
               config: config_lib.TRPOConfig, strategy: tf.distribute.Strategy,
               seed: int) -> TRPOAgent:
  """Builds TRPO for an environment.

  Separate policy and value MLPs (the policy is changed only by the trust-region step, the
  value function only by Adam). Discrete actions: a categorical (softmax) policy; continuous
  actions: a diagonal Gaussian with a state-independent learned log-std (Schulman et al. 2015,
  section 8). A second network of the same architecture, `old_network`, holds pi_old during an
  update for the analytic KL[pi_old || pi].

  Raises:
    ValueError: under any strategy but the default one (see `TRPOLearner`).
  """
  learner_lib.check_strategy(strategy)
  make_network = lambda: actor_critic.make_actor_critic(
      observation_spec, action_spec, hidden_sizes=config.hidden_sizes,
      activation=config.activation, shared_torso=False, init_log_std=config.init_log_std)
  network = make_network()
  old_network = make_network()
  normalizer = None
  if config.normalize_observations:
    normalizer = running_stats.RunningMeanStd(observation_spec.shape, name='obs_stats')
  value_optimizer = tf.keras.optimizers.Adam(learning_rate=config.value_learning_rate,
                                             epsilon=config.adam_epsilon)
  learner = learner_lib.TRPOLearner(network, old_network, value_optimizer, config, strategy,
                                    seed=seed, observation_normalizer=normalizer)
  actor = actors.PolicyValueActor(network, observation_spec, seed=seed,
                                  observation_normalizer=normalizer)
  return TRPOAgent(network, actor, learner, normalizer)
