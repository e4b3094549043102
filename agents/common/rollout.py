"""On-policy rollouts: T steps of B environments into one time-major [T, B] batch."""

import pickle
from typing import List, NamedTuple, Optional, Protocol, Tuple

import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import environments


class Rollout(NamedTuple):
  """A time-major batch of T steps from B environments.

  Index t is the step taken from observation[t]: action[t] gives reward[t] and the next state.

  Attributes:
    observation: [T, B, ...] observations s_t the actions were taken from.
    action: [T, B, ...] actions a_t as sampled (before clipping to the action bounds).
    reward: [T, B] rewards r_t.
    terminated: [T, B] 1.0 where s_{t+1} is terminal (discount 0 for the step t -> t+1).
    truncated: [T, B] 1.0 where a time limit cut the episode after step t (bootstrapped).
    log_prob: [T, B] log mu(a_t | s_t) of the behaviour policy.
    value: [T, B] V(s_t) as estimated while acting.
    truncation_value: [T, B] V of the true final observation where `truncated`, else 0.
    bootstrap_value: [B] V(s_T), the value of the observation after the last step.
  """
  observation: tf.Tensor
  action: tf.Tensor
  reward: tf.Tensor
  terminated: tf.Tensor
  truncated: tf.Tensor
  log_prob: tf.Tensor
  value: tf.Tensor
  truncation_value: tf.Tensor
  bootstrap_value: tf.Tensor


