"""Off-policy actor-critic hyper-parameters: Degris, White & Sutton 2012, "Off-Policy
Actor-Critic" (Off-PAC)."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class OffPolicyActorCriticConfig(config_lib.ParallelEnvConfig):
  """Hyper-parameters of the off-policy actor-critic (Degris, White & Sutton 2012,
  arXiv:1205.4839), discrete actions.

  The environments are stepped by a behaviour policy beta that is not the target policy pi:
  beta(a|s) = (1 - epsilon) pi(a|s) + epsilon / |A|, pi mixed with the uniform policy, and
  beta(a_t|s_t) is logged with each step. From each [T, B] rollout, with
  rho_t = pi(a_t|s_t) / beta(a_t|s_t):
    critic: V(s) regressed onto V-trace targets v_t, truncated importance weights
            min(1, rho) in the TD errors and lambda min(1, rho) in the traces (Espeholt et al.
            2018, eq. 1; Degris et al. use GTD(lambda), a different off-policy critic);
    actor:  the importance-weighted policy gradient rho_t (r_t + gamma v_{t+1} - V(s_t))
            grad log pi(a_t|s_t) (Degris et al. section 2: the approximate off-policy gradient
            g(u) = E_{s~d^b, a~b}[rho(s, a) psi(s, a) Q^pi(s, a)], with Q^pi - V as the critic's
            advantage estimate; `losses.policy_gradient.importance_weighted_policy_gradient_loss`),
            rho optionally truncated at `pg_rho_clip`,
  one optimizer step on the sum (value term weighted by `value_coef`, minus an entropy
  bonus). The paper updates online with eligibility traces; here a rollout of B environments
  is one batch update. Evaluation follows the greedy target policy argmax pi(.|s).

  Attributes:
    num_envs: B, environments stepped in parallel.
    num_steps_per_env: T, steps per environment per update.
    behaviour_epsilon: epsilon, the uniform policy's share of the behaviour (in (0, 1]: 1 is
      the uniform behaviour of the paper's experiments).
    trace_lambda: lambda of the V-trace traces.
    pg_rho_clip: truncate rho in the policy gradient at this level (0: the paper's plain rho).
    learning_rate: Adam step size.
    value_coef: weight of the value loss 0.5 (v_t - V(s_t))^2.
    entropy_coef: weight of the entropy bonus of pi.
    max_grad_norm: clip gradients to this global norm (0: no clipping).
    jit_compile: compile the update with XLA.
  """
  num_envs: int = 8
  num_steps_per_env: int = 16
  behaviour_epsilon: float = 0.3
  trace_lambda: float = 1.0
  pg_rho_clip: float = 0.0
  learning_rate: float = 1e-3
  value_coef: float = 0.5
  entropy_coef: float = 0.0
  max_grad_norm: float = 0.5
  jit_compile: bool = True

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'learning_rate')
    config_lib.check_non_negative(self, 'pg_rho_clip', 'value_coef', 'entropy_coef',
                                  'max_grad_norm')
    config_lib.check_in_range(self, 'trace_lambda', 0.0, 1.0)
    if not 0.0 < self.behaviour_epsilon <= 1.0:
      raise config_lib.ConfigError(self, 'behaviour_epsilon', 'must be in (0, 1]')


# Applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {}
