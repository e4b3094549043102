"""SAC hyper-parameters: Haarnoja et al. 2018, "Soft Actor-Critic" (v1, arXiv:1801.01290) and
"Soft Actor-Critic Algorithms and Applications" (v2, arXiv:1812.05905)."""

import dataclasses
from typing import Dict, Optional, Tuple

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class SACConfig(config_lib.OffPolicyConfig):
  """Hyper-parameters of SAC, v2 (default) and v1.

  v2 (arXiv:1812.05905, Algorithm 1): twin soft Q-functions regressed onto
  y = r + gamma (min_i Q'_i(s', a') - alpha log pi(a'|s')), a' ~ pi(.|s') (eqs. 2-3 with the
  two-critic minimum of section 5), target critics by Polyak averaging, the reparameterized
  policy loss alpha log pi(a|s) - min_i Q_i(s, a) (eq. 7), and, with `auto_alpha`, the
  temperature loss -alpha (log pi(a|s) + H_target) with H_target = -|A| (eq. 18).
  v1 (arXiv:1801.01290, Algorithm 1): a separate soft state value V_psi regressed onto
  min_i Q_i(s, a) - alpha log pi(a|s) (eq. 5), a target V_psi' by Polyak averaging, critics
  regressed onto y = r + gamma V_psi'(s') (eqs. 7-8), the same policy loss (eq. 12) and a fixed
  temperature (the paper scales rewards instead; alpha = 1 / reward scale).
  Defaults are the papers' hyper-parameter tables: Adam 3e-4, batch 256, two hidden layers of
  256 ReLU units, tau 0.005, gamma 0.99, one gradient step per environment step, replay 10^6.

  Attributes:
    version: 'v2' (twin target critics, optionally learned alpha) or 'v1' (soft value network
      with a target value network).
    learning_rate: Adam step size of every network (and of log alpha).
    tau: soft target update rate.
    alpha: the temperature (the initial one with `auto_alpha`).
    auto_alpha: learn alpha by minimizing the temperature loss towards `target_entropy`.
    target_entropy: H_target; None (the default) means -|A|, the paper's heuristic.
    hidden_sizes: hidden layer sizes of the policy, critics and value network.
    activation: activation of the hidden layers.
    min_log_std: lower clip of the policy's log standard deviation.
    max_log_std: upper clip of the policy's log standard deviation.
  """
  learning_starts: int = 10_000
  version: str = 'v2'
  learning_rate: float = 3e-4
  tau: float = 0.005
  alpha: float = 1.0
  auto_alpha: bool = True
  target_entropy: Optional[float] = None
  hidden_sizes: Tuple[int, ...] = (256, 256)
  activation: str = 'relu'
  min_log_std: float = -20.0
  max_log_std: float = 2.0

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_choice(self, 'version', ('v1', 'v2'))
    config_lib.check_positive(self, 'learning_rate', 'tau', 'alpha')
    config_lib.check_in_range(self, 'tau', 0.0, 1.0)
    config_lib.check_network(self)
    if not self.min_log_std < self.max_log_std:
      raise config_lib.ConfigError(self, 'min_log_std',
                                   f'must be < max_log_std={self.max_log_std}')


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # Stable-Baselines3/RL-Zoo's Pendulum-v1 settings: lr 1e-3, 100 random steps, auto alpha
    # starting at 1 (the rest are the paper's defaults).
    'Pendulum-v1': dict(learning_rate=1e-3, learning_starts=100, replay_size=200_000),
    # MuJoCo: the paper's Table 1 (Adam 3e-4, batch 256, replay 10^6, 256-256 ReLU, tau 0.005,
    # gamma 0.99, one update per step, the temperature learned towards -dim(A)), with 10^4
    # uniformly random steps first, as its code and RL-Zoo do.
    **{env: dict(learning_rate=3e-4, batch_size=256, replay_size=1_000_000,
                 hidden_sizes=(256, 256), tau=0.005, discount=0.99, auto_alpha=True,
                 learning_starts=10_000)
       for env in ('HalfCheetah-v5', 'Hopper-v5')},
}
