"""Aggregate scores of many runs, with stratified bootstrap confidence intervals.

The definitions are those of Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of
the Statistical Precipice" (arXiv:2108.13264), as the `rliable` library (1.2.0) computes them.
Scores are a matrix `[num_runs, num_tasks]`: `scores[n, m]` is run n's score on task m (one
task, e.g. the seeds of one benchmark: `[num_runs, 1]`; a 1-D array is taken as that).

Aggregates (each maps `[..., runs, tasks]` to `[...]`, so one call scores many resamples):
  mean:        (1/M) sum_m (1/N) sum_n x[n, m]          the mean of the per-task means.
  median:      median_m (1/N) sum_n x[n, m]             the median of the per-task means
               (rliable's `aggregate_median`; with one task it equals the mean).
  iqm:         the interquartile mean: the mean of the N*M scores, all runs and tasks pooled,
               left after dropping the int(0.25 * N*M) lowest and as many highest ones
               (`scipy.stats.trim_mean(x, 0.25, axis=None)`, rliable's `aggregate_iqm`;
               with 3 runs of one task nothing is dropped, with 4 or 5 one each side).
  run_median:  the median of the N*M pooled scores (with one task: the median over seeds,
               the statistic a table of seeds means by "median").

Confidence intervals (rliable's `get_interval_estimates`, method 'percentile'): each of
`reps` resamples draws, independently for every (run slot n, task m), a run index uniformly
with replacement from the task's N runs (`x*[n, m] = x[i[n, m], m]`): runs are resampled
within each task, every task keeps its N runs, tasks are never resampled. The aggregate of
each resample is computed, and the interval is the (1 - size)/2 and (1 + size)/2 percentiles
of those values (numpy's linear interpolation). rliable draws the indices with
`np.random.choice(N, (N, M))` from numpy's global legacy generator, one resample after the
other; passing `rng=np.random.RandomState(s)` here draws the same indices as rliable does
after `np.random.seed(s)`, so the intervals agree to the last bit. The default `rng` is a
seeded `np.random.Generator`: another random stream, the same estimator.
"""

import dataclasses
from typing import Callable, Dict, Mapping, Union

import numpy as np
import scipy.stats

# rliable.library.get_interval_estimates' defaults.
DEFAULT_REPS = 50_000
DEFAULT_SIZE = 0.95
# Resampled scores held in memory at once (the resamples are drawn in chunks of this size).
_CHUNK_ELEMENTS = 1 << 21

Rng = Union[int, np.random.Generator, np.random.RandomState]
Aggregate = Callable[[np.ndarray], np.ndarray]


def mean(scores: np.ndarray) -> np.ndarray:
  """The mean over tasks of the per-task mean over runs; `[..., runs, tasks] -> [...]`."""
  return np.mean(np.mean(scores, axis=-2), axis=-1)


def median(scores: np.ndarray) -> np.ndarray:
  """The median over tasks of the per-task mean over runs; `[..., runs, tasks] -> [...]`.

  rliable's `aggregate_median`. With one task it is the mean over runs; see `run_median`.
  """
  return np.median(np.mean(scores, axis=-2), axis=-1)


def _pooled(scores: np.ndarray) -> np.ndarray:
  """`[..., runs, tasks] -> [..., runs * tasks]`."""
  return np.reshape(scores, scores.shape[:-2] + (-1,))


def iqm(scores: np.ndarray) -> np.ndarray:
  """The interquartile mean of all runs and tasks pooled; `[..., runs, tasks] -> [...]`.

  The mean of the scores left after dropping the k = int(0.25 * runs * tasks) lowest and the
  k highest (scipy's `trim_mean(x, 0.25)`, rliable's `aggregate_iqm`).
  """
  return scipy.stats.trim_mean(_pooled(scores), proportiontocut=0.25, axis=-1)


def run_median(scores: np.ndarray) -> np.ndarray:
  """The median of all runs and tasks pooled; `[..., runs, tasks] -> [...]`.

  With one task, the median over the runs (seeds).
  """
  return np.median(_pooled(scores), axis=-1)


# What a table of the seeds of one task reports, in order.
SEED_AGGREGATES: Mapping[str, Aggregate] = {'mean': mean, 'median': run_median, 'iqm': iqm}


@dataclasses.dataclass(frozen=True)
class Estimate:
  """A point estimate and its confidence interval.

  Attributes:
    point: the aggregate of the scores.
    lower: the interval's lower end.
    upper: the interval's upper end.
  """
  point: float
  lower: float
  upper: float

  def as_dict(self) -> Dict[str, float]:
    """{'point': ..., 'lower': ..., 'upper': ...}."""
    return dataclasses.asdict(self)


def score_matrix(scores, name: str = 'scores') -> np.ndarray:
  """`scores` as a float64 `[runs, tasks]` matrix (a 1-D array: one task).

  Raises:
    ValueError: for another rank, no runs or tasks, or a value that is not finite (the
      message starts with `name`).
  """
  array = np.asarray(scores, dtype=np.float64)
  if array.ndim == 1:
    array = array[:, None]
  if array.ndim != 2:
    raise ValueError(f'{name}: must be [runs] or [runs, tasks], got shape {array.shape}')
  if array.size == 0:
    raise ValueError(f'{name}: needs at least one run and one task, got shape {array.shape}')
  if not np.all(np.isfinite(array)):
    raise ValueError(f'{name}: holds a value that is not finite')
  return array


