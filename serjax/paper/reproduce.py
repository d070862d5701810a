"""``serjax reproduce``: every cell of the paper's tables, run (resumably) and tabulated.

    serjax reproduce --data-root DIR --workdir W [--tables 1,2,3,4,xcorpus,leaky]
                     [--seeds N] [--from-workdirs] [--quick] [--docs docs/results.md]
                     [--skip CELL,...] [--set FIELD=VALUE ...] [--synthetic-scale S]

Each table row (``serjax.paper.tables.TABLES``) is measured by one cell, ``configs/paper/<cell>.py``,
run through ``experiment.run_cv`` into ``W/<cell>/``. A cell whose workdir already holds a
``metrics.json`` of the same config is reused (rerunning the command resumes), one of another
config is reported as failed rather than overwritten. Cells whose corpora are missing under
DIR are reported as "not run: needs crema_d, savee"; a cell that fails is reported with its
error and the others still run (the command then exits with an error listing them). The
tables go to ``W/tables.md`` (and ``--docs``), next to a per-fold accuracy plot per cell
(``W/<cell>/fold_accuracy.png``).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import jax

from serjax import config as config_lib
from serjax import experiment
from serjax.corpora import audio_file, dataset, naming
from serjax.paper import baselines
from serjax.paper import tables as paper

QUICK = {"train.epochs": 2, "runtime.xla_opt_level": 0, "seeds": 1}
QUICK_BASELINE = {"baseline.n_estimators": 20, "baseline.raw_seconds": 1.0}
QUICK_SCALE = 0.01  # the synthetic corpus --quick uses when no --data-root is given
PAPER_CONFIGS = config_lib.configs_dir() / "paper"
#: ``--docs`` rewrites its page up to this line; what follows (results run by hand, e.g. the
#: openSMILE / linear-SVM rows of docs/results.md) is kept as it is.
KEEP_MARKER = "<!-- hand-written below: kept by serjax reproduce --docs -->"


class ReproduceError(ValueError):
    """Bad arguments, or cells that failed (the message lists them; the tables are written)."""


def cells_of(tables) -> list[str]:
    """The cells the tables need (references included), SER-FusionNet runs before baselines
    (the 1-D CNN reads the extractors of its SER-FusionNet cell)."""
    unknown = sorted(set(tables) - set(paper.TABLES))
    if unknown:
        raise ReproduceError(f"--tables: unknown {unknown}; choose from "
                             f"{','.join(paper.TABLE_NAMES)}")
    cells = list(dict.fromkeys(r.cell for t in tables for r in paper.TABLES[t][1]))
    return sorted(cells, key=lambda c: c.startswith("table4_"))


def config_path(cell: str) -> Path:
    return PAPER_CONFIGS / f"{cell}.py"


def available_corpora(data_root: Path | None) -> tuple[str, ...]:
    """Corpora with a folder holding at least one audio file under ``data_root`` (all four for a
    synthetic corpus, ``data_root`` None)."""

    if data_root is None:
        return naming.CORPORA
    found = []
    for corpus in naming.CORPORA:
        try:
            folder = dataset.find_corpus_folder(data_root, corpus)
        except ValueError:
            continue
        if _has_wav(folder):
            found.append(corpus)
    return tuple(found)


def _has_wav(folder: Path) -> bool:
    """Any audio file (``audio_file.AUDIO_SUFFIXES``) below ``folder``, following symlinked
    folders as the builders do."""
    for _, _, names in os.walk(folder, followlinks=True):
        if any(audio_file.audio_suffix(n) for n in names):
            return True
    return False


def needed_corpora(config) -> tuple[str, ...]:
    corpus = config.data.corpus
    return naming.CORPORA if corpus == "superset" else (corpus,)


def cell_config(cell: str, settings: dict):
    """The cell's config with the run's settings (data, seeds, quick, overrides) applied."""

    config = config_lib.load_config(str(config_path(cell)))
    if settings["data_root"]:
        config.data.root = settings["data_root"]
    else:
        config.data.synthetic_scale = settings["synthetic_scale"]
    is_baseline = config.get("baseline") is not None
    overrides = dict(QUICK) if settings["quick"] else {}
    if settings["quick"] and is_baseline:
        overrides.update(QUICK_BASELINE)
    if settings["seeds"]:
        overrides["seeds"] = settings["seeds"]
    config_lib.apply_overrides(config, [f"{k}={v}" for k, v in overrides.items()])
    # --set baseline.* only concerns baseline cells; any other unknown field is an error.
    config_lib.apply_overrides(config, [o for o in settings["overrides"]
                                        if is_baseline or not o.startswith("baseline.")])
    if is_baseline and config.baseline.kind == "cnn1d":
        corpus = "superset" if config.data.corpus == "superset" else "ravdess"
        config.baseline.source_workdir = str(Path(settings["workdir"]) / f"table2_{corpus}")
    return config


def run_cell(cell: str, settings: dict, available, progress: bool) -> tuple[str, float]:
    """(status, wall seconds) of one cell: "done", or why it has no numbers."""
    workdir = Path(settings["workdir"]) / cell
    if not config_path(cell).is_file():
        return f"not run: configs/paper/{cell}.py is missing", 0.0
    done = (workdir / "metrics.json").is_file()
    if settings["from_workdirs"]:
        return ("done", 0.0) if done else (f"not run: no {workdir}/metrics.json", 0.0)
    try:
        config = cell_config(cell, settings)
    except (ValueError, AttributeError, KeyError, TypeError) as err:  # a config is user code
        return f"failed: {config_path(cell)}: {type(err).__name__}: {err}", 0.0
    missing = [c for c in needed_corpora(config) if c not in available]
    if missing:
        return f"not run: needs {', '.join(missing)}", 0.0
    if done:
        saved = json.loads((workdir / "config.json").read_text())
        diff = baselines.first_difference(json.loads(config_lib.to_json(config)), saved)
        if diff:
            return (f"failed: {workdir} holds a run of another config ({diff}); delete it "
                    "or use another --workdir"), 0.0
        return "done", 0.0
    start = time.perf_counter()
    try:
        experiment.run_cv(config, workdir, progress=progress)
    except config_lib.ConfigError as err:
        if cell in paper.PENDING:  # a model the engine does not run yet: no failure
            return f"not run: {err}", 0.0
        return f"failed: {err}", time.perf_counter() - start
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        if os.environ.get("SERJAX_DEBUG"):
            raise
        return f"failed: {err}", time.perf_counter() - start
    return "done", time.perf_counter() - start


def write_figures(workdir: Path, cells, status: dict) -> None:
    for cell in cells:
        if status.get(cell) == "done":
            summary = json.loads((workdir / cell / "metrics.json").read_text())
            protocol = next(r.protocol for t in paper.TABLES.values() for r in t[1]
                            if r.cell == cell)
            paper.plot_fold_accuracy(summary, workdir / cell / "fold_accuracy.png",
                                     f"{cell}: {protocol}")


PLOTS = ("fold_accuracy", "confusion", "learning_curves")


def kept_tail(page: Path) -> str:
    """The part of ``page`` from ``KEEP_MARKER`` on ("" if the page or the marker is absent)."""
    text = page.read_text() if page.is_file() else ""
    at = text.find(KEEP_MARKER)
    return "" if at < 0 else "\n" + text[at:]


def figure_links(workdir: Path, cells, status: dict, page: Path, copy_to: Path | None,
                 names=PLOTS) -> dict:
    """{cell: markdown links} to each done cell's plots, relative to ``page``; with
    ``copy_to`` the plots are first copied there (so a page in docs/ needs no workdir)."""
    links = {}
    for cell in cells:
        if status.get(cell) != "done":
            continue
        items = []
        for name in names:
            src = workdir / cell / f"{name}.png"
            if not src.is_file():
                continue
            if copy_to is not None:
                copy_to.mkdir(parents=True, exist_ok=True)
                src = Path(shutil.copyfile(src, copy_to / f"{cell}_{name}.png"))
            items.append(f"[{name}]({os.path.relpath(src, page.parent)})")
        links[cell] = ", ".join(items)
    return links


def _wall_time(workdir: Path, cell: str, log: dict) -> str:
    """The cell's measured wall time, else training + features time from its metrics.json."""
    if log.get(cell, {}).get("wall_s"):
        return f"{log[cell]['wall_s']:.0f} s"
    path = workdir / cell / "metrics.json"
    if not path.is_file():
        return ""
    timing = json.loads(path.read_text()).get("timing", {})
    return f"≈ {sum(timing.get(k, 0.0) for k in ('features_s', 'compile_s', 'train_s')):.0f} s"


