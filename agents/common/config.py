"""Helpers shared by the agents' config dataclasses: field docs and validation."""

import dataclasses
import inspect
import re
from typing import Any, Dict, Iterable


class ConfigError(ValueError):
  """A config field holds an invalid value; the message names the field as a flag."""

  def __init__(self, field: str, value: Any, allowed: str):
    super().__init__(f"--{field}={value!r}: {allowed}")
    self.field = field


def field_docs(config_cls) -> Dict[str, str]:
  """Maps each field of a config dataclass to its line in the `Attributes:` of its docstring.

  Fields inherited from a base config are documented by the base's docstring; a subclass may
  document them again to override the text.
  """
  docs = {}
  for cls in reversed(config_cls.__mro__):
    if dataclasses.is_dataclass(cls) and '__doc__' in vars(cls):
      docs.update(_attribute_docs(vars(cls)['__doc__']))
  return docs


def _attribute_docs(doc: str) -> Dict[str, str]:
  doc = inspect.cleandoc(doc or '')
  docs, current = {}, None
  in_attributes = False
  for line in doc.splitlines():
    if line.strip() == 'Attributes:':
      in_attributes = True
      continue
    if not in_attributes:
      continue
    match = re.match(r'^  (\w+): (.*)$', line)
    if match:
      current = match.group(1)
      docs[current] = match.group(2).strip()
    elif line.startswith('    ') and current:
      docs[current] += ' ' + line.strip()
    elif line.strip() and not line.startswith(' '):
      break
  return docs


def check_positive(config, *names: str) -> None:
  """Raises ConfigError unless every named field is > 0."""
  for name in names:
    value = getattr(config, name)
    if not value > 0:
      raise ConfigError(name, value, 'must be > 0')


def check_non_negative(config, *names: str) -> None:
  """Raises ConfigError unless every named field is >= 0."""
  for name in names:
    value = getattr(config, name)
    if not value >= 0:
      raise ConfigError(name, value, 'must be >= 0')


def check_in_range(config, name: str, low: float, high: float) -> None:
  """Raises ConfigError unless low <= field <= high."""
  value = getattr(config, name)
  if not low <= value <= high:
    raise ConfigError(name, value, f'must be in [{low}, {high}]')


def check_choice(config, name: str, choices: Iterable[str]) -> None:
  """Raises ConfigError unless the field is one of `choices`."""
  value = getattr(config, name)
  choices = tuple(choices)
  if value not in choices:
    raise ConfigError(name, value, f"must be one of {', '.join(choices)}")


ACTIVATIONS = ('tanh', 'relu', 'elu', 'gelu', 'swish')


def check_network(config) -> None:
  """Raises ConfigError for an unknown `activation` or a `hidden_sizes` entry below 1."""
  check_choice(config, 'activation', ACTIVATIONS)
  if any(h < 1 for h in config.hidden_sizes):
    raise ConfigError('hidden_sizes', config.hidden_sizes, 'sizes must be >= 1')


def check_documented(config_cls) -> None:
  """Raises TypeError if a dataclass field has no line in the docstring (used by tests)."""
  missing = [f.name for f in dataclasses.fields(config_cls) if f.name not in field_docs(config_cls)]
  if missing:
    raise TypeError(f'{config_cls.__name__}: undocumented fields {missing}')
