"""Online learning from single steps: B environments stepped once per `act`, the transition
handed straight to the learner (the one-step actor-critic, DPG's COPDAC-Q)."""

import pickle
from typing import NamedTuple, Optional

import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import environments


class Transition(NamedTuple):
  """One step of B environments, all with leading dim [B].

  Attributes:
    observation: S, the observations the actions were taken from.
    action: A.
    reward: R.
    next_observation: S', the real next observation (the final one where an episode ended,
      not the first of the next episode).
    terminated: 1.0 where S' is terminal (v(S') = 0).
    truncated: 1.0 where a time limit cut the episode at S' (v(S') is kept).
    discount_weight: I = gamma^t of each environment's episode at S (the actor keeps it).
  """
  observation: tf.Tensor
  action: tf.Tensor
  reward: tf.Tensor
  next_observation: tf.Tensor
  terminated: tf.Tensor
  truncated: tf.Tensor
  discount_weight: tf.Tensor


class TransitionActor(core.Actor):
  """Steps a `VectorEnv` once per `act` and returns the transition for an online update.

  The next action is sampled at the start of the next `act`, after the learner's update, so
  every step is taken by the current policy (Sutton & Barto 2018, section 13.5; the
  behaviour policy of an off-policy learner, e.g. DPG's, likewise follows every update). The actor
  also keeps each environment's I = gamma^t of the book's episodic actor-critic (1 at an
  episode's first step) and hands it to the learner with the transition.

  Args:
    env: the training environments (closed by `close`).
    policy: `step(obs) -> (action, ...)` (e.g. `policies.ActorCriticPolicy`).
    discount: gamma, for I.
  """

  def __init__(self, env: environments.VectorEnv, policy, discount: float):
    self._env = env
    self._sample = core.per_step(policy.step)
    self._discount = discount
    self._observation: Optional[np.ndarray] = None
    self._action = None
    self._weight = np.ones(env.num_envs, np.float32)

  def reset(self, env_steps: int = 0) -> None:
    """New episodes in every env (env i seeded `env.seed + env_steps + i`); I = 1."""
    self._observation = self._env.reset(self._env.seed + env_steps)
    self._action = None
    self._weight = np.ones(self._env.num_envs, np.float32)

  def get_state(self) -> bytes:
    """Everything a resumed run needs to continue these episodes exactly (see `core.Actor`)."""
    return pickle.dumps((self._env.get_state(), self._observation, self._weight))

  def set_state(self, state: bytes) -> None:
    env_state, self._observation, self._weight = pickle.loads(state)
    self._env.set_state(env_state)
    self._action = None

  def act(self, max_steps: int) -> core.Acted:
    """One step of every environment, or nothing when `max_steps` is less than that."""
    num_envs = self._env.num_envs
    if max_steps < num_envs:
      return core.Acted(None, 0)
    if self._action is None:
      self._action = self._sample(self._observation)[0]
    action, self._action = self._action, None
    step = self._env.step(action.numpy())
    ended = step.terminated | step.truncated
    next_observation = step.observation
    if ended.any():
      next_observation = np.where(
          ended.reshape((-1,) + (1,) * (step.observation.ndim - 1)),
          step.final_observation, step.observation)
    weight = self._weight
    ended32 = ended.astype(np.float32)
    self._weight = (np.float32(1.0) - ended32) * np.float32(self._discount) * weight + ended32
    transition = Transition(
        observation=self._observation, action=action, reward=step.reward,
        next_observation=next_observation, terminated=step.terminated.astype(np.float32),
        truncated=step.truncated.astype(np.float32), discount_weight=weight)
    self._observation = step.observation
    return core.Acted(transition, num_envs, step.episode_returns.tolist(),
                      step.episode_lengths.tolist())

  def close(self) -> None:
    self._env.close()


def make_agent(context: core.BuildContext, config, policy, learner) -> core.Agent:
  """The agent of an online learner (the one-step actor-critic, DPG): one `TransitionActor`
  over `config.num_envs` environments of `context.env_id` (seeded from `context.env_seed`)
  acting with `policy.step`, each step's transition one `learner.step`; evaluation uses
  `policy.mode`, and the two hold every variable to checkpoint."""
  env = environments.VectorEnv(context.env_id, config.num_envs, context.env_seed,
                               context.env_options)
  actor = TransitionActor(env, policy, config.discount)
  return core.Agent(actors=[actor], learners=[learner], policy=core.mode_policy(policy),
                    state=dict(learner=learner, actor=policy), steps_per_act=config.num_envs,
                    close=actor.close)
