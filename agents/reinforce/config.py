"""REINFORCE hyper-parameters: Williams 1992; Sutton & Barto 2018, sections 13.3 and 13.4."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class ReinforceConfig(config_lib.OnPolicyConfig):
  """Hyper-parameters of REINFORCE (Monte-Carlo policy gradient) with an optional baseline.

  Williams 1992, "Simple statistical gradient-following algorithms for connectionist
  reinforcement learning" (Machine Learning 8, eq. 11 with baseline b); Sutton & Barto 2018,
  "Reinforcement Learning: An Introduction", 2nd ed., section 13.3 (REINFORCE, eq. 13.8 and its
  box) and section 13.4 (REINFORCE with baseline, eq. 13.11 and its box, with step sizes
  alpha^theta and alpha^w). One update = `num_envs` complete episodes of the current policy,
  then one gradient step on the mean over their steps of

    -[gamma^t] (G_t - V(s_t)) log pi(a_t|s_t)   and   0.5 (G_t - V(s_t))^2.

  The book leaves the step sizes to the task; the defaults here (Adam, 1e-3 and 1e-3) are
  ours. See agents/reinforce/README.md for the equations and deviations.

  Attributes:
    num_envs: B, complete episodes per update (one per environment); the book updates after
      every single episode (1).
    return_type: 'reward_to_go' weights log pi(a_t|s_t) by G_t (the book, eq. 13.8);
      'total' by the whole episode return G_0 for every step (Williams' episodic form).
    discount_weighting: multiply step t's policy-gradient term by gamma^t, as in the book's
      pseudocode (the gradient of the discounted start-state objective). Off by default: with
      gamma = 0.99 it all but silences the late steps of long episodes, and practical
      implementations drop it (Thomas 2014, "Bias in natural actor-critic algorithms").
    baseline: subtract a learned state value V(s_t) (a separate network trained on
      0.5 (G_t - V(s_t))^2, section 13.4); without it the weight is G_t itself (section 13.3).
    truncation: what a cut episode (the environment's time limit, or the run's step budget)
      does to its returns: 'bootstrap' adds gamma^(L-t) V(final observation) (needs
      `baseline`, which supplies V); 'cut' sums the rewards up to the cut only, i.e. treats it
      like a termination (the only choice without a value function).
    normalize_returns: standardize the policy-gradient weights (G_t, or G_t - V(s_t) with a
      baseline) to zero mean and unit variance over the steps of the batch.
    optimizer: 'adam' or 'sgd' (plain gradient steps, as in the book's pseudocode).
    actor_learning_rate: alpha^theta, step size of the policy.
    critic_learning_rate: alpha^w, step size of the value baseline.
    entropy_coef: weight of an entropy bonus (0: none, as in the book).
  """
  num_envs: int = 1
  return_type: str = 'reward_to_go'
  discount_weighting: bool = False
  baseline: bool = True
  truncation: str = 'bootstrap'
  normalize_returns: bool = False
  optimizer: str = 'adam'
  actor_learning_rate: float = 1e-3
  critic_learning_rate: float = 1e-3
  entropy_coef: float = 0.0

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'num_envs', 'actor_learning_rate', 'critic_learning_rate')
    config_lib.check_non_negative(self, 'entropy_coef')
    config_lib.check_choice(self, 'return_type', ('reward_to_go', 'total'))
    config_lib.check_choice(self, 'truncation', ('bootstrap', 'cut'))
    config_lib.check_choice(self, 'optimizer', ('adam', 'sgd'))
    if self.truncation == 'bootstrap' and not self.baseline:
      raise config_lib.ConfigError(
          self, 'truncation', "bootstrapping a cut episode needs a value function: set "
          "baseline, or truncation='cut' to end the return at the cut")


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    'CartPole-v1': dict(num_envs=1, discount=0.99, baseline=True, normalize_returns=True,
                        actor_learning_rate=1e-3, critic_learning_rate=1e-3),
}
