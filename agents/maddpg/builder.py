"""MADDPG factories: every agent's actors, critics and approximations (with targets), the
joint policy, the learner, and the agent on a Reverb table of joint transitions."""

from typing import Any, Callable, List, NamedTuple, Optional

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import checkpointing
from agents.common import config as common_config
from agents.common import core
from agents.common import learning
from agents.common import multi_agent
from agents.common import off_policy
from agents.common import replay as replay_lib
from agents.maddpg import actor as actor_lib
from agents.maddpg import config as config_lib
from agents.maddpg import learner as learner_lib
from networks import critics
from networks import heads
from networks import torso as torso_lib
from networks.torso import layer_seed


class MADDPGComponents(NamedTuple):
  """The parts of a MADDPG agent; `learner` and `policy` hold every checkpointed variable."""
  layout: multi_agent.JointLayout
  networks: List[learner_lib.AgentNetworks]
  policy: actor_lib.JointPolicy
  learner: learner_lib.MADDPGLearner


def _stochastic(observation_spec: specs.Array, action_spec: specs.Array,
                config: config_lib.MADDPGConfig, seed: int) -> critics.StochasticActor:
  """An MLP with the policy head of `action_spec` (categorical, or Gaussian with a learned
  state-independent scale), variables created."""
  network = critics.StochasticActor(
      torso_lib.make_torso(observation_spec, config.hidden_sizes, config.activation,
                           name='torso', seed=layer_seed(seed, 'torso')),
      heads.make_policy_head(action_spec, name='policy_head', seed=layer_seed(seed, 'head')),
      name='stochastic_actor')
  network(torso_lib.dummy_observation(observation_spec))
  return network


def _actor(observation_spec: specs.Array, action_spec: specs.Array, kind: str,
           config: config_lib.MADDPGConfig, seed: int) -> tf.keras.Model:
  """A decentralized actor: deterministic, or an MLP with a categorical head whose logits
  (one per discrete action, or per component of a SOFTMAX action) feed the Gumbel-softmax."""
  if kind == actor_lib.DETERMINISTIC:
    return critics.make_deterministic_actor(observation_spec, action_spec, config.hidden_sizes,
                                            config.activation, seed=seed)
  if kind == actor_lib.SOFTMAX:
    action_spec = specs.DiscreteArray(action_spec.shape[0])
  return _stochastic(observation_spec, action_spec, config, seed)


def make_components(spec: core.EnvironmentSpec, config: config_lib.MADDPGConfig,
                    strategy: tf.distribute.Strategy, seed: int) -> MADDPGComponents:
  """Builds MADDPG (or independent DDPG) for per-agent specs; variables live in
  `strategy.scope()` and every target starts as a copy of its online network.

  Args:
    spec: per-agent specs (dicts keyed by agent id, `multi_agent.environment_spec`).
    config: the agent's config.
    strategy: the strategy the variables live under (one replica).
    seed: the run's seed.

  Raises:
    ConfigError: for single-agent specs or unsupported spaces (naming `RunSettings.env_id`),
      or a strategy of several replicas (naming `RunSettings.strategy`).
  """
  layout = multi_agent.JointLayout(spec)
  off_policy.check_strategy(config, strategy)
  if strategy.num_replicas_in_sync > 1:
    raise common_config.ConfigError('RunSettings', 'strategy', 'MADDPG trains on one device '
                                    '(default or one_device)', value=None)
  kinds = actor_lib.policy_kinds(layout, config.continuous_policy)
  for agent, kind, action_spec in zip(layout.agents, kinds, layout.action_specs):
    if kind == actor_lib.SOFTMAX and not (np.all(action_spec.minimum == 0.0) and
                                          np.all(action_spec.maximum == 1.0)):
      raise common_config.ConfigError(
          config, 'continuous_policy', f"'softmax' needs actions in [0, 1]; agent {agent} has "
          f'{action_spec!r} (use deterministic)')
  joint_observation = layout.observation_spec()
  networks, optimizers = [], []
  with strategy.scope():
    for i, agent in enumerate(layout.agents):
      agent_seed = layer_seed(seed, agent)
      observation_spec, action_spec = layout.observation_specs[i], layout.action_specs[i]
      critic_action = specs.BoundedArray(
          (layout.action_sizes[i],), np.float32, layout.split_actions(layout.action_low)[i],
          layout.split_actions(layout.action_high)[i])
      critic_observation = observation_spec
      if config.centralized_critic:
        critic_observation, critic_action = joint_observation, layout.action_spec()

      def make_actors(k_seed=agent_seed, o=observation_spec, a=action_spec, kind=kinds[i]):
        return [_actor(o, a, kind, config, layer_seed(k_seed, f'actor_{k}'))
                for k in range(config.ensemble_size)]

      make_critic = lambda: critics.make_q_network(
          critic_observation, critic_action, config.hidden_sizes, config.activation,
          seed=layer_seed(agent_seed, 'critic'))

      def make_approximations(i=i, agent_seed=agent_seed):
        if not config.infer_policies:
          return [None] * layout.num_agents
        return [None if j == i else _stochastic(
            layout.observation_specs[j], layout.action_specs[j], config,
            layer_seed(agent_seed, f'approximation_{j}')) for j in range(layout.num_agents)]

      parts = learner_lib.AgentNetworks(make_actors(), make_actors(), make_critic(),
                                        make_critic(), make_approximations(),
                                        make_approximations())
      for online, target in [(parts.critic, parts.target_critic),
                             *zip(parts.actors, parts.target_actors),
                             *zip(parts.approximations, parts.target_approximations)]:
        if online is not None:
          learning.copy_variables(target.variables, online.variables)
      networks.append(parts)
      agent_optimizers = {'actor': tf.keras.optimizers.Adam(config.actor_learning_rate),
                          'critic': tf.keras.optimizers.Adam(config.critic_learning_rate)}
      if config.infer_policies:
        agent_optimizers['approximation'] = tf.keras.optimizers.Adam(
            config.critic_learning_rate)
      optimizers.append(agent_optimizers)
  learner = learner_lib.MADDPGLearner(networks, optimizers, layout, config, strategy, seed)
  policy = actor_lib.JointPolicy([p.actors for p in networks], layout, kinds,
                                 config.exploration_sigma, config.gumbel_temperature, seed=seed)
  return MADDPGComponents(layout, networks, policy, learner)


