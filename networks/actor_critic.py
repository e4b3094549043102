"""Actor-critic networks for on-policy agents (A2C, PPO, TRPO, ...)."""

from typing import Optional, Sequence, Tuple

from dm_env import specs
import tensorflow as tf
import tensorflow_probability as tfp

from networks import heads
from networks.torso import dummy_observation
from networks.torso import layer_seed
from networks.torso import make_torso

tfd = tfp.distributions


class ActorCritic(tf.keras.Model):
  """Policy `pi(a|s)` and state value `V(s)` from one or two torsos.

  With `value_torso=None` the policy torso feeds both heads (shared torso);
  otherwise the value head reads its own torso and no variable is shared.

  Call args:
    observations: `[B, ...]` observations (any leading dims the torsos accept).

  Returns:
    `(distribution, value)`: the policy head's distribution with batch shape
    `[B]`, and the values `[B]`.
  """

  def __init__(self,
               policy_torso: tf.keras.layers.Layer,
               policy_head: tf.keras.layers.Layer,
               value_head: tf.keras.layers.Layer,
               value_torso: Optional[tf.keras.layers.Layer] = None,
               name: Optional[str] = None):
    """Creates the model from its parts.

    Args:
      policy_torso: features for the policy head (and for the value head when
        `value_torso` is None).
      policy_head: features -> distribution, e.g. from `make_policy_head`.
      value_head: features -> `[B]` values, e.g. `ValueHead()`.
      value_torso: separate torso for the value head; None to share.
      name: Keras model name.
    """
    super().__init__(name=name)
    if value_torso is policy_torso:
      value_torso = None
    self.policy_torso = policy_torso
    self.value_torso = value_torso
    self.policy_head = policy_head
    self.value_head = value_head

  @property
  def shared_torso(self) -> bool:
    """Whether one torso feeds both heads."""
    return self.value_torso is None

  def call(self,
           observations: tf.Tensor) -> Tuple[tfd.Distribution, tf.Tensor]:
    features = self.policy_torso(observations)
    distribution = self.policy_head(features)
    if self.shared_torso:
      value = self.value_head(features)
    else:
      value = self.value_head(self.value_torso(observations))
    return distribution, value

  def policy(self, observations: tf.Tensor) -> tfd.Distribution:
    """Returns the policy distribution (batch shape `[B]`) only."""
    return self.policy_head(self.policy_torso(observations))

  def value(self, observations: tf.Tensor) -> tf.Tensor:
    """Returns `V(s)`, shape `[B]`, only."""
    torso = self.policy_torso if self.shared_torso else self.value_torso
    return self.value_head(torso(observations))

  @property
  def policy_variables(self) -> Sequence[tf.Variable]:
    """Trainable variables of the policy (policy torso + policy head)."""
    return (tuple(self.policy_torso.trainable_variables) +
            tuple(self.policy_head.trainable_variables))

  @property
  def value_variables(self) -> Sequence[tf.Variable]:
    """Trainable variables of the value function (its torso + value head).

    With a shared torso this overlaps with `policy_variables`.
    """
    torso = self.policy_torso if self.shared_torso else self.value_torso
    return (tuple(torso.trainable_variables) +
            tuple(self.value_head.trainable_variables))


def make_actor_critic(observation_spec: specs.Array,
                      action_spec: specs.Array,
                      hidden_sizes: Sequence[int] = (64, 64),
                      activation: str = 'tanh',
                      shared_torso: bool = False,
                      init_log_std: float = 0.0,
                      seed: int = 0,
                      **head_kwargs) -> ActorCritic:
  """Builds an `ActorCritic` for an environment and creates its variables.

  MLP torso(s) (orthogonal init, gain sqrt(2)), a policy head chosen by
  `heads.make_policy_head(action_spec, **head_kwargs)` and a `ValueHead`. The
  model is called once on a dummy observation, so all variables exist on
  return (for optimizers, checkpoints and `tf.function`). The initial weights depend on `seed`
  alone: each part is seeded with `layer_seed(seed, part_name)`.

  Args:
    observation_spec: a single `dm_env.specs.Array` (obs `[B, *shape]`).
    action_spec: `DiscreteArray` or rank-1 `BoundedArray`.
    hidden_sizes: torso widths; `()` for linear heads on raw observations.
    activation: torso activation.
    shared_torso: one torso for both heads (True) or separate ones (False).
    init_log_std: initial log standard deviation of a Gaussian policy (continuous actions;
      ignored for discrete ones).
    seed: the network's seed.
    **head_kwargs: forwarded to `make_policy_head` (`tanh_squash`,
      `init_log_std`, `state_dependent_std`, ...).

  Returns:
    A built `ActorCritic`.
  """
  if not isinstance(action_spec, specs.DiscreteArray):
    head_kwargs.setdefault('init_log_std', init_log_std)
  policy_torso = make_torso(observation_spec, hidden_sizes, activation,
                            name='policy_torso', seed=layer_seed(seed, 'policy_torso'))
  value_torso = None
  if not shared_torso:
    value_torso = make_torso(observation_spec, hidden_sizes, activation,
                             name='value_torso', seed=layer_seed(seed, 'value_torso'))
  head_kwargs.setdefault('seed', layer_seed(seed, 'policy_head'))
  model = ActorCritic(
      policy_torso=policy_torso,
      policy_head=heads.make_policy_head(action_spec, **head_kwargs),
      value_head=heads.ValueHead(name='value_head', seed=layer_seed(seed, 'value_head')),
      value_torso=value_torso,
      name='actor_critic')
  model(dummy_observation(observation_spec))
  return model


