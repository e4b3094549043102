"""Flags shared by every launcher, and flags generated from an agent's config dataclass."""

import dataclasses
import os
import sys
import textwrap
import typing
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from absl import flags

from agents.common import config as config_lib

# The runtime's modules (TensorFlow, gymnasium) are imported by the functions that need them:
# `launchers.report` and `launchers.benchmark` use this module's parsing and errors without
# paying for TensorFlow's import.


def define_shared_flags(default_env: str, default_num_steps: int) -> Dict[str, flags.FlagHolder]:
  """Defines --env, --num_steps, --seed, --logdir, --strategy, --eval_episodes and friends."""
  from agents.common import distribute  # pylint: disable=g-import-not-at-top
  return dict(
      env=flags.DEFINE_string(
          'env', default_env, 'Gymnasium environment id, or package.module:Env-v0 to import '
          'the module that registers it first (Atari: ALE/Pong-v5 with the atari extra).'),
      frame_stack=flags.DEFINE_integer(
          'frame_stack', 0, 'Stack the last N observations (0: the env\'s default, 4 on Atari '
          'and none elsewhere; 1: none).', lower_bound=0, upper_bound=64),
      max_episode_steps=flags.DEFINE_integer(
          'max_episode_steps', 0, "Time limit in agent steps (0: the environment's own).",
          lower_bound=0, upper_bound=config_lib.MAX_INT),
      env_kwargs=flags.DEFINE_list(
          'env_kwargs', [], 'Arguments for gymnasium.make as name=value pairs, e.g. '
          'continuous=True,gravity=-9.8 (values are Python literals, else strings).'),
      num_steps=flags.DEFINE_integer('num_steps', default_num_steps,
                                     'Environment steps to train for.'),
      seed=flags.DEFINE_integer('seed', 0, 'Random seed (environments, networks, sampling).'),
      logdir=flags.DEFINE_string(
          'logdir', None, 'Output directory (default runs/<agent>/<env>/seed<seed>); '
          're-running with the same logdir resumes from its last checkpoint.'),
      strategy=flags.DEFINE_enum('strategy', 'default', distribute.STRATEGIES,
                                 'tf.distribute strategy.'),
      tpu=flags.DEFINE_string('tpu', '', 'TPU name or address for --strategy=tpu.'),
      logical_cpus=flags.DEFINE_integer(
          'logical_cpus', 0, 'Split the CPU into this many logical devices (e.g. 2 for '
          '--strategy=mirrored without GPUs); 0 leaves the devices alone.'),
      eval_episodes=flags.DEFINE_integer('eval_episodes', 10,
                                         'Episodes of each deterministic evaluation.'),
      eval_every=flags.DEFINE_integer('eval_every', 10_000,
                                      'Evaluate every this many env steps (0: only at the end).'),
      checkpoint_every=flags.DEFINE_integer('checkpoint_every', 10_000,
                                            'Checkpoint every this many env steps.'),
      log_every=flags.DEFINE_integer('log_every', 1_000, 'Log every this many env steps.'),
      tuned=flags.DEFINE_bool('tuned', False, 'Start from the settings tuned for --env (see the '
                              "agent's config.py); explicitly given flags still win."),
      deterministic_ops=flags.DEFINE_bool(
          'deterministic_ops', True, 'Enable TF op determinism (same seed, same result on CPU).'),
      restart=flags.DEFINE_bool(
          'restart', False, 'Start over in --logdir: remove the outputs of the run there '
          '(checkpoints, replay, metrics, evaluation) first. Without it a logdir that holds a '
          'run resumes it, or is refused if no checkpoint of it reads back.'),
      on_nonfinite=flags.DEFINE_enum(
          'on_nonfinite', 'stop', ['stop', 'skip'], 'At a learner update with a NaN or infinite '
          'loss or gradient (such a gradient is never applied): stop the run, or count it and '
          'go on.'),
  )


def define_replay_address_flag() -> flags.FlagHolder:
  """Defines --replay_address for the off-policy launchers."""
  return flags.DEFINE_string(
      'replay_address', '', "host:port of a Reverb server started by launchers.replay_server "
      "with the same --env (default '': an in-process server whose table is checkpointed "
      'into --logdir/replay).')


def define_config_flags(config_cls) -> Dict[str, flags.FlagHolder]:
  """Defines one flag per field of a config dataclass, documented by its docstring."""
  docs = config_lib.field_docs(config_cls)
  hints = typing.get_type_hints(config_cls)
  holders = {}
  for field in dataclasses.fields(config_cls):
    name, default, hint = field.name, field.default, hints[field.name]
    help_text = docs.get(name, name)
    if hint is bool:
      holders[name] = flags.DEFINE_bool(name, default, help_text)
    elif hint is int:
      holders[name] = flags.DEFINE_integer(name, default, help_text)
    elif hint is float:
      holders[name] = flags.DEFINE_float(name, default, help_text)
    elif hint is str:
      holders[name] = flags.DEFINE_string(name, default, help_text)
    elif typing.get_origin(hint) is tuple:
      holders[name] = flags.DEFINE_list(name, [str(v) for v in default], help_text)
    else:
      optional = [a for a in typing.get_args(hint) if a is not type(None)]
      if typing.get_origin(hint) is typing.Union and optional == [float] and default is None:
        holders[name] = flags.DEFINE_float(name, None, help_text)
      else:
        raise TypeError(f'define_config_flags: unsupported type {hint} of {config_cls}.{name}')
  return holders


