"""Strategy factory: one flag value per `tf.distribute` strategy the launchers support."""

from typing import Optional

import tensorflow as tf

from agents.common import config as config_lib

STRATEGIES = ('default', 'one_device', 'mirrored', 'multi_worker', 'tpu')


def make_strategy(name: str, tpu: Optional[str] = None) -> tf.distribute.Strategy:
  """Builds the `tf.distribute.Strategy` named by `--strategy`.

  Call it outside any `strategy.scope()`.

  Args:
    name: 'default' (no distribution), 'one_device' (the first GPU/TPU-less device: GPU:0 if
      present, else CPU:0), 'mirrored' (all local GPUs, or all logical CPUs when there is no GPU),
      'multi_worker' (MultiWorkerMirroredStrategy, cluster from the TF_CONFIG environment
      variable) or 'tpu' (TPUStrategy, `tpu` is the TPU name or address; '' for a local TPU VM).
    tpu: the TPU to connect to, only for 'tpu'.

  Returns:
    The strategy.

  Raises:
    ConfigError: naming `RunSettings.strategy` for an unknown name or a TPU that cannot be
      reached.
  """
  if name == 'default':
    return tf.distribute.get_strategy()
  if name == 'one_device':
    gpus = tf.config.list_logical_devices('GPU')
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else '/cpu:0')
  if name == 'mirrored':
    devices = [d.name for d in tf.config.list_logical_devices('GPU')]
    if not devices:
      devices = [d.name for d in tf.config.list_logical_devices('CPU')]
    return tf.distribute.MirroredStrategy(devices)
  if name == 'multi_worker':
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == 'tpu':
    try:
      resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or '')
      tf.config.experimental_connect_to_cluster(resolver)
      tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
      raise config_lib.ConfigError(
          'RunSettings', 'strategy', f'no TPU to connect to ({str(error).splitlines()[0]}; '
          'name one with the tpu setting)', name) from None
    return tf.distribute.TPUStrategy(resolver)
  raise config_lib.ConfigError('RunSettings', 'strategy',
                               f"must be one of {', '.join(STRATEGIES)}", name)


def split_logical_cpus(count: int) -> None:
  """Splits the physical CPU into `count` logical devices (for `mirrored` tests and runs on CPU).

  Must be called before TensorFlow initializes its devices.
  """
  cpu = tf.config.list_physical_devices('CPU')[0]
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


def is_default_strategy(strategy: tf.distribute.Strategy) -> bool:
  """True for the no-op default strategy (no replicas, no cross-device synchronization): inside
  its scope, and only there, `tf.distribute.has_strategy()` is False."""
  with strategy.scope():
    return not tf.distribute.has_strategy()


def strategy_name(strategy: tf.distribute.Strategy) -> str:
  """The `make_strategy` name of `strategy` (its class name for another kind)."""
  if is_default_strategy(strategy):
    return 'default'
  for name, kind in (('tpu', tf.distribute.TPUStrategy),
                     ('multi_worker', tf.distribute.MultiWorkerMirroredStrategy),
                     ('mirrored', tf.distribute.MirroredStrategy),
                     ('one_device', tf.distribute.OneDeviceStrategy)):
    if isinstance(strategy, kind):
      return name
  return type(strategy).__name__


def require_default_strategy(strategy: tf.distribute.Strategy, agent: str, why: str) -> None:
  """Raises ConfigError naming `RunSettings.strategy` unless `strategy` is the default one.

  Args:
    strategy: the run's strategy.
    agent: the agent's name, for the message.
    why: why the agent runs on one replica.
  """
  if not is_default_strategy(strategy):
    raise config_lib.ConfigError('RunSettings', 'strategy',
                                 f'{agent} supports only the default strategy ({why})',
                                 strategy_name(strategy))


def num_workers(strategy: tf.distribute.Strategy) -> int:
  """How many processes (workers) the strategy spans: > 1 only for a multi-worker cluster."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or isinstance(strategy, tf.distribute.TPUStrategy):
    return 1
  return max(1, len(resolver.cluster_spec().as_dict().get('worker', [])))
