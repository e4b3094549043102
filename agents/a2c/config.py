"""A2C hyper-parameters: Mnih et al. 2016, "Asynchronous Methods for Deep RL" (arXiv:1602.01783)."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib
from agents.common import wrappers


@dataclasses.dataclass(frozen=True)
class ActorCriticLossConfig(config_lib.OnPolicyConfig):
  """The loss of advantage actor-critic, shared by A2C, A3C and ACKTR (Mnih et al. 2016,
  arXiv:1602.01783, Algorithm S3): L = -log pi(a|s) A + c_v 0.5 (R - V(s))^2 - c_e H(pi(.|s)).

  Attributes:
    learning_rate: step size of the optimizer.
    anneal_learning_rate: decay the learning rate linearly to 0 over the run.
    value_coef: c_v, weight of the value loss 0.5 * (R - V(s))^2.
    entropy_coef: c_e (the paper's beta), weight of the entropy bonus.
    max_grad_norm: clip gradients to this global norm (0 disables clipping).
    shared_torso: one torso for policy and value, as in the paper (else separate networks).
  """
  learning_rate: float = 7e-4
  anneal_learning_rate: bool = True
  value_coef: float = 1.0
  entropy_coef: float = 0.01
  max_grad_norm: float = 0.5
  shared_torso: bool = True

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'learning_rate')
    config_lib.check_non_negative(self, 'value_coef', 'entropy_coef', 'max_grad_norm')


@dataclasses.dataclass(frozen=True)
class AdvantageActorCriticConfig(ActorCriticLossConfig):
  """The loss and first-order optimizer of A2C and A3C.

  Attributes:
    optimizer: 'rmsprop' (non-centered, as in the paper; A3C's statistics are shared by every
      worker) or 'adam'.
    rmsprop_decay: alpha, decay of RMSProp's running mean of squared gradients.
    optimizer_epsilon: epsilon of RMSProp (added to the mean square inside the square root, as
      in the paper's update and Keras) or of Adam.
  """
  optimizer: str = 'rmsprop'
  rmsprop_decay: float = 0.99
  optimizer_epsilon: float = 1e-5

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'optimizer_epsilon')
    config_lib.check_in_range(self, 'rmsprop_decay', 0.0, 1.0)
    config_lib.check_choice(self, 'optimizer', ('rmsprop', 'adam'))


@dataclasses.dataclass(frozen=True)
class SynchronousActorCriticConfig(config_lib.RolloutConfig, ActorCriticLossConfig):
  """The rollouts and targets of the synchronous advantage actor-critics, A2C and ACKTR: N
  actors in lockstep take t_max steps each with the same parameters, then one update on the
  mean of their losses (Mnih et al. 2016, arXiv:1602.01783, Algorithm S3 synchronized).

  Attributes:
    num_envs: N, environments stepped in parallel (the paper's actor-learner threads).
    num_steps_per_env: t_max, steps per environment per update.
    advantage_estimator: 'n_step' for the paper's bootstrapped returns R_t = sum_k gamma^k
      r_{t+k} + gamma^(t_max - t) V(s_{t_max}) (each step looks ahead to the end of the
      segment), or 'gae' for GAE(gamma, lambda) (Schulman et al. 2016, arXiv:1506.02438).
    gae_lambda: lambda of GAE (only with advantage_estimator='gae'; 1 equals 'n_step').
  """
  num_envs: int = 16
  num_steps_per_env: int = 5
  advantage_estimator: str = 'n_step'
  gae_lambda: float = 1.0

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_choice(self, 'advantage_estimator', ('n_step', 'gae'))


@dataclasses.dataclass(frozen=True)
class A2CConfig(SynchronousActorCriticConfig, AdvantageActorCriticConfig):
  """Hyper-parameters of A2C, the synchronous form of A3C (Mnih et al. 2016, arXiv:1602.01783).

  One update = Algorithm S3 run by N actors in lockstep: each takes t_max steps with the same
  parameters, then one gradient step on the mean of their losses. Paper values: t_max = 5,
  gamma = 0.99, entropy weight beta = 0.01, RMSProp decay alpha = 0.99, 16 actor-learners,
  all non-output layers shared between policy and value (experimental setup). The
  paper samples its learning rate from LogUniform(1e-4, 1e-2); 7e-4 with a linear decay to 0,
  RMSProp epsilon 1e-5, a value weight equal to 0.5 * (R - V)^2 and gradient clipping at global
  norm 0.5 are the OpenAI Baselines A2C settings (see agents/a2c/README.md).
  """


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # RL-Baselines3-Zoo's CartPole-v1 settings (8 envs, ent_coef 0) on top of the SB3 A2C
    # defaults: n_steps 5, gamma 0.99, gae_lambda 1, lr 7e-4, RMSProp alpha 0.99 eps 1e-5,
    # vf_coef 0.5 on (R - V)^2 (= value_coef 1 here), max_grad_norm 0.5, separate 64-64 tanh
    # networks.
    'CartPole-v1': dict(
        num_envs=8, num_steps_per_env=5, discount=0.99, advantage_estimator='gae',
        gae_lambda=1.0, learning_rate=7e-4, anneal_learning_rate=False, rmsprop_decay=0.99,
        optimizer_epsilon=1e-5, value_coef=1.0, entropy_coef=0.0, max_grad_norm=0.5,
        shared_torso=False),
    # Every Atari game (`ALE/...`): the paper's setup (16 actors, t_max 5, gamma 0.99, entropy
    # 0.01, RMSProp decay 0.99, policy and value sharing the Nature CNN: `hidden_sizes=()`)
    # with OpenAI Baselines' A2C learning rate 7e-4 decayed linearly to 0, RMSProp epsilon
    # 1e-5, value weight 0.5 on (R - V)^2 and gradient clipping at 0.5. Without XLA: its CPU
    # convolutions are slower than TensorFlow's own (see agents/ppo/README.md).
    wrappers.ATARI_TUNED: dict(
        num_envs=16, num_steps_per_env=5, discount=0.99, learning_rate=7e-4,
        anneal_learning_rate=True, rmsprop_decay=0.99, optimizer_epsilon=1e-5, value_coef=1.0,
        entropy_coef=0.01, max_grad_norm=0.5, shared_torso=True, hidden_sizes=(),
        jit_compile=False),
}