class PolicyQNetwork(tf.keras.Model):
  """A softmax policy `pi(a|s)` and action values `Q(s, .)` (ACER).

  Wang et al. 2017, "Sample Efficient Actor-Critic with Experience Replay", arXiv:1611.01224,
  section 3 (discrete actions): one network outputs the policy and the Q values of every
  action from a shared torso (or, with `q_torso`, separate torsos);
  V(s) = sum_a pi(a|s) Q(s, a). It also answers the `ActorCritic` interface
  (`call -> (distribution, V)`, `policy`, `value`), so the on-policy actors can act with it.

  Call args:
    observations: `[B, ...]` observations.

  Returns:
    `(distribution, value)`: `tfd.Categorical` with batch shape `[B]`, and V(s) `[B]`.
  """

  def __init__(self, torso: tf.keras.layers.Layer, policy_head: tf.keras.layers.Layer,
               q_head: tf.keras.layers.Layer, q_torso: Optional[tf.keras.layers.Layer] = None,
               name: Optional[str] = None):
    """Creates the model from a torso, a categorical policy head, a `[B, A]` Q head and
    optionally a torso of the Q head's own."""
    super().__init__(name=name)
    self.torso = torso
    self.policy_head = policy_head
    self.q_head = q_head
    self.q_torso = q_torso

  def policy_and_q(self, observations: tf.Tensor) -> Tuple[tfd.Distribution, tf.Tensor]:
    """Returns pi(.|s) (batch shape `[B]`) and Q(s, .) `[B, A]`."""
    features = self.torso(observations)
    q_features = features if self.q_torso is None else self.q_torso(observations)
    return self.policy_head(features), self.q_head(q_features)

  def call(self, observations: tf.Tensor) -> Tuple[tfd.Distribution, tf.Tensor]:
    distribution, q_values = self.policy_and_q(observations)
    return distribution, tf.reduce_sum(distribution.probs_parameter() * q_values, axis=-1)

  def policy(self, observations: tf.Tensor) -> tfd.Distribution:
    """Returns the policy distribution (batch shape `[B]`) only."""
    return self.policy_head(self.torso(observations))

  def value(self, observations: tf.Tensor) -> tf.Tensor:
    """Returns `V(s) = E_pi Q(s, a)`, shape `[B]`."""
    return self(observations)[1]


def make_policy_q_network(observation_spec: specs.Array, action_spec: specs.DiscreteArray,
                          hidden_sizes: Sequence[int] = (64, 64), activation: str = 'tanh',
                          shared_torso: bool = True, seed: int = 0) -> PolicyQNetwork:
  """Builds ACER's `PolicyQNetwork` for discrete actions and creates its variables.

  MLP torso(s) (orthogonal init, gain sqrt(2)), a categorical head (gain 0.01) and a linear Q
  head over every action (gain 1), each seeded by `layer_seed(seed, part_name)`; one torso
  feeds both heads with `shared_torso` (the paper's network), else the Q head has its own.

  Raises:
    ValueError: if the action spec is not a `DiscreteArray`.
  """
  if not isinstance(action_spec, specs.DiscreteArray):
    raise ValueError(f'make_policy_q_network: needs discrete actions, got {action_spec!r}')
  torso = make_torso(observation_spec, hidden_sizes, activation, name='torso',
                     seed=layer_seed(seed, 'torso'))
  q_torso = None
  if not shared_torso:
    q_torso = make_torso(observation_spec, hidden_sizes, activation, name='q_torso',
                         seed=layer_seed(seed, 'q_torso'))
  model = PolicyQNetwork(
      torso=torso,
      policy_head=heads.make_policy_head(action_spec, seed=layer_seed(seed, 'policy_head')),
      q_head=heads.dense(int(action_spec.num_values), gain=1.0, name='q_head', seed=seed),
      q_torso=q_torso, name='policy_q_network')
  model(dummy_observation(observation_spec))
  return model
