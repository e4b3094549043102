"""Tests for losses/off_policy.py."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from losses import off_policy
from tests.losses import _testing
from tests.losses import test_returns

# Hand case, T = 3, B = 2, gamma = 0.9: column 0 terminates after step 1 (discounts[1, 0] = 0),
# column 1 is cut by a time limit after step 1 (real final value 10).
RHOS = np.array([[2.0, 0.5], [0.5, 1.5], [1.0, 3.0]], np.float32)
LOG_RHOS = np.log(RHOS)
REWARDS = np.array([[1., 2.], [3., 4.], [5., 6.]], np.float32)
DISCOUNTS = np.array([[.9, .9], [0., .9], [.9, .9]], np.float32)
VALUES = np.array([[.5, 1.], [1.5, 2.], [2.5, 3.]], np.float32)
BOOTSTRAP = np.array([4., 7.], np.float32)
TRUNCATIONS = np.array([[0., 0.], [0., 1.], [0., 0.]], np.float32)
TRUNCATION_VALUES = np.array([[np.nan] * 2, [np.nan, 10.], [np.nan] * 2], np.float32)
TRUNC = dict(truncations=TRUNCATIONS, truncation_values=TRUNCATION_VALUES)

# V-trace with all thresholds 1: rho_bar = min(1, rho), c = min(1, rho).
#   column 0: rho_bar = c = [1, .5, 1];  deltas = [1.85, .75 * 1, 6.1] -> see below.
#   column 1: rho_bar = c = [.5, 1, 1];  delta_1 uses the truncation value 10.
EXPECTED_VS = np.array([
    [.5 + 1 * (1 + .9 * 1.5 - .5) + .9 * 1 * (.5 * (3 + 0 - 1.5)),
     1 + .5 * (2 + .9 * 2 - 1) + .9 * .5 * (1 * (4 + .9 * 10 - 2))],
    [1.5 + .5 * (3 - 1.5), 2 + (4 + .9 * 10 - 2)],
    [2.5 + (5 + .9 * 4 - 2.5), 3 + (6 + .9 * 7 - 3)]], np.float32)
EXPECTED_PG = np.array([
    [1 * (1 + .9 * EXPECTED_VS[1, 0] - .5), .5 * (2 + .9 * EXPECTED_VS[1, 1] - 1)],
    [.5 * (3 + 0 - 1.5), 1 * (4 + .9 * 10 - 2)],
    [1 * (5 + .9 * 4 - 2.5), 1 * (6 + .9 * 7 - 3)]], np.float32)

# Retrace, lambda = 1: c = min(1, rho); Q(x_t, a_t) = VALUES, V(x_t) = EXPECTED_Q below.
RETRACE_V = np.array([[1., 2.], [2., 1.], [3., 2.]], np.float32)
EXPECTED_RETRACE = np.array([
    [1 + .9 * (2 + .5 * (3 - 1.5)), 2 + .9 * (1 + 1 * (13 - 2))],
    [3., 4 + .9 * 10],
    [5 + .9 * 4, 6 + .9 * 7]], np.float32)


def _cut(trunc, t, b):
  return trunc is not None and trunc[t, b] > 0


def np_vtrace(log_rhos, d, r, v, boot, rho_thr, c_thr, pg_thr, lam=1.0, trunc=None, tv=None):
  """Direct sums of eq. 1: v_s = V_s + sum_t gamma^{t-s} (prod_{i<t} c_i) delta_t."""
  num_steps, batch = r.shape
  rho = np.exp(log_rhos)
  rho_bar = np.minimum(rho_thr, rho) if rho_thr is not None else rho
  c = lam * (np.minimum(c_thr, rho) if c_thr is not None else rho)
  pg_rho = np.minimum(pg_thr, rho) if pg_thr is not None else rho
  nv = np.zeros_like(r)
  for t in range(num_steps):
    for b in range(batch):
      nv[t, b] = test_returns.np_next_value(v, boot, trunc, tv, t, b)
  delta = rho_bar * (r + d * nv - v)
  vs = np.zeros_like(r)
  for b in range(batch):
    for s in range(num_steps):
      total, weight = v[s, b], 1.0
      for t in range(s, num_steps):
        total += weight * delta[t, b]
        if _cut(trunc, t, b):
          break
        weight *= d[t, b] * c[t, b]
      vs[s, b] = total
  pg = np.zeros_like(r)
  for t in range(num_steps):
    for b in range(batch):
      if _cut(trunc, t, b):
        nxt = tv[t, b]
      else:
        nxt = boot[b] if t == num_steps - 1 else vs[t + 1, b]
      pg[t, b] = pg_rho[t, b] * (r[t, b] + d[t, b] * nxt - v[t, b])
  return vs, pg


def np_retrace(log_rhos, d, r, q, v, boot, lam=1.0, trunc=None, tv=None):
  """Direct sums: Q_ret_t = Q_t + sum_s gamma^{s-t} (prod_{t<i<=s} c_i) (r_s + g V_{s+1} - Q_s)."""
  num_steps, batch = r.shape
  c = lam * np.minimum(1.0, np.exp(log_rhos))
  out = np.zeros_like(r)
  for b in range(batch):
    for t in range(num_steps):
      total, weight = q[t, b], 1.0
      for s in range(t, num_steps):
        nv = test_returns.np_next_value(v, boot, trunc, tv, s, b)
        total += weight * (r[s, b] + d[s, b] * nv - q[s, b])
        if _cut(trunc, s, b) or s == num_steps - 1:
          break
        weight *= d[s, b] * c[s + 1, b]
      out[t, b] = total
  return out


def random_inputs(seed, num_steps=6, batch=4):
  x = test_returns.random_rollout(seed, num_steps, batch)
  rng = np.random.default_rng(seed + 100)
  x["log_rhos"] = rng.normal(scale=0.8, size=(num_steps, batch))
  x["q"] = rng.normal(size=(num_steps, batch))
  return x


class VTraceTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed(self, jit):
    out = _testing.run(off_policy.vtrace, LOG_RHOS, DISCOUNTS, REWARDS, VALUES, BOOTSTRAP,
                       jit=jit, **TRUNC)
    self.assertIsInstance(out, off_policy.VTraceReturns)
    self.assertAllClose(out.vs, EXPECTED_VS)
    self.assertAllClose(out.pg_advantages, EXPECTED_PG)

  @parameterized.named_parameters(
      ("eager", False, 1.0, 1.0, 1.0, 1.0), ("jit", True, 1.0, 1.0, 1.0, 1.0),
      ("no_clipping", False, None, None, None, 1.0), ("mixed_jit", True, 2.0, 0.9, None, 0.7))
  def test_against_direct_sums(self, jit, rho_thr, c_thr, pg_thr, lam):
    x = random_inputs(seed=1)
    kw = dict(clip_rho_threshold=rho_thr, clip_c_threshold=c_thr,
              clip_pg_rho_threshold=pg_thr, lambda_=lam)
    out = _testing.run(off_policy.vtrace, x["log_rhos"], x["d"], x["r"], x["v"], x["boot"],
                       jit=jit, truncations=x["trunc"], truncation_values=x["tv"], **kw)
    vs, pg = np_vtrace(x["log_rhos"], x["d"], x["r"], x["v"], x["boot"], rho_thr, c_thr,
                       pg_thr, lam, x["trunc"], x["tv"])
    self.assertAllClose(out.vs, vs)
    self.assertAllClose(out.pg_advantages, pg)

  @parameterized.named_parameters(*_testing.MODES)
  def test_on_policy_is_bootstrapped_return(self, jit):
    x = random_inputs(seed=2)
    zeros = np.zeros_like(x["r"])
    out = _testing.run(off_policy.vtrace, zeros, x["d"], x["r"], x["v"], x["boot"], jit=jit,
                       truncations=x["trunc"], truncation_values=x["tv"])
    mc = test_returns.np_discounted_returns(x["r"], x["d"], x["boot"], x["trunc"], x["tv"])
    self.assertAllClose(out.vs, mc)
    # lambda = 0 gives one-step targets V + rho_bar delta.
    one_step = _testing.run(off_policy.vtrace, zeros, x["d"], x["r"], x["v"], x["boot"],
                            jit=jit, lambda_=0.0)
    self.assertAllClose(one_step.vs, x["v"] + test_returns.np_td_error(
        x["r"], x["d"], x["v"], x["boot"]))

  def test_no_gradient(self):
    xs = [tf.constant(a) for a in (LOG_RHOS, DISCOUNTS, REWARDS, VALUES, BOOTSTRAP)]
    with tf.GradientTape() as tape:
      tape.watch(xs)
      out = off_policy.vtrace(*xs)
      total = tf.reduce_sum(out.vs) + tf.reduce_sum(out.pg_advantages)
    self.assertEqual(tape.gradient(total, xs), [None] * 5)

  def test_unknown_dims(self):
    s2, s1 = _testing.spec(2), _testing.spec(1)
    f = _testing.with_unknown_dims(
        lambda a, b, c, d, e, tr, tv: off_policy.vtrace(a, b, c, d, e, truncations=tr,
                                                        truncation_values=tv),
        [s2, s2, s2, s2, s1, s2, s2])
    out = f(LOG_RHOS, DISCOUNTS, REWARDS, VALUES, BOOTSTRAP, TRUNCATIONS, TRUNCATION_VALUES)
    self.assertAllClose(out.vs, EXPECTED_VS)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^vtrace: `log_rhos`"):
      off_policy.vtrace(LOG_RHOS[0], DISCOUNTS, REWARDS, VALUES, BOOTSTRAP)
    with self.assertRaisesRegex(ValueError, "^vtrace: `bootstrap_value`"):
      off_policy.vtrace(LOG_RHOS, DISCOUNTS, REWARDS, VALUES, VALUES)
    with self.assertRaisesRegex(ValueError, "^vtrace: .*together"):
      off_policy.vtrace(LOG_RHOS, DISCOUNTS, REWARDS, VALUES, BOOTSTRAP,
                        truncations=TRUNCATIONS)


class RetraceTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed(self, jit):
    out = _testing.run(off_policy.retrace_targets, LOG_RHOS, DISCOUNTS, REWARDS, VALUES,
                       RETRACE_V, BOOTSTRAP, jit=jit, **TRUNC)
    self.assertAllClose(out, EXPECTED_RETRACE)

  @parameterized.named_parameters(
      ("eager", False, 1.0), ("jit", True, 1.0), ("lambda_jit", True, 0.6))
  def test_against_direct_sums(self, jit, lam):
    x = random_inputs(seed=3)
    args = (x["log_rhos"], x["d"], x["r"], x["q"], x["v"], x["boot"])
    out = _testing.run(off_policy.retrace_targets, *args, lambda_=lam, jit=jit,
                       truncations=x["trunc"], truncation_values=x["tv"])
    self.assertAllClose(out, np_retrace(*args, lam, x["trunc"], x["tv"]))

  @parameterized.named_parameters(*_testing.MODES)
  def test_lambda_zero_is_expected_sarsa(self, jit):
    x = random_inputs(seed=4)
    out = _testing.run(off_policy.retrace_targets, x["log_rhos"], x["d"], x["r"], x["q"],
                       x["v"], x["boot"], lambda_=0.0, jit=jit)
    nv = np.concatenate([x["v"][1:], x["boot"][None]], 0)
    self.assertAllClose(out, x["r"] + x["d"] * nv)

  def test_no_gradient(self):
    xs = [tf.constant(a) for a in (LOG_RHOS, DISCOUNTS, REWARDS, VALUES, RETRACE_V, BOOTSTRAP)]
    with tf.GradientTape() as tape:
      tape.watch(xs)
      total = tf.reduce_sum(off_policy.retrace_targets(*xs))
    self.assertEqual(tape.gradient(total, xs), [None] * 6)

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^retrace_targets: `values`"):
      off_policy.retrace_targets(LOG_RHOS, DISCOUNTS, REWARDS, VALUES, RETRACE_V[:2],
                                 BOOTSTRAP)


# ACER hand case, two states, two actions, c = 1.
#   state 0: pi = [.25, .75], mu = [.5, .5] -> rho = [.5, 1.5]; Q = [1, 3]; V = 2.5;
#            a = 1, Q_ret = 4: truncated 1 * 1.5 * log .75;  correction .75 (1/3) .5 = .125.
#   state 1: pi = [.6, .4], mu = [.2, .8] -> rho = [3, .5]; Q = [2, 0]; V = 1.2;
#            a = 0, Q_ret = 1: truncated 1 * -.2 * log .6;   correction .6 (2/3) .8 = .32.
ACER_PI = np.array([[.25, .75], [.6, .4]], np.float32)
ACER_MU = np.array([[.5, .5], [.2, .8]], np.float32)
ACER_Q = np.array([[1., 3.], [2., 0.]], np.float32)
ACER_ACTIONS = np.array([1, 0], np.int32)
ACER_Q_RET = np.array([4., 1.], np.float32)
ACER_EXPECTED = np.array([-(1.5 + .125) * np.log(.75), -(-.2 + .32) * np.log(.6)])
# d loss / d logits = -sum_a w_a (onehot(a) - pi), with w the total weight on each log pi(a).
_W = np.array([[0., 1.5 + .125], [-.2 + .32, 0.]])
ACER_EXPECTED_GRAD = -(_W - _W.sum(-1, keepdims=True) * ACER_PI)


class AcerPolicyLossTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_hand_computed_and_gradient(self, jit):
    def f(logits, log_mu, actions, q, q_ret):
      with tf.GradientTape(persistent=True) as tape:
        tape.watch([logits, log_mu, q, q_ret])
        out = off_policy.acer_policy_loss(tf.nn.log_softmax(logits), log_mu, actions, q, q_ret,
                                          c=1.0)
        total = tf.reduce_sum(out.loss)
      return out, [tape.gradient(total, x) for x in (logits, log_mu, q, q_ret)]

    if jit:
      f = tf.function(f, jit_compile=True)
    out, (d_logits, d_log_mu, d_q, d_q_ret) = f(
        tf.constant(np.log(ACER_PI)), tf.constant(np.log(ACER_MU)), tf.constant(ACER_ACTIONS),
        tf.constant(ACER_Q), tf.constant(ACER_Q_RET))
    self.assertAllClose(out.loss, ACER_EXPECTED)
    self.assertAllClose(out.extra.importance_weights, [1.5, 3.])
    self.assertAllClose(out.extra.values, [2.5, 1.2])
    self.assertAllClose(out.extra.bias_correction_loss, [-.125 * np.log(.75),
                                                         -.32 * np.log(.6)])
    self.assertAllClose(d_logits, ACER_EXPECTED_GRAD)
    self.assertIsNone(d_log_mu)
    self.assertIsNone(d_q)
    self.assertIsNone(d_q_ret)

  @parameterized.named_parameters(*_testing.MODES)
  def test_huge_c_is_plain_importance_sampling(self, jit):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 5)).astype(np.float32)
    log_pi = np.asarray(tf.nn.log_softmax(logits))
    log_mu = np.asarray(tf.nn.log_softmax(rng.normal(size=(3, 4, 5)).astype(np.float32)))
    actions = rng.integers(0, 5, size=(3, 4)).astype(np.int32)
    q = rng.normal(size=(3, 4, 5)).astype(np.float32)
    q_ret = rng.normal(size=(3, 4)).astype(np.float32)
    out = _testing.run(off_policy.acer_policy_loss, log_pi, log_mu, actions, q, q_ret, c=1e9,
                       jit=jit)
    pi = np.exp(log_pi)
    v = (pi * q).sum(-1)
    taken = np.take_along_axis(log_pi, actions[..., None], -1)[..., 0]
    rho = np.exp(taken - np.take_along_axis(log_mu, actions[..., None], -1)[..., 0])
    self.assertAllClose(out.loss, -rho * (q_ret - v) * taken, rtol=1e-5, atol=1e-5)
    self.assertAllClose(out.extra.bias_correction_loss, np.zeros((3, 4)))

  def test_zero_probability_actions_are_finite(self):
    log_pi = tf.constant([[0.0, -np.inf]])
    out = off_policy.acer_policy_loss(log_pi, tf.math.log([[.5, .5]]), [0], [[1., 2.]], [1.])
    self.assertTrue(np.all(np.isfinite(out.loss)))

  def test_errors(self):
    with self.assertRaisesRegex(ValueError, "^acer_policy_loss: `actions`"):
      off_policy.acer_policy_loss(np.log(ACER_PI), np.log(ACER_MU), ACER_ACTIONS[None],
                                  ACER_Q, ACER_Q_RET)
    with self.assertRaisesRegex(TypeError, "^acer_policy_loss: `actions`"):
      off_policy.acer_policy_loss(np.log(ACER_PI), np.log(ACER_MU), [1., 0.], ACER_Q,
                                  ACER_Q_RET)


if __name__ == "__main__":
  absltest.main()
