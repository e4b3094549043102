"""DDPG/TD3 factories: networks, target networks, optimizers, actor and learner."""

from typing import Callable, NamedTuple, Optional, Type

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


def make_components(
    spec: core.EnvironmentSpec, config: config_lib.DDPGConfig, strategy: tf.distribute.Strategy,
    seed: int, make_critic: Optional[Callable[[int], tf.keras.layers.Layer]] = None,
    learner_cls: Type[learner_lib.DeterministicPolicyGradientLearner] = (
        learner_lib.DeterministicPolicyGradientLearner),
    agent: str = 'DDPG') -> DDPGComponents:
  """Builds DDPG (or TD3, from its config) for an environment; variables live in
  `strategy.scope()`. Target networks start as copies of the online ones (Algorithm 1).

  Args:
    spec: the environment's specs.
    config: the agent's config.
    strategy: the strategy the variables live under.
    seed: the run's seed.
    make_critic: builds the critic from its seed (default: DDPG's Q network, twin for TD3);
      the learner class must know its output.
    learner_cls: the learner (a `DeterministicPolicyGradientLearner`), built with the same
      arguments as DDPG's.
    agent: the agent's name for error messages.

  Raises:
    ConfigError: for discrete or unbounded action spaces, or a strategy it cannot use.
  """
  off_policy.check_continuous(spec, agent)
  off_policy.check_strategy(config, strategy)
  observation_spec, action_spec = spec.observation, spec.action
  if make_critic is None:
    make_critic = lambda critic_seed: critics.make_q_network(
        observation_spec, action_spec, config.hidden_sizes, config.activation,
        twin=config.twin_critics, observation_batch_norm=config.observation_batch_norm,
        seed=critic_seed)

  def networks():
    return make_actor_network(spec, config, seed), make_critic(layer_seed(seed, 'critic'))

  with strategy.scope():
    actor_network, critic = networks()
    target_actor, target_critic = networks()
    learning.copy_variables(target_actor.variables, actor_network.variables)
    learning.copy_variables(target_critic.variables, critic.variables)
    actor_optimizer = tf.keras.optimizers.Adam(config.actor_learning_rate)
    critic_optimizer = tf.keras.optimizers.Adam(config.critic_learning_rate)
  learner = learner_cls(
      actor_network, critic, target_actor, target_critic, actor_optimizer, critic_optimizer,
      action_spec, config, strategy, seed=seed)
  return DDPGComponents(actor_network, critic, make_policy(actor_network, spec, config, seed),
                        learner)


def make_policy(actor_network: critics.DeterministicActor, spec: core.EnvironmentSpec,
                config: config_lib.DDPGConfig, seed: int) -> actor_lib.NoisyDeterministicPolicy:
  """The exploring policy around `actor_network`: the config's noise, seeded by `seed`."""
  return actor_lib.NoisyDeterministicPolicy(
      actor_network, spec.observation, spec.action, config.exploration_noise,
      config.exploration_sigma, config.ou_theta, seed=seed, jit_compile=config.jit_compile)


def make_actor_network(spec: core.EnvironmentSpec, config: config_lib.DDPGConfig,
                       seed: int) -> critics.DeterministicActor:
  """The deterministic actor mu(s) of the run seeded `seed`."""
  return critics.make_deterministic_actor(
      spec.observation, spec.action, config.hidden_sizes, config.activation,
      observation_batch_norm=config.observation_batch_norm, seed=layer_seed(seed, 'actor'))


def make_agent(config: config_lib.DDPGConfig, context: core.BuildContext) -> core.Agent:
  """DDPG (or TD3) for the run in `context`, on a Reverb replay table."""
  parts = make_components(context.spec, config, context.strategy, context.seed)
  return off_policy.make_agent(config, context, parts.policy, parts.learner)
