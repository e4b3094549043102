"""The runtime's interfaces: actors produce experience, learners consume it, one loop runs both.

    env ──▶ Actor.act() ──▶ Acted.experience ──▶ Learner.step(experience) ──▶ metrics
               ▲                                          │
               └────── variables (shared in-process, or pulled through Reverb) ◀┘

An `Actor` holds a policy, its exploration and its environments; `act` takes environment steps
and returns what it saw: a [T, B] rollout, a batch of episodes, one transition, or nothing when
it writes its experience into a Reverb table itself (the learner then samples the table). A
`Learner` holds variables and optimizers; `step` is one compiled update that returns a flat dict
of scalar metrics. A builder puts them together into an `Agent` from a `BuildContext` and the
agent's config; `agents.common.loop.run` trains any `Agent`.

Compile convention: `Actor.act` and `Learner.step` each make one call into a `tf.function`
traced without AutoGraph (explicit `tf.while_loop`/`tf.cond`), XLA-compiled where the agent's
config says `jit_compile`; Python around the call only converts inputs and outputs.
"""

import dataclasses
import signal
import threading
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Protocol, Sequence

from dm_env import specs
import numpy as np
import tensorflow as tf

from agents.common import wrappers


class RunStopped(RuntimeError):
  """A run stopped on a fault it cannot go on from; the message (one line) says what and
  where (raised by the loop, and by agents about state they keep outside the checkpoint)."""


class Interrupts:
  """SIGINT and SIGTERM as a request to stop, honoured where the run can stop cleanly.

  A handler that raises KeyboardInterrupt at once lands wherever the main thread happens to be,
  inside TensorFlow's Python code too, where it can come out as another exception (e.g. a
  TypeError from a tensor conversion it cut short) that no `except KeyboardInterrupt` sees.
  Inside `Interrupts()` a first signal only records the request; `check()`, called between
  acts and learner steps, between evaluation steps and in the slices of every wait on a
  server, then raises KeyboardInterrupt at a known point. A second signal raises at once (for a
  run stuck in one long call). The previous handlers come back on exit. Outside the main
  thread (where handlers cannot be installed) it does nothing.
  """
  _requested = threading.Event()

  def __init__(self):
    self._handlers = {}

  def __enter__(self) -> 'Interrupts':
    Interrupts._requested.clear()
    if threading.current_thread() is threading.main_thread():
      for signum in (signal.SIGINT, signal.SIGTERM):
        self._handlers[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *unused) -> None:
    for signum, handler in self._handlers.items():
      signal.signal(signum, handler)
    Interrupts._requested.clear()

  @staticmethod
  def _handle(signum, frame) -> None:
    del signum, frame
    if Interrupts._requested.is_set():
      raise KeyboardInterrupt
    Interrupts._requested.set()

  @staticmethod
  def request() -> None:
    """Requests a stop as a signal would (e.g. from a thread that learned the run is over)."""
    Interrupts._requested.set()

  @staticmethod
  def check() -> None:
    """Raises KeyboardInterrupt if a stop was requested, and takes the request: the checkpoint
    written on the way out is not cut short by its own request (a new signal still is)."""
    if Interrupts._requested.is_set():
      Interrupts._requested.clear()
      raise KeyboardInterrupt


check_interrupt = Interrupts.check


class Acted(NamedTuple):
  """What one `Actor.act` call did.

  Attributes:
    experience: what the learner's `step` consumes (a rollout, a batch of episodes, a
      transition), or None when the actor wrote it to replay itself.
    env_steps: environment steps taken (0 only when the budget left is too small to act).
    episode_returns: undiscounted returns of the episodes that ended during the call.
    episode_lengths: their lengths.
  """
  experience: Any
  env_steps: int
  episode_returns: Sequence[float] = ()
  episode_lengths: Sequence[int] = ()


class Actor(Protocol):
  """Policy + exploration + environments; no optimizer."""

  def reset(self, env_steps: int) -> None:
    """Starts new episodes. `env_steps` is the run's step count (0, or where a resumed run
    restarts), so a resumed run draws environment seeds it has not used before."""

  def act(self, max_steps: int) -> Acted:
    """Takes at most `max_steps` (>= 1) environment steps and returns what it saw."""

  def close(self) -> None:
    """Releases the environments (and any writer)."""

  # Optional: an actor that has them makes resumed runs continue its episodes exactly.
  #   get_state() -> bytes: its environments' state and anything it carries between calls;
  #   set_state(bytes): continues from it (instead of `reset`).


class Learner(Protocol):
  """Variables, optimizers and a compiled update."""

  def step(self, experience: Any) -> Mapping[str, tf.Tensor]:
    """One update from `experience` (`Acted.experience`: None for a learner that samples its
    own replay); returns a flat dict of scalar metrics."""


@dataclasses.dataclass(frozen=True)
class EnvironmentSpec:
  """The specs every builder sizes its networks from."""
  observation: specs.Array
  action: specs.Array


