"""REINFORCE factories: networks, optimizers, actor, learner and the training iteration."""

from typing import NamedTuple

from dm_env import specs
import tensorflow as tf

from agents.common import policies
from agents.common import episodes
from agents.common import learning
from agents.reinforce import config as config_lib
from agents.reinforce import learner as learner_lib
from networks import actor_critic


class ReinforceAgent(NamedTuple):
  """The parts of a REINFORCE agent; `learner` and `actor` hold every checkpointed variable."""
  network: actor_critic.ActorCritic
  actor: policies.ActorCriticPolicy
  learner: learner_lib.ReinforceLearner



def make_agent(observation_spec: specs.Array, action_spec: specs.Array,
               config: config_lib.ReinforceConfig, strategy: tf.distribute.Strategy,
               seed: int) -> ReinforceAgent:
  """Builds REINFORCE: separate policy and value MLPs, softmax or diagonal Gaussian policy.

  Raises:
    ValueError: for a strategy with more than one replica (the update is not replicated).
  """
  if strategy.num_replicas_in_sync > 1:
    raise ValueError(f'--strategy: REINFORCE runs on one replica, got '
                     f'{strategy.num_replicas_in_sync}')
  with strategy.scope():
    network = actor_critic.make_actor_critic(
        observation_spec, action_spec, hidden_sizes=config.hidden_sizes,
        activation=config.activation, shared_torso=False, init_log_std=config.init_log_std)
    learner = learner_lib.ReinforceLearner(
        network, learning.make_optimizer(config.optimizer, config.actor_learning_rate),
        learning.make_optimizer(config.optimizer, config.critic_learning_rate), config,
        observation_spec, action_spec)
  actor = policies.ActorCriticPolicy(network, observation_spec, seed=seed)
  return ReinforceAgent(network, actor, learner)


def make_iteration(agent: ReinforceAgent, collector: episodes.EpisodeCollector):
  """`iterate(max_steps)`: collect one batch of episodes, take one gradient step."""

  def iterate(max_steps: int) -> episodes.Iteration:
    batch, steps, returns, lengths = collector.collect(agent.actor, max_steps)
    metrics = agent.learner.update(batch)
    return episodes.Iteration(steps, metrics, returns, lengths)

  return iterate
