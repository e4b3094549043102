"""MADDPG acting: every agent's decentralized policy in one compiled call, and the actor that
steps the multi-agent environment and writes joint transitions into replay."""

from typing import Callable, List, Optional, Sequence, Tuple

import dm_env
import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import multi_agent
from agents.common import off_policy
from agents.common import replay as replay_lib
from networks import distributions


DISCRETE, SOFTMAX, DETERMINISTIC = 'discrete', 'softmax', 'deterministic'


def policy_kinds(layout: multi_agent.JointLayout, continuous_policy: str) -> Tuple[str, ...]:
  """Each agent's policy: DISCRETE (one-hot Gumbel-softmax samples) for discrete actions,
  else `continuous_policy` (SOFTMAX: relaxed Gumbel-softmax over the action's components;
  DETERMINISTIC: tanh-bounded mu(o) and Gaussian noise)."""
  return tuple(DISCRETE if discrete else continuous_policy for discrete in layout.discrete)


def actor_output(actor: tf.keras.Model, kind: str, observation: tf.Tensor) -> tf.Tensor:
  """A decentralized actor's output on its own observations [B, O_i]: the actions [B, A_i]
  of a DETERMINISTIC actor, the logits [B, A_i] of the others."""
  if kind == DETERMINISTIC:
    return actor(observation, training=False)
  return actor(observation).logits_parameter()


def choose(outputs: Sequence[tf.Tensor], sub_policy: tf.Tensor) -> tf.Tensor:
  """Row b of sub-policy `sub_policy[b]`'s output: `outputs` K tensors [B, D], `sub_policy`
  [B] int32. Gradients reach only the chosen sub-policy of each row."""
  if len(outputs) == 1:
    return outputs[0]
  weights = tf.one_hot(sub_policy, len(outputs), dtype=outputs[0].dtype)  # [B, K]
  return tf.einsum('bk,kbd->bd', weights, tf.stack(outputs))


class JointPolicy(tf.Module):
  """Acts for every agent from the joint observation (each actor sees only its own o_i).

  `select(x, k)` explores: DISCRETE agents take one-hot samples of Categorical(logits_i)
  (what the hard Gumbel-softmax draws), SOFTMAX agents the relaxed Gumbel-softmax sample of
  their logits, DETERMINISTIC agents clip(mu_i(o_i) + half_range sigma N(0, 1)) to the
  bounds. `mode(x, k)` is the deterministic policy: the one-hot argmax of the logits,
  softmax(logits), or mu_i(o_i). `k` [B, N] int32 picks each agent's sub-policy (policy
  ensembles). Noise comes from a checkpointed `tf.random.Generator`.

  Args:
    actors: actors[i][k], the agents' sub-policies (Keras models).
    layout: the joint layout.
    kinds: each agent's policy kind (`policy_kinds`).
    sigma: exploration noise of DETERMINISTIC agents, in units of half the action range.
    temperature: the Gumbel-softmax temperature of SOFTMAX agents.
    seed: seeds the noise.
  """

  def __init__(self, actors: Sequence[Sequence[tf.keras.Model]],
               layout: multi_agent.JointLayout, kinds: Sequence[str], sigma: float,
               temperature: float, seed: int):
    super().__init__(name='joint_policy')
    self._actors = [list(a) for a in actors]
    self._layout = layout
    self._kinds = tuple(kinds)
    self._temperature = float(temperature)
    self._sigma = float(sigma)
    self._rng = tf.random.Generator.from_seed(seed)
    self._low = [tf.constant(b) for b in layout.split_actions(layout.action_low)]
    self._high = [tf.constant(b) for b in layout.split_actions(layout.action_high)]
    signature = [tf.TensorSpec((None, sum(layout.observation_sizes)), tf.float32),
                 tf.TensorSpec((None, layout.num_agents), tf.int32)]
    self.select = tf.function(lambda x, k: self._act(x, k, explore=True),
                              input_signature=signature, autograph=False)
    self.mode = tf.function(lambda x, k: self._act(x, k, explore=False),
                            input_signature=signature, autograph=False)

  @property
  def network_variables(self):
    """Every actor's variables."""
    return [v for agent in self._actors for actor in agent for v in actor.variables]

  def _act(self, joint_observation: tf.Tensor, sub_policy: tf.Tensor,
           explore: bool) -> tf.Tensor:
    actions = []
    observations = self._layout.split_observations(joint_observation)
    for i, (observation, kind) in enumerate(zip(observations, self._kinds)):
      output = choose([actor_output(a, kind, observation) for a in self._actors[i]],
                      sub_policy[:, i])
      size = self._layout.action_sizes[i]
      seed = self._rng.uniform_full_int([2], tf.int32)
      if kind == DISCRETE:
        if explore:
          index = tf.random.stateless_categorical(output, 1, seed)[:, 0]
        else:
          index = tf.argmax(output, axis=-1)
        actions.append(tf.one_hot(index, size))
        continue
      if kind == SOFTMAX:
        actions.append(distributions.gumbel_softmax(output, self._temperature, seed, hard=False)
                       if explore else tf.nn.softmax(output))
        continue
      if explore:
        half_range = (self._high[i] - self._low[i]) / 2.0
        output = output + half_range * self._sigma * self._rng.normal(tf.shape(output))
      actions.append(tf.clip_by_value(output, self._low[i], self._high[i]))
    return tf.concat(actions, axis=-1)