def preamble(settings: dict, cells, status: dict, log: dict, available,
             regenerated_by: str = "") -> str:
    data = (f"`{settings['data_root']}` (corpora found: {', '.join(available) or 'none'})"
            if settings["data_root"] else f"synthetic corpus, scale {settings['synthetic_scale']}")
    lines = ["# SER-FusionNet's tables, reproduced with serjax", "",
             f"Command: `{settings['command']}`"
             + (f" (tables regenerated with `{regenerated_by}`)" if regenerated_by else ""),
             "", f"- data: {data}",
             f"- hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU "
             f"cores, JAX {jax.default_backend()} ({len(jax.devices())} device(s))",
             f"- settings: seeds {settings['seeds'] or 'per config (3)'}"
             f"{', --quick (2 epochs, 1 seed)' if settings['quick'] else ''}"
             f"{', overrides ' + ' '.join(settings['overrides']) if settings['overrides'] else ''}",
             "", "| cell | status | wall time | command |", "|---|---|---|---|"]
    root = (f"--config.data.root={settings['data_root']}" if settings["data_root"]
            else f"--config.data.synthetic_scale={settings['synthetic_scale']}")
    for cell in cells:
        wall = _wall_time(Path(settings["workdir"]), cell, log)
        lines.append(f"| {cell} | {status[cell]} | {wall} | "
                     f"`serjax cv --config configs/paper/{cell}.py --workdir "
                     f"{settings['workdir']}/{cell} {root}` |")
    return "\n".join(lines)


