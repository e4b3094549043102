r"""Reference values from rliable itself for tests/agents/common/test_statistics.py.

rliable is not a dependency of this project (it needs numpy 1.26.4 and pandas<3 pinned, and a
plain install upgrades numpy and breaks TensorFlow), so it runs from a venv of its own:

  python3.11 -m venv /tmp/rl-venv
  /tmp/rl-venv/bin/pip install numpy==1.26.4 'pandas<3' rliable==1.2.0   # arch 7.2.0 came with it
  /tmp/rl-venv/bin/python benchmarks/rliable_reference.py

For each score matrix below it prints, as JSON, rliable's point estimates (`rliable.metrics`)
and its 95 % stratified percentile bootstrap intervals (`rliable.library.get_interval_estimates`
with one `func` returning all four aggregates, so they share resamples), after
`np.random.seed(seed)`: rliable draws its resampling indices from numpy's global generator.
Floats are printed with `repr`, so the test can compare them exactly.
"""

import json

import numpy as np
from rliable import library
from rliable import metrics

# name -> (scores [runs, tasks], reps, seed). The test holds the same arrays.
CASES = {
    'one_task_5_seeds': ([[480.5], [500.0], [312.25], [499.0], [150.75]], 50_000, 0),
    'ties_4x2': ([[1, 10], [2, 10], [2, 30], [9, 10]], 10_000, 2),
    'normal_10x3': (np.round(np.random.RandomState(7).normal(100.0, 25.0, (10, 3)), 2).tolist(),
                    20_000, 1),
}


def _aggregates(scores: np.ndarray) -> np.ndarray:
  return np.array([metrics.aggregate_mean(scores), metrics.aggregate_median(scores),
                   metrics.aggregate_iqm(scores), np.median(scores)])


def main():
  out = {}
  for name, (scores, reps, seed) in CASES.items():
    scores = np.asarray(scores, dtype=np.float64)
    np.random.seed(seed)
    points, intervals = library.get_interval_estimates({name: scores}, _aggregates, reps=reps)
    out[name] = {
        'scores': scores.tolist(), 'reps': reps, 'seed': seed,
        'point': [repr(float(v)) for v in points[name]],
        'lower': [repr(float(v)) for v in intervals[name][0]],
        'upper': [repr(float(v)) for v in intervals[name][1]],
    }
  for name, record in out.items():
    print(json.dumps({name: record}))


if __name__ == '__main__':
  main()
