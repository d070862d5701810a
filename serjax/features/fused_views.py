"""A second feature view appended to ``statistical``: ``features.fuse`` (SER-FusionNet's step 2
then reads ``[deep | statistical S | fuse D | gender]``).

``fuse_config(config)`` is the config of the second view (``features.acoustic=<fuse>``,
``features.fuse=""``): its own cached FeatureSet of the same tables. ``join(main, view)``
appends the view's ``acoustic`` [N, D] to the main set's ``statistical`` [N, S], row by row,
and returns a ``store.FeatureSet`` (``statistical`` in memory; the main set's other arrays stay
memory-mapped unless rows are dropped) whose manifest says what was fused (``manifest["fused"]``).

Rows are matched on ``KEY_FIELDS`` (``corpus``, ``path``, ``copy``, ``augmented``): both sets
come from the same tables and ``audio`` / ``augment`` sections, so they normally agree row for
row; when they do not (a file skipped as unreadable in one set only), rows are joined by key,
the rows missing from either side are dropped with a warning, and a join that matches nothing
is an error.
"""

from __future__ import annotations

import logging

import ml_collections
import numpy as np

from serjax.features import spec, store

log = logging.getLogger("serjax.features")

#: The columns that identify a row (``copy``: 0 = original, k = k-th augmented copy).
KEY_FIELDS = ("corpus", "path", "copy", "augmented")
#: Feature settings only frame kinds read (``extract._row_acoustic``).
FRAME_ONLY = ("max_frames", "frames_dtype")


def fuse_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict | None:
    """The config of the fused view's FeatureSet, or None when ``features.fuse`` is off.

    ``max_frames`` and ``frames_dtype`` go back to their defaults: a vector kind never reads
    them, so the view shares its cache with a plain ``features.acoustic=<fuse>`` run."""
    kind = spec.fuse_kind(config.features)
    if not kind:
        return None
    view = config.copy_and_resolve_references()
    defaults = spec.default_config().features
    view.features.acoustic = kind
    view.features.fuse = ""
    for name in FRAME_ONLY:
        if name in view.features:
            view.features[name] = defaults[name]
    return view


