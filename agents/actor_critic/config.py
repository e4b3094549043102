"""One-step actor-critic hyper-parameters: Sutton & Barto 2018, section 13.5."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib


@dataclasses.dataclass(frozen=True)
class ActorCriticConfig(config_lib.OnPolicyConfig):
  """Hyper-parameters of the one-step actor-critic (episodic), updated online at every step.

  Sutton & Barto 2018, "Reinforcement Learning: An Introduction", 2nd ed., section 13.5, the
  box "One-step Actor-Critic (episodic), for estimating pi_theta ~ pi_*" (eqs. 13.12-13.14):

    delta <- R + gamma v(S', w) - v(S, w)        (v(terminal) = 0)
    w     <- w + alpha^w delta grad v(S, w)
    theta <- theta + alpha^theta I delta grad ln pi(A|S, theta)
    I     <- gamma I                              (I = 1 at the start of each episode)

  A time-limit cut is not terminal: S' is the real final observation and v(S') is kept. The
  book's step sizes are per task; it uses plain SGD. The defaults here (Adam, 1e-4 / 1e-3)
  are ours; `--optimizer=sgd` gives the book's update. See agents/actor_critic/README.md.

  Attributes:
    num_envs: environments stepped in lock-step, each update averaging their B transitions;
      1 (the default) is the book's algorithm.
    discount_weighting: keep the book's I factor (I <- gamma I, reset to 1 at each episode's
      start), so the actor step is scaled by gamma^t; off drops it (the usual deep-RL form).
    optimizer: 'sgd' (the book's plain gradient steps) or 'adam' (one Adam per network).
    actor_learning_rate: alpha^theta, step size of the policy.
    critic_learning_rate: alpha^w, step size of the state-value critic.
    entropy_coef: weight of an entropy bonus on the actor (0: none, as in the book).
    jit_compile: compile the per-step update (and the next action's sampling) with XLA; about
      3x faster per step on CPU than the plain graph.
  """
  num_envs: int = 1
  discount_weighting: bool = True
  optimizer: str = 'adam'
  actor_learning_rate: float = 1e-4
  critic_learning_rate: float = 1e-3
  entropy_coef: float = 0.0
  jit_compile: bool = True

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'num_envs', 'actor_learning_rate', 'critic_learning_rate')
    config_lib.check_non_negative(self, 'entropy_coef')
    config_lib.check_choice(self, 'optimizer', ('adam', 'sgd'))

  @property
  def min_num_steps(self) -> int:
    """One step of every environment."""
    return self.num_envs


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    'CartPole-v1': dict(num_envs=1, discount=0.99, optimizer='adam',
                        actor_learning_rate=1e-4, critic_learning_rate=1e-3),
}
