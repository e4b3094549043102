"""Tests for losses/returns.py."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from losses import returns
from tests.losses import _testing

GAMMA = 0.9

# Hand-computed case, T = 3, B = 3, gamma = 0.9.
#   column 0: s_2 is terminal (discounts[1, 0] = 0),
#   column 1: time-limit cut right after step 0 (truncations[0, 1] = 1), real final value 10,
#   column 2: nothing happens; bootstraps with V(s_3).
REWARDS = np.array([[1., 2., 1.], [3., 4., 2.], [5., 6., 3.]], np.float32)
DISCOUNTS = np.array([[.9, .9, .9], [0., .9, .9], [.9, .9, .9]], np.float32)
VALUES = np.array([[.5, 1., 1.], [1.5, 2., 2.], [2.5, 3., 3.]], np.float32)
BOOTSTRAP = np.array([4., 7., 4.], np.float32)
TRUNCATIONS = np.array([[0., 1., 0.], [0., 0., 0.], [0., 0., 0.]], np.float32)
# NaN where not truncated: those entries must be ignored, not multiplied by zero.
TRUNCATION_VALUES = np.array([[np.nan, 10., np.nan], [np.nan] * 3, [np.nan] * 3], np.float32)
LAMBDA = 0.5

# G_t = r_t + d_t G_{t+1}; truncated: r_t + d_t * 10.
EXPECTED_RETURNS = np.array([
    [1 + .9 * 3, 2 + .9 * 10, 1 + .9 * (2 + .9 * (3 + .9 * 4))],
    [3 + 0 * 999, 4 + .9 * (6 + .9 * 7), 2 + .9 * (3 + .9 * 4)],
    [5 + .9 * 4, 6 + .9 * 7, 3 + .9 * 4]], np.float32)
# delta_t = r_t + d_t V(s_{t+1}) - V(s_t).
EXPECTED_TD = np.array([
    [1 + .9 * 1.5 - .5, 2 + .9 * 10 - 1, 1 + .9 * 2 - 1],
    [3 + 0 * 2.5 - 1.5, 4 + .9 * 3 - 2, 2 + .9 * 3 - 2],
    [5 + .9 * 4 - 2.5, 6 + .9 * 7 - 3, 3 + .9 * 4 - 3]], np.float32)
# A_t = delta_t + d_t * lambda * A_{t+1}; cut at the truncation (column 1, t = 0).
_A2 = np.array([6.1, 9.3, 3.6])
_A1 = np.array([1.5 + 0 * _A2[0], 4.7 + .45 * 9.3, 2.7 + .45 * 3.6])
_A0 = np.array([1.85 + .45 * _A1[0], 10.0, 1.8 + .45 * _A1[2]])
EXPECTED_GAE = np.stack([_A0, _A1, _A2]).astype(np.float32)
# G^lambda_t = r_t + d_t ((1 - lambda) V(s_{t+1}) + lambda G^lambda_{t+1}).
_L2 = np.array([5 + .9 * 4, 6 + .9 * 7, 3 + .9 * 4])
_L1 = np.array([3., 4 + .9 * (.5 * 3 + .5 * _L2[1]), 2 + .9 * (.5 * 3 + .5 * _L2[2])])
_L0 = np.array([1 + .9 * (.5 * 1.5 + .5 * _L1[0]), 2 + .9 * 10,
                1 + .9 * (.5 * 2 + .5 * _L1[2])])
EXPECTED_LAMBDA_RETURNS = np.stack([_L0, _L1, _L2]).astype(np.float32)
# Two-step returns: r_t + d_t r_{t+1} + d_t d_{t+1} V(s_{t+2}), shortened by the episode end.
EXPECTED_TWO_STEP = np.array([
    [1 + .9 * 3, 2 + .9 * 10, 1 + .9 * 2 + .81 * 3],
    [3., 4 + .9 * 6 + .81 * 7, 2 + .9 * 3 + .81 * 4],
    [5 + .9 * 4, 6 + .9 * 7, 3 + .9 * 4]], np.float32)

HAND = (REWARDS, DISCOUNTS, VALUES, BOOTSTRAP)
TRUNC = dict(truncations=TRUNCATIONS, truncation_values=TRUNCATION_VALUES)


# ---- Naive per-element Python references (independent of the implementation). -------------

def _truncated(trunc, t, b):
  return trunc is not None and trunc[t, b] > 0


def np_discounted_returns(r, d, boot, trunc=None, tv=None):
  out = np.zeros_like(r)
  for b in range(r.shape[1]):
    g = boot[b]
    for t in reversed(range(r.shape[0])):
      g = r[t, b] + d[t, b] * (tv[t, b] if _truncated(trunc, t, b) else g)
      out[t, b] = g
  return out


def np_next_value(v, boot, trunc, tv, t, b):
  if _truncated(trunc, t, b):
    return tv[t, b]
  return boot[b] if t == v.shape[0] - 1 else v[t + 1, b]


def np_td_error(r, d, v, boot, trunc=None, tv=None):
  out = np.zeros_like(r)
  for t in range(r.shape[0]):
    for b in range(r.shape[1]):
      out[t, b] = r[t, b] + d[t, b] * np_next_value(v, boot, trunc, tv, t, b) - v[t, b]
  return out


def np_gae(r, d, v, boot, lam, trunc=None, tv=None):
  delta = np_td_error(r, d, v, boot, trunc, tv)
  out = np.zeros_like(r)
  for b in range(r.shape[1]):
    a = 0.0
    for t in reversed(range(r.shape[0])):
      a = delta[t, b] + (0.0 if _truncated(trunc, t, b) else d[t, b] * lam * a)
      out[t, b] = a
  return out


def np_lambda_returns(r, d, v, boot, lam, trunc=None, tv=None):
  out = np.zeros_like(r)
  for b in range(r.shape[1]):
    g = boot[b]
    for t in reversed(range(r.shape[0])):
      nv = np_next_value(v, boot, trunc, tv, t, b)
      if _truncated(trunc, t, b):
        g = r[t, b] + d[t, b] * nv
      else:
        g = r[t, b] + d[t, b] * ((1 - lam) * nv + lam * g)
      out[t, b] = g
  return out


def np_n_step_returns(r, d, v, boot, n, trunc=None, tv=None):
  num_steps, batch = r.shape
  out = np.zeros_like(r)
  for b in range(batch):
    for t in range(num_steps):
      total, disc, s = 0.0, 1.0, t
      for k in range(n):
        total += disc * r[s, b]
        if _truncated(trunc, s, b):
          total += disc * d[s, b] * tv[s, b]
          break
        disc *= d[s, b]
        if s == num_steps - 1:
          total += disc * boot[b]
          break
        if k == n - 1:
          total += disc * v[s + 1, b]
          break
        s += 1
      out[t, b] = total
  return out


def random_rollout(seed, num_steps=7, batch=5, dtype=np.float64):
  rng = np.random.default_rng(seed)
  terminal = rng.random((num_steps, batch)) < 0.2
  trunc = ((rng.random((num_steps, batch)) < 0.2) & ~terminal).astype(dtype)
  return dict(
      r=rng.normal(size=(num_steps, batch)).astype(dtype),
      d=(0.95 * (1 - terminal)).astype(dtype),
      v=rng.normal(size=(num_steps, batch)).astype(dtype),
      boot=rng.normal(size=(batch,)).astype(dtype),
      trunc=trunc,
      tv=rng.normal(size=(num_steps, batch)).astype(dtype))


class HandComputedTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_discounted_returns(self, jit):
    out = _testing.run(returns.discounted_returns, REWARDS, DISCOUNTS, BOOTSTRAP, jit=jit,
                       **TRUNC)
    self.assertAllClose(out, EXPECTED_RETURNS)

  @parameterized.named_parameters(*_testing.MODES)
  def test_td_error(self, jit):
    out = _testing.run(returns.td_error, *HAND, jit=jit, **TRUNC)
    self.assertAllClose(out, EXPECTED_TD)

  @parameterized.named_parameters(*_testing.MODES)
  def test_gae(self, jit):
    out = _testing.run(returns.generalized_advantage_estimation, *HAND, jit=jit,
                       lambda_=LAMBDA, **TRUNC)
    self.assertAllClose(out, EXPECTED_GAE)

  @parameterized.named_parameters(*_testing.MODES)
  def test_gae_with_targets(self, jit):
    out = _testing.run(returns.generalized_advantage_estimation_with_targets, *HAND, jit=jit,
                       lambda_=LAMBDA, **TRUNC)
    self.assertIsInstance(out, returns.AdvantagesAndTargets)
    self.assertAllClose(out.advantages, EXPECTED_GAE)
    self.assertAllClose(out.value_targets, EXPECTED_LAMBDA_RETURNS)

  @parameterized.named_parameters(*_testing.MODES)
  def test_lambda_returns(self, jit):
    out = _testing.run(returns.lambda_returns, *HAND, jit=jit, lambda_=LAMBDA, **TRUNC)
    self.assertAllClose(out, EXPECTED_LAMBDA_RETURNS)

  @parameterized.named_parameters(*_testing.MODES)
  def test_n_step_returns(self, jit):
    out = _testing.run(returns.n_step_returns, *HAND, jit=jit, n=2, **TRUNC)
    self.assertAllClose(out, EXPECTED_TWO_STEP)

  def test_truncation_differs_from_termination(self):
    # Treating the cut as a termination (discount 0, no truncation) would give r_0 = 2 only.
    cut = returns.discounted_returns(REWARDS, DISCOUNTS, BOOTSTRAP, **TRUNC)
    self.assertAllClose(cut[0, 1], 2 + .9 * 10)
    as_terminal = DISCOUNTS.copy()
    as_terminal[0, 1] = 0.
    self.assertAllClose(returns.discounted_returns(REWARDS, as_terminal, BOOTSTRAP)[0, 1], 2.)

  def test_bool_truncations(self):
    out = returns.generalized_advantage_estimation(
        *HAND, lambda_=LAMBDA, truncations=TRUNCATIONS.astype(bool),
        truncation_values=TRUNCATION_VALUES)
    self.assertAllClose(out, EXPECTED_GAE)


class NaiveReferenceTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(
      ("eager", False, False), ("jit", True, False),
      ("eager_truncations", False, True), ("jit_truncations", True, True))
  def test_all_against_python_loops(self, jit, with_truncations):
    x = random_rollout(seed=int(jit) + 2 * int(with_truncations))
    trunc, tv = (x["trunc"], x["tv"]) if with_truncations else (None, None)
    kw = dict(truncations=trunc, truncation_values=tv) if with_truncations else {}
    args = (x["r"], x["d"], x["v"], x["boot"])
    self.assertAllClose(
        _testing.run(returns.discounted_returns, x["r"], x["d"], x["boot"], jit=jit, **kw),
        np_discounted_returns(x["r"], x["d"], x["boot"], trunc, tv))
    self.assertAllClose(_testing.run(returns.td_error, *args, jit=jit, **kw),
                        np_td_error(*args, trunc, tv))
    for lam in (0.0, 0.7, 1.0):
      self.assertAllClose(
          _testing.run(returns.generalized_advantage_estimation, *args, jit=jit, lambda_=lam,
                       **kw), np_gae(*args, lam, trunc, tv))
      self.assertAllClose(
          _testing.run(returns.lambda_returns, *args, jit=jit, lambda_=lam, **kw),
          np_lambda_returns(*args, lam, trunc, tv))
    for n in (1, 3, 7, 20):
      self.assertAllClose(
          _testing.run(returns.n_step_returns, *args, jit=jit, n=n, **kw),
          np_n_step_returns(*args, n, trunc, tv))

  def test_per_step_lambda(self):
    x = random_rollout(seed=7)
    lam = np.full_like(x["r"], 0.6)
    args = (x["r"], x["d"], x["v"], x["boot"])
    self.assertAllClose(returns.generalized_advantage_estimation(*args, lambda_=lam),
                        np_gae(*args, 0.6))


class EdgeCaseTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_testing.MODES)
  def test_lambda_zero_is_one_step_td(self, jit):
    x = random_rollout(seed=11)
    args = (x["r"], x["d"], x["v"], x["boot"])
    kw = dict(truncations=x["trunc"], truncation_values=x["tv"])
    td = np_td_error(*args, x["trunc"], x["tv"])
    self.assertAllClose(
        _testing.run(returns.generalized_advantage_estimation, *args, lambda_=0.0, jit=jit,
                     **kw), td)
    self.assertAllClose(_testing.run(returns.lambda_returns, *args, lambda_=0.0, jit=jit, **kw),
                        td + x["v"])
    self.assertAllClose(_testing.run(returns.n_step_returns, *args, n=1, jit=jit, **kw),
                        td + x["v"])

  @parameterized.named_parameters(*_testing.MODES)
  def test_lambda_one_is_monte_carlo(self, jit):
    x = random_rollout(seed=12)
    args = (x["r"], x["d"], x["v"], x["boot"])
    kw = dict(truncations=x["trunc"], truncation_values=x["tv"])
    mc = np_discounted_returns(x["r"], x["d"], x["boot"], x["trunc"], x["tv"])
    self.assertAllClose(
        _testing.run(returns.generalized_advantage_estimation, *args, lambda_=1.0, jit=jit,
                     **kw), mc - x["v"])
    self.assertAllClose(_testing.run(returns.lambda_returns, *args, lambda_=1.0, jit=jit, **kw),
                        mc)
    self.assertAllClose(_testing.run(returns.n_step_returns, *args, n=100, jit=jit, **kw), mc)

  @parameterized.named_parameters(*_testing.MODES)
  def test_gamma_zero_is_reward(self, jit):
    x = random_rollout(seed=13)
    zeros = np.zeros_like(x["d"])
    args = (x["r"], zeros, x["v"], x["boot"])
    self.assertAllClose(_testing.run(returns.discounted_returns, x["r"], zeros, x["boot"],
                                     jit=jit), x["r"])
    self.assertAllClose(_testing.run(returns.lambda_returns, *args, lambda_=0.9, jit=jit),
                        x["r"])
    self.assertAllClose(_testing.run(returns.n_step_returns, *args, n=3, jit=jit), x["r"])
    self.assertAllClose(
        _testing.run(returns.generalized_advantage_estimation, *args, lambda_=0.9, jit=jit),
        x["r"] - x["v"])

  def test_single_step(self):
    r, d, v, boot = [[1.]], [[.5]], [[2.]], [3.]
    self.assertAllClose(returns.discounted_returns(r, d, boot), [[2.5]])
    self.assertAllClose(returns.generalized_advantage_estimation(r, d, v, boot, lambda_=.9),
                        [[0.5]])
    self.assertAllClose(returns.n_step_returns(r, d, v, boot, n=5), [[2.5]])

  def test_float64(self):
    x = random_rollout(seed=14, dtype=np.float64)
    out = returns.lambda_returns(x["r"], x["d"], x["v"], x["boot"], lambda_=0.5)
    self.assertEqual(out.dtype, tf.float64)


class GradientTest(tf.test.TestCase):

  def test_gae_gradient_numeric(self):
    x = random_rollout(seed=21, num_steps=4, batch=2)

    def f(r, v, boot):
      return returns.generalized_advantage_estimation(
          r, tf.constant(x["d"]), v, boot, lambda_=0.8,
          truncations=x["trunc"], truncation_values=x["tv"])

    theoretical, numerical = tf.test.compute_gradient(
        f, [tf.constant(x["r"]), tf.constant(x["v"]), tf.constant(x["boot"])])
    for t, n in zip(theoretical, numerical):
      self.assertAllClose(t, n, atol=1e-6)

  def test_discounted_returns_gradient_analytic(self):
    # dG_0 / dr_k = prod_{j<k} d_j; dG_0 / d bootstrap = prod_j d_j.
    r = tf.constant([[1.], [2.], [3.]])
    d = tf.constant([[.9], [.8], [.7]])
    boot = tf.constant([5.])
    with tf.GradientTape() as tape:
      tape.watch([r, boot])
      g0 = returns.discounted_returns(r, d, boot)[0, 0]
    dr, dboot = tape.gradient(g0, [r, boot])
    self.assertAllClose(dr, [[1.], [.9], [.72]])
    self.assertAllClose(dboot, [.9 * .8 * .7])

  def test_n_step_gradient_numeric(self):
    x = random_rollout(seed=22, num_steps=4, batch=2)

    def f(r, v):
      return returns.n_step_returns(r, tf.constant(x["d"]), v, tf.constant(x["boot"]), n=2,
                                    truncations=x["trunc"], truncation_values=x["tv"])

    theoretical, numerical = tf.test.compute_gradient(
        f, [tf.constant(x["r"]), tf.constant(x["v"])])
    for t, n in zip(theoretical, numerical):
      self.assertAllClose(t, n, atol=1e-6)


class UnknownDimsTest(tf.test.TestCase):

  def test_all_functions_with_none_dims(self):
    s2, s1 = _testing.spec(2), _testing.spec(1)
    seq = [s2, s2, s2, s1, s2, s2]
    kw = lambda f, **k: _testing.with_unknown_dims(  # noqa: E731
        lambda r, d, v, b, tr, tv: f(r, d, v, b, truncations=tr, truncation_values=tv, **k),
        seq)
    args = (REWARDS, DISCOUNTS, VALUES, BOOTSTRAP, TRUNCATIONS, TRUNCATION_VALUES)
    self.assertAllClose(kw(returns.generalized_advantage_estimation, lambda_=LAMBDA)(*args),
                        EXPECTED_GAE)
    self.assertAllClose(kw(returns.lambda_returns, lambda_=LAMBDA)(*args),
                        EXPECTED_LAMBDA_RETURNS)
    self.assertAllClose(kw(returns.n_step_returns, n=2)(*args), EXPECTED_TWO_STEP)
    self.assertAllClose(kw(returns.td_error)(*args), EXPECTED_TD)
    disc = _testing.with_unknown_dims(
        lambda r, d, b, tr, tv: returns.discounted_returns(
            r, d, b, truncations=tr, truncation_values=tv), [s2, s2, s1, s2, s2])
    self.assertAllClose(disc(REWARDS, DISCOUNTS, BOOTSTRAP, TRUNCATIONS, TRUNCATION_VALUES),
                        EXPECTED_RETURNS)
    # A different batch size reuses the same signature.
    x = random_rollout(seed=3, num_steps=4, batch=6, dtype=np.float32)
    self.assertAllClose(
        kw(returns.td_error)(x["r"], x["d"], x["v"], x["boot"], x["trunc"], x["tv"]),
        np_td_error(x["r"], x["d"], x["v"], x["boot"], x["trunc"], x["tv"]))


class ArgumentErrorTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(
      ("discounted_returns", lambda: returns.discounted_returns(REWARDS[0], DISCOUNTS[0],
                                                                BOOTSTRAP)),
      ("td_error", lambda: returns.td_error(REWARDS, DISCOUNTS, VALUES[0], BOOTSTRAP)),
      ("n_step_returns", lambda: returns.n_step_returns(REWARDS, DISCOUNTS, VALUES, VALUES,
                                                        n=2)),
      ("generalized_advantage_estimation",
       lambda: returns.generalized_advantage_estimation(REWARDS[None], DISCOUNTS, VALUES,
                                                        BOOTSTRAP, lambda_=.9)),
      ("lambda_returns", lambda: returns.lambda_returns(REWARDS, DISCOUNTS[:2], VALUES,
                                                        BOOTSTRAP, lambda_=.9)),
      ("generalized_advantage_estimation_with_targets",
       lambda: returns.generalized_advantage_estimation_with_targets(
           REWARDS, DISCOUNTS, VALUES, BOOTSTRAP[:2], lambda_=.9)),
  )
  def test_shape_errors_name_the_function(self, name, call):
    with self.assertRaisesRegex(ValueError, f"^{name}: "):
      call()

  def test_truncation_arguments_go_together(self):
    with self.assertRaisesRegex(ValueError, "^generalized_advantage_estimation: .*together"):
      returns.generalized_advantage_estimation(*HAND, lambda_=.9, truncations=TRUNCATIONS)
    with self.assertRaisesRegex(ValueError, "^discounted_returns: .*together"):
      returns.discounted_returns(REWARDS, DISCOUNTS, BOOTSTRAP,
                                 truncation_values=TRUNCATION_VALUES)

  def test_bad_n(self):
    with self.assertRaisesRegex(ValueError, "^n_step_returns: "):
      returns.n_step_returns(*HAND, n=0)

  def test_rank_error_under_tf_function(self):
    f = tf.function(lambda r: returns.td_error(r, DISCOUNTS, VALUES, BOOTSTRAP),
                    input_signature=[_testing.spec(3)])
    with self.assertRaisesRegex(ValueError, "td_error: `rewards` must have rank 2"):
      f.get_concrete_function()


if __name__ == "__main__":
  absltest.main()
