"""Test-session settings: quiet TensorFlow logs before TensorFlow is imported."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


def pytest_collection_modifyitems(config, items):
  """Drops `tf.test.TestCase.test_session`, a deprecated helper pytest takes for a test (it
  would show as one skipped test per test class, hiding real skips)."""
  kept = [item for item in items if item.name != 'test_session']
  if len(kept) != len(items):
    config.hook.pytest_deselected(items=[item for item in items if item.name == 'test_session'])
    items[:] = kept
