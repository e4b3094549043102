"""D4PG hyper-parameters: Barth-Maron et al. 2018, "Distributed Distributional Deterministic
Policy Gradients"."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib
from agents.ddpg import config as ddpg_config


@dataclasses.dataclass(frozen=True)
class D4PGConfig(ddpg_config.DDPGConfig):
  """Hyper-parameters of D4PG (Barth-Maron et al. 2018, arXiv:1804.08617, Algorithm 1).

  DDPG with four changes (section 3): a categorical critic Z_w(s, a) on `num_atoms` evenly
  spaced atoms in [v_min, v_max] (Bellemare et al. 2017), trained on the cross-entropy to the
  target distribution projected onto the support (eq. 7: the Bellman operator applied to the
  target networks' Z_w'(s', mu'(s')), with N-step returns, eq. 8); the actor follows
  E[grad_a Z_w(s, a)] grad_theta mu(s) at a = mu(s), the gradient of the critic's mean (eq. 6);
  prioritized replay with importance weights; K actors feeding one replay table. The paper's
  settings (section 4): N = 5, 51 atoms, Adam 1e-4 for both networks, batch 256, Gaussian
  exploration noise sigma 0.3. Target networks move softly here (tau), where the paper copies
  them every 100 updates. Priorities are each transition's cross-entropy loss.

  K actors (section 3, Algorithm 1's actor processes): `num_actors` processes act and write to
  the replay table while the learner trains (`agents.common.distributed`); every actor
  explores with the same Gaussian noise (the paper's; no per-actor scales), and pulls the
  policy's weights every `actor_update_period` of its env steps. `num_actors=0` acts in the
  learner's process, between its updates, like DDPG.

  Attributes:
    num_atoms: atoms of the critic's categorical distribution (>= 2).
    v_min: the smallest atom (the support's lower end).
    v_max: the largest atom (> v_min).
    num_actors: K actor processes (0: act in the learner's process).
    actor_update_period: env steps an actor process takes between two pulls of the weights.
  """
  n_step: int = 5
  batch_size: int = 256
  prioritized_replay: bool = True
  actor_learning_rate: float = 1e-4
  critic_learning_rate: float = 1e-4
  critic_weight_decay: float = 0.0
  tau: float = 0.005
  exploration_noise: str = 'gaussian'
  exploration_sigma: float = 0.3
  num_atoms: int = 51
  v_min: float = -150.0
  v_max: float = 150.0
  num_actors: int = 0
  actor_update_period: int = 100

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_non_negative(self, 'num_actors')
    if self.num_actors > 256:
      raise config_lib.ConfigError(self, 'num_actors', 'must be <= 256 (processes on one machine)')
    config_lib.check_positive(self, 'actor_update_period')
    if self.num_atoms < 2:
      raise config_lib.ConfigError(self, 'num_atoms', 'must be >= 2')
    if not self.v_max > self.v_min:
      raise config_lib.ConfigError(self, 'v_max', f'must be > v_min={self.v_min}')
    for name in ('critic_weight_decay', 'observation_batch_norm'):  # DDPG's; no D4PG use.
      if getattr(self, name):
        raise config_lib.ConfigError(self, name, 'is not used by D4PG (leave it at 0 / off)')


# Pendulum-v1's rewards lie in [-16.3, 0]: with gamma 0.99 its values lie in about
# [-1,000, 0] for the policies a run meets (the paper's [-150, 150] fits the control suite's
# [0, 1] rewards). Applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    'Pendulum-v1': dict(v_min=-1000.0, v_max=0.0),
}
