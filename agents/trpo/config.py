"""TRPO hyper-parameters: Schulman et al. 2015, "Trust Region Policy Optimization"."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class TRPOConfig(config_lib.RolloutConfig):
  """Hyper-parameters of TRPO (Schulman et al. 2015, arXiv:1502.05477) with GAE advantages.

  Policy step (paper, section 6 and appendix C): maximize the surrogate
  L(theta) = mean[pi_theta(a|s) / pi_old(a|s) A] subject to mean KL[pi_old || pi_theta] <= delta,
  with the natural-gradient direction s ~ F^-1 g from `cg_iterations` conjugate-gradient
  iterations on damped Fisher-vector products (F + damping I) v, the maximal step
  beta = sqrt(2 delta / s^T F s) and a backtracking line search. Paper values (Table 2, the
  locomotion tasks): delta = 0.01, 10 CG iterations, CG damping 0.1, gamma = 0.99. The line
  search halves the step up to 10 times and needs an improvement of at least 0.1 of the
  linear prediction, as in the authors' reference code (modular_rl `linesearch`:
  `max_backtracks=10`, `accept_ratio=0.1`, step fractions 0.5^k).
  Advantages: GAE(gamma, lambda) with lambda = 0.97 (Schulman et al. 2016, arXiv:1506.02438,
  section 6, the value used for the 3D locomotion tasks). The value function is fitted by Adam
  on the lambda-return targets A_t + V(s_t) (the GAE paper fits it with its own trust region;
  Adam epochs of minibatches are the OpenAI Baselines `trpo_mpi` practice: 5 epochs, lr 1e-3,
  minibatch 64). See agents/trpo/README.md for every deviation.

  Attributes:
    max_kl: delta, the trust-region radius on the mean KL[pi_old || pi_new].
    kl_tolerance: a line-search step is accepted only if its mean KL <= kl_tolerance * max_kl
      (1 enforces the paper's constraint exactly; OpenAI Baselines uses 1.5).
    cg_iterations: conjugate-gradient iterations for s ~ F^-1 g.
    cg_residual_tol: conjugate gradient stops early when the squared residual is below this.
    cg_damping: added to the Fisher matrix, (F + damping I) v, for a well-posed solve.
    backtrack_coef: the step shrinks by this factor at each line-search step.
    max_backtracks: line-search steps tried (the full step first) before the update is
      rejected and the old parameters are kept.
    accept_ratio: a step is accepted only if its surrogate improvement is > 0 and at least
      this fraction of the improvement predicted by the linear model g^T (step).
    normalize_advantages: standardize advantages over each batch.
    value_learning_rate: Adam step size of the value function.
    value_epochs: passes of Adam over each batch for the value function.
    value_minibatch_size: transitions per value-function Adam step; must divide N * T.
    adam_epsilon: Adam's epsilon (value function).
    jit_compile: compile the whole update (policy step, line search, value epochs) with XLA.
  """
  gae_lambda: float = 0.97
  max_kl: float = 0.01
  kl_tolerance: float = 1.0
  cg_iterations: int = 10
  cg_residual_tol: float = 1e-10
  cg_damping: float = 0.1
  backtrack_coef: float = 0.5
  max_backtracks: int = 10
  accept_ratio: float = 0.1
  normalize_advantages: bool = True
  value_learning_rate: float = 1e-3
  value_epochs: int = 5
  value_minibatch_size: int = 64
  adam_epsilon: float = 1e-5

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'max_kl', 'cg_iterations',
                              'max_backtracks', 'value_learning_rate', 'value_minibatch_size',
                              'adam_epsilon')
    config_lib.check_non_negative(self, 'cg_damping', 'cg_residual_tol', 'accept_ratio',
                                  'value_epochs')
    if not self.kl_tolerance >= 1.0:
      raise config_lib.ConfigError(self, 'kl_tolerance', 'must be >= 1')
    if not 0.0 < self.backtrack_coef < 1.0:
      raise config_lib.ConfigError(self, 'backtrack_coef', 'must be in (0, 1)')
    if self.batch_size % self.value_minibatch_size:
      raise config_lib.ConfigError(
          self, 'value_minibatch_size',
          f'must divide num_envs * num_steps_per_env = {self.batch_size}')


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # Start: RL-Baselines3-Zoo's TRPO CartPole-v1 settings as recalled (2 envs x 512 steps,
    # gamma 0.99, lambda 0.98, 20 critic epochs of minibatch 512, critic lr 1e-3), with the
    # SB3 TRPO defaults for the rest (delta 0.01, damping 0.1, backtracking 0.8 x 10).
    'CartPole-v1': dict(
        num_envs=2, num_steps_per_env=512, discount=0.99, gae_lambda=0.98, max_kl=0.01,
        cg_damping=0.1, backtrack_coef=0.8, max_backtracks=10, value_learning_rate=1e-3,
        value_epochs=20, value_minibatch_size=512),
    # Start: RL-Baselines3-Zoo's TRPO Pendulum-v1 settings as recalled (2 envs x 1024 steps,
    # gamma 0.9, 20 critic epochs, critic lr 1e-3) without its gSDE exploration, with
    # normalized observations.
    'Pendulum-v1': dict(
        num_envs=2, num_steps_per_env=1024, discount=0.9, gae_lambda=0.95, max_kl=0.01,
        cg_damping=0.1, backtrack_coef=0.8, max_backtracks=10, value_learning_rate=1e-3,
        value_epochs=20, value_minibatch_size=128, normalize_observations=True),
}
