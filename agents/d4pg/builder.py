"""D4PG factory: DDPG's deterministic actor and exploration with a categorical critic and
D4PG's learner, on a replay table fed by this process or by K actor processes."""

from agents.common import core
from agents.common import distributed
from agents.d4pg import config as config_lib
from agents.d4pg import learner as learner_lib
from agents.ddpg import actor as actor_lib
from agents.ddpg import builder as ddpg_builder
from networks import critics


def make_components(spec: core.EnvironmentSpec, config: config_lib.D4PGConfig, strategy,
                    seed: int) -> ddpg_builder.DDPGComponents:
  """The networks (online and target), optimizers, learner and exploring policy of D4PG."""

  def make_critic(critic_seed: int):
    return critics.make_distributional_q_network(
        spec.observation, spec.action, config.num_atoms, config.v_min, config.v_max,
        config.hidden_sizes, config.activation, seed=critic_seed)

  return ddpg_builder.make_components(spec, config, strategy, seed, make_critic=make_critic,
                                      learner_cls=learner_lib.D4PGLearner, agent='D4PG')


def make_agent(config: config_lib.D4PGConfig, context: core.BuildContext) -> core.Agent:
  """D4PG for the run in `context`: acting in this process (`num_actors=0`) or in K actor
  processes that write to the replay table and pull the policy's weights from it."""
  parts = make_components(context.spec, config, context.strategy, context.seed)
  return distributed.make_agent(config, context, parts.policy, parts.learner)


def make_actor_policy(config: config_lib.D4PGConfig,
                      context: core.BuildContext) -> actor_lib.NoisyDeterministicPolicy:
  """The exploring policy of an actor process (`--role=actor`, `--role=replay`): the actor
  network alone, its weights pulled from the learner."""
  network = ddpg_builder.make_actor_network(context.spec, config, context.seed)
  return ddpg_builder.make_policy(network, context.spec, config, context.seed)
