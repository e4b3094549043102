"""Every public function: XLA-compiled with all-`None` input signatures equals eager."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from losses import distributional
from losses import off_policy
from losses import policy_gradient
from losses import returns
from losses import soft
from losses import trust_region
from losses import value
from tests.losses import _testing

_RNG = np.random.default_rng(0)


def _x(*shape):
  return _RNG.normal(size=shape).astype(np.float32)


def _logp(*shape):
  return -np.abs(_x(*shape))


_TB, _B, _TBA = (3, 4), (4,), (3, 4, 5)
_SEQ = (_x(*_TB), (0.9 * (_RNG.random(_TB) > 0.2)).astype(np.float32), _x(*_TB), _x(*_B))
_TRUNC = ((_RNG.random(_TB) < 0.3).astype(np.float32), _x(*_TB))
_LOGITS = _x(*_TBA)
_LOG_PI = np.asarray(tf.nn.log_softmax(_LOGITS))
_LOG_MU = np.asarray(tf.nn.log_softmax(_x(*_TBA)))
_SUPPORT = np.linspace(-2., 2., 5).astype(np.float32)

# (name, function taking only tensors, example tensors)
CASES = (
    ("discounted_returns", lambda r, d, b, tr, tv: returns.discounted_returns(
        r, d, b, truncations=tr, truncation_values=tv), (_SEQ[0], _SEQ[1], _SEQ[3]) + _TRUNC),
    ("td_error", lambda r, d, v, b, tr, tv: returns.td_error(
        r, d, v, b, truncations=tr, truncation_values=tv), _SEQ + _TRUNC),
    ("n_step_returns", lambda r, d, v, b, tr, tv: returns.n_step_returns(
        r, d, v, b, n=2, truncations=tr, truncation_values=tv), _SEQ + _TRUNC),
    ("lambda_returns", lambda r, d, v, b, tr, tv: returns.lambda_returns(
        r, d, v, b, lambda_=.9, truncations=tr, truncation_values=tv), _SEQ + _TRUNC),
    ("gae", lambda r, d, v, b, tr, tv: returns.generalized_advantage_estimation_with_targets(
        r, d, v, b, lambda_=.9, truncations=tr, truncation_values=tv), _SEQ + _TRUNC),
    ("policy_gradient_loss", policy_gradient.policy_gradient_loss, (_logp(*_TB), _x(*_TB))),
    ("importance_weighted",
     lambda a, b, c: policy_gradient.importance_weighted_policy_gradient_loss(
         a, b, c, clip_rho_threshold=1.), (_logp(*_TB), _logp(*_TB), _x(*_TB))),
    ("entropy_loss", policy_gradient.entropy_loss, (_x(*_TB),)),
    ("dpg", policy_gradient.deterministic_policy_gradient_loss, (_x(*_B),)),
    ("dpg_dqda", lambda a, g: policy_gradient.deterministic_policy_gradient_dqda_loss(
        a, g, dqda_clipping=.5, clip_norm=True), (_x(4, 2), _x(4, 2))),
    ("surrogate_loss", trust_region.surrogate_loss, (_logp(*_TB), _logp(*_TB), _x(*_TB))),
    ("clipped_surrogate_loss", lambda a, b, c, e: trust_region.clipped_surrogate_loss(
        a, b, c, epsilon=e), (_logp(*_TB), _logp(*_TB), _x(*_TB), np.float32(.2))),
    ("kl_penalty_loss", lambda a, b, c, k: trust_region.kl_penalty_loss(a, b, c, k, beta=.5),
     (_logp(*_TB), _logp(*_TB), _x(*_TB), np.abs(_x(*_TB)))),
    ("adaptive_kl_coefficient", lambda b, k: trust_region.adaptive_kl_coefficient(
        b, k, target=.01), (np.float32(1.), np.float32(.03))),
    ("conjugate_gradient", lambda m, b: trust_region.conjugate_gradient(
        lambda v: tf.linalg.matvec(m, v), b), (np.diag([1., 2., 3.]).astype(np.float32),
                                                 _x(3))),
    ("trust_region_step_size", lambda s, f: trust_region.trust_region_step_size(
        s, f, max_kl=.01), (_x(6), np.abs(_x(6)))),
    ("acer_trust_region_projection", lambda g, k: trust_region.acer_trust_region_projection(
        g, k, delta=.1), (_x(4, 5), _x(4, 5))),
    ("value_loss", lambda v, t, o: value.value_loss(v, t, old_values=o, clip_epsilon=.2,
                                                    huber_delta=1.), (_x(*_TB),) * 3),
    ("clipped_double_q_target", value.clipped_double_q_target, (_x(*_B),) * 4),
    ("soft_bellman_target", lambda r, d, q1, q2, lp: soft.soft_bellman_target(
        r, d, q1, q2, lp, alpha=.2), (_x(*_B),) * 5),
    ("soft_q_loss", soft.soft_q_loss, (_x(*_B), _x(*_B))),
    ("soft_value_loss", soft.soft_value_loss, (_x(*_B), _x(*_B), _logp(*_B))),
    ("soft_policy_loss", lambda lp, q: soft.soft_policy_loss(lp, q, alpha=.2),
     (_logp(*_B), _x(*_B))),
    ("temperature_loss", lambda la, lp: soft.temperature_loss(la, lp, target_entropy=-1.),
     (np.float32(-.5), _logp(*_B))),
    ("soft_q_learning_value", lambda q, lq: soft.soft_q_learning_value(q, lq, alpha=.5),
     (_x(4, 6), _logp(4, 6))),
    ("svgd_direction", soft.svgd_direction, (_x(2, 4, 3), _x(2, 4, 3))),
    ("categorical_projection", distributional.categorical_projection,
     (_x(4, 5), np.full((4, 5), .2, np.float32), _SUPPORT)),
    ("categorical_td_loss", distributional.categorical_td_loss,
     (_x(4, 5), _x(4), np.full(4, .9, np.float32), np.full((4, 5), .2, np.float32), _SUPPORT)),
    ("vtrace", lambda lr, d, r, v, b, tr, tv: off_policy.vtrace(
        lr, d, r, v, b, truncations=tr, truncation_values=tv),
     (_x(*_TB) * .3, _SEQ[1], _SEQ[0], _SEQ[2], _SEQ[3]) + _TRUNC),
    ("retrace_targets", lambda lr, d, r, q, v, b, tr, tv: off_policy.retrace_targets(
        lr, d, r, q, v, b, lambda_=.9, truncations=tr, truncation_values=tv),
     (_x(*_TB) * .3, _SEQ[1], _SEQ[0], _x(*_TB), _SEQ[2], _SEQ[3]) + _TRUNC),
    ("acer_policy_loss", lambda lp, lm, a, q, qr: off_policy.acer_policy_loss(
        lp, lm, a, q, qr, c=2.), (_LOG_PI, _LOG_MU, _RNG.integers(0, 5, _TB).astype(np.int32),
                                  _x(*_TBA), _x(*_TB))),
)


class CompileWithUnknownDimsTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*CASES)
  def test_matches_eager(self, fn, args):
    specs = [tf.TensorSpec([None] * np.ndim(a), tf.as_dtype(np.asarray(a).dtype)) for a in args]
    compiled = _testing.with_unknown_dims(fn, specs)
    expected = fn(*args)
    got = compiled(*args)
    tf.nest.map_structure(lambda e, g: self.assertAllClose(e, g, rtol=1e-5, atol=1e-5),
                          expected, got)


if __name__ == "__main__":
  absltest.main()
