"""PPO hyper-parameters: Schulman et al. 2017, "Proximal Policy Optimization Algorithms"."""

import dataclasses
from typing import Dict

from agents.common import config as config_lib
from agents.common import wrappers


@dataclasses.dataclass(frozen=True)
class PPOConfig(config_lib.RolloutConfig):
  """Hyper-parameters of PPO (Schulman et al. 2017, arXiv:1707.06347, Algorithm 1).

  Defaults are the paper's MuJoCo settings (Table 3: horizon T = 2048, Adam 3e-4, 10 epochs,
  minibatch 64, gamma 0.99, GAE lambda 0.95) with the clipped objective L^CLIP of eq. (7),
  epsilon = 0.2, and the combined loss of eq. (9) (value coefficient c1, entropy coefficient c2).
  The alternative adaptive-KL objective (eq. 8, section 4) starts at beta = 1 and targets
  d_targ = 0.01, the best setting of the paper's Table 1.
  Advantages are GAE (Schulman et al. 2016, arXiv:1506.02438, eq. 16), as in eqs. (11)-(12).
  Not in the paper, common since: gradient clipping by global norm, advantage normalization,
  optional value clipping, observation normalization and reward scaling (see
  agents/ppo/README.md).

  Attributes:
    num_steps_per_env: T, steps per environment per iteration (the horizon).
    num_epochs: K, passes over each batch of N*T transitions.
    minibatch_size: transitions per gradient step in each process (split evenly over the
      process's replicas; with W worker processes one step averages the W minibatches); must
      divide N*T.
    learning_rate: Adam step size.
    anneal_learning_rate: decay the learning rate linearly to 0 over the run.
    adam_epsilon: Adam's epsilon.
    objective: 'clip' for L^CLIP (eq. 7) or 'kl_penalty' for the KL-penalized objective
      L^KLPEN (eq. 8) with the adaptive coefficient of section 4.
    kl_target: d_targ, the KL per update the adaptive penalty aims for.
    kl_beta: initial KL penalty coefficient beta.
    clip_epsilon: epsilon of the clipped surrogate objective (with 'kl_penalty' only used for
      the clip_fraction diagnostic).
    anneal_clip_epsilon: decay epsilon linearly to 0 over the run.
    value_coef: weight of the value loss 0.5 * (V(s) - V^targ)^2, i.e. 2 * c1 of eq. (9)
      (whose L^VF has no 0.5); with separate networks it only matters through clipping.
    entropy_coef: c2, weight of the entropy bonus.
    value_clip_epsilon: clip the value update to this distance from the old prediction
      (0 disables value clipping).
    max_grad_norm: clip gradients to this global norm (0 disables clipping).
    normalize_advantages: standardize advantages over each batch.
    normalize_rewards: divide rewards by the running std of the discounted return.
    shared_torso: one torso for policy and value (else separate networks, as on MuJoCo).
    jit_compile: compile the whole K-epoch update with XLA (used without a distribution
      strategy; under one, the loop is a plain graph around `strategy.run`).
  """
  num_epochs: int = 10
  minibatch_size: int = 64
  learning_rate: float = 3e-4
  anneal_learning_rate: bool = False
  adam_epsilon: float = 1e-5
  objective: str = 'clip'
  kl_target: float = 0.01
  kl_beta: float = 1.0
  clip_epsilon: float = 0.2
  anneal_clip_epsilon: bool = False
  value_coef: float = 0.5
  entropy_coef: float = 0.0
  value_clip_epsilon: float = 0.0
  max_grad_norm: float = 0.5
  normalize_advantages: bool = True
  normalize_rewards: bool = False
  shared_torso: bool = False

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'num_epochs', 'minibatch_size', 'learning_rate',
                              'adam_epsilon', 'clip_epsilon', 'kl_target', 'kl_beta')
    config_lib.check_non_negative(self, 'value_coef', 'entropy_coef', 'value_clip_epsilon',
                                  'max_grad_norm')
    config_lib.check_choice(self, 'objective', ('clip', 'kl_penalty'))
    if self.batch_size % self.minibatch_size:
      raise config_lib.ConfigError(
          self, 'minibatch_size', f'must divide num_envs * num_steps_per_env = {self.batch_size}')


