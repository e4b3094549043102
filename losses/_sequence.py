"""Private helpers for time-major `[T, B]` sequence functions (returns, off-policy)."""

import tensorflow as tf

from losses import _checks


def prepare(fn_name, rewards, discounts, values, bootstrap_value, truncations,
            truncation_values):
  """Converts and checks the common sequence arguments.

  Returns (rewards, discounts, values, bootstrap_value, truncated, truncation_values) with
  `truncated` a `[T, B]` bool tensor or None; `values` is None when not given.
  """
  rewards = _checks.to_float(fn_name, "rewards", rewards, None)
  dtype = rewards.dtype
  discounts = _checks.to_float(fn_name, "discounts", discounts, dtype)
  bootstrap_value = _checks.to_float(fn_name, "bootstrap_value", bootstrap_value, dtype)
  _checks.check_rank(fn_name, "rewards", rewards, 2, "[T, B]")
  _checks.check_rank(fn_name, "discounts", discounts, 2, "[T, B]")
  _checks.check_rank(fn_name, "bootstrap_value", bootstrap_value, 1, "[B]")
  names, tensors = ["rewards", "discounts"], [rewards, discounts]
  if values is not None:
    values = _checks.to_float(fn_name, "values", values, dtype)
    _checks.check_rank(fn_name, "values", values, 2, "[T, B]")
    names.append("values")
    tensors.append(values)
  if (truncations is None) != (truncation_values is None):
    raise ValueError(
        f"{fn_name}: `truncations` and `truncation_values` must be given together.")
  truncated = None
  if truncations is not None:
    truncations = tf.convert_to_tensor(truncations)
    truncation_values = _checks.to_float(fn_name, "truncation_values", truncation_values,
                                         dtype)
    _checks.check_rank(fn_name, "truncations", truncations, 2, "[T, B]")
    _checks.check_rank(fn_name, "truncation_values", truncation_values, 2, "[T, B]")
    names += ["truncations", "truncation_values"]
    tensors += [truncations, truncation_values]
    truncated = tf.cast(truncations, tf.bool)
  _checks.check_same_shape(fn_name, names, tensors)
  if not bootstrap_value.shape.is_compatible_with(rewards.shape[1:]):
    raise ValueError(
        f"{fn_name}: `bootstrap_value` has shape {bootstrap_value.shape}, expected [B] with "
        f"B from `rewards` of shape {rewards.shape}.")
  return rewards, discounts, values, bootstrap_value, truncated, truncation_values


def shift_in(x: tf.Tensor, last: tf.Tensor) -> tf.Tensor:
  """`y[t] = x[t + 1]` for `t < T - 1` and `y[T - 1] = last`."""
  return tf.concat([x[1:], last[tf.newaxis]], axis=0)


def next_values(values, bootstrap_value, truncated, truncation_values):
  """`V(s_{t+1})` per step: the next value, the bootstrap at the end, the real final value at a
  truncation."""
  next_values = shift_in(values, bootstrap_value)
  if truncated is not None:
    next_values = tf.where(truncated, truncation_values, next_values)
  return next_values


def continuation(discounts, truncated):
  """Factor that carries a quantity from `t + 1` back to `t`: 0 at a truncation."""
  if truncated is None:
    return discounts
  return tf.where(truncated, tf.zeros_like(discounts), discounts)


def reverse_accumulate(x: tf.Tensor, coef: tf.Tensor, init: tf.Tensor) -> tf.Tensor:
  """`y[t] = x[t] + coef[t] * y[t + 1]` with `y[T] = init`, by a reverse `tf.scan`."""
  return tf.scan(lambda acc, elems: elems[0] + elems[1] * acc, (x, coef), initializer=init,
                 reverse=True)
