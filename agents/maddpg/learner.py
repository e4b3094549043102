"""MADDPG learner: per-agent centralized (or independent) critics, decentralized actors,
optional policy approximations and ensembles; one compiled function per update of every
agent on one batch of joint transitions."""

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import tensorflow as tf

from agents.common import learning
from agents.common import multi_agent
from agents.common import off_policy_learner
from agents.common import replay
from agents.maddpg import actor as actor_lib
from agents.maddpg import config as config_lib
import losses
from networks import distributions


def critic_inputs(observations: Sequence[tf.Tensor], actions: Sequence[tf.Tensor], agent: int,
                  centralized: bool) -> Tuple[tf.Tensor, tf.Tensor]:
  """What agent `agent`'s critic sees: with `centralized`, every agent's observation and
  action, concatenated in the agents' fixed order, (x = [o_1..o_N], [a_1..a_N]); otherwise
  its own (o_i, a_i) (independent DDPG).

  Args:
    observations: N tensors [B, O_j].
    actions: N tensors [B, A_j].
    agent: i.
    centralized: MADDPG's centralized critic.

  Returns:
    ([B, sum O_j], [B, sum A_j]) or ([B, O_i], [B, A_i]).
  """
  if not centralized:
    return observations[agent], actions[agent]
  return tf.concat(list(observations), axis=-1), tf.concat(list(actions), axis=-1)


class AgentNetworks(NamedTuple):
  """One agent's networks (online and target).

  Attributes:
    actors, target_actors: the K sub-policies mu_i^(k) (deterministic actors, or
      `StochasticActor`s with a categorical head whose logits feed the Gumbel-softmax).
    critic, target_critic: Q_i, a `networks.critics.QNetwork`.
    approximations, target_approximations: mu^_i^j of every agent j (None at j = i, and
      everywhere without `infer_policies`): `StochasticActor`s whose distribution is fit to
      agent j's actions.
  """
  actors: List[tf.keras.Model]
  target_actors: List[tf.keras.Model]
  critic: tf.keras.layers.Layer
  target_critic: tf.keras.layers.Layer
  approximations: List[Optional[tf.keras.Model]]
  target_approximations: List[Optional[tf.keras.Model]]


