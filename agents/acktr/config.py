"""ACKTR hyper-parameters: Wu et al. 2017, "Scalable trust-region method for deep reinforcement
learning using Kronecker-factored approximation" (arXiv:1708.05144)."""

import dataclasses
from typing import Dict

from agents.a2c import config as a2c_config
from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class ACKTRConfig(a2c_config.SynchronousActorCriticConfig):
  """Hyper-parameters of ACKTR: A2C's rollouts, targets and loss, with the K-FAC
  natural-gradient step and its trust region for actor and critic (Wu et al. 2017,
  arXiv:1708.05144, sections 3.1-3.2).

  The Fisher is that of the joint predictive distribution pi(a|s) N(v; V(s), 1): the policy's
  own (actions sampled from pi) and the Gauss-Newton matrix of the critic (a Gaussian output
  of unit variance, sec. 3.2). K-FAC (Martens & Grosse 2015, arXiv:1503.05671) approximates
  each dense layer's block by a Kronecker product (`networks.kfac`); the step length is
  eta = min(eta_max, sqrt(2 delta / (U^T F U))) (sec. 3.1). Paper values: eta_max = 0.25,
  delta = 0.001, momentum 0.9, t_max = 20 steps of 32 environments (Atari). Damping 0.01,
  factor decay 0.99 and the linear decay of eta_max are the OpenAI Baselines settings (see
  agents/acktr/README.md).

  Attributes:
    momentum: mu of the moving average of the scaled natural-gradient steps.
    damping: lambda, Tikhonov damping added to the eigenvalues of each Kronecker block.
    stat_decay: decay of the running averages of the Kronecker factors.
    trust_region: delta, the bound on the quadratic model of the KL of one update.
    inverse_every: recompute the factors' eigendecompositions every this many updates.
  """
  learning_rate: float = 0.25
  value_coef: float = 0.5
  num_envs: int = 32
  num_steps_per_env: int = 20
  momentum: float = 0.9
  damping: float = 0.01
  stat_decay: float = 0.99
  trust_region: float = 0.001
  inverse_every: int = 1

  def __post_init__(self):
    super().__post_init__()
    for name in ('momentum', 'stat_decay'):
      if not 0.0 <= getattr(self, name) < 1.0:
        raise config_lib.ConfigError(self, name, 'must be in [0, 1)')
    config_lib.check_non_negative(self, 'damping', 'trust_region')
    config_lib.check_positive(self, 'inverse_every')


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # SB2 rl-zoo's CartPole-v1 settings (8 envs, ent_coef 0) on the SB2 ACKTR defaults:
    # n_steps 20, gamma 0.99, lr 0.25 decayed linearly, vf_coef 0.25 on (R - V)^2 (= value_coef
    # 0.5 here), max_grad_norm 0.5, damping 0.01, stat decay 0.99, momentum 0.9, separate 64-64
    # tanh networks for policy and value (SB2's MlpPolicy; one shared torso ended between 143
    # and 210 in 10 of 10 runs), with the paper's delta = 0.001 (SB2's kfac_clip = 0.001 is
    # 2 delta; the sweep is in agents/acktr/README.md).
    'CartPole-v1': dict(
        num_envs=8, num_steps_per_env=20, discount=0.99, learning_rate=0.25,
        anneal_learning_rate=True, value_coef=0.5, entropy_coef=0.0, max_grad_norm=0.5,
        trust_region=0.001, damping=0.01, stat_decay=0.99, momentum=0.9, shared_torso=False),
}
