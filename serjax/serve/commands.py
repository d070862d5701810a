"""The arguments of ``serjax predict``, ``serjax stream`` and ``serjax export``.

They live here, apart from the code they run, so that ``serjax --help`` (which builds every
subcommand's parser) loads neither JAX nor the models: this module imports only the light
``gender`` and ``inference_io`` modules, and each handler imports its heavy module when the
command runs. Those function-level imports are deferred for start-up time, not to dodge an
import cycle (tests/test_layout.py lists this module in ``DEFERRED_FOR_STARTUP``).
"""

from __future__ import annotations

import argparse
import pathlib

from serjax.serve import gender as gender_lib
from serjax.serve.inference_io import (
    FEATURE_PATHS,
    HOP_S,
    MIN_SPEAKER_FILES,
    SPEAKER_CHOICES,
    WINDOW_S,
)


def _predict(args: argparse.Namespace) -> int:
    # deferred for start-up time (JAX, flax, the models)
    from serjax.serve import predict

    return predict.run(args)


def _stream(args: argparse.Namespace) -> int:
    # deferred for start-up time (JAX, flax, the models)
    from serjax.serve import live

    return live.run(args)


def _export(args: argparse.Namespace) -> int:
    # deferred for start-up time (JAX, flax, the models)
    from serjax.serve import export

    return export.run(args)


def add_predict(subparsers) -> None:
    """Registers ``serjax predict`` (``func`` returns the exit code)."""
    p = subparsers.add_parser("predict", help="classify audio files with a trained workdir")
    p.add_argument("paths", nargs="+", type=pathlib.Path, metavar="PATH",
                   help="audio files (.wav .flac .ogg .opus .mp3) or folders (searched "
                        "recursively)")
    p.add_argument("--workdir", type=pathlib.Path, required=True,
                   help="a `serjax cv` workdir or a `serjax export` artifact directory")
    p.add_argument("--gender", default="auto", choices=gender_lib.GENDER_CHOICES,
                   help="speaker gender for the fused classifier; auto: from median F0 "
                        f"(>= {gender_lib.THRESHOLD_HZ:g} Hz female)")
    p.add_argument("--speaker", choices=SPEAKER_CHOICES,
                   help="for models trained with train.speaker_norm: group the files by the "
                        "speaker in their corpus file names (name) or as one speaker (one); "
                        f"each speaker needs >= {MIN_SPEAKER_FILES} files")
    p.add_argument("--models", default="all",
                   help="all (ensemble of every fold x seed), best, or a fold number")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", type=pathlib.Path, help="also write the results as CSV")
    out.add_argument("--json", type=pathlib.Path, help="also write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=_predict)


def add_stream(subparsers) -> None:
    """Registers ``serjax stream`` (``func`` returns the exit code)."""
    p = subparsers.add_parser("stream", help="live emotion bars from a microphone or a file")
    p.add_argument("--workdir", required=True,
                   help="a `serjax cv` workdir or a `serjax export` artifact directory")
    p.add_argument("--input", default="mic", help="mic (needs sounddevice) or an audio file")
    p.add_argument("--window", type=float, default=WINDOW_S, help="window length, seconds")
    p.add_argument("--hop", type=float, default=HOP_S, help="seconds between windows")
    p.add_argument("--no-realtime", action="store_true",
                   help="feed a file as fast as possible instead of in real time")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per window")
    p.add_argument("--gender", default="auto", choices=gender_lib.GENDER_CHOICES)
    p.add_argument("--models", default="all", help="all, best, or a fold number")
    p.add_argument("--features", default="jax", choices=FEATURE_PATHS,
                   help="per-window feature path (jax: jitted with the model, faster)")
    p.set_defaults(func=_stream)


def add_export(subparsers) -> None:
    """Registers ``serjax export`` (``func`` returns the exit code)."""
    p = subparsers.add_parser("export", help="write a self-contained inference artifact")
    p.add_argument("--workdir", type=pathlib.Path, required=True, help="a `serjax cv` workdir")
    p.add_argument("--out", type=pathlib.Path, required=True, help="artifact directory")
    p.add_argument("--models", default="all", help="all, best, or a fold number")
    p.add_argument("--window", type=float, default=WINDOW_S,
                   help="window length (s) of the exported window function")
    p.add_argument("--platforms", default="cpu",
                   help="comma-separated jax.export platforms, e.g. cpu,cuda")
    p.set_defaults(func=_export)


def add_cli(subparsers) -> None:
    """Registers the three serving subcommands."""
    for add in (add_predict, add_stream, add_export):
        add(subparsers)
