"""Private argument checks shared by the loss modules (static shapes only, graph-safe)."""

from typing import List, Optional, Sequence, Tuple, Union

import tensorflow as tf


def check_rank(fn_name: str, arg_name: str, x: tf.Tensor,
               rank: Union[int, Tuple[int, ...]], layout: str = "") -> None:
  """Raises ValueError `'<fn_name>: ...'` when `x`'s static rank is known and not `rank`."""
  ranks = rank if isinstance(rank, tuple) else (rank,)
  if x.shape.rank is not None and x.shape.rank not in ranks:
    want = " or ".join(str(r) for r in ranks)
    layout = f" {layout}" if layout else ""
    raise ValueError(
        f"{fn_name}: `{arg_name}` must have rank {want}{layout}, got shape {x.shape}.")


def check_min_rank(fn_name: str, arg_name: str, x: tf.Tensor, rank: int,
                   layout: str = "") -> None:
  if x.shape.rank is not None and x.shape.rank < rank:
    layout = f" {layout}" if layout else ""
    raise ValueError(
        f"{fn_name}: `{arg_name}` must have rank >= {rank}{layout}, got shape {x.shape}.")


def check_same_shape(fn_name: str, names: Sequence[str],
                     tensors: Sequence[tf.Tensor]) -> None:
  """Raises ValueError when the static shapes of `tensors` are incompatible."""
  first = tensors[0].shape
  for name, t in zip(names[1:], tensors[1:]):
    if not t.shape.is_compatible_with(first):
      raise ValueError(
          f"{fn_name}: `{name}` has shape {t.shape}, incompatible with "
          f"`{names[0]}` of shape {first}.")


def check_scalar(fn_name: str, arg_name: str, x: tf.Tensor) -> None:
  if x.shape.rank is not None and x.shape.rank != 0:
    raise ValueError(f"{fn_name}: `{arg_name}` must be a scalar, got shape {x.shape}.")


def to_tensor(x, dtype: Optional[tf.DType] = None) -> tf.Tensor:
  """Converts `x` to a tensor, casting numeric Python/numpy values to `dtype`."""
  if isinstance(x, (tf.Tensor, tf.Variable)):
    if dtype is not None and x.dtype != dtype:
      raise TypeError(f"expected a {dtype.name} tensor, got {x.dtype.name}")
    return tf.convert_to_tensor(x)
  return tf.convert_to_tensor(x, dtype=dtype)


def to_float(fn_name: str, arg_name: str, x, dtype: tf.DType) -> tf.Tensor:
  """`to_tensor` with an error message naming the function and the argument."""
  try:
    return to_tensor(x, dtype)
  except (TypeError, ValueError) as e:
    raise TypeError(f"{fn_name}: `{arg_name}`: {e}") from None


def floats(fn_name: str, names: Sequence[str], xs: Sequence) -> List[tf.Tensor]:
  """`xs` as tensors of the first one's float dtype (errors name the function and argument)."""
  first = to_float(fn_name, names[0], xs[0], None)
  return [first] + [to_float(fn_name, n, x, first.dtype) for n, x in zip(names[1:], xs[1:])]


def same_shape_floats(fn_name: str, names: Sequence[str], xs: Sequence,
                      layout: str = "([T, B] or [B])") -> List[tf.Tensor]:
  """`floats(...)` of one shape, rank >= 1 (e.g. log-probabilities and advantages)."""
  tensors = floats(fn_name, names, xs)
  first = tensors[0]
  check_min_rank(fn_name, names[0], first, 1, layout)
  if first.shape.rank is not None:
    for name, t in zip(names[1:], tensors[1:]):
      check_rank(fn_name, name, t, first.shape.rank, f"(same as {names[0]})")
  check_same_shape(fn_name, names, tensors)
  return tensors


def batch_floats(fn_name: str, names: Sequence[str], xs: Sequence) -> List[tf.Tensor]:
  """`floats(...)` of one shape [B] (one-step quantities of a batch)."""
  tensors = floats(fn_name, names, xs)
  for name, x in zip(names, tensors):
    check_rank(fn_name, name, x, 1, "[B]")
  check_same_shape(fn_name, names, tensors)
  return tensors


def scalar_float(fn_name: str, arg_name: str, x, dtype: tf.DType) -> tf.Tensor:
  """`x` as a scalar tensor of `dtype`."""
  x = to_float(fn_name, arg_name, x, dtype)
  check_scalar(fn_name, arg_name, x)
  return x
