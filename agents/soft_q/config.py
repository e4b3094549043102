"""Soft Q-learning hyper-parameters: Haarnoja, Tang, Abbeel, Levine 2017, "Reinforcement
Learning with Deep Energy-Based Policies" (arXiv:1702.08165)."""

import dataclasses
from typing import Dict, Tuple

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class SoftQConfig(config_lib.OffPolicyConfig):
  """Hyper-parameters of Soft Q-learning with an amortized SVGD sampler (Haarnoja et al. 2017,
  arXiv:1702.08165, Algorithm 1).

  The soft Q-network is regressed onto r_scale r + gamma V'(s') (eq. 11), with the soft value
  of the target network estimated by importance sampling over M actions drawn uniformly from
  the action box, V'(s) = alpha log E_{a~U}[exp(Q'(s, a) / alpha) / U(a)] (eq. 10). The sampler
  a = f(s, xi) draws K particles per state and moves them along the SVGD direction
  E_j[k(a_j, a_i) grad_a Q(s, a_j) + alpha grad_{a_j} k(a_j, a_i)] with an RBF kernel of median
  bandwidth (eq. 13), back-propagated into f (eq. 14). Target network by Polyak averaging.
  Values of the paper's multi-goal experiment (and its code): 2 hidden layers of 128 ReLU
  units, Adam 3e-4, 32 particles, 16 value samples, reward scale 0.1 with alpha 1, batch 128.

  Attributes:
    learning_rate: Adam step size of the Q-network and of the sampler.
    tau: soft target update rate.
    alpha: the temperature.
    reward_scale: rewards are multiplied by this (with alpha 1, the inverse temperature).
    value_samples: M, uniform actions per state for the soft value.
    particles: K, sampler particles per state for the SVGD update.
    eval_samples: the deterministic evaluation policy takes the best of this many sampler
      actions by Q.
    hidden_sizes: hidden layer sizes of the Q-network and the sampler.
    activation: activation of the hidden layers.
  """
  learning_starts: int = 1_000
  batch_size: int = 128
  learning_rate: float = 3e-4
  tau: float = 0.005
  alpha: float = 1.0
  reward_scale: float = 1.0
  value_samples: int = 16
  particles: int = 32
  eval_samples: int = 32
  hidden_sizes: Tuple[int, ...] = (128, 128)
  activation: str = 'relu'

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'learning_rate', 'tau', 'alpha', 'reward_scale',
                              'value_samples', 'particles', 'eval_samples')
    config_lib.check_in_range(self, 'tau', 0.0, 1.0)
    config_lib.check_network(self)


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # The paper's multi-goal experiment: reward scale 0.1 (alpha 1), 128-128, 32 particles,
    # 16 value samples, Adam 3e-4.
    'MultiGoal-v0': dict(reward_scale=0.1, alpha=1.0, hidden_sizes=(128, 128),
                         particles=32, value_samples=16, learning_rate=3e-4, batch_size=128,
                         learning_starts=1_000),
}
