"""Soft Q-learning factories: Q-network, target, sampler, optimizers, policy and agent."""

import dataclasses
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import evaluation
from agents.common import learning
from agents.common import off_policy
from agents.soft_q import actor as actor_lib
from agents.soft_q import config as config_lib
from agents.soft_q import learner as learner_lib
from networks import critics
from networks.torso import layer_seed


class SoftQComponents(NamedTuple):
  """The parts of a Soft Q-learning agent; `learner` and `policy` hold every variable."""
  q_network: critics.QNetwork
  sampler: critics.SamplerNetwork
  policy: actor_lib.SamplerPolicy
  learner: learner_lib.SoftQLearner


def make_components(spec: core.EnvironmentSpec, config: config_lib.SoftQConfig,
                    strategy: tf.distribute.Strategy, seed: int) -> SoftQComponents:
  """Builds Soft Q-learning for an environment; variables live in `strategy.scope()` and the
  target starts as a copy of the Q-network.

  Raises:
    ConfigError: for discrete or unbounded action spaces, or a strategy it cannot use.
  """
  off_policy.check_continuous(spec, 'Soft Q-learning')
  off_policy.check_strategy(config, strategy)
  observation_spec, action_spec = spec.observation, spec.action
  sizes, activation = config.hidden_sizes, config.activation
  with strategy.scope():
    make_q = lambda: critics.make_q_network(observation_spec, action_spec, sizes, activation,
                                            seed=layer_seed(seed, 'q'))
    q_network, target_q_network = make_q(), make_q()
    learning.copy_variables(target_q_network.variables, q_network.variables)
    sampler = critics.make_sampler_network(observation_spec, action_spec, sizes, activation,
                                           seed=layer_seed(seed, 'sampler'))
    optimizers = {name: tf.keras.optimizers.Adam(config.learning_rate)
                  for name in ('q', 'sampler')}
  learner = learner_lib.SoftQLearner(q_network, target_q_network, sampler, optimizers,
                                     action_spec, config, strategy, seed=seed)
  policy = actor_lib.SamplerPolicy(sampler, q_network, observation_spec, config.eval_samples,
                                   seed=seed, jit_compile=config.jit_compile)
  return SoftQComponents(q_network, sampler, policy, learner)


def make_agent(config: config_lib.SoftQConfig, context: core.BuildContext) -> core.Agent:
  """Soft Q-learning for the run in `context`, on a Reverb replay table. The loop evaluates
  the deterministic policy (best of `eval_samples` by Q); evaluation.json also reports the
  sampled policy over 10 episodes (`sampled_policy_return`)."""
  parts = make_components(context.spec, config, context.strategy, context.seed)
  agent = off_policy.make_agent(config, context, parts.policy, parts.learner)
  report = agent.report

  def report_with_sampled_policy():
    returns = evaluation.evaluate(lambda o: parts.policy.select(o).numpy(), context.env_id,
                                  episodes=10, seed=context.seed + 10_000_019)
    return {**report(), 'sampled_policy_return': float(np.mean(returns.returns)),
            'sampled_policy_std': float(np.std(returns.returns))}

  return dataclasses.replace(agent, report=report_with_sampled_policy)