class MultiAgentActor(core.Actor):
  """Steps a multi-agent environment with a `JointPolicy` and writes joint transitions
  `(x, [a_1..a_N (, k_1..k_N)], [r_1..r_N], [d_1..d_N], x')` into the replay table.

  Each `act` takes up to `train_every` joint steps (the loop then runs the updates due). The
  first `learning_starts` steps of a run take uniformly random actions (a seeded NumPy
  generator that restarts from the step count on resume). Every episode draws each agent's
  sub-policy k_i uniformly (policy ensembles; k = 0 without); with more than one sub-policy
  the indices follow the actions in the stored action vector. The episode return reported to
  the loop is the agents' mean.

  Args:
    env: the `multi_agent.ParallelEnvironment` (closed by `close`).
    layout: its joint layout.
    policy: the `JointPolicy`.
    writer: a `replay.NStepTransitionWriter` of packed joint transitions.
    learning_starts: the random steps.
    train_every: joint steps per `act`.
    ensemble_size: K sub-policies per agent.
    seed: seeds the random actions and the sub-policy draws.
    stall: the error to raise when the writer waited past its timeout (e.g. `Replay.stall`).
  """

  def __init__(self, env: multi_agent.ParallelEnvironment, layout: multi_agent.JointLayout,
               policy: JointPolicy, writer: replay_lib.NStepTransitionWriter,
               learning_starts: int, train_every: int, ensemble_size: int, seed: int,
               stall: Optional[Callable[[str], Exception]] = None):
    self._env = env
    self._layout = layout
    self._select = core.per_step(policy.select)
    self._writer = writer
    self._learning_starts = learning_starts
    self._train_every = train_every
    self._ensemble_size = ensemble_size
    self._seed = seed
    self._stall = stall
    self._step = 0
    self._rng = np.random.default_rng([seed, 0])
    self._timestep: Optional[dm_env.TimeStep] = None
    self._sub_policy = np.zeros((1, layout.num_agents), np.int32)
    self._returns = np.zeros(layout.num_agents)
    self._length = 0

  def reset(self, env_steps: int = 0) -> None:
    """Starts a new episode at step `env_steps` of the run (seeds drawn from it)."""
    self._step = env_steps
    self._rng = np.random.default_rng([self._seed, env_steps])
    self._env.reseed(int(self._rng.integers(2**31 - 1)))
    self._new_episode()

  def _new_episode(self) -> None:
    self._timestep = self._env.reset()
    self._sub_policy = self._rng.integers(self._ensemble_size, size=(1, self._layout.num_agents),
                                          dtype=np.int32)
    self._writer.observe_first(self._joint(self._timestep))
    self._returns[:] = 0.0
    self._length = 0

  def _joint(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
    layout = self._layout
    return timestep._replace(
        observation=layout.joint_observation(timestep.observation),
        reward=None if timestep.reward is None else layout.rewards(timestep.reward),
        discount=None if timestep.discount is None else layout.rewards(timestep.discount))

  def _random_action(self) -> np.ndarray:
    blocks = []
    for discrete, size, low, high in zip(
        self._layout.discrete, self._layout.action_sizes,
        self._layout.split_actions(self._layout.action_low),
        self._layout.split_actions(self._layout.action_high)):
      if discrete:
        blocks.append(np.eye(size, dtype=np.float32)[self._rng.integers(size)])
      else:
        blocks.append(self._rng.uniform(low, high).astype(np.float32))
    return np.concatenate(blocks)

  def act(self, max_steps: int) -> core.Acted:
    """Up to `train_every` joint steps (fewer at the budget's end)."""
    returns: List[float] = []
    lengths: List[int] = []
    steps = min(self._train_every, max_steps)
    for _ in range(steps):
      observation = self._layout.joint_observation(self._timestep.observation)
      if self._step < self._learning_starts:
        action = self._random_action()
      else:
        action = self._select(observation[None], self._sub_policy).numpy()[0]
      self._timestep = self._env.step(self._layout.env_actions(action))
      stored = action
      if self._ensemble_size > 1:
        stored = np.concatenate([action, self._sub_policy[0].astype(np.float32)])
      off_policy.write_guarded(lambda: self._writer.observe(stored, self._joint(self._timestep)),
                               self._stall)
      self._step += 1
      self._returns += self._layout.rewards(self._timestep.reward)
      self._length += 1
      if self._timestep.last():
        returns.append(float(self._returns.mean()))
        lengths.append(self._length)
        self._new_episode()
    return core.Acted(None, steps, returns, lengths)

  def flush(self) -> None:
    """Waits until the server has confirmed every transition written so far."""
    off_policy.write_guarded(self._writer.flush, self._stall)

  def close(self) -> None:
    """Closes the writer (an unfinished episode's pending transitions are dropped) and the
    environment."""
    self._writer.close()
    self._env.close()
