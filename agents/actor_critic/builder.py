"""One-step actor-critic factories: networks, optimizers, actor, learner, the online loop."""

from typing import Dict, List, NamedTuple

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.actor_critic import config as config_lib
from agents.actor_critic import learner as learner_lib
from agents.common import policies
from agents.common import environments
from agents.common import episodes
from agents.common import learning
from networks import actor_critic


class ActorCriticAgent(NamedTuple):
  """The parts of a one-step actor-critic; `learner` and `actor` hold every variable."""
  network: actor_critic.ActorCritic
  actor: policies.ActorCriticPolicy
  learner: learner_lib.ActorCriticLearner



def make_agent(observation_spec: specs.Array, action_spec: specs.Array,
               config: config_lib.ActorCriticConfig, strategy: tf.distribute.Strategy,
               seed: int) -> ActorCriticAgent:
  """Builds the one-step actor-critic: separate policy and value MLPs.

  Raises:
    ValueError: for a strategy with more than one replica (the update is not replicated).
  """
  if strategy.num_replicas_in_sync > 1:
    raise ValueError(f'--strategy: the one-step actor-critic runs on one replica, got '
                     f'{strategy.num_replicas_in_sync}')
  with strategy.scope():
    network = actor_critic.make_actor_critic(
        observation_spec, action_spec, hidden_sizes=config.hidden_sizes,
        activation=config.activation, shared_torso=False, init_log_std=config.init_log_std)
    actor = policies.ActorCriticPolicy(network, observation_spec, seed=seed)
    learner = learner_lib.ActorCriticLearner(
        network, actor, learning.make_optimizer(config.optimizer, config.actor_learning_rate),
        learning.make_optimizer(config.optimizer, config.critic_learning_rate), config,
        observation_spec, action_spec)
  return ActorCriticAgent(network, actor, learner)


class OnlineLoop:
  """Steps a `VectorEnv` and updates after every step (one compiled call per step).

  `reset(seed)` starts new episodes; `iterate(max_steps)` runs up to
  `config.steps_per_iteration` steps per environment within the budget.
  """

  def __init__(self, agent: ActorCriticAgent, env: environments.VectorEnv,
               config: config_lib.ActorCriticConfig):
    self._agent = agent
    self._env = env
    self._config = config
    self._observation = None
    self._action = None

  def reset(self, seed: int) -> None:
    self._observation = self._env.reset(seed)
    self._action = self._agent.actor.step(self._observation)[0]
    self._agent.learner.reset_episodes()

  def iterate(self, max_steps: int) -> episodes.Iteration:
    num_envs = self._env.num_envs
    steps = min(self._config.steps_per_iteration, max_steps // num_envs)
    history: List[Dict[str, tf.Tensor]] = []
    returns, lengths = [], []
    for _ in range(steps):
      step = self._env.step(self._action.numpy())
      ended = step.terminated | step.truncated
      next_observation = step.observation
      if ended.any():
        next_observation = np.where(
            ended.reshape((-1,) + (1,) * (step.observation.ndim - 1)),
            step.final_observation, step.observation)
        returns.extend(step.episode_returns.tolist())
        lengths.extend(step.episode_lengths.tolist())
      transition = learner_lib.Transition(
          observation=self._observation, action=self._action, reward=step.reward,
          next_observation=next_observation, terminated=step.terminated.astype(np.float32),
          truncated=step.truncated.astype(np.float32))
      metrics, self._action = self._agent.learner.update_and_act(transition, step.observation)
      history.append(metrics)
      self._observation = step.observation
    averaged = {}
    if history:
      averaged = {k: tf.reduce_mean(tf.stack([m[k] for m in history])) for k in history[0]}
    return episodes.Iteration(steps * num_envs, averaged, returns, lengths)
