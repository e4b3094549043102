"""A3C hyper-parameters: Mnih et al. 2016, "Asynchronous Methods for Deep RL" (arXiv:1602.01783)."""

import dataclasses
from typing import Dict, Tuple

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class A3CConfig:
  """Hyper-parameters of A3C (Mnih et al. 2016, arXiv:1602.01783, Algorithm S3).

  W worker threads share the global parameters and one RMSProp optimizer; each repeatedly
  copies the global parameters, acts for at most t_max steps (less at the end of an episode)
  and applies the gradient of its segment's loss to the global parameters, without waiting for
  the others. Paper values: t_max = 5, gamma = 0.99, entropy weight beta = 0.01, shared
  RMSProp with decay alpha = 0.99, 16 actor-learner threads, a learning rate annealed linearly
  to 0, all non-output layers shared between policy and value. The paper samples its learning
  rate from LogUniform(1e-4, 1e-2); 7e-4, RMSProp epsilon 1e-5, value weight 0.5 (R - V)^2 and
  clipping at global norm 0.5 are the OpenAI Baselines A2C settings (agents/a3c/README.md).

  Attributes:
    num_workers: W, actor-learner threads, each with its own environment and local networks.
    t_max: most environment steps of one segment (one asynchronous update) of a worker.
    learning_rate: step size of the shared optimizer.
    anneal_learning_rate: decay the learning rate linearly to 0 over the run's env steps.
    optimizer: 'rmsprop' (non-centered, one set of statistics shared by every worker, as the
      paper's shared RMSProp) or 'adam'.
    rmsprop_decay: alpha, decay of RMSProp's running mean of squared gradients.
    optimizer_epsilon: epsilon of RMSProp (inside the square root, as in the paper) or of Adam.
    discount: gamma.
    value_coef: c_v, weight of the value loss 0.5 * (R - V(s))^2.
    entropy_coef: c_e (the paper's beta), weight of the entropy bonus.
    max_grad_norm: clip each worker's gradient to this global norm (0 disables clipping).
    hidden_sizes: hidden layer sizes of the policy and value MLPs.
    activation: activation of the hidden layers.
    shared_torso: one torso for policy and value, as in the paper (else separate networks).
    init_log_std: initial log standard deviation of the Gaussian policy (continuous actions).
    jit_compile: compile each worker's gradient step with XLA.
  """
  num_workers: int = 16
  t_max: int = 5
  learning_rate: float = 7e-4
  anneal_learning_rate: bool = True
  optimizer: str = 'rmsprop'
  rmsprop_decay: float = 0.99
  optimizer_epsilon: float = 1e-5
  discount: float = 0.99
  value_coef: float = 1.0
  entropy_coef: float = 0.01
  max_grad_norm: float = 0.5
  hidden_sizes: Tuple[int, ...] = (64, 64)
  activation: str = 'tanh'
  shared_torso: bool = True
  init_log_std: float = 0.0
  jit_compile: bool = False

  def __post_init__(self):
    config_lib.check_positive(self, 'num_workers', 't_max', 'learning_rate',
                              'optimizer_epsilon')
    config_lib.check_non_negative(self, 'value_coef', 'entropy_coef', 'max_grad_norm')
    config_lib.check_in_range(self, 'discount', 0.0, 1.0)
    config_lib.check_in_range(self, 'rmsprop_decay', 0.0, 1.0)
    config_lib.check_choice(self, 'optimizer', ('rmsprop', 'adam'))
    config_lib.check_network(self)


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # The paper's defaults (t_max 5, gamma 0.99, entropy 0.01, shared RMSProp alpha 0.99,
    # linear annealing, shared torso) with 2 workers and a smaller learning rate, 4e-4 instead
    # of 7e-4 (inside the paper's LogUniform(1e-4, 1e-2) range): with 7e-4 the final
    # evaluation oscillated between ~400 and 500 late in training (README).
    'CartPole-v1': dict(num_workers=2, learning_rate=4e-4),
}
