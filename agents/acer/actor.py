"""ACER's actor: [T, B] segments that keep the observation after their last step."""

from typing import NamedTuple

import tensorflow as tf

from agents.common import core
from agents.common import rollout as rollout_lib


class Segment(NamedTuple):
  """A rollout and the observation x_T after its last step (a replayed segment's bootstrap is
  recomputed from it with the current network).

  Attributes:
    rollout: the [T, B] `Rollout`.
    next_observation: [B, ...] x_T.
  """
  rollout: rollout_lib.Rollout
  next_observation: tf.Tensor


class SegmentActor(rollout_lib.RolloutActor):
  """A `RolloutActor` whose experience is a `Segment`: the rollout and x_T."""

  def act(self, max_steps: int) -> core.Acted:
    acted = super().act(max_steps)
    if acted.experience is None:
      return acted
    return acted._replace(experience=Segment(acted.experience, self.observation))
