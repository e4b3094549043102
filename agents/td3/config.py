"""TD3 hyper-parameters: Fujimoto et al. 2018, "Addressing Function Approximation Error in
Actor-Critic Methods"."""

import dataclasses
from typing import Dict, Tuple

from agents.common import config as config_lib
from agents.ddpg import config as ddpg_config


@dataclasses.dataclass(frozen=True)
class TD3Config(ddpg_config.DDPGConfig):
  """Hyper-parameters of TD3 (Fujimoto et al. 2018, arXiv:1802.09477, Algorithm 1).

  TD3 is DDPG with three changes, all fields of this config: clipped double Q-learning
  (`twin_critics`; y = r + gamma min_i Q'_i(s', a~), eq. 10), delayed policy and target updates
  (`policy_delay` d = 2, section 5.2) and target policy smoothing
  (a~ = mu'(s') + clip(N(0, sigma~^2), -c, c), eq. 15, sigma~ = 0.2, c = 0.5). Defaults are the
  paper's section 6.1 settings: Adam 1e-3 for both networks, no weight decay, 400-300 ReLU
  units, minibatch 100, tau 0.005, gamma 0.99, Gaussian exploration N(0, 0.1^2), and uniformly
  random actions for the first 10^4 steps (the paper's 10^4 on Pendulum-style tasks; 2.5 x 10^4
  in its later code). The learner is agents/ddpg's; this package only sets its fields.

  Attributes:
    batch_size: transitions per gradient update.
    learning_starts: env steps with uniformly random actions before the first update.
    actor_learning_rate: Adam step size of the actor.
    critic_learning_rate: Adam step size of both critics.
    critic_weight_decay: L2 penalty on the critics' kernels (0 in TD3).
    tau: soft target update rate.
    exploration_noise: 'gaussian' (TD3) or 'ou'.
    exploration_sigma: sigma of the exploration noise, in units of half the action range.
    twin_critics: learn two critics and regress both onto the minimum of their targets
      (clipped double Q-learning).
    policy_delay: d, update the actor and the targets once every this many critic updates.
    target_noise: sigma~ of the noise added to the target action (target policy smoothing), in
      units of half the action range; 0 disables it.
    target_noise_clip: c, clip the target-action noise to +-c (in units of half the range).
  """
  batch_size: int = 100
  learning_starts: int = 10_000
  actor_learning_rate: float = 1e-3
  critic_learning_rate: float = 1e-3
  critic_weight_decay: float = 0.0
  tau: float = 0.005
  hidden_sizes: Tuple[int, ...] = (400, 300)
  exploration_noise: str = 'gaussian'
  exploration_sigma: float = 0.1
  twin_critics: bool = True
  policy_delay: int = 2
  target_noise: float = 0.2
  target_noise_clip: float = 0.5

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'policy_delay')
    config_lib.check_non_negative(self, 'target_noise', 'target_noise_clip')


# RL-Baselines3-Zoo's Pendulum-v1 settings (gamma 0.98, 400-300 units, lr 1e-3, Gaussian noise
# 0.1, 10k random steps, SB3's batch 256), applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    'Pendulum-v1': dict(discount=0.98, learning_starts=10_000, batch_size=256,
                        replay_size=200_000),
    # MuJoCo: the settings of the authors' published code (github.com/sfujim/TD3, the ones
    # its updated results use): 256-256 ReLU, Adam 3e-4, batch 256, 25,000 random steps, the
    # paper's noise (exploration 0.1, target 0.2 clipped at 0.5), delay 2, tau 0.005.
    **{env: dict(hidden_sizes=(256, 256), actor_learning_rate=3e-4, critic_learning_rate=3e-4,
                 batch_size=256, learning_starts=25_000, exploration_sigma=0.1,
                 target_noise=0.2, target_noise_clip=0.5, policy_delay=2, tau=0.005,
                 discount=0.99, replay_size=1_000_000)
       for env in ('HalfCheetah-v5', 'Hopper-v5')},
}
