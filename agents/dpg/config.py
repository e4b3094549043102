"""DPG hyper-parameters: Silver et al. 2014, "Deterministic Policy Gradient Algorithms"."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib
from networks import features


@dataclasses.dataclass(frozen=True)
class DPGConfig:
  """Hyper-parameters of COPDAC-Q, the compatible off-policy deterministic actor-critic with a
  Q-learning critic (Silver et al. 2014, ICML, section 4.3: Theorem 3 and eqs. 19-22).

  Linear in fixed state features phi(s) (`features`): the actor mu_theta(s) = theta^T phi(s);
  the critic is the compatible Q^w(s, a) = (a - mu_theta(s))^T grad_theta mu_theta(s)^T w
  + V^v(s) with V^v(s) = v^T phi(s), that is, the advantage is linear in the compatible
  features phi(s, a) = grad_theta mu_theta(s) (a - mu_theta(s)). Acting follows a Gaussian
  behaviour policy beta(.|s) = N(mu_theta(s), sigma_beta^2), capped to the action bounds. Every
  step, on the transition (s, a, r, s'):

    delta = r + gamma Q^w(s', mu_theta(s')) - Q^w(s, a)        (eq. 19; Q^w(s', mu(s')) = V(s'),
                                                                 0 after a termination)
    theta <- theta + alpha_theta grad_theta mu(s) (grad_theta mu(s)^T w)            (eq. 20)
    w     <- w + alpha_w delta phi(s, a)                                            (eq. 21)
    v     <- v + alpha_v delta phi(s)                                               (eq. 22)

  The paper's section 5.2 tile-codes the state, uses gamma 0.99 and a fixed behaviour width
  (variance initialised to half the legal range), with step sizes from a sweep. The defaults
  keep gamma 0.99 with step sizes that stayed stable on Pendulum-v1 (larger critic steps
  diverged, as off-policy Q-learning with linear features may); `--tuned` on Pendulum-v1 is
  the best of our small sweep (agents/dpg/README.md). Step sizes are divided by the
  number of active features (`num_tilings` + 1 with tile coding), as usual for tile coding.

  Attributes:
    discount: gamma.
    features: 'tiles' (tile coding) or 'linear' (the observation rescaled to [-1, 1]), each
      with a bias feature.
    num_tilings: tilings of the tile coding.
    tiles: intervals per observation dimension of each tiling.
    num_envs: environments stepped in lock-step, each update averaging their transitions
      (1: the paper's incremental algorithm).
    actor_learning_rate: alpha_theta (before the division by the active features).
    critic_learning_rate: alpha_w, of the compatible advantage weights.
    value_learning_rate: alpha_v, of the state-value baseline.
    behaviour_sigma: sigma_beta of the Gaussian behaviour policy, in units of half the action
      range.
    jit_compile: compile the update and the behaviour policy with XLA.
  """
  discount: float = 0.99
  features: str = 'tiles'
  num_tilings: int = 8
  tiles: int = 8
  num_envs: int = 1
  actor_learning_rate: float = 0.001
  critic_learning_rate: float = 0.01
  value_learning_rate: float = 0.1
  behaviour_sigma: float = 0.5
  jit_compile: bool = True

  def __post_init__(self):
    config_lib.check_numbers(self)
    config_lib.check_in_range(self, 'discount', 0.0, 1.0)
    config_lib.check_choice(self, 'features', features.FEATURES)
    config_lib.check_positive(self, 'num_tilings', 'tiles', 'num_envs', 'actor_learning_rate',
                              'critic_learning_rate', 'value_learning_rate', 'behaviour_sigma')

  @property
  def active_features(self) -> int:
    """Features that are non-zero for every observation (the step sizes' divisor)."""
    return self.num_tilings + 1 if self.features == 'tiles' else 1

  @property
  def min_num_steps(self) -> int:
    """One step of every environment."""
    return self.num_envs


# The best of a sweep of 7 settings on Pendulum-v1, 30-50k steps each (agents/dpg/README.md):
# a shorter horizon and coarser tiles let the linear critic's values settle within the budget.
# Applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    'Pendulum-v1': dict(discount=0.95, tiles=6, actor_learning_rate=0.01,
                        critic_learning_rate=0.01, value_learning_rate=0.5),
}