@dataclasses.dataclass(frozen=True)
class BuildContext:
  """What a builder gets besides its config.

  Attributes:
    env_id: the gymnasium id the actors' environments are made from.
    spec: the environment's specs.
    env_options: how the environments are made (frame stacking, time limit, `gym.make`
      arguments; `agents.common.wrappers`).
    seed: the run's seed (networks, sampling).
    env_seed: the base seed of the training environments (the run's seed, offset per worker
      process under a multi-worker strategy).
    num_steps: the schedule horizon: environment steps over which learning rates and clip
      ranges anneal.
    strategy: the `tf.distribute.Strategy` the learner's variables live under.
    logdir: the run's directory (e.g. for a replay table's own checkpoints).
    replay_address: 'host:port' of a Reverb server in another process, or None.
    role: '' (the whole run in this process, with any actor processes it starts), 'learner'
      (actors started elsewhere feed the server at `replay_address`), 'actor' or 'replay'
      (see `agents.common.distributed`).
    actor_command: `(server address, actor index) -> argv` of an actor process this run
      starts (None where it starts none).
  """
  env_id: str
  spec: EnvironmentSpec
  seed: int
  env_seed: int
  num_steps: int
  strategy: tf.distribute.Strategy
  logdir: str
  replay_address: Optional[str] = None
  role: str = ''
  actor_command: Optional[Callable[[str, int], Sequence[str]]] = None
  env_options: wrappers.EnvOptions = wrappers.EnvOptions()


def _nothing(*unused) -> Dict[str, Any]:
  return {}


def _yes() -> bool:
  return True


@dataclasses.dataclass(frozen=True)
class Agent:
  """What a builder returns and `loop.run` trains.

  Attributes:
    actors: one actor, or several that run in threads (A3C's workers).
    learners: one learner per actor: the loop calls `learners[i].step` on what `actors[i]`
      acted (several learners share variables, e.g. A3C's global parameters).
    policy: the deterministic evaluation policy, observations [N, ...] -> actions [N, ...].
    state: every trackable to checkpoint, by name.
    learning_starts: env steps before the first learner step (acting only until then).
    learner_steps_per_act: learner steps after each `act` call once learning has started
      (per env step of the call with `learn_per_env_step`).
    learn_per_env_step: count learner steps per env step acted: the replay ratio of an agent
      whose actors' calls take many steps at a time (e.g. K actor processes reporting).
    steps_per_act: the most env steps one `act` call takes (threaded actors claim this much of
      the budget at a time).
    ready_to_learn: after `learning_starts`, whether the learner can take its first step (e.g.
      a replay table holds enough items to sample); asked until it says True once.
    before_checkpoint: called with the env step before every checkpoint, to save state kept
      outside it (e.g. a replay table) that the checkpoint then refers to.
    after_checkpoint: called with the env step once the checkpoint is written (e.g. to delete
      the outside state of older checkpoints).
    check: raises `RunStopped` when state kept outside the checkpoint is not what the run
      expects (called after a restore and before every metrics row; e.g. a replay server that
      lost transitions).
    report: extra fields for evaluation.json, read at the end of the run.
    describe: a few words on state kept outside the checkpoint, for the line a resumed run
      prints (e.g. '600 transitions in replay').
    evaluate: `(episodes, seed) -> evaluation.EvaluationResult` for an agent whose
      environments `policy` cannot be evaluated on by the loop's gymnasium evaluation (e.g.
      multi-agent ones); None: the loop evaluates `policy` on the run's gymnasium env.
    close: releases the environments, replay server and anything else the agent started.
  """
  actors: Sequence[Actor]
  learners: Sequence[Learner]
  policy: Callable[[np.ndarray], np.ndarray]
  state: Mapping[str, Any]
  learning_starts: int = 0
  learner_steps_per_act: int = 1
  learn_per_env_step: bool = False
  steps_per_act: int = 1
  ready_to_learn: Callable[[], bool] = _yes
  before_checkpoint: Callable[[int], Any] = _nothing
  after_checkpoint: Callable[[int], Any] = _nothing
  check: Callable[[], Any] = _nothing
  report: Callable[[], Dict[str, Any]] = _nothing
  describe: Callable[[], str] = str
  evaluate: Optional[Callable[[int, int], Any]] = None
  close: Callable[[], Any] = _nothing

  def __post_init__(self):
    if not self.actors or len(self.actors) != len(self.learners):
      raise ValueError(f'Agent: one learner per actor, got {len(self.actors)} actors and '
                       f'{len(self.learners)} learners')


def per_step(function) -> Callable[..., Any]:
  """A direct caller of a `tf.function` that has an input signature, for calls made at every
  environment step: it calls the one concrete function (traced at the first call) and skips
  the polymorphic dispatch, which costs more than a small policy's whole forward pass (about
  0.7 ms of Python for a call with a tuple of seven tensors, against 0.3 ms; measured on the
  development machine). Any other callable (e.g. a test's recording policy) is returned as is."""
  if not hasattr(function, 'get_concrete_function'):
    return function
  concrete = []

  def call(*args):
    if not concrete:
      concrete.append(function.get_concrete_function())
    return concrete[0](*[tf.nest.map_structure(tf.convert_to_tensor, a) for a in args])

  return call


def mode_policy(policy_module) -> Callable[[np.ndarray], np.ndarray]:
  """The evaluation policy of a module with a compiled `mode(observations) -> actions`."""
  return lambda observation: policy_module.mode(observation).numpy()
