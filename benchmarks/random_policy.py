r"""The return of a uniformly random policy, the floor a learning curve must rise above.

  python benchmarks/random_policy.py --env=mpe2/simple_spread_v3 --episodes=1000
  python benchmarks/random_policy.py --env=Pendulum-v1 --episodes=100

Actions are drawn uniformly from the action space (continuous boxes uniformly in their bounds,
discrete actions uniformly; multi-agent environments per agent, with `continuous_actions`
and `shared_reward`).
Prints the mean return over the episodes and, for multi-agent environments, each team's and
each agent's mean return, as JSON.
"""

import json

from absl import app
from absl import flags
import numpy as np

from agents.common import core
from agents.common import environments
from agents.common import evaluation
from agents.common import multi_agent

_ENV = flags.DEFINE_string('env', 'mpe2/simple_spread_v3', 'Environment id.')
_EPISODES = flags.DEFINE_integer('episodes', 1000, 'Episodes.', lower_bound=1)
_SEED = flags.DEFINE_integer('seed', 0, 'Seeds the environments and the actions.')
_CONTINUOUS = flags.DEFINE_bool('continuous_actions', True,
                                'Multi-agent environments: continuous actions.')
_SHARED = flags.DEFINE_bool('shared_reward', False, "Multi-agent environments: each agent "
                            "receives its team's summed reward (MADDPG's --shared_reward).")


def _uniform(low: np.ndarray, high: np.ndarray, rng: np.random.Generator):
  return lambda observation: rng.uniform(low, high, size=(len(observation), len(low))).astype(
      np.float32)


def main(argv):
  del argv
  rng = np.random.default_rng(_SEED.value)
  if multi_agent.is_multi_agent(_ENV.value):
    kwargs = dict(continuous_actions=_CONTINUOUS.value, shared_reward=_SHARED.value)
    layout = multi_agent.JointLayout(multi_agent.environment_spec(_ENV.value, **kwargs))

    def policy(observation):
      # Uniform within each continuous block; a uniformly drawn one-hot in each discrete one.
      actions = _uniform(layout.action_low, layout.action_high, rng)(observation)
      blocks = layout.split_actions(actions)
      for i, discrete in enumerate(layout.discrete):
        if discrete:
          size = layout.action_sizes[i]
          blocks[i] = np.eye(size, dtype=np.float32)[rng.integers(size, size=len(observation))]
      return np.concatenate(blocks, axis=-1)

    result = multi_agent.evaluate(
        policy, lambda seed: multi_agent.make_environment(_ENV.value, seed=seed, **kwargs),
        _EPISODES.value, _SEED.value)
  else:
    spec: core.EnvironmentSpec = environments.environment_spec(_ENV.value)
    action = spec.action
    if hasattr(action, 'num_values'):
      policy = lambda observation: rng.integers(action.num_values, size=len(observation))
    else:
      policy = _uniform(np.broadcast_to(action.minimum, action.shape),
                        np.broadcast_to(action.maximum, action.shape), rng)
    result = evaluation.evaluate(policy, _ENV.value, _EPISODES.value, _SEED.value)
  print(json.dumps({'env': _ENV.value, 'episodes': _EPISODES.value,
                    'mean_return': result.mean_return, 'std_return': result.std_return,
                    **result.details}, indent=2))


if __name__ == '__main__':
  app.run(main)
