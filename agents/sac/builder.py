"""SAC factories: policy, critics, value network (v1), targets, temperature, optimizers."""

from typing import NamedTuple, Optional

import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import learning
from agents.common import off_policy
from agents.sac import actor as actor_lib
from agents.sac import config as config_lib
from agents.sac import learner as learner_lib
from networks import critics
from networks.torso import layer_seed


class SACComponents(NamedTuple):
  """The parts of a SAC agent; `learner` and `actor` hold every checkpointed variable."""
  policy: critics.StochasticActor
  critic: critics.TwinQNetwork
  value: Optional[critics.ValueNetwork]
  actor: actor_lib.SquashedGaussianPolicy
  learner: learner_lib.SACLearner


def make_components(spec: core.EnvironmentSpec, config: config_lib.SACConfig,
                    strategy: tf.distribute.Strategy, seed: int) -> SACComponents:
  """Builds SAC for an environment; variables live in `strategy.scope()`, targets start as
  copies of the online networks.

  Raises:
    ConfigError: for discrete or unbounded action spaces, or a strategy it cannot use.
  """
  off_policy.check_continuous(spec, 'SAC')
  off_policy.check_strategy(config, strategy)
  observation_spec, action_spec = spec.observation, spec.action
  sizes, activation = config.hidden_sizes, config.activation
  with strategy.scope():
    policy = critics.make_stochastic_actor(observation_spec, action_spec, sizes, activation,
                                           min_log_std=config.min_log_std,
                                           max_log_std=config.max_log_std,
                                           seed=layer_seed(seed, 'policy'))
    make_critic = lambda: critics.make_q_network(observation_spec, action_spec, sizes,
                                                 activation, twin=True,
                                                 seed=layer_seed(seed, 'critic'))
    make_value = lambda: critics.make_value_network(observation_spec, sizes, activation,
                                                    seed=layer_seed(seed, 'value'))
    critic = make_critic()
    target_critic = value = target_value = None
    if config.version == 'v2':
      target_critic = make_critic()
      learning.copy_variables(target_critic.variables, critic.variables)
    else:
      value = make_value()
      target_value = make_value()
      learning.copy_variables(target_value.variables, value.variables)
    log_alpha = tf.Variable(np.log(config.alpha), dtype=tf.float32, name='log_alpha',
                            trainable=config.auto_alpha)
    names = ['policy', 'critic'] + (['value'] if config.version == 'v1' else [])
    names += ['alpha'] if config.auto_alpha else []
    optimizers = {name: tf.keras.optimizers.Adam(config.learning_rate) for name in names}
  learner = learner_lib.SACLearner(policy, critic, target_critic, value, target_value, log_alpha,
                                   optimizers, action_spec, config, strategy, seed=seed)
  actor = actor_lib.SquashedGaussianPolicy(policy, observation_spec, seed=seed,
                                          jit_compile=config.jit_compile)
  return SACComponents(policy, critic, value, actor, learner)


def make_agent(config: config_lib.SACConfig, context: core.BuildContext) -> core.Agent:
  """SAC for the run in `context`, on a Reverb replay table."""
  parts = make_components(context.spec, config, context.strategy, context.seed)
  return off_policy.make_agent(config, context, parts.actor, parts.learner)
