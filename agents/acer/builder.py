"""ACER factories: the policy-and-Q network, its average, the segment actor, the replay table
and the learner, from an environment spec and a config."""

from typing import NamedTuple

from dm_env import specs
import tensorflow as tf

from agents.acer import actor as actor_lib
from agents.acer import config as config_lib
from agents.acer import learner as learner_lib
from agents.common import checkpointing
from agents.common import config as common_config
from agents.common import core
from agents.common import environments
from agents.common import off_policy
from agents.common import policies
from agents.common import replay as replay_lib
from networks import actor_critic


class ACERComponents(NamedTuple):
  """The parts of an ACER agent; `learner` and `policy` hold every variable to checkpoint."""
  network: actor_critic.PolicyQNetwork
  policy: policies.ActorCriticPolicy
  learner: learner_lib.ACERLearner


def make_components(spec: core.EnvironmentSpec, config: config_lib.ACERConfig,
                    strategy: tf.distribute.Strategy, seed: int,
                    horizon: int = 1) -> ACERComponents:
  """Builds ACER's network, its average network, the acting policy and the learner.

  Raises:
    ConfigError: naming the environment if its actions are not discrete, or the run's
      `strategy` if it has more than one replica.
  """
  if not isinstance(spec.action, specs.DiscreteArray):
    raise common_config.ConfigError(
        'RunSettings', 'env_id', 'ACER here is for discrete actions; this environment has a '
        f'{type(spec.action).__name__} action space', value=None)
  if strategy.num_replicas_in_sync > 1:
    raise common_config.ConfigError(
        'RunSettings', 'strategy', f'ACER trains one replica; the strategy has '
        f'{strategy.num_replicas_in_sync} (use default or one_device)', value=None)
  with strategy.scope():
    make = lambda: actor_critic.make_policy_q_network(
        spec.observation, spec.action, hidden_sizes=config.hidden_sizes,
        activation=config.activation, shared_torso=config.shared_torso, seed=seed)
    network, average_network = make(), make()
    learner = learner_lib.ACERLearner(network, average_network, config, horizon, seed=seed)
  policy = policies.ActorCriticPolicy(network, spec.observation, seed=seed)
  return ACERComponents(network, policy, learner)


def make_agent(config: config_lib.ACERConfig, context: core.BuildContext) -> core.Agent:
  """ACER for the run in `context`: a segment actor over `config.num_envs` environments, an
  in-process replay table of segments checkpointed with the run, and the learner."""
  if context.replay_address:
    raise common_config.ConfigError('RunSettings', 'replay_address',
                                    'ACER keeps its replay in its own process',
                                    context.replay_address)
  spec = context.spec
  parts = make_components(spec, config, context.strategy, context.seed, context.num_steps)
  table = replay_lib.make_uniform_table(
      replay_lib.DEFAULT_TABLE, config.replay_segments,
      learner_lib.sequence_signature(spec.observation, spec.action, config.num_steps_per_env))
  replay = off_policy.serve_table(table, context.logdir,
                                  checkpointing.newest_intact_step(context.logdir))
  parts.learner.connect(replay)
  env = environments.VectorEnv(context.env_id, config.num_envs, context.env_seed,
                               context.env_options)
  actor = actor_lib.SegmentActor(env, parts.policy, config.num_steps_per_env)

  def close():
    actor.close()
    replay.close()
    parts.learner.disconnect()

  return core.Agent(actors=[actor], learners=[parts.learner],
                    policy=core.mode_policy(parts.policy), steps_per_act=actor.batch_size,
                    close=close, **off_policy.replay_state(
                        0, context, replay, parts.policy, parts.learner,
                        flush=parts.learner.flush, unit='segments'))