def without_fuse(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``config`` with ``features.fuse=""`` (the main FeatureSet's own config)."""
    if not config.features.get("fuse", ""):
        return config
    main = config.copy_and_resolve_references()
    main.features.fuse = ""
    return main


def _keys(feature_set: store.FeatureSet, fields: tuple[str, ...]) -> list[tuple]:
    columns = [np.asarray(feature_set.arrays[f]).tolist() for f in fields]
    return list(zip(*columns))


def _describe_keys(keys: list[tuple], fields: tuple[str, ...], first: int = 3) -> str:
    return ", ".join("/".join(str(v) for v in k) for k in keys[:first]) + (
        ", ..." if len(keys) > first else "") + f" ({'/'.join(fields)})"


def align(main: store.FeatureSet, view: store.FeatureSet,
          kinds: tuple[str, str] = ("main", "fuse")) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(main_rows, view_rows)`` of the rows both sets hold, in the main set's order.

    The identity when every key column agrees row for row; else a join on the keys (each must
    be unique in both sets) that drops and logs the rows of either side the other lacks.
    Raises ValueError, naming both ``kinds``, when no row matches or keys repeat.
    """
    fields = tuple(f for f in KEY_FIELDS if f in main.arrays and f in view.arrays)
    if main.num_rows == view.num_rows and all(
            np.array_equal(np.asarray(main.arrays[f]), np.asarray(view.arrays[f]))
            for f in fields):
        rows = np.arange(main.num_rows)
        return rows, rows
    main_keys, view_keys = _keys(main, fields), _keys(view, fields)
    where = {k: j for j, k in enumerate(view_keys)}
    if len(where) != len(view_keys) or len(set(main_keys)) != len(main_keys):
        raise ValueError(f"cannot join features.acoustic={kinds[0]!r} and features.fuse="
                         f"{kinds[1]!r}: their rows differ and {'/'.join(fields)} does not "
                         "identify a row; rebuild both FeatureSets from the same tables")
    pairs = [(i, where[k]) for i, k in enumerate(main_keys) if k in where]
    if not pairs:
        raise ValueError(
            f"features.acoustic={kinds[0]!r} and features.fuse={kinds[1]!r}: the two "
            f"FeatureSets ({main.directory}, {view.directory}) share no row "
            f"({'/'.join(fields)}); they were built from different tables or audio/augment "
            "settings. Delete the stale one and rerun, or set features.fuse=''")
    main_rows = np.fromiter((i for i, _ in pairs), np.int64, len(pairs))
    view_rows = np.fromiter((j for _, j in pairs), np.int64, len(pairs))
    only_main = [main_keys[i] for i in np.setdiff1d(np.arange(main.num_rows), main_rows)]
    only_view = [view_keys[j] for j in np.setdiff1d(np.arange(view.num_rows), view_rows)]
    if only_main:
        log.warning("features.fuse=%s: %d row(s) of features.acoustic=%s have no %s row and "
                    "are dropped: %s", kinds[1], len(only_main), kinds[0], kinds[1],
                    _describe_keys(only_main, fields))
    if only_view:
        log.warning("features.fuse=%s: %d row(s) of the %s view have no features.acoustic=%s "
                    "row and are dropped: %s", kinds[1], len(only_view), kinds[1], kinds[0],
                    _describe_keys(only_view, fields))
    return main_rows, view_rows


def fused_names(view: store.FeatureSet, kind: str) -> list[str]:
    """One name per appended column: ``<kind>:<openSMILE name>`` or ``<kind>:<j>``."""
    width = int(view.arrays["acoustic"].shape[1])
    names = list(view.manifest.get("acoustic_names") or [])
    if len(names) != width:
        names = [str(j) for j in range(width)]
    return [f"{kind}:{n}" for n in names]


def join(main: store.FeatureSet, view: store.FeatureSet, kind: str) -> store.FeatureSet:
    """``main`` with ``statistical`` = ``[main.statistical | view.acoustic]`` on aligned rows.

    ``view`` must hold one vector per row (``acoustic`` [N, D]). Rows missing from either side
    are dropped (``align``); the manifest gains ``fused`` (kind, width, directory, dropped
    rows) and the longer ``statistical_names``.
    """
    if view.arrays["acoustic"].ndim != 2:
        raise ValueError(f"features.fuse={kind!r}: the fused view must hold one vector per "
                         f"row, got acoustic {tuple(view.arrays['acoustic'].shape)}")
    main_kind = str(main.manifest.get("acoustic_kind", "main"))
    main_rows, view_rows = align(main, view, (main_kind, kind))
    base = main if main_rows.shape[0] == main.num_rows else main.select(main_rows)
    stats, acoustic = base.arrays["statistical"], view.arrays["acoustic"]
    width, n = int(acoustic.shape[1]), int(main_rows.shape[0])
    statistical = np.empty((n, stats.shape[1] + width), np.float32)  # one copy, no temporaries
    statistical[:, :stats.shape[1]] = stats
    if np.array_equal(view_rows, np.arange(view.num_rows)):
        statistical[:, stats.shape[1]:] = acoustic
    else:
        statistical[:, stats.shape[1]:] = acoustic[view_rows]
    fields = dict(base.manifest.get("fields", {}),
                  statistical={"dtype": "float32", "shape": list(statistical.shape)})
    manifest = dict(
        base.manifest, num_rows=n, fields=fields,
        statistical_names=list(main.manifest.get("statistical_names", [])) + fused_names(
            view, kind),
        fused={"kind": kind, "width": width,
               "statistical_width": int(statistical.shape[1]) - width,
               "directory": str(view.directory) if view.directory else None,
               "dropped_rows": int(main.num_rows - main_rows.shape[0])})
    return store.FeatureSet(dict(base.arrays, statistical=statistical), manifest,
                            main.directory)


def describe(feature_set: store.FeatureSet) -> str:
    """``""``, or what ``features.fuse`` appended (for ``precompute.describe``)."""
    fused = feature_set.manifest.get("fused")
    if not fused:
        return ""
    dropped = fused.get("dropped_rows", 0)
    return (f", statistical = {fused['statistical_width']} + fused {fused['kind']} "
            f"{fused['width']}" + (f" ({dropped} rows dropped)" if dropped else ""))
