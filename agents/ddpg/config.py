"""DDPG hyper-parameters: Lillicrap et al. 2015, "Continuous control with deep reinforcement
learning"."""

import dataclasses
from typing import Dict, Tuple

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class DDPGConfig(config_lib.OffPolicyConfig):
  """Hyper-parameters of DDPG (Lillicrap et al. 2015, arXiv:1509.02971, Algorithm 1).

  Algorithm 1: the critic minimizes L = mean (y_i - Q(s_i, a_i))^2 with
  y_i = r_i + gamma Q'(s_{i+1}, mu'(s_{i+1})) (eqs. 2-3, target networks Q', mu'); the actor
  follows the sampled deterministic policy gradient grad_a Q(s, a)|_{a=mu(s)} grad_theta mu(s)
  (eq. 6, Silver et al. 2014); targets track slowly, theta' <- tau theta + (1 - tau) theta'.
  Defaults are the paper's section 7 settings for low-dimensional inputs: Adam 1e-4 (actor) and
  1e-3 (critic), L2 weight decay 1e-2 on the critic, gamma 0.99, tau 0.001, 400-300 ReLU units,
  minibatch 64, replay 10^6, Ornstein-Uhlenbeck exploration (theta 0.15, sigma 0.2); batch
  normalization is optional (`observation_batch_norm`, observations only). TD3's changes are
  fields of `agents.td3.config.TD3Config`; here they are constants with DDPG's values (one
  critic, no delay, no target smoothing), so the shared learner reads them from either config.

  Attributes:
    actor_learning_rate: Adam step size of the actor.
    critic_learning_rate: Adam step size of the critic(s).
    critic_weight_decay: L2 penalty coefficient on the critic's weights (kernels only).
    tau: soft target update rate.
    hidden_sizes: hidden layer sizes of the actor and the critic.
    activation: activation of the hidden layers.
    observation_batch_norm: batch-normalize observations at the input of the actor and critic
      (paper section 3; batch statistics in updates, moving averages when acting).
    exploration_noise: 'gaussian' (i.i.d. N(0, sigma^2)) or 'ou' (Ornstein-Uhlenbeck,
      x <- x - theta x + sigma N(0, 1) per step, reset at every episode start).
    exploration_sigma: sigma of the exploration noise, in units of half the action range.
    ou_theta: theta of the Ornstein-Uhlenbeck process.
  """
  batch_size: int = 64
  learning_starts: int = 1_000
  actor_learning_rate: float = 1e-4
  critic_learning_rate: float = 1e-3
  critic_weight_decay: float = 1e-2
  tau: float = 0.001
  hidden_sizes: Tuple[int, ...] = (400, 300)
  activation: str = 'relu'
  observation_batch_norm: bool = False
  exploration_noise: str = 'ou'
  exploration_sigma: float = 0.2
  ou_theta: float = 0.15
  # TD3's fields (agents/td3/config.py), fixed to DDPG's values: not fields, so not flags.
  twin_critics = False
  policy_delay = 1
  target_noise = 0.0
  target_noise_clip = 0.5

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'actor_learning_rate', 'critic_learning_rate', 'tau')
    config_lib.check_non_negative(self, 'critic_weight_decay', 'exploration_sigma')
    config_lib.check_in_range(self, 'tau', 0.0, 1.0)
    config_lib.check_in_range(self, 'ou_theta', 0.0, 1.0)
    config_lib.check_choice(self, 'exploration_noise', ('gaussian', 'ou'))
    config_lib.check_network(self)


# RL-Baselines3-Zoo's Pendulum-v1 settings (gamma 0.98, 400-300 units, Adam 1e-3 for both
# networks, Gaussian noise sigma 0.1, 10k random steps, one update per step, SB3's batch 256 and
# tau 0.005, no weight decay), applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    'Pendulum-v1': dict(
        discount=0.98, hidden_sizes=(400, 300), actor_learning_rate=1e-3,
        critic_learning_rate=1e-3, critic_weight_decay=0.0, exploration_noise='gaussian',
        exploration_sigma=0.1, learning_starts=10_000, batch_size=256, tau=0.005,
        replay_size=200_000),
}