def reproduce(*, workdir, data_root=None, tables=paper.TABLE_NAMES, seeds=None,
              from_workdirs=False, quick=False, synthetic_scale=None, overrides=(), skip=(),
              docs=None, progress=True, command="serjax reproduce") -> dict:
    """Runs (or reads) every cell of ``tables`` but those in ``skip`` and writes
    ``workdir/tables.md``; returns ``{cell: status}``. Raises ReproduceError after writing if
    any cell failed."""
    workdir = Path(workdir).absolute()
    if data_root is not None:
        data_root = Path(data_root).expanduser().absolute()
        if not data_root.is_dir():
            raise ReproduceError(f"--data-root {data_root} is not a folder; it should hold "
                                 "ravdess/ crema_d/ savee/ tess/ as unpacked from Kaggle")
    elif synthetic_scale is None:
        if not (quick or from_workdirs):
            raise ReproduceError("no data: pass --data-root DIR (ravdess/ crema_d/ savee/ tess/"
                                 "), or --synthetic-scale S, or --quick for a tiny synthetic run")
        synthetic_scale = QUICK_SCALE
    settings = {"workdir": str(workdir), "data_root": str(data_root) if data_root else "",
                "synthetic_scale": synthetic_scale, "seeds": seeds, "quick": quick,
                "overrides": list(overrides), "from_workdirs": from_workdirs,
                "command": command}
    cells = cells_of(tables)
    unknown = sorted(set(skip) - set(cells))
    if unknown:
        raise ReproduceError(f"--skip {unknown}: not cells of tables {','.join(tables)}")
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "reproduce.json"
    saved = json.loads(log_path.read_text()) if log_path.is_file() else {}
    log, last = saved.get("cells", {}), saved.get("last_status", {})
    regenerated_by = ""
    if from_workdirs and saved.get("settings"):  # describe the run that made the workdirs
        regenerated_by = command
        settings = dict(saved["settings"], from_workdirs=True, workdir=str(workdir))
        data_root = Path(settings["data_root"]) if settings["data_root"] else None
    available = available_corpora(data_root if data_root is None or data_root.is_dir()
                                  else None)
    status = {}
    for cell in cells:
        if progress:
            print(f"serjax reproduce: {cell}", file=sys.stderr)
        status[cell], wall = (("not run: skipped (--skip)", 0.0) if cell in skip
                              else run_cell(cell, settings, available, progress))
        if from_workdirs and status[cell] != "done" and last.get(cell, "").startswith("not run"):
            status[cell] = last[cell]  # e.g. "not run: needs crema_d, savee"
        if wall:
            log[cell] = {"status": status[cell], "wall_s": wall}
        if progress and status[cell] != "done":
            print(f"  {status[cell]}", file=sys.stderr)
        if not from_workdirs:  # after every cell, so an interrupted run keeps its record
            last[cell] = status[cell]
            log_path.write_text(json.dumps({"settings": settings, "cells": log,
                                            "last_status": last}, indent=1))
    write_figures(workdir, cells, status)
    head = preamble(settings, cells, status, log, available, regenerated_by)
    page = workdir / "tables.md"
    page.write_text(paper.tables_markdown(
        tables, workdir, status, head, figure_links(workdir, cells, status, page, None)))
    if docs is not None:
        docs = Path(docs).absolute()
        docs.parent.mkdir(parents=True, exist_ok=True)
        figures = figure_links(workdir, cells, status, docs,  # small plots only in docs/
                               docs.parent / "figures" / docs.stem, ("fold_accuracy",))
        docs.write_text(paper.tables_markdown(tables, workdir, status, head, figures)
                        + kept_tail(docs))
    if progress:
        print(f"tables: {page}" + (f" and {docs}" if docs else ""))
    failed = {c: s for c, s in status.items() if s.startswith("failed")}
    if failed:
        raise ReproduceError("cells failed (tables written without them): " + "; ".join(
            f"{c}: {s}" for c, s in failed.items()))
    return status