def stored_action_spec(layout: multi_agent.JointLayout,
                       config: config_lib.MADDPGConfig) -> specs.BoundedArray:
  """The action part of a stored joint transition: [a_1..a_N], then the sub-policy indices
  [k_1..k_N] with policy ensembles."""
  low, high = layout.action_low, layout.action_high
  if config.ensemble_size > 1:
    low = np.concatenate([low, np.zeros(layout.num_agents, np.float32)])
    high = np.concatenate([high, np.full(layout.num_agents, config.ensemble_size - 1,
                                         np.float32)])
  return specs.BoundedArray(low.shape, np.float32, low, high, name='stored_action')


def evaluation_policy(policy: actor_lib.JointPolicy, layout: multi_agent.JointLayout,
                      ensemble_size: int):
  """Joint observations [E, sum O_i] -> the deterministic joint actions; row e's agents use
  sub-policy e mod K."""

  def act(observation: np.ndarray) -> np.ndarray:
    rows = np.arange(len(observation), dtype=np.int32) % ensemble_size
    sub_policy = np.repeat(rows[:, None], layout.num_agents, axis=1)
    return policy.mode(observation.astype(np.float32), sub_policy).numpy()

  return act


def make_agent(config: config_lib.MADDPGConfig, context: core.BuildContext,
               make_environment: Optional[Callable[[Optional[int]], Any]] = None
               ) -> core.Agent:
  """MADDPG for the run in `context`, on an in-process Reverb table of joint transitions.

  Args:
    config: the agent's config.
    context: the run.
    make_environment: `seed -> multi_agent.ParallelEnvironment` (training and evaluation
      environments); default: `context.env_id` (`mpe2/<name>`) built with `config.env_kwargs`.

  Raises:
    ConfigError: naming `RunSettings.replay_address` (the table lives in this process), or
      see `make_components`.
  """
  if context.replay_address:
    raise common_config.ConfigError('RunSettings', 'replay_address', 'MADDPG keeps its replay '
                                    'table in its own process', context.replay_address)
  if make_environment is None:
    make_environment = lambda seed: multi_agent.make_environment(
        context.env_id, seed=seed, **config.env_kwargs)
  probe = make_environment(None)
  spec = core.EnvironmentSpec(probe.observation_spec(), probe.action_spec())
  probe.close()
  parts = make_components(spec, config, context.strategy, context.seed)
  layout = parts.layout
  observation_spec, action_spec = layout.observation_spec(), stored_action_spec(layout, config)
  count = layout.num_agents
  replay = off_policy.make_replay(config, observation_spec, action_spec, context.logdir,
                                  restore_step=checkpointing.newest_intact_step(context.logdir),
                                  reward_size=count)
  writer = replay_lib.NStepTransitionWriter(replay.client, replay_lib.DEFAULT_TABLE,
                                            config.n_step, config.discount, packed=True,
                                            timeout_s=off_policy.SERVER_TIMEOUT_S)
  env = make_environment(context.env_seed)
  actor = actor_lib.MultiAgentActor(env, layout, parts.policy, writer, config.learning_starts,
                                    config.train_every, config.ensemble_size, context.env_seed,
                                    stall=replay.stall)
  parts.learner.connect(
      lambda: off_policy.make_iterator(replay, config, context.strategy, observation_spec,
                                       action_spec, reward_size=count),
      replay.update_priorities)
  policy = evaluation_policy(parts.policy, layout, config.ensemble_size)

  def evaluate(episodes: int, seed: int):
    return multi_agent.evaluate(policy, make_environment, episodes, seed)

  def close():
    actor.close()
    replay.close()  # Before the learner drops its iterator (see `Replay.close`).
    parts.learner.disconnect()

  return core.Agent(actors=[actor], learners=[parts.learner], policy=policy,
                    learning_starts=config.learning_starts,
                    learner_steps_per_act=config.updates_per_step, learn_per_env_step=False,
                    steps_per_act=config.train_every, evaluate=evaluate, close=close,
                    **off_policy.replay_state(config.learning_starts, context, replay,
                                              parts.policy, parts.learner, flush=actor.flush,
                                              unit='joint transitions'))
