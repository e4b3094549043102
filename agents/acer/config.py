"""ACER hyper-parameters: Wang et al. 2017, "Sample Efficient Actor-Critic with Experience
Replay" (arXiv:1611.01224)."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class ACERConfig(config_lib.ParallelEnvConfig):
  """Hyper-parameters of ACER for discrete actions (Wang et al. 2017, arXiv:1611.01224,
  Algorithms 1 and 2).

  Each iteration takes t_max steps in N environments, makes one on-policy update on that
  segment and stores it in replay with the behaviour policy's probabilities mu(.|x), then
  makes n ~ Poisson(r) updates on N segments sampled from replay (r = `replay_ratio`). Every
  update uses Retrace targets Q_ret (eq. 5), the truncated importance-weighted policy gradient
  with bias correction (eq. 9, truncation c), the value loss 0.5 (Q_ret - Q(x, a))^2, and the
  efficient trust region (eq. 12): the policy gradient with respect to the probability vector
  phi(x) is projected onto the half-space k^T z <= delta, k the gradient of
  KL[pi_avg(.|x) || pi(.|x)] against an average policy network, updated after every step as
  theta_avg <- alpha theta_avg + (1 - alpha) theta. Paper values: replay ratio 4, c = 10,
  delta = 1, alpha = 0.99, t_max = 20, replay of 50,000 frames per thread, entropy 0.01 (Atari).
  RMSProp (decay 0.99, epsilon 1e-5) at 7e-4 decayed linearly, Q weight 0.5, gradient clipping
  at global norm 10 and starting replay after 10,000 steps are the OpenAI Baselines settings
  (see agents/acer/README.md).

  Attributes:
    num_envs: N, environments stepped in parallel (and segments per replay batch).
    num_steps_per_env: t_max, the length of every segment.
    replay_ratio: r, mean of the Poisson number of replay updates per on-policy update (0: the
      on-policy ACER of Algorithm 2 alone).
    replay_size: env steps the replay keeps (FIFO), as segments of t_max steps.
    replay_start: env steps in replay before replay updates start.
    truncation: c, the truncation of the importance weights in the policy gradient.
    trust_region: use the efficient trust-region update (eq. 12; False: the plain gradient).
    trust_region_delta: delta, the bound on the linearized KL to the average policy.
    average_decay: alpha of the average policy network.
    q_coef: weight of the value loss 0.5 (Q_ret - Q(x, a))^2.
    entropy_coef: weight of the entropy bonus (part of the projected policy gradient).
    learning_rate: RMSProp's step size.
    anneal_learning_rate: decay the learning rate linearly to 0 over the run.
    rmsprop_decay: decay of RMSProp's running mean of squared gradients.
    optimizer_epsilon: RMSProp's epsilon.
    max_grad_norm: clip the global gradient norm to this (0 disables clipping).
    shared_torso: one torso for the policy and the Q head, as in the paper (else separate).
    jit_compile: compile each update with XLA.
  """
  num_envs: int = 8
  num_steps_per_env: int = 20
  replay_ratio: float = 4.0
  replay_size: int = 50_000
  replay_start: int = 10_000
  truncation: float = 10.0
  trust_region: bool = True
  trust_region_delta: float = 1.0
  average_decay: float = 0.99
  q_coef: float = 0.5
  entropy_coef: float = 0.01
  learning_rate: float = 7e-4
  anneal_learning_rate: bool = True
  rmsprop_decay: float = 0.99
  optimizer_epsilon: float = 1e-5
  max_grad_norm: float = 10.0
  shared_torso: bool = True
  jit_compile: bool = True

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'truncation', 'trust_region_delta', 'learning_rate',
                              'optimizer_epsilon')
    config_lib.check_non_negative(self, 'replay_ratio', 'replay_start', 'q_coef',
                                  'entropy_coef', 'max_grad_norm')
    config_lib.check_in_range(self, 'average_decay', 0.0, 1.0)
    config_lib.check_in_range(self, 'rmsprop_decay', 0.0, 1.0)
    if self.replay_size < self.num_steps_per_env:
      raise config_lib.ConfigError(self, 'replay_size', f'must hold at least one segment '
                                   f'(num_steps_per_env = {self.num_steps_per_env})')

  @property
  def replay_segments(self) -> int:
    """Segments the replay holds."""
    return self.replay_size // self.num_steps_per_env


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # SB2 rl-zoo's CartPole-v1 settings (8 envs, ent_coef 0) on the SB2 ACER defaults: 20
    # steps per segment, replay ratio 4, buffer of 5,000 steps per env (40,000 in all here),
    # replay from 1,000 steps per env (8,000), c 10, delta 1, alpha 0.99, q_coef 0.5, RMSProp
    # (decay 0.99, epsilon 1e-5) decayed linearly, clipping at 10; 64-64 tanh torsos, separate
    # for the policy and the Q head, and a learning rate of 2e-3 instead of 7e-4 (the sweep,
    # and the runs with the paper's shared torso, are in agents/acer/README.md).
    'CartPole-v1': dict(
        num_envs=8, num_steps_per_env=20, entropy_coef=0.0, replay_ratio=4.0,
        replay_size=40_000, replay_start=8_000, truncation=10.0, trust_region=True,
        trust_region_delta=1.0, average_decay=0.99, q_coef=0.5, learning_rate=2e-3,
        anneal_learning_rate=True, max_grad_norm=10.0, shared_torso=False),
}