# Settings tuned per task, applied by `--tuned`; explicit flags still win.
TUNED: Dict[str, Dict[str, object]] = {
    # RL-Baselines3-Zoo's CartPole-v1 settings.
    'CartPole-v1': dict(
        num_envs=8, num_steps_per_env=32, minibatch_size=256, num_epochs=20, discount=0.98,
        gae_lambda=0.8, entropy_coef=0.0, learning_rate=1e-3, anneal_learning_rate=True,
        clip_epsilon=0.2, anneal_clip_epsilon=True),
    # RL-Baselines3-Zoo's Pendulum-v1 settings (normalized observations and rewards, 10 epochs
    # of minibatch 64, lr 1e-3, lambda 0.95) without its state-dependent exploration (gSDE);
    # without gSDE its gamma 0.9 and 4 x 1024 steps left 2 of 3 seeds stuck near -700, so
    # gamma is 0.99, 16 envs x 256 steps, the learning rate decays linearly, and an entropy
    # bonus of 0.01 keeps the policy's std from collapsing (without it a seed that reached
    # -150 fell back to -700 by 300k steps).
    'Pendulum-v1': dict(
        num_envs=16, num_steps_per_env=256, minibatch_size=64, num_epochs=10, discount=0.99,
        gae_lambda=0.95, entropy_coef=0.01, learning_rate=1e-3, anneal_learning_rate=True,
        clip_epsilon=0.2, normalize_observations=True, normalize_rewards=True),
    # MuJoCo: the paper's Table 3 settings (the config's defaults: one env, horizon 2048, 10
    # epochs of minibatch 64, Adam 3e-4, gamma 0.99, lambda 0.95, clip 0.2, separate 64-64 tanh
    # networks) with what OpenAI Baselines' ppo2 runs them with (its `mujoco()` defaults):
    # the learning rate annealed linearly to 0, observations and rewards normalized.
    **{env: dict(num_envs=1, num_steps_per_env=2048, num_epochs=10, minibatch_size=64,
                 learning_rate=3e-4, anneal_learning_rate=True, clip_epsilon=0.2,
                 discount=0.99, gae_lambda=0.95, entropy_coef=0.0,
                 normalize_observations=True, normalize_rewards=True)
       for env in ('HalfCheetah-v5', 'Hopper-v5')},
    # Every Atari game (`ALE/...`): the paper's Table 5 (horizon 128, Adam 2.5e-4 and clip 0.1
    # both annealed linearly to 0, 3 epochs of minibatch 32 x 8, 8 actors, gamma 0.99,
    # lambda 0.95, entropy 0.01) with the Nature CNN shared by policy and value
    # (`hidden_sizes=()`: its 512 features feed both heads). The value weight is OpenAI
    # Baselines' ppo2 one (0.5 on 0.5 (V - V^targ)^2, i.e. c1 = 0.25 where the paper has 1).
    # Without XLA: on this 2-core CPU its convolutions took 0.27 s per gradient step of 256
    # frames against TensorFlow's 0.11 s, and the compiled 3-epoch update did not finish its
    # first iteration in 10 minutes.
    wrappers.ATARI_TUNED: dict(
        num_envs=8, num_steps_per_env=128, num_epochs=3, minibatch_size=256, discount=0.99,
        gae_lambda=0.95, learning_rate=2.5e-4, anneal_learning_rate=True, clip_epsilon=0.1,
        anneal_clip_epsilon=True, value_coef=0.5, entropy_coef=0.01, max_grad_norm=0.5,
        shared_torso=True, hidden_sizes=(), jit_compile=False),
}
