"""K-FAC for TensorFlow 2: Kronecker-factored natural-gradient steps, in eager, `tf.function` and
XLA.

Martens & Grosse 2015, "Optimizing Neural Networks with Kronecker-factored Approximate
Curvature", arXiv:1503.05671 (sections 3-4, the block-diagonal approximation), with the
trust-region step of ACKTR (Wu et al. 2017, "Scalable trust-region method for deep reinforcement
learning using Kronecker-factored approximation", arXiv:1708.05144, section 3.1).

For a dense layer s = W^T a + b (kernel W [n_in, n_out]) write a_bar = [a, 1] and g = dlog p(y|x)/ds
for y drawn from the model's own predictive distribution. The layer's block of the Fisher,
F = E[vec(a_bar g^T) vec(a_bar g^T)^T], is approximated by the Kronecker product of two small
factors,

    F ~ A (x) G,   A = E[a_bar a_bar^T]  ([n_in + 1]^2),   G = E[g g^T]  ([n_out]^2),

kept as running averages over batches, and the Fisher of the whole network by the block-diagonal
matrix of the layers' blocks. With eigendecompositions A = Q_A diag(e_A) Q_A^T and
G = Q_G diag(e_G) Q_G^T (recomputed every `inverse_every` statistics updates) the damped
natural gradient of a layer's stacked gradient Gamma = [dL/dW; dL/db] ([n_in + 1, n_out]) is
exact for A (x) G + lambda I:

    U = Q_A [ (Q_A^T Gamma Q_G) / (e_A e_G^T + lambda) ] Q_G^T.

Variables outside the registered layers (e.g. a free log-standard-deviation) take their plain
gradient (identity curvature). The step length is the trust region of ACKTR: with the
quadratic model of the KL, 0.5 eta^2 U^T F U <= delta, and U^T F U = U^T Gamma,

    eta = min(eta_max, sqrt(2 delta / sum U . Gamma)),

and the scaled steps pass through momentum as in the ACKTR reference implementation:
v <- mu v + (1 - mu) eta U, theta <- theta - v.

Use (any Keras model whose dense layers are `networks.kfac.Dense`; every network built by
`networks/` is):

    optimizer = kfac.KFAC(model.trainable_variables, kfac.dense_layers(model),
                          learning_rate=0.25)
    with tf.GradientTape(persistent=True) as tape:
      with optimizer.capture(tape) as capture:
        distribution = model(x)
      loss = ...
      # Log-likelihood of a sample from the model itself, summed over the batch.
      sampled = tf.reduce_sum(distribution.log_prob(tf.stop_gradient(distribution.sample())))
    optimizer.update_statistics(capture, tape.gradient(sampled, capture.perturbations))
    metrics = optimizer.apply_gradients(tape.gradient(loss, model.trainable_variables))
    optimizer.refresh_inverses()  # Every `inverse_every` updates; used from the next step.

A layer called more than once inside one capture contributes each call's examples to its
factors. Only rank-2 kernels (dense layers) are supported; other layers' variables are treated as
unregistered.
"""

import contextlib
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Union

import tensorflow as tf


class Dense(tf.keras.layers.Dense):
  """`tf.keras.layers.Dense` that K-FAC can read: identical outside a `KFAC.capture`.

  Inside a capture the layer records its inputs a [N, n_in] and adds a zero tensor to its
  pre-activations s (watched by the capture's tape), so the gradient of any scalar with respect
  to that tensor is its gradient with respect to s, per example.
  """

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self._kfac_capture: Optional['Capture'] = None

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    capture = self._kfac_capture
    if capture is None:
      return super().call(inputs)
    inputs = tf.cast(inputs, self.compute_dtype)
    leading = tf.shape(inputs)[:-1]
    flat = tf.reshape(inputs, [-1, self.kernel.shape[0]])
    outputs = tf.matmul(flat, self.kernel)
    if self.use_bias:
      outputs = outputs + self.bias
    outputs = capture.record(self, flat, outputs)
    outputs = tf.reshape(outputs, tf.concat([leading, [self.units]], axis=0))
    if self.activation is not None:
      outputs = self.activation(outputs)
    return outputs


def dense_layers(model: tf.Module) -> List[Dense]:
  """The `Dense` layers inside `model` (built ones), in a fixed order."""
  layers = [m for m in model.submodules if isinstance(m, Dense)]
  return [layer for layer in layers if layer.built]