class MADDPGLearner(off_policy_learner.OffPolicyLearner):
  """Updates every agent on one batch of joint transitions (Lowe et al. 2017, section 4; see
  `MADDPGConfig`).

  For each agent i, in order, on the same batch:
    approximations (`infer_policies`): minimize -E[log mu^_i^j(a_j|o_j) + lambda H] for j != i
    critic: minimize E[0.5 (Q_i(x, a) - y_i)^2], y_i = r_i + d_i Q'_i(x', a'), where a'_j is
      agent j's target actor (its sub-policy of the transition), or agent i's target
      approximation of j with `infer_policies`; d_i = gamma (0 after i's termination)
    actor: minimize -E[Q_i(x, a_1..mu_i(o_i)..a_N)] (+ the logit penalty), the other actions
      from the batch; with K sub-policies each row's action is its own sub-policy's, so
      sub-policy k's gradient is 1/K of the mean over the rows it collected (the ensemble
      gradient of section 4.3)
  then every target moves by tau. Actors with logits act through the Gumbel-softmax: the
  straight-through one-hot sample for discrete actions, the relaxed sample for SOFTMAX
  continuous ones (their target actions are such samples of the target actors' logits).

  Args:
    networks: one `AgentNetworks` per agent, in the agents' order.
    optimizers: per agent a dict with 'actor', 'critic' (and 'approximation') optimizers.
    layout: the joint layout.
    config: the `MADDPGConfig`.
    strategy: the strategy the variables were created under.
    seed: seeds the Gumbel-softmax samples.
  """

  def __init__(self, networks: Sequence[AgentNetworks],
               optimizers: Sequence[Dict[str, tf.keras.optimizers.Optimizer]],
               layout: multi_agent.JointLayout, config: config_lib.MADDPGConfig,
               strategy: tf.distribute.Strategy, seed: int):
    super().__init__(strategy, config.batch_size, seed, jit_compile=config.jit_compile,
                     name='maddpg_learner')
    self._networks = list(networks)
    self._optimizers = list(optimizers)
    self._layout = layout
    self._config = config
    self._agents = layout.agents
    self._kinds = actor_lib.policy_kinds(layout, config.continuous_policy)
    self._lows = [tf.constant(b) for b in layout.split_actions(layout.action_low)]
    self._highs = [tf.constant(b) for b in layout.split_actions(layout.action_high)]
    self._action_size = sum(layout.action_sizes)

  def _apply(self, optimizer, tape: tf.GradientTape, loss: tf.Tensor,
             variables: Sequence[tf.Variable]) -> tf.Tensor:
    return learning.apply_global_gradients(optimizer, tape.gradient(loss, variables), variables,
                                           self._strategy,
                                           max_grad_norm=self._config.max_grad_norm)

  def _sample(self, logits: tf.Tensor, salt: int, hard: bool) -> tf.Tensor:
    return distributions.gumbel_softmax(logits, self._config.gumbel_temperature,
                                        self.sampling_seed(salt), hard=hard)

  def _action(self, actors: Sequence[tf.keras.Model], agent: int, observation: tf.Tensor,
              sub_policy: tf.Tensor, salt: int) -> Tuple[tf.Tensor, tf.Tensor]:
    """Agent `agent`'s action [B, A_i] from `actors` (its sub-policies), differentiable (a
    Gumbel-softmax sample of an actor with logits: straight-through one-hot for discrete
    actions, relaxed for SOFTMAX ones), and the logits' penalty term [B]."""
    kind = self._kinds[agent]
    output = actor_lib.choose([actor_lib.actor_output(a, kind, observation) for a in actors],
                              sub_policy)
    if kind == actor_lib.DETERMINISTIC:
      return output, tf.constant(0.0)
    sample = self._sample(output, salt, hard=kind == actor_lib.DISCRETE)
    return sample, tf.reduce_mean(tf.square(output), axis=-1)

  def _approximate_action(self, approximation: tf.keras.Model, agent: int,
                          observation: tf.Tensor, salt: int) -> tf.Tensor:
    """The action [B, A_j] an approximation mu^ of agent `agent` predicts: its mean (clipped
    to the bounds), or a hard Gumbel-softmax sample of its logits."""
    distribution = approximation(observation)
    if self._layout.discrete[agent]:
      return self._sample(distribution.logits_parameter(), salt, hard=True)
    return tf.clip_by_value(distribution.mean(), self._lows[agent], self._highs[agent])

  def _approximation_loss(self, approximation: tf.keras.Model, agent: int,
                          observation: tf.Tensor, action: tf.Tensor) -> tf.Tensor:
    """-[log mu^(a_j|o_j) + lambda H(mu^(.|o_j))] per row [B] (section 4.2)."""
    distribution = approximation(observation)
    if self._layout.discrete[agent]:
      action = tf.argmax(action, axis=-1)
    return -(distribution.log_prob(action) +
             self._config.inference_entropy * distribution.entropy())

  def actor_loss(self, agent: int, observations: Sequence[tf.Tensor],
                 actions: Sequence[tf.Tensor], sub_policy: tf.Tensor) -> tf.Tensor:
    """Agent `agent`'s actor loss, -mean Q_i(x, a_1..mu_i(o_i)..a_N) (+ the logit penalty):
    only mu_i is a function of the agent's parameters, the other actions are data.

    Args:
      agent: i.
      observations: N tensors [B, O_j].
      actions: N tensors [B, A_j], the replayed actions.
      sub_policy: [B, N] int32, each row's sub-policies.
    """
    parts, config = self._networks[agent], self._config
    own, penalty = self._action(parts.actors, agent, observations[agent], sub_policy[:, agent],
                                salt=2 * self._layout.num_agents + agent)
    joint = list(actions)
    joint[agent] = own
    q_value = parts.critic(*critic_inputs(observations, joint, agent, config.centralized_critic),
                           training=False)
    per_row = losses.policy_gradient.deterministic_policy_gradient_loss(q_value).loss
    return self.mean(per_row + config.logit_regularization * penalty)

  def _train(self, transition: replay.Transition) -> Dict[str, tf.Tensor]:
    config, layout = self._config, self._layout
    count = layout.num_agents
    observations = layout.split_observations(transition.observation)
    next_observations = layout.split_observations(transition.next_observation)
    actions = layout.split_actions(transition.action[:, :self._action_size])
    if config.ensemble_size > 1:
      sub_policy = tf.cast(transition.action[:, self._action_size:], tf.int32)
    else:
      sub_policy = tf.zeros([tf.shape(transition.observation)[0], count], tf.int32)
    next_actions = [
        self._action(self._networks[j].target_actors, j, next_observations[j],
                     sub_policy[:, j], salt=j)[0] for j in range(count)]
    metrics: Dict[str, List[tf.Tensor]] = {}
    add = lambda name, value: metrics.setdefault(name, []).append(value)
    for i, (agent, parts) in enumerate(zip(self._agents, self._networks)):
      optimizers = self._optimizers[i]
      targets_actions = list(next_actions)
      if config.infer_policies:
        approximations = [j for j in range(count) if j != i]
        with tf.GradientTape() as tape:
          loss = tf.add_n([self.mean(self._approximation_loss(
              parts.approximations[j], j, observations[j], actions[j])) for j in approximations])
        variables = [v for j in approximations for v in parts.approximations[j].trainable_variables]
        self._apply(optimizers['approximation'], tape, loss, variables)
        add('approximation_loss', loss / len(approximations))
        for j in approximations:
          targets_actions[j] = self._approximate_action(
              parts.target_approximations[j], j, next_observations[j], salt=count + j)

      next_q = parts.target_critic(*critic_inputs(next_observations, targets_actions, i,
                                                  config.centralized_critic), training=False)
      target = tf.stop_gradient(transition.reward[:, i] + transition.discount[:, i] * next_q)
      with tf.GradientTape() as tape:
        q = parts.critic(*critic_inputs(observations, actions, i, config.centralized_critic),
                         training=True)
        critic_loss = self.mean(losses.value.value_loss(q, target).loss)
      critic_norm = self._apply(optimizers['critic'], tape, critic_loss,
                                parts.critic.trainable_variables)

      with tf.GradientTape() as tape:
        actor_loss = self.actor_loss(i, observations, actions, sub_policy)
      actor_variables = [v for a in parts.actors for v in a.trainable_variables]
      actor_norm = self._apply(optimizers['actor'], tape, actor_loss, actor_variables)

      add('critic_loss', critic_loss)
      add('actor_loss', actor_loss)
      add('critic_grad_norm', critic_norm)
      add('actor_grad_norm', actor_norm)
      add('q_value', self.mean(q))
      metrics[f'q_value_{agent}'] = [self.mean(q)]
    return {name: tf.add_n(values) / len(values) for name, values in metrics.items()}

  def _update_targets(self) -> None:
    tau = self._config.tau
    for parts in self._networks:
      pairs = [(parts.target_critic, parts.critic), *zip(parts.target_actors, parts.actors),
               *((t, o) for t, o in zip(parts.target_approximations, parts.approximations)
                 if o is not None)]
      for target, online in pairs:
        off_policy_learner.soft_update(target.variables, online.variables, tau)