class Policy(Protocol):
  """What the rollout actor needs from a policy: graph-callable functions of observation
  batches (e.g. `policies.ActorCriticPolicy`)."""

  def step(self, observation) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Returns (action, log_prob, value) for observations [B, ...]."""

  def value(self, observation) -> tf.Tensor:
    """Returns V(observation) [B] for observations [B, ...]."""


class RolloutActor(core.Actor):
  """Steps a `VectorEnv` with a policy and returns [T, B] rollouts, continuing across calls.

  The actor of A2C, TRPO and PPO. The T-step loop is one `tf.function`: the policy runs in the
  graph and the environments are stepped through `tf.numpy_function`, so a rollout costs one
  Python-to-TF call instead of T. Episodes run on across rollouts; the ones that finish are
  reported with each rollout (their undiscounted returns and lengths).

  Args:
    env: the training environments (closed by `close`).
    actor: the policy, `step(obs) -> (action, log_prob, value)` and `value(obs)`.
    num_steps: T, steps per environment per rollout.
  """

  def __init__(self, env: environments.VectorEnv, actor: Policy, num_steps: int):
    if num_steps < 1:
      raise ValueError(f'RolloutActor: num_steps={num_steps} must be >= 1')
    self._env = env
    self._actor = actor
    self._num_steps = num_steps
    obs_spec, act_spec = env.observation_spec(), env.action_spec()
    self._obs_shape = (env.num_envs,) + tuple(obs_spec.shape)
    self._obs_dtype = tf.as_dtype(np.dtype(obs_spec.dtype))
    self._act_dtype = tf.as_dtype(np.dtype(act_spec.dtype))
    self._observation = tf.Variable(tf.zeros(self._obs_shape, self._obs_dtype),
                                    trainable=False, name='observation')
    self._finished: List[Tuple[float, int]] = []
    self._needs_reset = True
    self._collect = tf.function(self._collect_graph, autograph=False)

  @property
  def observation(self) -> tf.Tensor:
    """[B, ...] the observations the next rollout starts from (after a rollout: the x_T its
    bootstrap value was computed from)."""
    return self._observation.read_value()

  @property
  def batch_size(self) -> int:
    """Env steps of one rollout, B * T."""
    return self._obs_shape[0] * self._num_steps

  def reset(self, env_steps: int = 0) -> None:
    """Starts new episodes: env i is seeded `env.seed + env_steps + i`."""
    self.reset_with_seed(self._env.seed + env_steps)

  def reset_with_seed(self, seed: Optional[int] = None) -> None:
    """Starts new episodes in every env (`seed` as in `VectorEnv.reset`)."""
    self._observation.assign(self._env.reset(seed))
    self._finished = []
    self._needs_reset = False

  def get_state(self) -> bytes:
    """Everything a resumed run needs to continue these episodes exactly (see `core.Actor`)."""
    return pickle.dumps((self._env.get_state(), self._observation.numpy(), self._finished,
                         self._needs_reset))

  def set_state(self, state: bytes) -> None:
    env_state, observation, self._finished, self._needs_reset = pickle.loads(state)
    self._env.set_state(env_state)
    self._observation.assign(observation)

  def act(self, max_steps: int) -> core.Acted:
    """One rollout, or nothing when `max_steps` is less than a rollout."""
    if max_steps < self.batch_size:
      return core.Acted(None, 0)
    with environments.graph_env_errors(self._env):
      rollout, returns, lengths = self.collect()
    return core.Acted(rollout, self.batch_size, returns, lengths)

  def close(self) -> None:
    self._env.close()

  def collect(self) -> Tuple[Rollout, List[float], List[int]]:
    """Runs `num_steps` steps; returns the rollout and the returns/lengths of finished episodes."""
    if self._needs_reset:
      self.reset_with_seed()
    rollout = self._collect()
    finished, self._finished = self._finished, []
    returns = [r for r, _ in finished]
    lengths = [n for _, n in finished]
    return rollout, returns, lengths

  def _env_step(self, action: np.ndarray):
    step = self._env.step(action)
    if step.episode_returns.size:
      self._finished.extend(zip(step.episode_returns.tolist(), step.episode_lengths.tolist()))
    return (step.observation, step.reward, step.terminated.astype(np.float32),
            step.truncated.astype(np.float32), step.final_observation)

  def _collect_graph(self) -> Rollout:
    num_envs = self._obs_shape[0]
    arrays = [tf.TensorArray(dtype, size=self._num_steps, element_shape=shape)
              for dtype, shape in [
                  (self._obs_dtype, self._obs_shape), (self._act_dtype, None),
                  (tf.float32, [num_envs]), (tf.float32, [num_envs]), (tf.float32, [num_envs]),
                  (tf.float32, [num_envs]), (tf.float32, [num_envs]), (tf.float32, [num_envs])]]

    def body(t, observation, arrays):
      action, log_prob, value = self._actor.step(observation)
      next_observation, reward, terminated, truncated, final_observation = tf.numpy_function(
          self._env_step, [action],
          [self._obs_dtype, tf.float32, tf.float32, tf.float32, self._obs_dtype])
      next_observation.set_shape(self._obs_shape)
      final_observation.set_shape(self._obs_shape)
      for x in (reward, terminated, truncated):
        x.set_shape([num_envs])
      truncation_value = tf.cond(
          tf.reduce_any(truncated > 0),
          lambda: truncated * self._actor.value(final_observation),
          lambda: tf.zeros([num_envs]))
      step_values = (observation, action, reward, terminated, truncated, log_prob, value,
                     truncation_value)
      arrays = [a.write(t, x) for a, x in zip(arrays, step_values)]
      return t + 1, next_observation, arrays

    _, observation, arrays = tf.while_loop(
        lambda t, *_: t < self._num_steps, body,
        (tf.constant(0), self._observation.read_value(), arrays))
    self._observation.assign(observation)
    stacked = [a.stack() for a in arrays]
    return Rollout(*stacked, bootstrap_value=self._actor.value(observation))


def make_agent(context: core.BuildContext, config, components) -> core.Agent:
  """The agent of a rollout learner (A2C, TRPO, PPO): one `RolloutActor` over
  `config.num_envs` environments of `context.env_id` (seeded from `context.env_seed`) acting
  with `components.policy` for `config.num_steps_per_env` steps, whose rollouts
  `components.learner.step` consumes; the two hold every variable to checkpoint."""
  policy, learner = components.policy, components.learner
  env = environments.VectorEnv(context.env_id, config.num_envs, context.env_seed,
                               context.env_options)
  actor = RolloutActor(env, policy, config.num_steps_per_env)
  return core.Agent(actors=[actor], learners=[learner], policy=core.mode_policy(policy),
                    state=dict(learner=learner, actor=policy), steps_per_act=actor.batch_size,
                    close=actor.close)