class Capture:
  """What one forward pass inside `KFAC.capture` recorded.

  Attributes:
    perturbations: the zero tensors added to each recorded call's pre-activations; pass
      `tape.gradient(sampled_log_likelihood, capture.perturbations)` to `update_statistics`.
  """

  def __init__(self, tape: tf.GradientTape, layers: Sequence[Dense]):
    self._tape = tape
    # Keras may also call a layer in a scratch graph of its own (e.g. a Sequential model
    # inferring shapes); only calls in the graph the capture was opened in are recorded.
    self._graph = tf.compat.v1.get_default_graph()
    self._index = {id(layer): i for i, layer in enumerate(layers)}
    self.calls: List[tuple] = []  # (layer index, inputs [N, n_in])
    self.perturbations: List[tf.Tensor] = []

  def record(self, layer: Dense, inputs: tf.Tensor, outputs: tf.Tensor) -> tf.Tensor:
    """Notes a call of `layer` on `inputs` [N, n_in]; returns its pre-activations `outputs`
    [N, n_out] plus a watched zero tensor."""
    if tf.compat.v1.get_default_graph() is not self._graph:
      return outputs
    perturbation = tf.zeros_like(outputs)
    self._tape.watch(perturbation)
    self.calls.append((self._index[id(layer)], tf.stop_gradient(inputs)))
    self.perturbations.append(perturbation)
    return outputs + perturbation