def make_rng(rng: Rng) -> Union[np.random.Generator, np.random.RandomState]:
  """An int seeds a new `np.random.default_rng`; a Generator or RandomState is used as is."""
  if isinstance(rng, (np.random.Generator, np.random.RandomState)):
    return rng
  return np.random.default_rng(rng)


def bootstrap_indices(num_runs: int, num_tasks: int, reps: int,
                      rng: Union[np.random.Generator, np.random.RandomState]) -> np.ndarray:
  """`[reps, num_runs, num_tasks]` run indices in [0, num_runs), drawn uniformly with
  replacement (the stratified bootstrap: each task's runs are resampled on their own).

  A RandomState draws the values `np.random.choice(num_runs, (num_runs, num_tasks))` draws
  `reps` times in a row from it, as rliable does.
  """
  size = (reps, num_runs, num_tasks)
  if isinstance(rng, np.random.RandomState):
    return rng.randint(0, num_runs, size=size)
  return rng.integers(0, num_runs, size=size)


def resample(scores: np.ndarray, indices: np.ndarray) -> np.ndarray:
  """`scores[indices[..., n, m], m]`: resampled score matrices, `[..., runs, tasks]`."""
  return scores[indices, np.arange(scores.shape[1])]


def percentile_interval(values: np.ndarray, size: float = DEFAULT_SIZE) -> np.ndarray:
  """The (1 - size)/2 and (1 + size)/2 percentiles of `values` along axis 0: `[2, ...]`.

  Computed as arch's `conf_int(method='percentile')` does (rliable calls it), so the same
  bootstrap values give the same interval.
  """
  alpha = (1.0 - size) / 2
  return np.percentile(values, [100 * alpha, 100 * (1.0 - alpha)], axis=0)


def _check_options(reps: int, size: float) -> None:
  if reps < 1:
    raise ValueError(f'interval_estimates: reps={reps} must be >= 1')
  if not 0.0 < size < 1.0:
    raise ValueError(f'interval_estimates: size={size} must be in (0, 1)')


def _bootstrap(scores: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray], reps: int,
               rng: Rng) -> np.ndarray:
  """`statistic` of `reps` stratified resamples of `scores`, drawn in chunks: `[reps, ...]`."""
  rng = make_rng(rng)
  num_runs, num_tasks = scores.shape
  chunk = max(1, _CHUNK_ELEMENTS // scores.size)
  values = []
  for start in range(0, reps, chunk):
    indices = bootstrap_indices(num_runs, num_tasks, min(chunk, reps - start), rng)
    values.append(np.asarray(statistic(resample(scores, indices)), dtype=np.float64))
  return np.concatenate(values, axis=0)


def interval_estimates(scores, aggregates: Mapping[str, Aggregate], *,
                       reps: int = DEFAULT_REPS, size: float = DEFAULT_SIZE,
                       rng: Rng = 0) -> Dict[str, Estimate]:
  """Point estimates and stratified percentile bootstrap intervals of several aggregates.

  Every aggregate is computed on the same resamples, as rliable's `get_interval_estimates`
  does for a `func` that returns them all in one array.

  Args:
    scores: `[runs, tasks]` (or `[runs]`: one task) finite scores.
    aggregates: name -> aggregate (`mean`, `median`, `iqm`, `run_median` or any function
      `[..., runs, tasks] -> [...]`).
    reps: bootstrap resamples (rliable's default: 50,000).
    size: the intervals' coverage, e.g. 0.95.
    rng: a seed for a new `np.random.Generator`, or a Generator or RandomState to draw from
      (a RandomState seeded s reproduces rliable after `np.random.seed(s)`).

  Returns:
    name -> `Estimate(point, lower, upper)`.

  Raises:
    ValueError: for bad `scores`, `reps` < 1 or `size` outside (0, 1).
  """
  scores = score_matrix(scores)
  _check_options(reps, size)
  names = list(aggregates)
  points = [float(aggregates[name](scores)) for name in names]
  values = _bootstrap(scores, lambda s: np.stack([aggregates[n](s) for n in names], axis=-1),
                      reps, rng)
  bounds = percentile_interval(values, size)
  return {name: Estimate(points[i], float(bounds[0, i]), float(bounds[1, i]))
          for i, name in enumerate(names)}


def interval_estimate(scores, aggregate: Aggregate, *, reps: int = DEFAULT_REPS,
                      size: float = DEFAULT_SIZE, rng: Rng = 0) -> Estimate:
  """`interval_estimates` of one aggregate."""
  return interval_estimates(scores, {'value': aggregate}, reps=reps, size=size,
                            rng=rng)['value']


def curve_interval_estimates(curves, aggregate: Aggregate = mean, *,
                             reps: int = DEFAULT_REPS, size: float = DEFAULT_SIZE,
                             rng: Rng = 0) -> np.ndarray:
  """A confidence band along learning curves: each point's runs taken as one task.

  Args:
    curves: `[runs, points]` finite scores, the runs' curves on common points (e.g. env steps).
    aggregate: applied at each point to its `[runs, 1]` scores (e.g. `mean`, `iqm`).
    reps, size, rng: as in `interval_estimates`; every point's runs are resampled on their own.

  Returns:
    `[3, points]`: the point estimates, the lower and the upper ends.
  """
  curves = score_matrix(curves, 'curves')
  _check_options(reps, size)

  def per_point(samples: np.ndarray) -> np.ndarray:  # [..., runs, points] -> [..., points]
    return aggregate(np.swapaxes(samples, -1, -2)[..., None])

  points = per_point(curves)
  bounds = percentile_interval(_bootstrap(curves, per_point, reps, rng), size)
  return np.stack([points, bounds[0], bounds[1]])
