"""Metrics to TensorBoard, a CSV file and the console (steps, steps/s, return, ETA)."""

import csv
import datetime
import glob
import json
import math
import os
import sys
import time
from typing import Any, Dict, List, Mapping, Optional

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api
import tqdm

CSV_NAME = 'metrics.csv'
# The `kind` column of metrics.csv: a training row (learner and episode metrics) or an
# evaluation row (`eval_*` metrics).
TRAIN, EVAL = 'train', 'eval'
_TIME_METRICS = ('wall_time_s', 'steps_per_s', 'train_time_s', 'first_iteration_s')


def tensorboard_tag(name: str) -> str:
  """The TensorBoard tag of a metric, grouped: `eval/...` (evaluation), `time/...` (clock and
  speed), `loss/...` (any metric whose name has 'loss'), `train/...` (the rest: episode
  returns, learning rates, diagnostics). metrics.csv keeps the plain names."""
  if name.startswith('eval_'):
    return 'eval/' + name[len('eval_'):]
  if name in _TIME_METRICS:
    return 'time/' + name
  if 'loss' in name:
    return 'loss/' + name
  return 'train/' + name


def _format(value: float) -> str:
  if isinstance(value, float) and math.isnan(value):
    return 'n/a'
  return f'{value:,.1f}' if abs(value) >= 100 else f'{value:.3g}'


def _drop_events_after(path: str, step: int) -> None:
  """Rewrites a TensorBoard event file without its events past `step` (a damaged tail, e.g.
  from a kill mid-write, is dropped too)."""
  records, damaged = [], False
  try:
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
      records.append(record)
  except tf.errors.DataLossError:
    damaged = True
  kept = [r for r in records if tf.compat.v1.Event.FromString(r).step <= step]
  if len(kept) == len(records) and not damaged:
    return
  with tf.io.TFRecordWriter(path + '.tmp') as writer:
    for record in kept:
      writer.write(record)
  os.replace(path + '.tmp', path)


