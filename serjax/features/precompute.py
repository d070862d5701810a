"""Precompute: CorpusTables + config -> one cached FeatureSet on disk (schema in ``store.py``).

``precompute(tables, config, cache_dir)`` is keyed by a SHA-256 of (each table's corpus and
``fingerprint``, the ``audio``, ``augment`` and ``features`` config sections, the resolved
backend; for external features also the files' fingerprint, ``external.fingerprint``); the
FeatureSet lives in ``<cache_dir>/features-<key[:20]>``. A rerun with the same key
returns the cached set without reading any audio.

Work is cut into shards of ``features.shard_size`` source files. Each finished shard is saved
atomically in ``<cache_dir>/features-<key[:20]>.partial/`` as soon as it is done, so an
interrupted run resumes with the shards still missing. Shards run in ``workers`` processes
(``spawn``: safe beside JAX threads; each worker warms librosa/numba once); the main process
reads audio from the tables and, for ``backend="jax"``, computes features in batches on the JAX
device while the workers only prepare and augment waveforms. ``workers=1`` runs in-process.
openSMILE and external acoustic kinds always run on the CPU path (``spec.feature_backend``).
``features.fuse`` is left out of the key: ``prepare_features`` caches that second view as its
own FeatureSet and appends it to ``statistical`` (``serjax.features.fused_views``).

Tables are duck-typed (``docs/architecture.md``): columns ``corpus, path, actor, gender, label,
sample_rate`` (arrays, one row per file), ``audio(i) -> int16 [n]`` and ``fingerprint``.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import shutil
from pathlib import Path

import ml_collections
import numpy as np

from serjax.config import ConfigError
from serjax.corpora import naming, sources
from serjax.features import external, extract, fused_views, opensmile_sets, spec, store

KEY_SECTIONS = ("audio", "augment", "features")
#: Settings that change how the work is scheduled, never a feature value; ``fuse`` names a
#: second FeatureSet (cached under its own key) and changes nothing in this one.
NOT_IN_KEY = ("backend", "shard_size", "jax_batch_size", "workers", "fuse")


def _as_list(tables) -> list:
    return list(tables) if isinstance(tables, (list, tuple)) else [tables]


def _table_corpus(table) -> str:
    return ",".join(sorted({str(c) for c in table.corpus}))


def cache_key(tables, config, backend: str) -> str:
    """Hex SHA-256 of the tables' fingerprints and every setting that changes a feature value."""
    sections = {name: config[name].to_dict() for name in KEY_SECTIONS}
    for name in NOT_IN_KEY:
        sections["features"].pop(name, None)
    payload = {"format": store.FORMAT, "backend": backend, "config": sections,
               "tables": [[_table_corpus(t), str(t.fingerprint)] for t in _as_list(tables)]}
    # The path alone does not say what the files hold; without external features it changes
    # nothing (and is left out so FeatureSets cached before the field existed keep their key).
    path = sections["features"].pop("external_path", "")
    if spec.acoustic_kind(config.features) in spec.EXTERNAL_KINDS:
        payload["external"] = [path, external.fingerprint(path)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def plan_shards(tables, shard_size: int) -> list[list[tuple[int, int]]]:
    """[(table index, row index)] cut into consecutive shards of ``shard_size`` files."""
    work = [(t, i) for t, table in enumerate(tables) for i in range(len(table.path))]
    return [work[s:s + shard_size] for s in range(0, len(work), shard_size)]


def read_items(tables, shard: list[tuple[int, int]]) -> list[extract.Item]:
    """Read one shard's audio and metadata from the tables (main process)."""
    items = []
    for t, i in shard:
        table = tables[t]
        items.append(extract.Item(str(table.corpus[i]), str(table.path[i]), str(table.actor[i]),
                                  int(table.gender[i]), int(table.label[i]), table.audio(i),
                                  int(table.sample_rate[i])))
    return items


# ------------------------------------------------------------------ worker side (spawned)
_WORKER_CONFIG: ml_collections.ConfigDict | None = None


def _init_worker(config_dict: dict) -> None:
    global _WORKER_CONFIG
    _WORKER_CONFIG = ml_collections.ConfigDict(config_dict)
    import threadpoolctl  # noqa: PLC0415  (processes are the parallelism: one thread each)
    threadpoolctl.threadpool_limits(1)
    extract.warm_up(_WORKER_CONFIG)


def _shard_librosa(items: list[extract.Item], config) -> tuple[dict, list[dict]]:
    rows, skipped = extract.prepare_rows(items, config)
    return extract.assemble(rows, extract.row_features(rows, config), skipped, config)


def _worker_task(items: list[extract.Item], backend: str):
    if backend == "jax":
        return extract.prepare_rows(items, _WORKER_CONFIG)
    return _shard_librosa(items, _WORKER_CONFIG)


# ------------------------------------------------------------------ main side
def _finish_task(result, backend: str, config) -> tuple[dict, list[dict]]:
    if backend == "jax":
        rows, skipped = result
        return extract.assemble(rows, extract.jax_features(rows, config), skipped, config)
    return result


def _shard_path(partial: Path, index: int) -> Path:
    return partial / f"shard-{index:06d}.npz"


def _open_partial(partial: Path, key: str, shard_size: int) -> None:
    """Create the partial directory, or clear it when it holds shards of another plan."""
    meta = {"key": key, "shard_size": shard_size}
    meta_path = partial / "plan.json"
    if partial.is_dir() and (not meta_path.is_file()
                             or json.loads(meta_path.read_text()) != meta):
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps(meta))


