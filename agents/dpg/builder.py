"""DPG (COPDAC-Q) factories: features, the linear policy and its learner, an online actor."""

from typing import NamedTuple

import numpy as np

from agents.common import config as common_config
from agents.common import core
from agents.common import distribute
from agents.common import off_policy
from agents.common import transitions
from agents.dpg import config as config_lib
from agents.dpg import learner as learner_lib
from networks import features

# The most features a tile coding may have (dense float32 vectors, per environment).
MAX_FEATURES = 1_000_000


class DPGComponents(NamedTuple):
  """The parts of COPDAC-Q; `policy` and `learner` hold every variable."""
  policy: learner_lib.CompatiblePolicy
  learner: learner_lib.COPDACQLearner


def make_components(spec: core.EnvironmentSpec, config: config_lib.DPGConfig,
                    seed: int) -> DPGComponents:
  """The features, policy and learner for an environment.

  Raises:
    ConfigError: for discrete or unbounded actions, observations that are not a box with
      finite bounds (naming `RunSettings.env_id`), or a tile coding with too many features.
  """
  off_policy.check_continuous(spec, 'DPG')
  observation = spec.observation
  if config.features == 'tiles':
    size = config.num_tilings * (config.tiles + 1)**int(np.prod(observation.shape)) + 1
    if size > MAX_FEATURES:
      raise common_config.ConfigError(
          config, 'tiles', f'gives {size:,} features for {observation.shape[0]} observation '
          f'dimensions (at most {MAX_FEATURES:,}); use fewer tiles or tilings')
  try:
    phi = features.make_features(config.features, observation, config.num_tilings,
                                 config.tiles)
  except ValueError as error:
    raise common_config.ConfigError('RunSettings', 'env_id', str(error), value=None) from None
  policy = learner_lib.CompatiblePolicy(phi, observation, spec.action, config.behaviour_sigma,
                                        seed=seed, jit_compile=config.jit_compile)
  learner = learner_lib.COPDACQLearner(policy, config, observation, spec.action)
  return DPGComponents(policy, learner)


def make_agent(config: config_lib.DPGConfig, context: core.BuildContext) -> core.Agent:
  """COPDAC-Q for the run in `context`: one update per step of `config.num_envs`
  environments, acting with the Gaussian behaviour policy."""
  distribute.require_default_strategy(context.strategy, 'DPG (COPDAC-Q)',
                                      'its per-step linear update is not replicated')
  parts = make_components(context.spec, config, context.seed)
  return transitions.make_agent(context, config, parts.policy, parts.learner)
