"""A run's provenance in its workdir: the config and the package versions and devices."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

import jax
import ml_collections

from serjax import atomic
from serjax import config as config_lib


def versions() -> dict:
    """Package versions and devices, for ``versions.json``."""
    packages = ("serjax", "jax", "jaxlib", "flax", "optax", "numpy", "scipy", "librosa",
                "orbax-checkpoint", "tensorflow-datasets", "ml_collections", "soundfile")
    found = {}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return {"python": platform.python_version(), "platform": platform.platform(),
            "packages": found, "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()]}


def start_workdir(config: ml_collections.ConfigDict, workdir: Path) -> None:
    """Creates ``workdir`` with ``config.json`` and ``versions.json`` (process 0 only)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(config_lib.to_json(config))
    atomic.write_json(workdir / "versions.json", versions(), indent=2, sort_keys=True,
                      default=str)