def _progress(total: int, done: int, enabled: bool):
    from tqdm.auto import tqdm  # noqa: PLC0415
    return tqdm(total=total, initial=done, unit="file", desc="features", disable=not enabled)


def _run_inline(tables, todo, shards, config, backend, partial, bar) -> None:
    for index in todo:
        items = read_items(tables, shards[index])
        rows, skipped = extract.prepare_rows(items, config)
        feats = (extract.jax_features(rows, config) if backend == "jax"
                 else extract.row_features(rows, config))
        store.write_shard(_shard_path(partial, index),
                          *extract.assemble(rows, feats, skipped, config))
        bar.update(len(items))


def _run_pool(tables, todo, shards, config, backend, partial, bar, workers: int) -> None:
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                initargs=(config.to_dict(),)) as pool:
        pending: dict[cf.Future, int] = {}
        queue = list(todo)
        try:
            while queue or pending:
                while queue and len(pending) < 2 * workers:  # bounded audio in flight
                    index = queue.pop(0)
                    items = read_items(tables, shards[index])
                    pending[pool.submit(_worker_task, items, backend)] = index
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    arrays, skipped = _finish_task(future.result(), backend, config)
                    store.write_shard(_shard_path(partial, index), arrays, skipped)
                    bar.update(len(shards[index]))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def precompute(tables, config, cache_dir, *, workers: int | None = None,
               progress: bool = True) -> store.FeatureSet:
    """One or more CorpusTables -> a FeatureSet cached under ``cache_dir`` (see module doc)."""
    tables = _as_list(tables)
    external.check_config(config)
    backend = spec.feature_backend(config.features)
    key = cache_key(tables, config, backend)
    cache_dir = Path(cache_dir)
    final = cache_dir / f"features-{key[:20]}"
    if (final / store.MANIFEST).is_file():
        return store.FeatureSet.load(final)

    shard_size = int(config.features.shard_size)
    shards = plan_shards(tables, shard_size)
    if not shards:
        raise ValueError("precompute got tables with no files; build the dataset first "
                         "(`serjax build`) or check the data directory")
    partial = cache_dir / f"features-{key[:20]}.partial"
    _open_partial(partial, key, shard_size)
    todo = [i for i in range(len(shards)) if not _shard_path(partial, i).is_file()]
    workers = min(workers or os.cpu_count() or 1, max(len(todo), 1))
    done_files = sum(len(shards[i]) for i in range(len(shards)) if i not in set(todo))
    with _progress(sum(len(s) for s in shards), done_files, progress) as bar:
        if workers <= 1:
            _run_inline(tables, todo, shards, config, backend, partial, bar)
        else:
            _run_pool(tables, todo, shards, config, backend, partial, bar, workers)

    store.write_feature_set(
        final, [_shard_path(partial, i) for i in range(len(shards))],
        lambda num_rows, skipped: _manifest(key, config, backend, tables, num_rows, skipped))
    shutil.rmtree(partial, ignore_errors=True)
    return store.FeatureSet.load(final)


