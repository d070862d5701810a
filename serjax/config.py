"""Experiment configs: Python files in ``configs/`` with ``get_config()``, plus overrides.

An override is ``--config.train.epochs=5`` (as absl's ``config_flags`` in the Flax examples and
big_vision); the value is parsed with the type of the field it replaces, so a typo or a wrong
type fails here with the field's name instead of deep inside training.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Iterable

import ml_collections


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message says how to fix it."""


#: Fields that moved: old dotted name -> new one. Implementation and speed choices went to
#: ``runtime`` (serjax.training.runtime), the frame-level extractor's own fields under
#: ``model.frames_cnn``. An old name, in a config file or an override, fails with the new one
#: rather than being added as a new field that nothing reads.
MOVED = {
    "model.conv_impl": "runtime.conv_impl",
    "model.pool_impl": "runtime.pool_impl",
    "model.dropout_impl": "runtime.dropout_impl",
    "model.frames_input_pool": "model.frames_cnn.input_pool",
    "model.frames_conv_features": "model.frames_cnn.conv_features",
    "model.frames_kernel_sizes": "model.frames_cnn.kernel_sizes",
    "model.frames_pool": "model.frames_cnn.pool",
    "train.scan_unroll": "runtime.scan_unroll",
    "train.eval_batch_size": "runtime.eval_batch_size",
    "train.model_chunk": "runtime.models_per_group",
    "train.stream": "runtime.stream",
    "train.stream_steps": "runtime.stream_steps",
    "train.stream_fraction": "runtime.stream_fraction",
    "train.checkpoint_every": "runtime.checkpoint_every",
    "train.xla_opt_level": "runtime.xla_opt_level",
}


def moved_fields(config: ml_collections.ConfigDict) -> list[str]:
    """The old names in ``MOVED`` that ``config`` still has."""
    found = []
    for old in MOVED:
        node = config
        for part in old.split("."):
            if not hasattr(node, "keys") or part not in node:
                break
            node = node[part]
        else:
            found.append(old)
    return found


def check_moved(config: ml_collections.ConfigDict, source: str) -> None:
    """Raises ConfigError naming each moved field ``config`` (from ``source``) still sets."""
    old = moved_fields(config)
    if old:
        raise ConfigError(f"{source}: " + "; ".join(
            f"{name} moved to {MOVED[name]} (set config.{MOVED[name]} instead)" for name in old))


def configs_dir() -> Path:
    """The repository's ``configs/`` folder (next to the ``serjax`` package)."""
    return Path(__file__).resolve().parent.parent / "configs"


def resolve_config_path(name_or_path: str) -> Path:
    """Accepts ``configs/ravdess_cv.py``, an absolute path, or a bare name like ``ravdess_cv``."""
    candidates = [Path(name_or_path)]
    if not name_or_path.endswith(".py"):
        candidates.append(configs_dir() / f"{name_or_path}.py")
    candidates.append(configs_dir() / Path(name_or_path).name)
    candidates.append(configs_dir().parent / name_or_path)
    for path in candidates:
        if path.is_file():
            return path
    available = sorted(p.stem for p in configs_dir().glob("*.py")
                       if not p.stem.startswith("_") and p.stem != "common")
    raise ConfigError(f"config {name_or_path!r} not found; pass a path to a configs/*.py file "
                      f"or one of: {', '.join(available)}")


def load_config_file(name_or_path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """Imports a config file and calls its ``get_config([arg])``."""
    path = resolve_config_path(name_or_path)
    spec = importlib.util.spec_from_file_location(f"serjax_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    # Config files import their shared parts (``import common``, ``import _paper``) from their
    # own folder or from configs/ (so configs/paper/ cells reach configs/common.py too).
    folders = list(dict.fromkeys([str(path.parent), str(configs_dir())]))
    sys.path[:0] = folders
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # a config file is user code: name it in the error
        raise ConfigError(f"{path}: failed to import ({type(err).__name__}: {err})") from err
    finally:
        for folder in folders:
            sys.path.remove(folder)
    if not hasattr(module, "get_config"):
        raise ConfigError(f"{path}: has no get_config() function")
    config = module.get_config(arg) if arg is not None else module.get_config()
    check_moved(config, str(path))
    return config


def _parse_value(text: str, current: Any, key: str) -> Any:
    """Parses an override string with the type of the value it replaces."""
    if isinstance(current, bool):
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"--config.{key}={text}: expected true or false")
    if isinstance(current, (int, float)) and not isinstance(current, bool):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as err:
            raise ConfigError(f"--config.{key}={text}: expected a number") from err
        if isinstance(current, int) and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"--config.{key}={text}: expected an integer")
        if not isinstance(value, (int, float)):
            raise ConfigError(f"--config.{key}={text}: expected a number")
        return type(current)(value)
    if isinstance(current, (tuple, list)):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = tuple(s.strip() for s in text.split(",") if s.strip())
        if not isinstance(value, (tuple, list)):
            value = (value,)
        return type(current)(value)
    if current is None:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    return text


def apply_overrides(config: ml_collections.ConfigDict,
                    overrides: Iterable[str]) -> ml_collections.ConfigDict:
    """Applies ``a.b.c=value`` strings (the ``--config.`` prefix optional) to ``config``."""
    for override in overrides:
        item = override.removeprefix("--").removeprefix("config.")
        if "=" not in item:
            raise ConfigError(f"override {override!r} must look like --config.FIELD=VALUE")
        key, text = item.split("=", 1)
        if key in MOVED:
            raise ConfigError(f"--config.{key}: {key} moved to {MOVED[key]}; pass "
                              f"--config.{MOVED[key]}={text}")
        *parents, leaf = key.split(".")
        node = config
        for i, part in enumerate(parents):
            if part not in node:
                raise ConfigError(f"--config.{key}: no field {'.'.join(parents[:i + 1])!r}; "
                                  f"fields here are: {', '.join(sorted(node.keys()))}")
            node = node[part]
        if not isinstance(node, ml_collections.ConfigDict) or leaf not in node:
            fields = ", ".join(sorted(node.keys())) if hasattr(node, "keys") else "(none)"
            raise ConfigError(f"--config.{key}: no such field; fields here are: {fields}")
        current = node[leaf]
        node[leaf] = _parse_value(text, current, key)
    return config


def load_config(name_or_path: str, overrides: Iterable[str] = ()) -> ml_collections.ConfigDict:
    """``get_config()`` of a config file with command-line overrides applied."""
    arg = None
    if ":" in name_or_path and not Path(name_or_path).exists():
        name_or_path, arg = name_or_path.split(":", 1)
    return apply_overrides(load_config_file(name_or_path, arg), overrides)


def to_json(config: ml_collections.ConfigDict) -> str:
    """The config as pretty JSON (for ``config.json`` in a workdir and for cache keys)."""
    return json.dumps(config.to_dict(), indent=2, sort_keys=True, default=str)
