"""The arguments of ``serjax reproduce``, apart from the code it runs.

``serjax --help`` builds every subcommand's parser; ``serjax.paper.reproduce`` imports JAX and the
whole experiment, so the handler below imports it only when the command runs (a function-level
import deferred for start-up time, not to dodge a cycle: tests/test_layout.py lists this module
in ``DEFERRED_FOR_STARTUP``). ``serjax.paper.tables`` is light (NumPy).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from serjax.paper import tables as paper


def _reproduce(args: argparse.Namespace) -> None:
    # deferred for start-up time (JAX, the experiment)
    from serjax.paper import reproduce

    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    reproduce.reproduce(
        workdir=args.workdir, data_root=args.data_root, tables=tables, seeds=args.seeds,
        from_workdirs=args.from_workdirs, quick=args.quick,
        synthetic_scale=args.synthetic_scale, overrides=args.set or (),
        skip=[c.strip() for c in args.skip.split(",") if c.strip()], docs=args.docs,
        command="serjax " + " ".join(sys.argv[1:]) if sys.argv[1:] else "serjax reproduce")


def add_cli(subparsers) -> None:
    """Registers ``serjax reproduce`` (what it does: ``serjax.paper.reproduce``)."""
    p = subparsers.add_parser("reproduce", help="run and tabulate the paper's tables "
                                                "(resumable; one workdir per cell)")
    p.add_argument("--data-root", type=Path, default=None,
                   help="folder with ravdess/ crema_d/ savee/ tess/ (missing corpora: their "
                        "cells are reported as not run)")
    p.add_argument("--synthetic-scale", type=float, default=None,
                   help="use a synthetic corpus of this scale instead of --data-root")
    p.add_argument("--workdir", type=Path, required=True, help="one subfolder per cell")
    p.add_argument("--tables", default=",".join(paper.TABLE_NAMES),
                   help=f"comma-separated subset of {','.join(paper.TABLE_NAMES)}")
    p.add_argument("--seeds", type=int, default=None, help="seeds per split (default: config)")
    p.add_argument("--from-workdirs", action="store_true",
                   help="only regenerate the tables from finished workdirs; train nothing")
    p.add_argument("--quick", action="store_true",
                   help="2 epochs, 1 seed, fast compile; synthetic scale 0.01 without data")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="config override for every cell, e.g. --set train.epochs=10")
    p.add_argument("--skip", default="", help="comma-separated cells not to run, e.g. "
                   "table4_raw_superset")
    p.add_argument("--docs", type=Path, default=None,
                   help="also write the page here (e.g. docs/results.md), figures copied "
                        "beside it")
    p.set_defaults(func=_reproduce)
