"""Tests for agents.common.distribute.

Splitting the CPU into logical devices must happen before TensorFlow initializes its devices,
which the pytest worker running this file may already have done; the strategies are therefore
built in a fresh Python process (one per test class, shared by its parameterized tests).
"""

import json
import os
import subprocess
import sys

from absl.testing import parameterized
import tensorflow as tf

from agents.common import distribute

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

_SCRIPT = r'''
import json
import tensorflow as tf
from agents.common import distribute

distribute.split_logical_cpus(2)
report = {'logical_cpus': len(tf.config.list_logical_devices('CPU'))}
for name in ('default', 'one_device', 'mirrored'):
  strategy = distribute.make_strategy(name)
  with strategy.scope():
    v = tf.Variable(1.0)

  @tf.function
  def replica_fn():
    ctx = tf.distribute.get_replica_context()
    return tf.cast(ctx.replica_id_in_sync_group + 1, tf.float32) * v

  per_replica = strategy.run(replica_fn)
  report[name] = dict(
      type=type(strategy).__name__,
      replicas=strategy.num_replicas_in_sync,
      devices=[] if name == 'default' else list(strategy.extended.worker_devices),
      variable_type=type(v).__name__,
      sum=float(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)))
print('REPORT' + json.dumps(report))
'''


def _run_script():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES='')
  env['PYTHONPATH'] = os.pathsep.join(p for p in (_REPO_ROOT, env.get('PYTHONPATH')) if p)
  result = subprocess.run([sys.executable, '-c', _SCRIPT], cwd=_REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
  lines = [l for l in result.stdout.splitlines() if l.startswith('REPORT')]
  if result.returncode != 0 or not lines:
    raise AssertionError(f'strategy script failed ({result.returncode}):\n{result.stderr[-3000:]}')
  return json.loads(lines[-1][len('REPORT'):])


class MakeStrategyTest(tf.test.TestCase, parameterized.TestCase):

  _report = None

  @classmethod
  def report(cls):
    if cls._report is None:
      cls._report = _run_script()
    return cls._report

  @parameterized.named_parameters(
      # Replica ids 0 (and 1) multiply the variable by 1 (and 2): the reduced sum is 1 or 1 + 2.
      ('default', 'default', '_DefaultDistributionStrategy', 1, 1.0),
      ('one_device', 'one_device', 'OneDeviceStrategy', 1, 1.0),
      ('mirrored', 'mirrored', 'MirroredStrategy', 2, 3.0),
  )
  def test_strategy_on_two_logical_cpus(self, name, type_name, replicas, total):
    report = self.report()
    self.assertEqual(report['logical_cpus'], 2)
    self.assertEqual(report[name]['type'], type_name)
    self.assertEqual(report[name]['replicas'], replicas)
    self.assertEqual(report[name]['sum'], total)
    for device in report[name]['devices']:
      self.assertIn('CPU', device)
    if name == 'mirrored':
      self.assertEqual(report[name]['variable_type'], 'MirroredVariable')
      self.assertLen(set(report[name]['devices']), 2)
    if name == 'one_device':
      self.assertTrue(report[name]['devices'][0].endswith('CPU:0'), report[name]['devices'])

  def test_default_in_process(self):
    strategy = distribute.make_strategy('default')
    self.assertIs(strategy, tf.distribute.get_strategy())
    self.assertFalse(tf.distribute.has_strategy())
    self.assertEqual(strategy.num_replicas_in_sync, 1)

  def test_one_device_in_process(self):
    strategy = distribute.make_strategy('one_device')
    self.assertIsInstance(strategy, tf.distribute.OneDeviceStrategy)
    self.assertEqual(strategy.num_replicas_in_sync, 1)

  @parameterized.parameters('Mirrored', 'mirror', '', 'tpu_strategy')
  def test_unknown_name(self, name):
    with self.assertRaises(ValueError) as ctx:
      distribute.make_strategy(name)
    message = str(ctx.exception)
    self.assertStartsWith(message, f'RunSettings.strategy={name!r}')
    for allowed in distribute.STRATEGIES:
      self.assertIn(allowed, message)
    self.assertEqual(set(distribute.STRATEGIES),
                     {'default', 'one_device', 'mirrored', 'multi_worker', 'tpu'})

  def test_default_strategy_and_names(self):
    default = tf.distribute.get_strategy()
    self.assertTrue(distribute.is_default_strategy(default))
    self.assertEqual(distribute.strategy_name(default), 'default')
    one_device = distribute.make_strategy('one_device')
    self.assertFalse(distribute.is_default_strategy(one_device))
    self.assertEqual(distribute.strategy_name(one_device), 'one_device')
    distribute.require_default_strategy(default, 'X', 'why')
    with self.assertRaisesRegex(ValueError,
                                r"^RunSettings.strategy='one_device': X supports only"):
      distribute.require_default_strategy(one_device, 'X', 'why')


if __name__ == '__main__':
  tf.test.main()