def _column_names(f) -> tuple[dict, list[str]]:
    """(acoustic_blocks: name -> [start, stop) columns, acoustic_names: one per column) of
    ``features.acoustic``, so a FeatureSet explains its own columns: the paper's blocks for
    ``summary`` / ``frames``, one block of mel bands ``logmel_0``.. for ``logmel_frames``,
    openSMILE's names (6,373 for ComParE); external columns stay unnamed."""
    kind = spec.acoustic_kind(f)
    if kind == "logmel_frames":
        return {"log_mel": [0, f.n_mels]}, [f"logmel_{i}" for i in range(f.n_mels)]
    if kind in spec.OPENSMILE_KINDS:
        return {}, opensmile_sets.feature_names(kind)
    if kind not in spec.LIBROSA_KINDS:
        return {}, []
    widths = {"zcr": 1, "chroma": f.n_chroma, "mfcc": f.n_mfcc, "rms": 1, "mel": f.n_mels}
    blocks, start = {}, 0
    for name in spec.ACOUSTIC_BLOCKS:
        blocks[name] = [start, start + widths[name]]
        start += widths[name]
    return blocks, []


def _manifest(key, config, backend, tables, num_rows: int, skipped) -> dict:
    f = config.features
    kind = spec.acoustic_kind(f)
    blocks, names = _column_names(f)
    return {
        "key": key, "backend": backend,
        "config": {name: config[name].to_dict() for name in KEY_SECTIONS},
        "tables": [{"corpus": _table_corpus(t), "fingerprint": str(t.fingerprint),
                    "files": len(t.path)} for t in tables],
        "num_rows": int(num_rows),
        "acoustic_kind": kind, "acoustic_blocks": blocks, "acoustic_names": names,
        "statistical_names": list(spec.statistical_names(f)),
        # What label.npy indexes: the corpus's own names (a manifest's), else naming.LABELS.
        "label_names": list(label_names(tables)),
        "skipped": skipped,
    }


def label_names(tables) -> tuple[str, ...]:
    """The label names the tables' ``label`` indexes (one list for all of them)."""
    names = {tuple(getattr(t, "label_names", naming.LABELS)) for t in tables}
    if len(names) != 1:
        raise ValueError(f"tables with different label names {sorted(names)} cannot share a "
                         "FeatureSet; precompute them separately")
    return names.pop()


def precompute_from_config(config, tables, cache_dir, progress: bool = True) -> store.FeatureSet:
    """The CLI's entry: ``features.workers`` processes (None = all CPUs)."""
    workers = config.features.get("workers", None)
    return precompute(tables, config, cache_dir, workers=workers, progress=progress)


def prepare_features(config: ml_collections.ConfigDict, progress: bool = True) -> store.FeatureSet:
    """The experiment's FeatureSet: its corpora built or loaded, then the cached features.

    With ``features.fuse`` set, the FeatureSet of ``features.acoustic=<fuse>`` (cached on its
    own) is computed from the same tables and its vectors appended to ``statistical``
    (``serjax.features.fused_views``)."""
    try:
        view_config = fused_views.fuse_config(config)
    except ValueError as err:  # one error type for every bad config field
        raise ConfigError(str(err)) from err
    table = sources.load_tables(config, progress)
    cache = sources.cache_dir(config) / "features"
    main = precompute_from_config(fused_views.without_fuse(config), [table], cache, progress)
    if view_config is None:
        return main
    view = precompute_from_config(view_config, [table], cache, progress)
    return fused_views.join(main, view, view_config.features.acoustic)


def describe(feature_set: store.FeatureSet) -> str:
    """One line for the console: rows, shapes, the fused view (if any) and skipped files."""
    rows = feature_set.num_rows
    augmented = int(np.asarray(feature_set.augmented).sum())
    skipped = len(feature_set.manifest.get("skipped", []))
    return (f"FeatureSet {feature_set.directory}: {rows} rows ({rows - augmented} original, "
            f"{augmented} augmented), acoustic {tuple(feature_set.acoustic.shape[1:])}, "
            f"statistical {tuple(feature_set.statistical.shape[1:])}"
            f"{fused_views.describe(feature_set)}, {skipped} skipped")
