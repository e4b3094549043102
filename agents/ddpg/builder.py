"""DDPG/TD3 factories: networks, target networks, optimizers, actor and learner."""

from typing import NamedTuple

from dm_env import specs
import tensorflow as tf

from agents.common import learning
from agents.ddpg import actor as actor_lib
from agents.ddpg import config as config_lib
from agents.ddpg import learner as learner_lib
from networks import critics


class DDPGAgent(NamedTuple):
  """The parts of a DDPG/TD3 agent."""
  actor_network: critics.DeterministicActor
  critic: tf.keras.layers.Layer
  actor: actor_lib.NoisyDeterministicActor
  learner: learner_lib.DeterministicPolicyGradientLearner


def make_agent(observation_spec: specs.Array, action_spec: specs.BoundedArray,
               config: config_lib.DDPGConfig, strategy: tf.distribute.Strategy,
               seed: int) -> DDPGAgent:
  """Builds DDPG (or TD3, from its config) for an environment; variables live in
  `strategy.scope()`. Target networks start as copies of the online ones (Algorithm 1).

  Raises:
    ValueError: for discrete or unbounded action spaces.
  """
  def networks():
    actor = critics.make_deterministic_actor(
        observation_spec, action_spec, config.hidden_sizes, config.activation,
        observation_batch_norm=config.observation_batch_norm)
    critic = critics.make_q_network(
        observation_spec, action_spec, config.hidden_sizes, config.activation,
        twin=config.twin_critics, observation_batch_norm=config.observation_batch_norm)
    return actor, critic

  with strategy.scope():
    actor_network, critic = networks()
    target_actor, target_critic = networks()
    learning.copy_variables(target_actor.variables, actor_network.variables)
    learning.copy_variables(target_critic.variables, critic.variables)
    actor_optimizer = tf.keras.optimizers.Adam(config.actor_learning_rate)
    critic_optimizer = tf.keras.optimizers.Adam(config.critic_learning_rate)
  learner = learner_lib.DeterministicPolicyGradientLearner(
      actor_network, critic, target_actor, target_critic, actor_optimizer, critic_optimizer,
      action_spec, config, strategy, seed=seed)
  actor = actor_lib.NoisyDeterministicActor(
      actor_network, observation_spec, action_spec, config.exploration_noise,
      config.exploration_sigma, config.ou_theta, seed=seed, jit_compile=config.jit_compile)
  return DDPGAgent(actor_network, critic, actor, learner)
