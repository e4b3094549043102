"""MADDPG hyper-parameters: Lowe, Wu, Tamar, Harb, Abbeel, Mordatch 2017, "Multi-Agent
Actor-Critic for Mixed Cooperative-Competitive Environments" (arXiv:1706.02275)."""

import dataclasses
from typing import Any, Dict, Tuple

from agents.common import config as config_lib


POLICIES = ('softmax', 'deterministic')


@dataclasses.dataclass(frozen=True)
class MADDPGConfig(config_lib.OffPolicyConfig):
  """Hyper-parameters of MADDPG (Lowe et al. 2017, arXiv:1706.02275, section 4 and Algorithm 1
  of appendix A), and of independent DDPG on the same environments (`centralized_critic`
  False).

  Each agent i has a decentralized actor mu_i(o_i) that sees only its own observation and a
  centralized critic Q_i(x, a_1, ..., a_N) over every agent's observation x = (o_1, ..., o_N)
  and action, in the environment's fixed agent order (section 4.1):
    critic: minimize E_D[(Q_i(x, a_1..a_N) - y)^2],
            y = r_i + gamma Q'_i(x', a'_1..a'_N) with a'_j = mu'_j(o'_j)  (target networks)
    actor:  grad J(mu_i) = E_D[grad mu_i(o_i) grad_{a_i} Q_i(x, a_1..a_N)|_{a_i = mu_i(o_i)}],
            the other agents' actions a_j taken from the replayed joint transition
    targets: theta' <- tau theta + (1 - tau) theta'.
  Discrete actions go through the Gumbel-softmax relaxation (section 4, Jang et al. 2017):
  a_i = one_hot(argmax softmax((logits + g) / tau_g)) forward, the relaxed sample's gradient
  backward (straight-through), so the deterministic policy gradient applies. Options of
  sections 4.2-4.3: agent i infers each other agent's policy with an approximation mu^_i^j
  fit by maximum likelihood with an entropy bonus, L = -E[log mu^_i^j(a_j|o_j) + lambda H],
  and uses the approximations' targets in y; policy ensembles train K sub-policies per agent,
  one drawn per episode, each updated on the transitions it collected (D_i^(k)) against the
  agent's one critic.

  Continuous actions take one of two policies (`continuous_policy`). 'softmax' is what the
  paper's code does on the particle environments, whose actions are a vector of forces in
  [0, 1]: the actor outputs logits over the action's components, acts with the relaxed
  Gumbel-softmax sample (a point of the simplex, its exploration) and is evaluated with
  softmax(logits); its gradient is the relaxed sample's. 'deterministic' is DDPG's
  tanh-bounded mu(o) with Gaussian exploration noise.

  Defaults are the paper's (appendix, and its code openai/maddpg): Adam 1e-2, gamma 0.95,
  minibatch 1024, two hidden layers of 64 ReLU units, tau 0.01, gradient norms clipped at 0.5,
  one update every 100 env steps once the buffer holds 1024 x 25 transitions, logits
  penalized by 1e-3 mean(logits^2).

  Attributes:
    actor_learning_rate: Adam step size of the actors.
    critic_learning_rate: Adam step size of the critics (and of the policy approximations).
    tau: soft target update rate.
    hidden_sizes: hidden layer sizes of every actor, critic and approximation.
    activation: activation of the hidden layers.
    max_grad_norm: clip each network's gradient to this global norm (0: no clipping).
    train_every: environment steps between updates (each `updates_per_step` updates).
    centralized_critic: MADDPG's critics over every agent's observation and action; False
      trains independent DDPG agents, each critic over its own o_i and a_i only.
    continuous_actions: the environment's continuous actions (mpe2's `continuous_actions`);
      False: discrete actions through the (hard, straight-through) Gumbel-softmax.
    shared_reward: every agent receives the sum of its team's rewards, as the particle
      environments of the paper's code reward cooperative scenarios (e.g. cooperative
      navigation); False: mpe2's own rewards (in simple_spread a mix of the shared distance
      term and the agent's own collisions, `local_ratio`).
    continuous_policy: the policy of continuous actions: 'softmax' (relaxed Gumbel-softmax
      over the action's components; needs actions bounded by [0, 1]) or 'deterministic'
      (tanh-bounded, Gaussian exploration).
    exploration_sigma: standard deviation of the Gaussian exploration noise of 'deterministic'
      policies, in units of half the action range.
    gumbel_temperature: temperature of the Gumbel-softmax.
    logit_regularization: weight of mean(logits^2) in the loss of an actor with logits.
    ensemble_size: K sub-policies per agent (1: no ensemble).
    infer_policies: critics' targets use each agent's approximations of the other agents'
      policies instead of their target actors (needs centralized_critic).
    inference_entropy: lambda, the entropy bonus of the policy approximations.
  """
  replay_size: int = 1_000_000
  batch_size: int = 1024
  learning_starts: int = 25_600
  discount: float = 0.95
  actor_learning_rate: float = 1e-2
  critic_learning_rate: float = 1e-2
  tau: float = 0.01
  hidden_sizes: Tuple[int, ...] = (64, 64)
  activation: str = 'relu'
  max_grad_norm: float = 0.5
  train_every: int = 100
  centralized_critic: bool = True
  continuous_actions: bool = True
  shared_reward: bool = False
  continuous_policy: str = 'softmax'
  exploration_sigma: float = 0.2
  gumbel_temperature: float = 1.0
  logit_regularization: float = 1e-3
  ensemble_size: int = 1
  infer_policies: bool = False
  inference_entropy: float = 1e-3

  # The launchers build the multi-agent environment from the id and `env_kwargs`.
  multi_agent = True

  def __post_init__(self):
    super().__post_init__()
    config_lib.check_positive(self, 'actor_learning_rate', 'critic_learning_rate', 'tau',
                              'train_every', 'gumbel_temperature', 'ensemble_size')
    config_lib.check_in_range(self, 'tau', 0.0, 1.0)
    config_lib.check_non_negative(self, 'max_grad_norm', 'exploration_sigma',
                                  'logit_regularization', 'inference_entropy')
    config_lib.check_network(self)
    config_lib.check_choice(self, 'continuous_policy', POLICIES)
    if self.infer_policies and not self.centralized_critic:
      raise config_lib.ConfigError(self, 'infer_policies', 'needs centralized_critic=True '
                                   '(independent critics see no other agent)')
    if self.prioritized_replay:
      raise config_lib.ConfigError(self, 'prioritized_replay', 'MADDPG samples its joint '
                                   'transitions uniformly (one TD error per agent)')

  @property
  def env_kwargs(self) -> Dict[str, Any]:
    """What the environment is built with (`multi_agent.make_environment(env_id,
    **env_kwargs)`: `shared_reward` for the adapter, the rest for `parallel_env`)."""
    return dict(continuous_actions=self.continuous_actions, shared_reward=self.shared_reward)

  @property
  def samples_per_insert(self) -> float:
    """The replay ratio the table's rate limiter keeps: one batch per update, one update
    round every `train_every` inserts."""
    return self.batch_size * self.updates_per_step / self.train_every


TUNED: Dict[str, Dict[str, object]] = {}
