"""DDPG hyper-parameters: Lillicrap et al. 2015, "Continuous control with deep reinforcement
learning"."""

import dataclasses
from typing import Dict, Tuple

from agents.common import config as config_lib
from agents.common import off_policy


@dataclasses.dataclass(frozen=True)
class DDPGConfig(off_policy.OffPolicyConfig):
  """Hyper-parameters of DDPG (Lillicrap et al. 2015, arXiv:1509.02971, Algorithm 1).

  Algorithm 1: the critic minimizes L = mean (y_i - Q(s_i, a_i))^2 with
  y_i = r_i + gamma Q'(s_{i+1}, mu'(s_{i+1})) (eqs. 2-3, target networks Q', mu'); the actor
  follows the sampled deterministic policy gradient grad_a Q(s, a)|_{a=mu(s)} grad_theta mu(s)
  (eq. 6, Silver et al. 2014); targets track slowly, theta' <- tau theta + (1 - tau) theta'.
  Defaults are the paper's section 7 settings for low-dimensional inputs: Adam 1e-4 (actor) and
  1e-3 (critic), L2 weight decay 1e-2 on the critic, gamma 0.99, tau 0.001, 400-300 ReLU units,
  minibatch 64, replay 10^6, Ornstein-Uhlenbeck exploration (theta 0.15, sigma 0.2); batch
  normalization is optional (`observation_batch_norm`, observations only). The TD3 fields
  below keep DDPG's values (one critic, no delay, no target smoothing); agents/td3 sets them.

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
    twin_critics: learn two critics and regress both onto the minimum of their targets (TD3's
      clipped double Q-learning).
    policy_delay: update the actor and the targets once every this many critic updates (TD3: 2).
    target_noise: sigma of the noise added to the target action (TD3's target policy
      smoothing), in units of half the action range; 0 disables it.
    target_noise_clip: clip the target-action noise to +-this (in units of half the range).
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
  twin_critics: bool = False
  policy_delay: int = 1
  target_noise: float = 0.0
  target_noise_clip: float = 0.5

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'actor_learning_rate', 'critic_learning_rate', 'tau',
                              'policy_delay')
    config_lib.check_non_negative(self, 'critic_weight_decay', 'exploration_sigma',
                                  'target_noise', 'target_noise_clip')
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
