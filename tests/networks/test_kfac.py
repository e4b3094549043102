"""K-FAC (networks/kfac.py) against explicit Fisher matrices computed in numpy."""

import os
import re

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from networks import kfac


def _two_layer(seed=0):
  """tanh hidden layer (3 -> 4) and a linear output layer (4 -> 2), built."""
  hidden = kfac.Dense(4, activation='tanh', name='hidden',
                      kernel_initializer=tf.keras.initializers.GlorotNormal(seed),
                      bias_initializer=tf.keras.initializers.RandomNormal(seed=seed + 1))
  output = kfac.Dense(2, name='output',
                      kernel_initializer=tf.keras.initializers.GlorotNormal(seed + 2),
                      bias_initializer=tf.keras.initializers.RandomNormal(seed=seed + 3))
  model = tf.keras.Sequential([hidden, output])
  model(tf.zeros([1, 3]))
  return model, hidden, output


def _per_example_output_gradients(x, coefficients, hidden, output):
  """numpy: d(sum_i c_i . s2_i)/ds per example, for both layers, and their inputs."""
  w1, b1 = hidden.kernel.numpy(), hidden.bias.numpy()
  w2 = output.kernel.numpy()
  h = np.tanh(x @ w1 + b1)
  g2 = coefficients
  g1 = (coefficients @ w2.T) * (1.0 - h ** 2)
  return [(x, g1), (h, g2)]


def _capture_and_update(optimizer, model, x, coefficients):
  with tf.GradientTape(persistent=True) as tape:
    with optimizer.capture(tape) as capture:
      outputs = model(x)
    sampled = tf.reduce_sum(coefficients * outputs)
  optimizer.update_statistics(capture, tape.gradient(sampled, capture.perturbations))
  optimizer.refresh_inverses()


def _with_bias(a):
  return np.concatenate([a, np.ones([a.shape[0], 1], a.dtype)], axis=1)


class KFACTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    self.x = rng.normal(size=[16, 3]).astype(np.float32)
    self.coefficients = rng.normal(size=[16, 2]).astype(np.float32)

  def test_dense_is_keras_dense_outside_and_inside_a_capture(self):
    model, hidden, output = _two_layer()
    reference = np.tanh(self.x @ hidden.kernel.numpy() + hidden.bias.numpy())
    reference = reference @ output.kernel.numpy() + output.bias.numpy()
    self.assertAllClose(model(self.x), reference, atol=1e-5)
    optimizer = kfac.KFAC(model.trainable_variables, [hidden, output])
    with tf.GradientTape() as tape:
      with optimizer.capture(tape) as capture:
        inside = model(self.x)
    self.assertAllClose(inside, reference, atol=1e-5)
    self.assertLen(capture.perturbations, 2)
    self.assertIsNone(hidden._kfac_capture)  # pylint: disable=protected-access

  def test_factors_equal_the_explicit_expectations(self):
    model, hidden, output = _two_layer()
    layers = kfac.dense_layers(model)
    self.assertCountEqual([layer.name for layer in layers], ['hidden', 'output'])
    optimizer = kfac.KFAC(model.trainable_variables, layers)
    _capture_and_update(optimizer, model, self.x, self.coefficients)
    for layer, (a, g) in zip((hidden, output), _per_example_output_gradients(
        self.x, self.coefficients, hidden, output)):
      index = layers.index(layer)
      a_bar = _with_bias(a)
      expected_a = np.mean([np.outer(v, v) for v in a_bar], axis=0)
      expected_g = np.mean([np.outer(v, v) for v in g], axis=0)
      self.assertAllClose(optimizer.factors_a[index], expected_a, atol=1e-5)
      self.assertAllClose(optimizer.factors_g[index], expected_g, atol=1e-5)

  def test_running_average_takes_the_first_batch_whole_then_decays(self):
    model, hidden, output = _two_layer()
    optimizer = kfac.KFAC(model.trainable_variables, [hidden, output], stat_decay=0.9)
    second = self.coefficients[::-1].copy()
    _capture_and_update(optimizer, model, self.x, self.coefficients)
    first_g = optimizer.factors_g[1].numpy()
    _capture_and_update(optimizer, model, self.x, second)
    expected = 0.5 * first_g + 0.5 * np.mean([np.outer(v, v) for v in second], axis=0)
    self.assertAllClose(optimizer.factors_g[1], expected, atol=1e-5)  # decay min(0.9, 1/2)
    _capture_and_update(optimizer, model, self.x, self.coefficients)
    expected = 2 / 3 * expected + 1 / 3 * first_g
    self.assertAllClose(optimizer.factors_g[1], expected, atol=1e-5)  # min(0.9, 2/3)

  def test_direction_is_the_damped_block_diagonal_kronecker_inverse(self):
    model, hidden, output = _two_layer()
    damping = 0.03
    variables = model.trainable_variables
    optimizer = kfac.KFAC(variables, [hidden, output], damping=damping)
    _capture_and_update(optimizer, model, self.x, self.coefficients)
    rng = np.random.default_rng(1)
    gradients = [rng.normal(size=v.shape).astype(np.float32) for v in variables]
    updates = optimizer.precondition([tf.constant(g) for g in gradients])
    for index, layer in enumerate((hidden, output)):
      a = optimizer.factors_a[index].numpy().astype(np.float64)
      g = optimizer.factors_g[index].numpy().astype(np.float64)
      kernel = [i for i, v in enumerate(variables) if v is layer.kernel][0]
      bias = [i for i, v in enumerate(variables) if v is layer.bias][0]
      stacked = np.concatenate([gradients[kernel], gradients[bias][None]], axis=0)
      fisher = np.kron(a, g) + damping * np.eye(a.shape[0] * g.shape[0])
      expected = np.linalg.solve(fisher, stacked.reshape(-1)).reshape(stacked.shape)
      self.assertAllClose(updates[kernel], expected[:-1], rtol=1e-3, atol=1e-4)
      self.assertAllClose(updates[bias], expected[-1], rtol=1e-3, atol=1e-4)

  def test_one_step_solves_least_squares(self):
    # For y = W^T x + b with Gaussian noise of unit variance, the Fisher of a single layer is
    # exactly E[x_bar x_bar^T] (x) I: K-FAC is exact, and with a unit step it is the
    # Gauss-Newton (here Newton) step, which lands on the least-squares solution. Output
    # gradients of +-1 (a Rademacher sample of y - s) make G = 1 exactly.
    rng = np.random.default_rng(2)
    x = rng.normal(size=[64, 3]).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.normal(size=[64, 1])).astype(
        np.float32)
    layer = kfac.Dense(1, name='linear')
    layer(tf.zeros([1, 3]))
    variables = [layer.kernel, layer.bias]
    optimizer = kfac.KFAC(variables, [layer], learning_rate=1.0, momentum=0.0, damping=0.0,
                          trust_region=0.0)
    signs = np.where(rng.random([64, 1]) < 0.5, -1.0, 1.0).astype(np.float32)
    with tf.GradientTape(persistent=True) as tape:
      with optimizer.capture(tape) as capture:
        prediction = layer(x)
      loss = 0.5 * tf.reduce_mean(tf.square(prediction - y))
      sampled = tf.reduce_sum(signs * prediction)
    optimizer.update_statistics(capture, tape.gradient(sampled, capture.perturbations))
    optimizer.refresh_inverses()
    gradients = tape.gradient(loss, variables)
    x_bar = _with_bias(x).astype(np.float64)
    exact_fisher = x_bar.T @ x_bar / len(x)
    natural = np.linalg.solve(exact_fisher, np.concatenate(
        [gradients[0].numpy()[:, 0], gradients[1].numpy()]))
    updates = optimizer.precondition(gradients)
    self.assertAllClose(np.concatenate([updates[0][:, 0], updates[1]]), natural, atol=1e-4)
    optimizer.apply_gradients(gradients)
    solution = np.linalg.lstsq(x_bar, y.astype(np.float64), rcond=None)[0][:, 0]
    self.assertAllClose(np.concatenate([layer.kernel.numpy()[:, 0], layer.bias.numpy()]),
                        solution, atol=1e-4)

  def test_trust_region_bounds_the_quadratic_kl(self):
    model, hidden, output = _two_layer()
    variables = model.trainable_variables
    before = [v.numpy() for v in variables]
    delta = 1e-4
    optimizer = kfac.KFAC(variables, [hidden, output], learning_rate=10.0, momentum=0.0,
                          trust_region=delta)
    _capture_and_update(optimizer, model, self.x, self.coefficients)
    gradients = [tf.ones_like(v) for v in variables]
    metrics = optimizer.apply_gradients(gradients)
    self.assertAllClose(0.5 * metrics['step_size'] ** 2 * metrics['quadratic'], delta,
                        rtol=1e-4)
    # The step taken is eta U, and U^T Gamma is the quadratic term reported.
    updates = optimizer.precondition(gradients)
    for variable, old, update in zip(variables, before, updates):
      self.assertAllClose(variable, old - metrics['step_size'] * update, atol=1e-5)
    # A loose region leaves eta_max.
    loose = kfac.KFAC(variables, [hidden, output], learning_rate=1e-3, trust_region=10.0)
    _capture_and_update(loose, model, self.x, self.coefficients)
    self.assertAllClose(loose.apply_gradients(gradients)['step_size'], 1e-3)

  def test_momentum_averages_the_scaled_steps(self):
    layer = kfac.Dense(1)
    layer(tf.zeros([1, 2]))
    variables = [layer.kernel, layer.bias]
    optimizer = kfac.KFAC(variables, [], learning_rate=0.1, momentum=0.5, trust_region=0.0)
    start = layer.bias.numpy()
    gradient = [tf.zeros([2, 1]), tf.ones([1])]
    optimizer.apply_gradients(gradient)  # v = 0.5 * 0.1
    optimizer.apply_gradients(gradient)  # v = 0.5 * 0.05 + 0.05
    self.assertAllClose(layer.bias, start - 0.05 - 0.075)

  def test_layer_called_twice_contributes_both_calls(self):
    layer = kfac.Dense(2, name='shared')
    layer(tf.zeros([1, 3]))
    optimizer = kfac.KFAC([layer.kernel, layer.bias], [layer])
    x1, x2 = self.x[:5], self.x[5:]
    with tf.GradientTape(persistent=True) as tape:
      with optimizer.capture(tape) as capture:
        total = tf.reduce_sum(layer(x1)) + 2.0 * tf.reduce_sum(layer(x2))
    optimizer.update_statistics(capture, tape.gradient(total, capture.perturbations))
    a_bar = _with_bias(self.x)
    self.assertAllClose(optimizer.factors_a[0], a_bar.T @ a_bar / 16, atol=1e-5)
    g = np.concatenate([np.ones([5, 2]), 2 * np.ones([11, 2])])
    self.assertAllClose(optimizer.factors_g[0], g.T @ g / 16, atol=1e-5)

  def test_non_finite_statistics_and_gradients_change_nothing(self):
    model, hidden, output = _two_layer()
    variables = model.trainable_variables
    optimizer = kfac.KFAC(variables, [hidden, output])
    _capture_and_update(optimizer, model, self.x, self.coefficients)
    factors = [f.numpy() for f in optimizer.factors_a + optimizer.factors_g]
    bad = self.coefficients.copy()
    bad[3, 1] = np.nan
    _capture_and_update(optimizer, model, self.x, bad)
    for old, new in zip(factors, optimizer.factors_a + optimizer.factors_g):
      self.assertAllEqual(old, new)
    self.assertEqual(int(optimizer.statistics_count), 1)
    before = [v.numpy() for v in variables]
    gradients = [tf.fill(v.shape, np.nan) for v in variables]
    optimizer.apply_gradients(gradients)
    for old, variable in zip(before, variables):
      self.assertAllEqual(old, variable)

  def test_inverses_are_refreshed_every_inverse_every_statistics_updates(self):
    model, hidden, output = _two_layer()
    optimizer = kfac.KFAC(model.trainable_variables, [hidden, output], inverse_every=3)
    refreshed = []
    for step in range(7):
      coefficients = np.roll(self.coefficients, step, axis=0)
      with tf.GradientTape(persistent=True) as tape:
        with optimizer.capture(tape) as capture:
          outputs = model(self.x)
        sampled = tf.reduce_sum(coefficients * outputs)
      optimizer.update_statistics(capture, tape.gradient(sampled, capture.perturbations))
      refreshed.append(bool(optimizer.refresh_inverses()))
    self.assertEqual(refreshed, [True, False, False, True, False, False, True])
    e, q = np.linalg.eigh(optimizer.factors_g[1].numpy())
    self.assertAllClose(optimizer.eigenvalues_g[1], np.maximum(e, 0), atol=1e-5)

  def test_plain_gradient_before_any_statistics(self):
    layer = kfac.Dense(1)
    layer(tf.zeros([1, 2]))
    variables = [layer.kernel, layer.bias]
    optimizer = kfac.KFAC(variables, [layer], learning_rate=0.1, momentum=0.0,
                          trust_region=0.0)
    start = [v.numpy() for v in variables]
    optimizer.apply_gradients([tf.ones([2, 1]), tf.ones([1])])
    self.assertAllClose(layer.kernel, start[0] - 0.1)
    self.assertAllClose(layer.bias, start[1] - 0.1)

  @parameterized.parameters(False, True)
  def test_compiled_step_matches_eager(self, jit_compile):
    results = []
    for compiled in (False, True):
      model, hidden, output = _two_layer(seed=5)
      variables = model.trainable_variables
      optimizer = kfac.KFAC(variables, [hidden, output], inverse_every=2)
      x, coefficients = tf.constant(self.x), tf.constant(self.coefficients)

      def step():
        with tf.GradientTape(persistent=True) as tape:
          with optimizer.capture(tape) as capture:
            outputs = model(x)
          loss = tf.reduce_mean(tf.square(outputs))
          sampled = tf.reduce_sum(coefficients * outputs)
        optimizer.update_statistics(capture, tape.gradient(sampled, capture.perturbations))
        metrics = optimizer.apply_gradients(tape.gradient(loss, variables))
        optimizer.refresh_inverses()
        return metrics

      if compiled:
        step = tf.function(step, jit_compile=jit_compile, autograph=False)
      for _ in range(3):
        step()
      results.append([v.numpy() for v in variables])
    for eager, compiled in zip(*results):
      self.assertAllClose(eager, compiled, atol=1e-5)

  def test_bad_arguments(self):
    layer = kfac.Dense(1)
    layer(tf.zeros([1, 2]))
    with self.assertRaisesRegex(ValueError, 'not among `variables`'):
      kfac.KFAC([layer.bias], [layer])
    with self.assertRaisesRegex(ValueError, 'momentum'):
      kfac.KFAC([layer.kernel, layer.bias], [layer], momentum=1.0)
    with self.assertRaisesRegex(ValueError, 'inverse_every'):
      kfac.KFAC([layer.kernel, layer.bias], [layer], inverse_every=0)
    with self.assertRaisesRegex(ValueError, 'built'):
      kfac.KFAC([layer.kernel, layer.bias], [kfac.Dense(3)])

  def test_readme_example_trains(self):
    readme = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'README.md')
    with open(readme) as f:
      text = f.read()
    section = text[text.index('## Using K-FAC in your own project'):]
    code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    namespace = {'print': lambda *a, **k: None}
    exec(code, namespace)  # pylint: disable=exec-used
    self.assertLess(float(namespace['loss']), 0.2)  # Chance: log 3 = 1.1.


if __name__ == '__main__':
  tf.test.main()