class KFAC(tf.Module):
  """The K-FAC optimizer with ACKTR's trust region (see the module docstring for the math).

  Args:
    variables: every variable the optimizer updates (e.g. `model.trainable_variables`).
    layers: the `Dense` layers whose kernels (and biases) get Kronecker-factored curvature;
      each must own variables in `variables`.
    learning_rate: eta_max, a float or a zero-argument callable returning it (a schedule).
    momentum: mu of the moving average of the scaled steps.
    damping: lambda, Tikhonov damping added to the eigenvalues of A (x) G.
    stat_decay: decay of the running averages of A and G (the first batch is taken whole).
    trust_region: delta, the bound on the quadratic model of the KL per step (0: no bound).
    inverse_every: `refresh_inverses` recomputes the eigendecompositions once this many
      statistics updates have passed since it last did.
    name: the module's name.

  Raises:
    ValueError: for a layer that is not built, not in `variables`, or a bad hyper-parameter.
  """

  def __init__(self, variables: Sequence[tf.Variable], layers: Sequence[Dense], *,
               learning_rate: Union[float, Callable[[], tf.Tensor]] = 0.25,
               momentum: float = 0.9, damping: float = 1e-2, stat_decay: float = 0.99,
               trust_region: float = 1e-3, inverse_every: int = 1, name: str = 'kfac'):
    super().__init__(name=name)
    if not 0.0 <= momentum < 1.0:
      raise ValueError(f'KFAC: momentum must be in [0, 1), got {momentum}')
    if not 0.0 <= stat_decay < 1.0:
      raise ValueError(f'KFAC: stat_decay must be in [0, 1), got {stat_decay}')
    if damping < 0.0 or trust_region < 0.0:
      raise ValueError(f'KFAC: damping and trust_region must be >= 0, got {damping} and '
                       f'{trust_region}')
    if isinstance(inverse_every, bool) or int(inverse_every) != inverse_every or (
        inverse_every < 1):
      raise ValueError(f'KFAC: inverse_every must be an integer >= 1, got {inverse_every}')
    self._variables = list(variables)
    self._learning_rate = learning_rate
    self._momentum = float(momentum)
    self._damping = float(damping)
    self._stat_decay = float(stat_decay)
    self._trust_region = float(trust_region)
    self._inverse_every = int(inverse_every)
    positions = {v.ref(): i for i, v in enumerate(self._variables)}
    self._layers = list(layers)
    self._kernel_index: List[int] = []
    self._bias_index: List[Optional[int]] = []
    for layer in self._layers:
      if not isinstance(layer, Dense) or not layer.built:
        raise ValueError(f'KFAC: {layer!r} must be a built networks.kfac.Dense layer')
      if layer.kernel.ref() not in positions:
        raise ValueError(f'KFAC: the kernel of layer {layer.name!r} is not among `variables`')
      self._kernel_index.append(positions[layer.kernel.ref()])
      self._bias_index.append(positions.get(layer.bias.ref()) if layer.use_bias else None)
    with tf.name_scope(name):
      self.statistics_count = tf.Variable(0, dtype=tf.int64, trainable=False,
                                          name='statistics_count')
      self.inverse_count = tf.Variable(0, dtype=tf.int64, trainable=False,
                                       name='inverse_count')
      self.refreshed_at = tf.Variable(0, dtype=tf.int64, trainable=False, name='refreshed_at')
      self.factors_a, self.factors_g = [], []
      self.eigenvalues_a, self.eigenvectors_a = [], []
      self.eigenvalues_g, self.eigenvectors_g = [], []
      for layer in self._layers:
        n_in = layer.kernel.shape[0] + (1 if layer.use_bias else 0)
        n_out = layer.kernel.shape[1]
        for size, factors, values, vectors in (
            (n_in, self.factors_a, self.eigenvalues_a, self.eigenvectors_a),
            (n_out, self.factors_g, self.eigenvalues_g, self.eigenvectors_g)):
          factors.append(tf.Variable(tf.zeros([size, size]), trainable=False))
          values.append(tf.Variable(tf.zeros([size]), trainable=False))
          vectors.append(tf.Variable(tf.eye(size), trainable=False))
      self.velocities = [tf.Variable(tf.zeros_like(v), trainable=False)
                         for v in self._variables]

  @contextlib.contextmanager
  def capture(self, tape: tf.GradientTape) -> Iterator[Capture]:
    """Records the registered layers' inputs and pre-activation perturbations of the forward
    passes run inside it (under `tape`, which must be recording)."""
    capture = Capture(tape, self._layers)
    for layer in self._layers:
      layer._kfac_capture = capture  # pylint: disable=protected-access
    try:
      yield capture
    finally:
      for layer in self._layers:
        layer._kfac_capture = None  # pylint: disable=protected-access

  def learning_rate(self) -> tf.Tensor:
    """eta_max now (the schedule evaluated, if it is one)."""
    rate = self._learning_rate
    return tf.convert_to_tensor(rate() if callable(rate) else rate, tf.float32)

  def batch_factors(self, capture: Capture, output_gradients: Sequence[tf.Tensor]):
    """This batch's factors per layer: A = a_bar^T a_bar / N, G = g^T g / N.

    Args:
      capture: the capture of the forward pass.
      output_gradients: per recorded call, d(sum of sampled log-likelihoods)/ds [N, n_out].

    Returns:
      (list of A [n_in + 1, n_in + 1], list of G [n_out, n_out]), one per layer.
    """
    if len(output_gradients) != len(capture.calls):
      raise ValueError(f'KFAC: {len(output_gradients)} output gradients for '
                       f'{len(capture.calls)} recorded layer calls')
    inputs: List[List[tf.Tensor]] = [[] for _ in self._layers]
    grads: List[List[tf.Tensor]] = [[] for _ in self._layers]
    for (index, layer_inputs), gradient in zip(capture.calls, output_gradients):
      if gradient is None:
        gradient = tf.zeros([tf.shape(layer_inputs)[0], self._layers[index].units])
      if self._layers[index].use_bias:
        layer_inputs = tf.concat([layer_inputs, tf.ones_like(layer_inputs[:, :1])], axis=1)
      inputs[index].append(layer_inputs)
      grads[index].append(gradient)
    factors_a, factors_g = [], []
    for index, layer in enumerate(self._layers):
      if not inputs[index]:
        raise ValueError(f'KFAC: layer {layer.name!r} was not called inside the capture')
      a = tf.concat(inputs[index], axis=0)
      g = tf.concat(grads[index], axis=0)
      count = tf.cast(tf.shape(a)[0], a.dtype)
      factors_a.append(tf.matmul(a, a, transpose_a=True) / count)
      factors_g.append(tf.matmul(g, g, transpose_a=True) / count)
    return factors_a, factors_g

  def update_statistics(self, capture: Capture,
                        output_gradients: Sequence[tf.Tensor]) -> tf.Tensor:
    """Moves the running factors toward this batch's (then call `refresh_inverses`). A batch
    with a non-finite factor leaves every factor as it was.

    Args:
      capture: the capture of the forward pass.
      output_gradients: `tape.gradient(sampled_log_likelihood, capture.perturbations)`, where
        the log-likelihood of outputs sampled from the model is summed over the batch.

    Returns:
      Whether the batch's factors were finite (bool scalar).
    """
    factors_a, factors_g = self.batch_factors(capture, output_gradients)
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(f))
                            for f in factors_a + factors_g])
    count = tf.cast(self.statistics_count, tf.float32)
    decay = tf.minimum(self._stat_decay, count / (count + 1.0))
    decay = tf.where(finite, decay, 1.0)
    for running, batch in zip(self.factors_a + self.factors_g, factors_a + factors_g):
      batch = tf.where(finite, batch, tf.zeros_like(batch))
      running.assign(decay * running + (1.0 - decay) * batch)
    self.statistics_count.assign_add(tf.cast(finite, tf.int64))
    return finite

  def refresh_inverses(self) -> tf.Tensor:
    """Recomputes the eigendecompositions of the factors if `inverse_every` statistics updates
    have passed since the last time (or none was ever made and there are statistics).

    Call it after `update_statistics`, outside XLA if the step is compiled: XLA's CPU
    eigendecomposition is about ten times slower than LAPACK's (a 65 x 65 factor: 4 ms against
    0.4 ms on the development machine), so a compiled update followed by an uncompiled refresh
    is the fast arrangement; the next `apply_gradients` then uses the refreshed inverses.

    Returns:
      Whether it refreshed (bool scalar).
    """
    due = tf.logical_and(self.statistics_count > 0, tf.logical_or(
        tf.equal(self.inverse_count, 0),
        self.statistics_count - self.refreshed_at >= self._inverse_every))
    tf.cond(due, self._refresh_eigendecompositions, tf.no_op)
    return due

  def _refresh_eigendecompositions(self) -> tf.Operation:
    updates = []
    for factors, values, vectors in (
        (self.factors_a, self.eigenvalues_a, self.eigenvectors_a),
        (self.factors_g, self.eigenvalues_g, self.eigenvectors_g)):
      for factor, value, vector in zip(factors, values, vectors):
        e, q = tf.linalg.eigh(0.5 * (factor + tf.transpose(factor)))
        updates += [value.assign(tf.maximum(e, 0.0)), vector.assign(q)]
    with tf.control_dependencies(updates):
      return tf.group(self.inverse_count.assign_add(1),
                      self.refreshed_at.assign(self.statistics_count))

  def precondition(self, gradients: Sequence[tf.Tensor]) -> List[tf.Tensor]:
    """U = (A (x) G + lambda I)^-1 Gamma per registered layer; other gradients pass as they are.

    Args:
      gradients: one per variable of the optimizer, in its order.

    Returns:
      The preconditioned gradients, same order and shapes.
    """
    updates = list(gradients)
    for index, layer in enumerate(self._layers):
      kernel_index, bias_index = self._kernel_index[index], self._bias_index[index]
      stacked = gradients[kernel_index]
      if bias_index is not None:
        stacked = tf.concat([stacked, gradients[bias_index][tf.newaxis]], axis=0)
      q_a, q_g = self.eigenvectors_a[index], self.eigenvectors_g[index]
      rotated = tf.matmul(tf.matmul(q_a, stacked, transpose_a=True), q_g)
      scale = self.eigenvalues_a[index][:, tf.newaxis] * self.eigenvalues_g[index][tf.newaxis]
      rotated = rotated / (scale + self._damping)
      natural = tf.matmul(tf.matmul(q_a, rotated), q_g, transpose_b=True)
      n_in = layer.kernel.shape[0]
      updates[kernel_index] = natural[:n_in]
      if bias_index is not None:
        updates[bias_index] = natural[n_in]
    return updates

  def apply_gradients(self, gradients: Sequence[tf.Tensor]) -> Dict[str, tf.Tensor]:
    """One K-FAC step: precondition, scale into the trust region, momentum, update.

    A gradient with a NaN or an infinity moves nothing but the momentum's remainder (it is
    replaced by zeros), so every variable stays finite.

    Args:
      gradients: dL/dtheta, one per variable of the optimizer, in its order.

    Returns:
      {'step_size': eta used, 'quadratic': U^T F U = sum U . Gamma (the KL model is
      0.5 eta^2 of it)}.
    """
    if len(gradients) != len(self._variables):
      raise ValueError(f'KFAC: {len(gradients)} gradients for {len(self._variables)} '
                       'variables')
    gradients = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                 for g, v in zip(gradients, self._variables)]
    finite = tf.math.is_finite(tf.linalg.global_norm(gradients))
    gradients = [tf.where(finite, g, tf.zeros_like(g)) for g in gradients]
    # Plain gradient steps until the first eigendecompositions.
    updates = tf.cond(self.inverse_count > 0, lambda: self.precondition(gradients),
                      lambda: list(gradients))
    quadratic = tf.add_n([tf.reduce_sum(u * g) for u, g in zip(updates, gradients)])
    step_size = self.learning_rate()
    if self._trust_region > 0:
      bound = tf.sqrt(2.0 * self._trust_region / tf.maximum(quadratic, 1e-30))
      step_size = tf.minimum(step_size, bound)
    for variable, velocity, update in zip(self._variables, self.velocities, updates):
      velocity.assign(self._momentum * velocity + (1.0 - self._momentum) * step_size * update)
      variable.assign_sub(velocity)
    return {'step_size': step_size, 'quadratic': quadratic}