class Logger:
  """Writes one row of scalar metrics per call, keyed by environment steps.

  - TensorBoard: `logdir/` (one scalar per metric, step = env steps, tags grouped by
    `tensorboard_tag`); `write_config` adds the run's config as text and as hparams.
  - CSV: `logdir/metrics.csv`, one row per call, its `kind` column 'train' or 'eval' (a row
    with `eval_return` is an evaluation); columns fixed by the first row and widened when a
    metric appears later (a resumed run appends to the same file after dropping rows past the
    restored step, see `truncate`).
  - Console: a tqdm progress bar when stderr is a terminal, otherwise one line every
    `console_interval_s` seconds: steps, progress, steps/s, last return and ETA. The ETA uses
    the rate since the first row, so the first iteration's tracing and compilation do not
    inflate it.
  """

  def __init__(self, logdir: str, total_steps: int, name: str = '',
               console_interval_s: float = 10.0, initial_step: int = 0):
    os.makedirs(logdir, exist_ok=True)
    self._earlier_events = glob.glob(os.path.join(logdir, 'events.out.tfevents.*'))
    self._writer = tf.summary.create_file_writer(logdir)
    self._csv_path = os.path.join(logdir, CSV_NAME)
    self._fieldnames: Optional[List[str]] = None
    if os.path.exists(self._csv_path):
      with open(self._csv_path, newline='') as f:
        self._fieldnames = next(csv.reader(f), None)
    self._total = total_steps
    self._name = name
    self._interval = console_interval_s
    self._start_time = time.time()
    self._start_step = initial_step
    self._last_console = 0.0
    self._origin = None  # (time, step) of the first row: where the ETA's rate starts.
    self._bar = None
    if sys.stderr.isatty():
      self._bar = tqdm.tqdm(total=total_steps, initial=initial_step, desc=name, unit='step',
                            dynamic_ncols=True, smoothing=0.1)
      self._bar_step = initial_step

  def truncate(self, step: int) -> None:
    """Drops the CSV rows and TensorBoard points logged after `step` (work lost when a killed
    run resumes from there)."""
    for path in self._earlier_events:
      _drop_events_after(path, step)
    if not os.path.exists(self._csv_path):
      return
    with open(self._csv_path, newline='') as f:
      rows = list(csv.DictReader(f))
    kept = [r for r in rows if float(r.get('env_steps', 0) or 0) <= step]
    if len(kept) != len(rows) and self._fieldnames:
      with open(self._csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=self._fieldnames)
        writer.writeheader()
        writer.writerows(kept)

  def steps_per_second(self, step: int) -> float:
    elapsed = time.time() - self._start_time
    return (step - self._start_step) / elapsed if elapsed > 0 else 0.0

  def write_config(self, record: Mapping[str, Any]) -> None:
    """Writes the run's config record (config.json's) to TensorBoard: as JSON text (`config`)
    and as hparams (the config's fields, with the agent, env and seed) for the HParams
    dashboard."""
    values = {'agent': record.get('agent'), 'env': record.get('env'), 'seed': record.get('seed')}
    for name, value in record.get('config', {}).items():
      values[name] = value if isinstance(value, (bool, int, float, str)) else str(value)
    with self._writer.as_default(step=0):
      tf.summary.text('config', '```\n' + json.dumps(record, indent=2) + '\n```')
      hparams_api.hparams({k: v for k, v in values.items() if v is not None})
    self._writer.flush()

  def write(self, step: int, metrics: Mapping[str, float]) -> None:
    """Logs `metrics` (scalars) at `step` env steps to every sink."""
    kind = EVAL if 'eval_return' in metrics else TRAIN
    row: Dict[str, Any] = {'env_steps': step, 'kind': kind,
                           'wall_time_s': time.time() - self._start_time}
    row['steps_per_s'] = self.steps_per_second(step)
    row.update({k: float(v) for k, v in metrics.items()})
    with self._writer.as_default(step=step):
      for key, value in row.items():
        if key not in ('env_steps', 'kind') and not math.isnan(value):
          # Any finite float, even past float32.
          tf.summary.scalar(tensorboard_tag(key), np.float64(value))
    self._write_csv(row)
    self._console(step, row)

  def _write_csv(self, row: Dict[str, Any]) -> None:
    new_file = self._fieldnames is None or not os.path.exists(self._csv_path)
    if new_file:
      self._fieldnames = list(row)
    elif any(k not in self._fieldnames for k in row):
      # A metric appeared later in the run: rewrite the file with the wider header.
      with open(self._csv_path, newline='') as f:
        rows = list(csv.DictReader(f))
      self._fieldnames += [k for k in row if k not in self._fieldnames]
      with open(self._csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=self._fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    with open(self._csv_path, 'a', newline='') as f:
      writer = csv.DictWriter(f, fieldnames=self._fieldnames, extrasaction='ignore')
      if new_file:
        writer.writeheader()
      writer.writerow(row)

  def _console(self, step: int, row: Mapping[str, float]) -> None:
    if 'eval_return' in row:
      message = f'[{self._name}] step {step:,}: evaluation return {_format(row["eval_return"])}'
      if self._bar is not None:
        self._bar.write(message)
      else:
        print(message, flush=True)
      return
    ret = row.get('episode_return', float('nan'))
    rate = row['steps_per_s']
    if self._bar is not None:
      self._bar.update(step - self._bar_step)
      self._bar_step = step
      self._bar.set_postfix_str(f'return={_format(ret)}', refresh=False)
      return
    now = time.time()
    if self._origin is None:
      self._origin = (now, step)
    if now - self._last_console < self._interval and step < self._total:
      return
    self._last_console = now
    origin_time, origin_step = self._origin
    recent = (step - origin_step) / (now - origin_time) if now > origin_time else 0.0
    eta = max(self._total - step, 0) / recent if recent > 0 else float('nan')
    eta_text = str(datetime.timedelta(seconds=int(eta))) if math.isfinite(eta) else '?'
    print(f'[{self._name}] step {step:,}/{self._total:,} '
          f'({min(100 * step / max(self._total, 1), 100):.0f}%) | {rate:,.0f} steps/s | '
          f'return {_format(ret)} | ETA {eta_text}', flush=True)

  def close(self) -> None:
    """Flushes and closes the outputs (again: nothing)."""
    if self._bar is not None:
      self._bar.close()
      self._bar = None
    self._writer.flush()
    self._writer.close()