def build_config(config_cls, holders: Mapping[str, flags.FlagHolder],
                 tuned: Optional[Mapping[str, Any]] = None):
  """The config from its flags: defaults, then `tuned` values, then flags given explicitly.

  Raises:
    ConfigError: for an invalid value (the message names the flag).
  """
  hints = typing.get_type_hints(config_cls)
  values = dict(tuned or {})
  for name, holder in holders.items():
    if holder.present or name not in values:
      value = holder.value
      if typing.get_origin(hints[name]) is tuple:
        try:
          value = tuple(int(v) for v in value)
        except ValueError:
          raise config_lib.ConfigError(config_cls.__name__, name, 'must be integers',
                                       ','.join(value)) from None
      values[name] = value
  return config_cls(**values)


def run_settings(agent: str, holders: Mapping[str, flags.FlagHolder]) -> 'loop.RunSettings':
  """Validated `loop.RunSettings` from the shared flags (raises ConfigError naming the
  field)."""
  from agents.common import loop  # pylint: disable=g-import-not-at-top
  from agents.common import wrappers  # pylint: disable=g-import-not-at-top
  values = {k: holders[k].value for k in ('num_steps', 'seed', 'eval_episodes', 'eval_every',
                                          'checkpoint_every', 'log_every', 'on_nonfinite')}
  if not 0 <= holders['logical_cpus'].value <= 256:
    raise config_lib.ConfigError('RunSettings', 'logical_cpus', 'must be in [0, 256]',
                                 holders['logical_cpus'].value)
  env_id = holders['env'].value
  logdir = holders['logdir'].value or os.path.join('runs', agent, env_id,
                                                   f'seed{values["seed"]}')
  options = wrappers.EnvOptions(
      frame_stack=holders['frame_stack'].value,
      max_episode_steps=holders['max_episode_steps'].value,
      env_kwargs=wrappers.parse_env_kwargs(holders['env_kwargs'].value))
  return loop.RunSettings(agent=agent, env_id=env_id, logdir=logdir,
                          strategy=holders['strategy'].value, env_options=options, **values)


def parse_flags(argv):
  """absl's flag parsing for `app.run(main, flags_parser=parse_flags)`: a value absl refuses
  (not a number, out of bounds, not a choice) or an unknown flag is one line naming the flag
  and exit status 2, as every other bad input."""
  try:
    return flags.FLAGS(argv)
  except flags.UnrecognizedFlagError as error:
    fail(f'--{error.flagname}: unknown flag (--help lists them)')
  except flags.Error as error:
    fail(str(error).splitlines()[0])


def _describe(flag: flags.Flag, note: str = '') -> List[str]:
  """A flag's lines of `--help`: `--name=DEFAULT`, then its help text (and `note`) wrapped."""
  default = flag.default_as_str or "''"
  if isinstance(flag, flags.BooleanFlag):
    default = str(bool(flag.default)).lower()
  text = flag.help or ''  # absl starts an enum's help with its values: <a|b>.
  if note:
    text += ' ' + note
  wrapped = textwrap.wrap(text, width=92, initial_indent='      ', subsequent_indent='      ')
  return [f'  --{flag.name}={default.strip(chr(39))}'] + wrapped


def help_text(doc: str, groups: Mapping[str, Sequence[str]],
              notes: Optional[Mapping[str, str]] = None) -> str:
  """A launcher's `--help`: its docstring, then its own flags group by group (absl's
  `--helpfull` also lists absl's and TensorFlow's)."""
  lines = [(doc or '').strip(), '']
  for title, names in groups.items():
    if not names:
      continue
    lines += [f'{title}:']
    for name in names:
      lines += _describe(flags.FLAGS[name], (notes or {}).get(name, ''))
    lines.append('')
  lines.append("--helpfull also lists absl's and TensorFlow's own flags.")
  return '\n'.join(lines)


def parser_with_help(text: Callable[[], str]) -> Callable[[List[str]], List[str]]:
  """`parse_flags`, except that `--help`, `-h`, `-?` or `--helpshort` print `text()` and exit
  with status 0."""
  def parse(argv):
    if any(a in ('--help', '-h', '-?', '--helpshort') for a in argv[1:]):
      print(text())
      sys.exit(0)
    return parse_flags(argv)
  return parse


def fail_config(error: ValueError, names: Optional[Mapping[str, str]] = None) -> None:
  """Exits as `fail` with a library error: a `ConfigError` as `--<field>=<value>: <allowed>`
  (`names` maps fields whose flag has another name), any other error as its message."""
  if isinstance(error, config_lib.ConfigError):
    flag = (names or {}).get(error.field, error.field)
    value = error.value if not isinstance(error.value, tuple) else ','.join(map(str, error.value))
    fail(f'--{flag}={value!r}: {error.allowed}')
  fail(str(error))


def fail(message: str) -> None:
  """Prints one line to stderr and exits with status 2 (bad usage), before any work."""
  print(f'error: {message}', file=sys.stderr, flush=True)
  sys.exit(2)
