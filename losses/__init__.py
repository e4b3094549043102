"""Pure TensorFlow loss functions and return estimators for policy-gradient agents.

Importing this package needs only TensorFlow (and TensorFlow Probability where a loss uses it):
no agents, networks, Reverb, gymnasium or Keras. Sequences are time-major `[T, B]`; every loss
returns `LossOutput(loss, extra)` with a per-element `loss`. See `losses/README.md`.
"""

from losses import distributional
from losses import off_policy
from losses import policy_gradient
from losses import returns
from losses import soft
from losses import trust_region
from losses import value
from losses.base import LossOutput

__all__ = [
    "LossOutput",
    "distributional",
    "off_policy",
    "policy_gradient",
    "returns",
    "soft",
    "trust_region",
    "value",
]
