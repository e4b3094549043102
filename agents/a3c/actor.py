"""A3C's actor: one worker's environment and local networks, one segment per `act`."""

import pickle
from typing import List, Tuple

import dm_env
import numpy as np
import tensorflow as tf

from agents.a3c import learner as learner_lib
from agents.common import core
from agents.common import environments
from agents.common import policies


class SegmentActor(tf.Module):
  """The acting half of one A3C actor-learner thread (Mnih et al. 2016, Algorithm S3).

  `act` is the first part of one pass of the algorithm's loop: theta' <- theta (`sync`), then
  act for at most t_max steps with pi_theta' until the episode ends (`collect`, one compiled
  loop that steps the environment through `tf.numpy_function`), as one compiled call; the
  segment goes to this worker's `A3CWorkerLearner`, which applies its gradient w.r.t. theta' to
  theta. TF releases the GIL while a graph runs (the environment step, a `tf.numpy_function`,
  takes it back), so workers in different threads overlap. Nothing waits for the others.

  Args:
    worker_id: the worker's index.
    learner: the shared `A3CLearner` (global parameters, optimizer, counters).
    local_network: this worker's `ActorCritic`, built like the global one (theta', theta_v').
    env: this worker's `environments.GymnasiumToDmEnv` (closed by `close`).
    t_max: most steps of a segment.
    seed: the base seed of the local policy's action sampling and of the environment.
  """

  def __init__(self, worker_id: int, learner: learner_lib.A3CLearner, local_network,
               env: dm_env.Environment, t_max: int, seed: int):
    super().__init__(name=f'a3c_worker_{worker_id}')
    self.worker_id = worker_id
    self._seed = seed
    self._learner = learner
    self._network = local_network
    self._env = env
    self._t_max = t_max
    obs_spec, act_spec = env.observation_spec(), env.action_spec()
    self._obs_shape = (1,) + tuple(obs_spec.shape)
    self._obs_dtype = tf.as_dtype(np.dtype(obs_spec.dtype))
    self._act_dtype = tf.as_dtype(np.dtype(act_spec.dtype))
    self.actor = policies.ActorCriticPolicy(local_network, obs_spec, seed=seed)
    self._act_shape = tuple(act_spec.shape)
    self._observation = None
    self._needs_reset = True
    self._episode_return = 0.0
    self._episode_length = 0
    self._finished: List[Tuple[float, int]] = []
    self.sync = tf.function(self._sync, autograph=False)
    self.collect = tf.function(
        self._collect, autograph=False,
        input_signature=[tf.TensorSpec(self._obs_shape, self._obs_dtype),
                         tf.TensorSpec([], tf.int32)])
    self._act = tf.function(
        self._act_graph, autograph=False,
        input_signature=[tf.TensorSpec(self._obs_shape, self._obs_dtype),
                         tf.TensorSpec([], tf.int32)])

  @property
  def network(self):
    return self._network

  def trace(self) -> None:
    """Traces the compiled segment now (call from one thread before the workers start)."""
    self._act.get_concrete_function()

  def reset(self, env_steps: int = 0) -> None:
    """New episodes and sampling seeds: the env is seeded `seed + env_steps`, the policy's
    sampling `seed + env_steps + 1_000_003`."""
    self._env.reseed(self._seed + env_steps)
    self.actor.reseed(self._seed + env_steps + 1_000_003)
    self._needs_reset = True
    self.trace()

  def get_state(self) -> bytes:
    """The worker's episode in progress and sampling stream, for a resumed run (`core.Actor`)."""
    return pickle.dumps((self._env.get_state(), self._observation, self._needs_reset,
                         self._episode_return, self._episode_length, self._finished,
                         self.actor.rng_state))

  def set_state(self, state: bytes) -> None:
    (env_state, self._observation, self._needs_reset, self._episode_return,
     self._episode_length, self._finished, rng_state) = pickle.loads(state)
    self._env.set_state(env_state)
    self.actor.set_rng_state(rng_state)
    self.trace()

  def act(self, max_steps: int) -> core.Acted:
    """Syncs theta' <- theta and acts for at most min(t_max, max_steps) steps (one call)."""
    if self._needs_reset:
      self._observation = np.asarray(self._env.reset().observation,
                                     self._obs_dtype.as_numpy_dtype)[None]
      self._episode_return, self._episode_length = 0.0, 0
      self._needs_reset = False
    with environments.graph_env_errors(self._env):
      segment, next_observation = self._act(
          self._observation, tf.constant(min(self._t_max, max_steps), tf.int32))
    finished, self._finished = self._finished, []
    self._observation = next_observation.numpy()  # Unused if the episode ended (reset).
    return core.Acted(segment, int(segment.length), [r for r, _ in finished],
                      [n for _, n in finished])

  def close(self) -> None:
    self._env.close()

  def _act_graph(self, observation: tf.Tensor, max_steps: tf.Tensor
                 ) -> Tuple[learner_lib.Segment, tf.Tensor]:
    start_update = self._sync()
    segment, next_observation = self._collect(observation, max_steps)
    return segment._replace(start_update=start_update), next_observation

  def _sync(self) -> tf.Tensor:
    """theta' <- theta; returns the global update counter read just before the copy."""
    start = self._learner.num_updates.read_value()
    with tf.control_dependencies([start]):
      for local, shared in zip(self._network.variables, self._learner.network.variables):
        local.assign(shared.read_value())
    return start

  def _env_step(self, action: np.ndarray):
    timestep = self._env.step(action[0])
    reward = np.float32(timestep.reward)
    self._episode_return += float(reward)
    self._episode_length += 1
    terminated = truncated = np.float32(0.0)
    if timestep.last():
      terminated = np.float32(timestep.discount == 0.0)
      truncated = np.float32(1.0) - terminated
      self._finished.append((self._episode_return, self._episode_length))
      self._needs_reset = True
    observation = np.asarray(timestep.observation, self._obs_dtype.as_numpy_dtype)[None]
    return observation, reward, terminated, truncated

  def _collect(self, observation: tf.Tensor, max_steps: tf.Tensor
               ) -> Tuple[learner_lib.Segment, tf.Tensor]:
    """Acts from `observation` [1, ...] for at most `max_steps` steps or until the episode ends.

    Returns the [t_max, 1] segment (its `start_update` is -1: `act` sets it to the update
    count read by the sync) and the observation after its last step (the final
    observation when the episode ended).
    """
    kinds = [(self._obs_dtype, self._obs_shape[1:]), (self._act_dtype, self._act_shape)] + [
        (tf.float32, ())] * 4
    arrays = [tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=shape)
              for dtype, shape in kinds]

    def body(t, observation, done, arrays):
      del done
      action, _, value = self.actor.step(observation)
      next_observation, reward, terminated, truncated = tf.numpy_function(
          self._env_step, [action], [self._obs_dtype, tf.float32, tf.float32, tf.float32])
      next_observation.set_shape(self._obs_shape)
      for x in (reward, terminated, truncated):
        x.set_shape([])
      step_values = [observation[0], action[0], reward, terminated, truncated, value[0]]
      arrays = [a.write(t, x) for a, x in zip(arrays, step_values)]
      return t + 1, next_observation, (terminated + truncated) > 0, arrays

    length, observation, _, arrays = tf.while_loop(
        lambda t, _, done, __: tf.logical_and(t < max_steps, tf.logical_not(done)), body,
        (tf.constant(0), observation, tf.constant(False), arrays))
    padding = self._t_max - length

    def pad(array, shape):
      x = tf.pad(array.stack(), [[0, padding]] + [[0, 0]] * len(shape))
      return tf.ensure_shape(tf.expand_dims(x, 1), (self._t_max, 1) + tuple(shape))

    obs, action, reward, terminated, truncated, value = [
        pad(a, shape) for a, (_, shape) in zip(arrays, kinds)]
    mask = tf.sequence_mask(length, self._t_max, dtype=tf.float32)[:, None]
    segment = learner_lib.Segment(
        observation=obs, action=action, reward=reward, terminated=terminated,
        truncated=truncated, mask=mask, value=value,
        bootstrap_value=self.actor.value(observation), length=length,
        start_update=tf.constant(-1, tf.int64))
    return segment, observation
