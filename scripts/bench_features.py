"""Benchmark the feature paths: librosa serial, librosa over N processes, JAX batched.

    /work/venv/bin/python scripts/bench_features.py --files 500 --seconds 3 --workers 2

Input: a synthetic corpus of ``--files`` speech-like int16 clips of about ``--seconds`` s
(harmonic vibrato tones with a noise floor and 0.3 s silences, native rates cycling over the four
corpora's 16 / 22.05 / 24.414 / 44.1 / 48 kHz), held in memory. Two tables are printed (Markdown):

1. *features only* (prepared 22,050 Hz waveforms in, the 162 + 8 features out): librosa serial
   vs the JAX batched path on whatever device JAX has (compile time reported apart);
2. *end to end* (int16 at native rate in -> resample, trim, features, FeatureSet on disk, no
   augmentation): librosa serial, ``precompute`` with ``--workers`` processes (pool start and
   numba warm-up included), and ``precompute`` with the JAX backend;

then the precompute rate with one augmented copy per file (the paper's doubling) and the
estimated time for the SER Superset (12,162 files + one copy each) at that rate.

``--tables opensmile`` (also in the default ``all``) times the openSMILE feature sets beside the
librosa path: per file on prepared waveforms in one process (``features.acoustic`` = egemaps,
compare, egemaps_frames, compare_frames; each openSMILE row also computes the statistical
features, as precompute does), then ``precompute`` end to end with ``--workers`` processes.
``--wav-dir DIR`` takes the clips from real WAV files under DIR instead of synthesising them
(openSMILE's pitch tracker costs differ on real speech):

    python scripts/bench_features.py --tables opensmile --files 200 --workers 2 \
        --wav-dir ../shared/realdata/ravdess
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time

import numpy as np

SUPERSET_FILES = 12_162
RATES = (16_000, 22_050, 24_414, 44_100, 48_000)


def speechlike(seconds: float, sr: int, f0: float, rng: np.random.Generator) -> np.ndarray:
    """int16 [n]: 8-partial vibrato tone, syllable envelope, -60 dBFS noise, 0.3 s silences."""
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 9) if k * f0 < sr / 2)
    voiced = 0.4 * voiced * (0.55 + 0.45 * np.sin(2 * np.pi * 3 * t) ** 2) / np.abs(voiced).max()
    pad = np.zeros(int(0.3 * sr))
    y = np.concatenate([pad, voiced, pad])
    y += 1e-3 * rng.standard_normal(y.shape[0])
    return np.clip(np.round(y * 32767), -32768, 32767).astype(np.int16)


def synthetic_table(files: int, seconds: float, seed: int):
    from serjax.corpora.dataset import InMemoryTable

    rng = np.random.default_rng(seed)
    rates = [RATES[i % len(RATES)] for i in range(files)]
    waves = [speechlike(seconds * rng.uniform(0.8, 1.2) - 0.6, sr, rng.uniform(90, 300), rng)
             for sr in rates]
    return InMemoryTable(
        corpus=np.array(["bench"] * files), path=np.array([f"f{i:05d}.wav" for i in range(files)]),
        actor=np.array([f"bench/{i % 10}" for i in range(files)]),
        gender=np.array([i % 2 for i in range(files)], np.int8),
        label=np.array([i % 6 for i in range(files)], np.int8),
        sample_rate=np.array(rates, np.int32), waves=waves,
        fingerprint=f"bench-{files}-{seconds}-{seed}")


def wav_table(folder: str, files: int):
    """The first ``files`` WAVs under ``folder`` (sorted), as int16 mono at their own rate."""
    import pathlib

    import soundfile

    from serjax.corpora.dataset import InMemoryTable
    paths = sorted(pathlib.Path(folder).rglob("*.wav"))[:files]
    if not paths:
        raise SystemExit(f"--wav-dir {folder}: no .wav files there")
    waves, rates = [], []
    for path in paths:
        data, sr = soundfile.read(path, dtype="int16", always_2d=True)
        waves.append(data.mean(axis=1).astype(np.int16))
        rates.append(sr)
    n = len(paths)
    return InMemoryTable(
        corpus=np.array(["bench"] * n), path=np.array([p.name for p in paths]),
        actor=np.array([f"bench/{i % 10}" for i in range(n)]),
        gender=np.array([i % 2 for i in range(n)], np.int8),
        label=np.array([i % 6 for i in range(n)], np.int8),
        sample_rate=np.array(rates, np.int32), waves=waves,
        fingerprint=f"bench-wavs-{folder}-{n}")


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) plus its finished child processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def single_thread():
    """One BLAS/FFT thread, as in a precompute worker: "serial" means one core."""
    import threadpoolctl  # noqa: PLC0415  (ships with scikit-learn)
    return threadpoolctl.threadpool_limits(1)


def timed(fn):
    """-> (wall seconds, CPU seconds, fn's result). CPU time is what an idle machine would need:
    on a shared machine wall time also counts other jobs' use of the cores."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    out = fn()
    return time.perf_counter() - start, _cpu_seconds() - cpu, out


def features_only(table, config) -> list[tuple[str, float, str]]:
    """(name, files/s, note) for librosa serial and JAX batched on prepared waveforms."""
    import jax  # noqa: PLC0415

    from serjax.features import extract  # noqa: PLC0415
    items = [extract.Item("bench", str(table.path[i]), str(table.actor[i]), int(table.gender[i]),
                          int(table.label[i]), table.waves[i], int(table.sample_rate[i]))
             for i in range(len(table.path))]
    extract.warm_up(config)
    rows, _ = extract.prepare_rows(items, config)
    n = len(rows)
    with single_thread():
        librosa_s, librosa_cpu, _ = timed(lambda: extract.librosa_features(rows, config))
    first_s, _, _ = timed(lambda: extract.jax_features(rows, config))   # includes compilation
    jax_s, jax_cpu, _ = timed(lambda: extract.jax_features(rows, config))
    device = jax.devices()[0]
    return [("librosa serial", n / librosa_s, 1e3 * librosa_cpu / n, "1 process"),
            ("JAX batched", n / jax_s, 1e3 * jax_cpu / n,
             f"{device.platform}: {device.device_kind}; batch {config.features.jax_batch_size};"
             f" first pass incl. compile {first_s:.1f} s")]


def end_to_end(table, config, workers: int, copies: int) -> list[tuple[str, float, str]]:
    from serjax.features import extract, precompute  # noqa: PLC0415
    n = len(table.path)
    config.augment.copies = copies
    items = precompute.read_items([table], [(0, i) for i in range(n)])
    extract.warm_up(config)
    with single_thread():
        serial_s, serial_cpu, _ = timed(
            lambda: extract.librosa_features(extract.prepare_rows(items, config)[0], config))
    results = [("librosa serial", n / serial_s, 1e3 * serial_cpu / n,
                "prepare + features, 1 process")]
    for backend in ("librosa", "jax"):
        config.features.backend = backend
        with tempfile.TemporaryDirectory() as cache:
            wall, cpu, fs = timed(lambda: precompute.precompute(
                table, config, cache, workers=workers, progress=False))
            rows = fs.num_rows
        what = "librosa" if backend == "librosa" else "JAX batched features +"
        results.append((f"{what} {workers} processes", n / wall, 1e3 * cpu / n,
                        f"precompute, {rows} rows, pool start + warm-up included"))
    return results


OPENSMILE_SETS = ("egemaps", "compare", "egemaps_frames", "compare_frames")


def opensmile_rows(table, config, workers: int) -> tuple[list, list]:
    """(per-file rows, end-to-end rows): librosa vs each openSMILE set on prepared waveforms in
    one process, then ``precompute`` (no augmentation) with ``workers`` processes."""
    from serjax.features import extract, opensmile_sets, precompute  # noqa: PLC0415
    n = len(table.path)
    config.augment.copies = 0
    config.features.backend = "librosa"
    items = precompute.read_items([table], [(0, i) for i in range(n)])
    extract.warm_up(config)
    rows, _ = extract.prepare_rows(items, config)
    per_file = []
    for kind in ("summary", *OPENSMILE_SETS):
        config.features.acoustic = kind
        if kind != "summary":
            opensmile_sets.compute(rows[0].wave, config.audio.sample_rate, kind)  # build Smile
        with single_thread():
            wall, cpu, out = timed(lambda: extract.row_features(rows, config))
        shape = ("T, " if kind.endswith("_frames") else "") + str(out[0][0].shape[-1])
        what = "librosa 162 + 8" if kind == "summary" else f"openSMILE {kind} [{shape}] + 8"
        per_file.append((what, len(rows) / wall, 1e3 * cpu / len(rows), "1 process, 1 thread"))
    end = []
    for kind in ("summary", "egemaps", "compare"):
        config.features.acoustic = kind
        with tempfile.TemporaryDirectory() as cache:
            wall, cpu, fs = timed(lambda: precompute.precompute(
                table, config, cache, workers=workers, progress=False))
        note = (f"precompute, {fs.num_rows} rows, acoustic {tuple(fs.acoustic.shape[1:])}; "
                "pool start + warm-up included")
        end.append((f"{kind}, {workers} processes", n / wall, 1e3 * cpu / n, note))
    config.features.acoustic = "summary"
    return per_file, end


def table_md(title: str, rows: list[tuple[str, float, float, str]]) -> str:
    base = rows[0][1]
    lines = [f"**{title}**", "",
             "| path | files/s (wall) | × librosa serial | CPU ms/file | notes |",
             "|---|---:|---:|---:|---|"]
    lines += [f"| {name} | {rate:.1f} | {rate / base:.2f} | {cpu:.1f} | {note} |"
              for name, rate, cpu, note in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", default="all",
                        help="comma-separated: features, end_to_end, augmented, opensmile "
                             "(default all)")
    parser.add_argument("--wav-dir", default="",
                        help="time real WAV files under this folder instead of synthetic clips")
    args = parser.parse_args(argv)
    tables = ({"features", "end_to_end", "augmented", "opensmile"} if args.tables == "all"
              else set(args.tables.split(",")))

    import jax  # noqa: PLC0415

    from serjax.features import spec  # noqa: PLC0415
    config = spec.default_config()
    config.features.jax_batch_size = args.batch_size
    config.features.shard_size = 64
    table = (wav_table(args.wav_dir, args.files) if args.wav_dir
             else synthetic_table(args.files, args.seconds, args.seed))
    seconds = np.mean([len(w) / sr for w, sr in zip(table.waves, table.sample_rate)])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"python {sys.version.split()[0]}; jax {jax.__version__} on {jax.devices()}; "
          f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    source = f"WAVs under {args.wav_dir}" if args.wav_dir else "synthetic files"
    print(f"corpus: {len(table.path)} {source}, mean {seconds:.2f} s at native rates "
          f"{sorted({int(r) for r in table.sample_rate})}\n")

    config.augment.copies = 0
    if "features" in tables:
        print(table_md("Features only (prepared 22,050 Hz waveforms)",
                       features_only(table, config)))
        print()
    if "end_to_end" in tables:
        print(table_md("End to end, no augmentation (int16 at native rate -> FeatureSet)",
                       end_to_end(table, config, args.workers, copies=0)))
        print()
    if "opensmile" in tables:
        per_file, end = opensmile_rows(table, config, args.workers)
        print(table_md("openSMILE vs librosa per file (prepared 22,050 Hz waveforms)", per_file))
        print()
        print(table_md("openSMILE vs librosa end to end, no augmentation", end))
        print()
    if "augmented" not in tables:
        return 0
    config.features.backend = "librosa"
    config.augment.copies = 1
    load_before = " ".join(f"{v:.1f}" for v in os.getloadavg())
    from serjax.features import precompute  # noqa: PLC0415
    with tempfile.TemporaryDirectory() as cache:
        wall, cpu, fs = timed(lambda: precompute.precompute(
            table, config, cache, workers=args.workers, progress=False))
    rate = args.files / wall
    print(f"precompute with one augmented copy per file, librosa, {args.workers} processes: "
          f"{rate:.1f} source files/s wall, {1e3 * cpu / args.files:.1f} CPU ms per source file "
          f"({fs.num_rows} rows in {wall:.1f} s; load average before: {load_before})")
    print(f"estimated SER Superset precompute ({SUPERSET_FILES} files + 1 copy each, "
          f"~{seconds:.1f} s clips) on {args.workers} processes: "
          f"{SUPERSET_FILES / rate / 60:.1f} min at the measured wall rate, "
          f"{SUPERSET_FILES * cpu / args.files / args.workers / 60:.1f} min from CPU time "
          "(idle cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
