"""DDPG/TD3 factories: networks, target networks, optimizers, actor and learner."""

from typing import NamedTuple

import tensorflow as tf

from agents.common import core
from agents.common import learning
from agents.common import off_policy
from agents.ddpg import actor as actor_lib
from agents.ddpg import config as config_lib
from agents.ddpg import learner as learner_lib
from networks import critics
from networks.torso import layer_seed


class DDPGComponents(NamedTuple):
  """The parts of a DDPG/TD3 agent; `learner` and `policy` hold every checkpointed variable."""
  actor_network: critics.DeterministicActor
  critic: tf.keras.layers.Layer
  policy: actor_lib.NoisyDeterministicPolicy
  learner: learner_lib.DeterministicPolicyGradientLearner


def make_components(spec: core.EnvironmentSpec, config: config_lib.DDPGConfig,
                    strategy: tf.distribute.Strategy, seed: int) -> DDPGComponents:
  """Builds DDPG (or TD3, from its config) for an environment; variables live in
  `strategy.scope()`. Target networks start as copies of the online ones (Algorithm 1).

  Raises:
    ConfigError: for discrete or unbounded action spaces, or a strategy it cannot use.
  """
  off_policy.check_continuous(spec, 'DDPG')
  off_policy.check_strategy(config, strategy)
  observation_spec, action_spec = spec.observation, spec.action

  def networks():
    actor = critics.make_deterministic_actor(
        observation_spec, action_spec, config.hidden_sizes, config.activation,
        observation_batch_norm=config.observation_batch_norm, seed=layer_seed(seed, 'actor'))
    critic = critics.make_q_network(
        observation_spec, action_spec, config.hidden_sizes, config.activation,
        twin=config.twin_critics, observation_batch_norm=config.observation_batch_norm,
        seed=layer_seed(seed, 'critic'))
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
  policy = actor_lib.NoisyDeterministicPolicy(
      actor_network, observation_spec, action_spec, config.exploration_noise,
      config.exploration_sigma, config.ou_theta, seed=seed, jit_compile=config.jit_compile)
  return DDPGComponents(actor_network, critic, policy, learner)


def make_agent(config: config_lib.DDPGConfig, context: core.BuildContext) -> core.Agent:
  """DDPG (or TD3) for the run in `context`, on a Reverb replay table."""
  parts = make_components(context.spec, config, context.strategy, context.seed)
  return off_policy.make_agent(config, context, parts.policy, parts.learner)
