"""A3C hyper-parameters: Mnih et al. 2016, "Asynchronous Methods for Deep RL" (arXiv:1602.01783)."""

import dataclasses
from typing import Dict

from agents.a2c import config as a2c_config
from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class A3CConfig(a2c_config.AdvantageActorCriticConfig):
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
    max_grad_norm: clip each worker's gradient to this global norm (0 disables clipping).
    jit_compile: compile each worker's gradient step with XLA.
  """
  num_workers: int = 16
  t_max: int = 5
  jit_compile: bool = False

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'num_workers', 't_max')

  @property
  def min_num_steps(self) -> int:
    """One segment."""
    return self.t_max


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # The paper's defaults (t_max 5, gamma 0.99, entropy 0.01, shared RMSProp alpha 0.99,
    # linear annealing) with 2 workers, a learning rate of 4e-4 (inside the paper's
    # LogUniform(1e-4, 1e-2) range), separate policy and value networks and no gradient
    # clipping (the paper clips nothing). With the shared torso and Baselines' clipping at
    # global norm 0.5, the value loss (returns up to ~100 on CartPole) held the gradient's norm
    # near 40, so every update was scaled down ~80x by an amount set by the critic's error:
    # evaluations swung between ~80 and 500 (agents/a3c/README.md).
    'CartPole-v1': dict(num_workers=2, learning_rate=4e-4, shared_torso=False,
                        max_grad_norm=0.0),
}
