"""SAC factories: policy, critics, value network (v1), targets, temperature, optimizers."""

from typing import NamedTuple, Optional

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import learning
from agents.sac import actor as actor_lib
from agents.sac import config as config_lib
from agents.sac import learner as learner_lib
from networks import critics


class SACAgent(NamedTuple):
  """The parts of a SAC agent."""
  policy: critics.StochasticActor
  critic: critics.TwinQNetwork
  value: Optional[critics.ValueNetwork]
  actor: actor_lib.StochasticPolicyActor
  learner: learner_lib.SACLearner


def make_agent(observation_spec: specs.Array, action_spec: specs.BoundedArray,
               config: config_lib.SACConfig, strategy: tf.distribute.Strategy,
               seed: int) -> SACAgent:
  """Builds SAC for an environment; variables live in `strategy.scope()`, targets start as
  copies of the online networks.

  Raises:
    ValueError: for discrete or unbounded action spaces.
  """
  sizes, activation = config.hidden_sizes, config.activation
  with strategy.scope():
    policy = critics.make_stochastic_actor(observation_spec, action_spec, sizes, activation,
                                           min_log_std=config.min_log_std,
                                           max_log_std=config.max_log_std)
    critic = critics.make_q_network(observation_spec, action_spec, sizes, activation, twin=True)
    target_critic = value = target_value = None
    if config.version == 'v2':
      target_critic = critics.make_q_network(observation_spec, action_spec, sizes, activation,
                                             twin=True)
      learning.copy_variables(target_critic.variables, critic.variables)
    else:
      value = critics.make_value_network(observation_spec, sizes, activation)
      target_value = critics.make_value_network(observation_spec, sizes, activation)
      learning.copy_variables(target_value.variables, value.variables)
    log_alpha = tf.Variable(np.log(config.alpha), dtype=tf.float32, name='log_alpha',
                            trainable=config.auto_alpha)
    names = ['policy', 'critic'] + (['value'] if config.version == 'v1' else [])
    names += ['alpha'] if config.auto_alpha else []
    optimizers = {name: tf.keras.optimizers.Adam(config.learning_rate) for name in names}
  learner = learner_lib.SACLearner(policy, critic, target_critic, value, target_value, log_alpha,
                                   optimizers, action_spec, config, strategy, seed=seed)
  actor = actor_lib.StochasticPolicyActor(policy, observation_spec, seed=seed,
                                          jit_compile=config.jit_compile)
  return SACAgent(policy, critic, value, actor, learner)
