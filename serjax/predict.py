"""Inference on audio files: ``serjax predict --workdir W PATH...``.

``load_bundle(W, models)`` reads a training workdir (``serjax cv``) or an artifact directory
(``serjax export``): both hold ``config.json`` (the experiment config) and ``models/``
(``serjax.checkpoint.save_models``). ``models`` picks which saved models vote:

* ``all``: every fold × seed model; the ensemble averages their class probabilities;
* ``best``: the one model with the highest test accuracy in the workdir's ``predictions.csv``;
* ``FOLD`` (an int): the seeds of that fold.

Model ``m`` belongs to fold ``m // seeds`` (``config.seeds`` models per split, fold-major, as
``serjax.folds`` orders them); an artifact lists its models' folds and seeds in
``artifact.json``.

Each file goes through exactly the training-time code: ``discover.read_wav`` (stereo is
downmixed), ``audio.prepare`` (resample to ``audio.sample_rate`` with ``audio.res_type``, the
fixed window if the config has one, trim with ``audio.trim_top_db``), and
``features.extract.librosa_features`` / ``jax_features`` (the config's backend, resolved as
precompute resolves it) followed by the frame mean, plus the gender bit (``--gender``, or
``auto``: ``serjax.gender``). Files with less than ``MIN_SPEECH_S`` of sound after trimming are
skipped with the reason. ``Classifier`` is the jitted forward pass: extractor -> fusion -> MLP
for every selected model (vmapped), probabilities averaged over models.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pathlib
import sys
from typing import Any

import ml_collections
import numpy as np

from serjax import audio, discover, gender as gender_lib, inference_io

#: Shorter sound (after trimming) is skipped: the models saw 1.5-4 s utterances.
MIN_SPEECH_S = 0.25
#: Below this native rate the audio lacks the upper band the models were trained on.
LOW_RATE_WARNING_HZ = 16_000
PREDICT_BATCH = 64
ARTIFACT_MANIFEST = "artifact.json"


# ------------------------------------------------------------------------ loading the models

@dataclasses.dataclass
class Bundle:
    """The experiment config and the selected models of a workdir or artifact directory.

    models: ``checkpoint.Models`` holding only the selected models (leading axis M);
    folds / seeds: int [M], the fold and seed of each."""

    source: pathlib.Path
    config: ml_collections.ConfigDict
    models: Any
    folds: list
    seeds: list

    @property
    def labels(self) -> list:
        return list(self.models.labels)

    def describe(self) -> str:
        pairs = ", ".join(f"f{f}/s{s}" for f, s in zip(self.folds, self.seeds))
        return f"{self.source}: {len(self.folds)} model(s) [{pairs}], labels {self.labels}"


def checked_dir(path) -> pathlib.Path:
    """``--workdir`` as a Path; FileNotFoundError with the fix when it is not a folder."""
    directory = pathlib.Path(path).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"--workdir {directory} does not exist; pass the workdir of a "
                                "finished `serjax cv` run or a `serjax export` artifact")
    return directory


def read_config(directory: pathlib.Path) -> ml_collections.ConfigDict:
    """``config.json`` of a workdir/artifact -> ConfigDict (needs ``audio`` and ``features``)."""
    path = directory / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --workdir must be a finished `serjax cv` "
                                "workdir or a `serjax export` artifact directory")
    config = ml_collections.ConfigDict(json.loads(path.read_text()))
    missing = [k for k in ("audio", "features") if k not in config]
    if missing:
        raise ValueError(f"{path} has no {missing} section(s); it was not written by serjax cv "
                         "or serjax export")
    return config


def model_table(directory: pathlib.Path, config, num_models: int, seeds) -> tuple[list, list]:
    """(folds [M], seeds [M]) of the saved models: from ``artifact.json`` when present, else
    fold-major order with ``config.seeds`` models per split."""
    manifest = directory / ARTIFACT_MANIFEST
    if manifest.is_file():
        meta = json.loads(manifest.read_text())
        return list(meta["folds"]), list(meta["seeds"])
    per_split = int(config.get("seeds", 1) or 1)
    if num_models % per_split:
        per_split = 1
    seeds = list(seeds) if seeds is not None else [m % per_split for m in range(num_models)]
    return [m // per_split for m in range(num_models)], seeds


def test_accuracies(directory: pathlib.Path, folds: list, seeds: list) -> list | None:
    """Each model's test accuracy, from the workdir's ``predictions.csv`` or, in an artifact
    directory, from ``artifact.json`` (copied there by ``serjax export``); None if neither
    exists. A model without rows gets -1."""
    path = directory / "predictions.csv"
    if not path.is_file():
        manifest = directory / ARTIFACT_MANIFEST
        if manifest.is_file():
            return json.loads(manifest.read_text()).get("test_accuracy")
        return None
    hits: dict[tuple[int, int], list[int]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (int(row["fold"]), int(row["seed"]))
            hits.setdefault(key, []).append(int(row["true"] == row["predicted"]))
    return [float(np.mean(hits[(f, s)])) if (f, s) in hits else -1.0
            for f, s in zip(folds, seeds)]


def best_model(directory: pathlib.Path, folds: list, seeds: list) -> int:
    """Index of the model with the highest test accuracy (``test_accuracies``)."""
    scores = test_accuracies(directory, folds, seeds)
    if scores is None:
        raise FileNotFoundError(
            f"--models best needs {directory / 'predictions.csv'} (written by serjax cv) or an "
            "artifact exported by this serjax version; use --models all or --models FOLD")
    if max(scores) < 0:
        raise ValueError(f"{directory} has no test predictions for the saved models' "
                         "(fold, seed) pairs")
    return int(np.argmax(scores))


def select(choice: str, directory: pathlib.Path, folds: list, seeds: list) -> list[int]:
    """``all`` | ``best`` | a fold number -> model indices."""
    choice = str(choice)
    if choice == "all":
        return list(range(len(folds)))
    if choice == "best":
        return [best_model(directory, folds, seeds)]
    try:
        fold = int(choice)
    except ValueError:
        raise ValueError(f"--models {choice!r}; choose all, best or a fold number") from None
    picked = [m for m, f in enumerate(folds) if f == fold]
    if not picked:
        raise ValueError(f"--models {fold}: no such fold; this run has folds "
                         f"{sorted(set(folds))}")
    return picked


def load_bundle(path, models: str = "all") -> Bundle:
    """A workdir or artifact directory -> Bundle with the chosen models (see module doc)."""
    import jax  # noqa: PLC0415

    from serjax import checkpoint, models as models_lib  # noqa: PLC0415
    directory = checked_dir(path)
    config = read_config(directory)
    if not (directory / checkpoint.MODELS_DIR / "models.json").is_file():
        raise FileNotFoundError(f"{directory / checkpoint.MODELS_DIR} has no trained models "
                                "(models.json); finish `serjax cv` first")
    kind = config.get("model", {}).get("kind", "fusionnet")
    wanted = "frames" if models_lib.reads_frames(config.get("model", {})) else "summary"
    if config.features.get("acoustic", "summary") != wanted:
        raise ValueError(f"{directory}: features.acoustic={config.features.acoustic!r} does "
                         f"not suit model.kind={kind!r}, which reads {wanted!r} features")
    if config.get("train") is not None and config.train.get("speaker_norm", False):
        raise ValueError(f"{directory}: trained with train.speaker_norm=True, which standardises "
                         "each speaker by statistics of many of their files; prediction on "
                         "single files cannot do that yet: train without it to predict")
    saved = checkpoint.load_models(directory)
    meta = json.loads((directory / checkpoint.MODELS_DIR / "models.json").read_text())
    num = int(jax.tree.leaves(saved.params)[0].shape[0])
    folds, seeds = model_table(directory, config, num, meta.get("seeds"))
    idx = select(models, directory, folds, seeds)
    take = np.asarray(idx)
    subset = saved._replace(params=jax.tree.map(lambda a: a[take], saved.params),
                            scalers=jax.tree.map(lambda a: a[take], saved.scalers))
    return Bundle(directory, config, subset, [folds[i] for i in idx], [seeds[i] for i in idx])


# ------------------------------------------------------------------------ the forward pass

class Classifier:
    """Jitted ensemble forward pass; compiled once per batch size and reused.

    ``probs(acoustic [N, F], statistical [N, S], gender [N]) -> float32 [N, C]`` (mean over
    models); ``per_model(...) -> [M, N, C]``."""

    def __init__(self, bundle: Bundle):
        import jax  # noqa: PLC0415
        self.bundle = bundle
        self._forward = jax.jit(forward_fn(bundle.models))
        self._params = jax.device_put(bundle.models.params)
        self._scalers = jax.device_put(bundle.models.scalers)

    def per_model(self, acoustic, statistical, gender) -> np.ndarray:
        """``acoustic``: summary ``[N, F]``, or for frames models ``{"frames": [N, T, F],
        "mask": [N, T]}``."""
        if isinstance(acoustic, dict):
            acoustic = {"frames": np.asarray(acoustic["frames"], np.float32),
                        "mask": np.asarray(acoustic["mask"], bool)}
        else:
            acoustic = np.asarray(acoustic, np.float32)
        out = self._forward(self._params, self._scalers, acoustic,
                            np.asarray(statistical, np.float32), np.asarray(gender, np.float32))
        return np.asarray(out)

    def probs(self, acoustic, statistical, gender) -> np.ndarray:
        return self.per_model(acoustic, statistical, gender).mean(axis=0)


def forward_fn(models):
    """(params, scalers, acoustic [N, F], statistical [N, S], gender [N]) -> probs [M, N, C],
    the same modules, scalers and fusion as ``checkpoint.predict_proba``."""
    import jax  # noqa: PLC0415

    from serjax import engine, models as models_lib, train_step  # noqa: PLC0415
    num_classes = len(models.labels)
    extractor = models_lib.extractor_module(models.config, num_classes)
    classifier = models_lib.MLPClassifier(models.config, num_classes)
    fusion = models.config.fusion

    def one(params, s_acoustic, s_fused, acoustic, statistical, gender):
        deep = extractor.apply(params["extractor"], train_step.standardize(acoustic, s_acoustic),
                               train=False)[1]
        fused = engine.fuse(deep, statistical, gender, fusion)
        logits = classifier.apply(params["classifier"], train_step.standardize(fused, s_fused),
                                  train=False)
        return jax.nn.softmax(logits, -1)

    def forward(params, scalers, acoustic, statistical, gender):
        return jax.vmap(one, in_axes=(0, 0, 0, None, None, None))(
            params, scalers["acoustic"], scalers["fused"], acoustic, statistical, gender)
    return forward


# ------------------------------------------------------------------------ features of files

@dataclasses.dataclass
class FileResult:
    """One input file: its features and gender, then (after classification) probabilities."""

    file: str
    acoustic: Any = None                     # float32 [F], or frames {"frames": [T, F], "mask": [T]}
    statistical: np.ndarray | None = None    # float32 [S]
    gender: int | None = None
    f0_hz: float = float("nan")
    gender_source: str = ""                  # "given" | "estimated" | "default (no voiced frame)"
    probs: np.ndarray | None = None          # float32 [C]
    error: str = ""
    warning: str = ""


def find_wavs(paths) -> list[pathlib.Path]:
    """Files and folders (searched recursively for ``*.wav``, any case) -> sorted file list."""
    found: list[pathlib.Path] = []
    for raw in paths:
        path = pathlib.Path(raw).expanduser()
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file()
                            and p.suffix.lower() == ".wav" and not p.name.startswith("._"))
            if not inside:
                raise ValueError(f"{path}: no .wav files in this folder (searched recursively)")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist; pass .wav files or folders")
    if not found:
        raise ValueError("no input files: pass one or more .wav files or folders")
    return found


def prepare_file(path: pathlib.Path, config) -> tuple[np.ndarray, str]:
    """A WAV file -> (prepared float32 waveform at ``audio.sample_rate``, warning text), with
    the training-time ``audio.prepare``; raises ``ValueError`` naming the file and the fix."""
    samples, rate = discover.read_wav(path)
    warning = ""
    if rate < LOW_RATE_WARNING_HZ:
        warning = (f"{rate} Hz audio has no content above {rate // 2} Hz; the models were "
                   f"trained on {config.audio.sample_rate} Hz audio, so expect lower accuracy")
    wave = audio.prepare(samples, rate, config.audio, name=str(path),
                         min_samples=int(config.features.n_fft))
    seconds = wave.size / config.audio.sample_rate
    if seconds < MIN_SPEECH_S:
        raise audio.BadAudio(str(path), "too_short", f"only {seconds:.2f} s of sound after "
                             f"trimming; serjax predict needs at least {MIN_SPEECH_S} s")
    return wave, warning


def wave_features(waves: list[np.ndarray], config, backend: str | None = None) -> list[tuple]:
    """Prepared waveforms -> [(acoustic, statistical float32 [S])] with the precompute code
    (``extract.librosa_features`` / ``jax_features``): acoustic is the summary ``[F]`` (frame
    mean), or with ``features.acoustic='frames'`` the frames padded to ``features.max_frames``
    with their mask, ``{"frames": [T, F], "mask": [T]}``, as the FeatureSet stores them."""
    from serjax.features import acoustic, extract, spec  # noqa: PLC0415
    backend = spec.resolve_backend(backend or config.features.backend)
    sr = int(config.audio.sample_rate)
    rows = [extract.Row(extract.Item("input", f"input{i}", "input/0", 0, 0,
                                     np.zeros(0, np.int16), sr), 0, w)
            for i, w in enumerate(waves)]
    compute = extract.jax_features if backend == "jax" else extract.librosa_features
    def model_input(frames):
        if config.features.get("acoustic", "summary") != "frames":
            return acoustic.summary_from_frames(frames)
        padded, count = acoustic.pad_frames(frames, int(config.features.max_frames))
        return {"frames": padded.astype(np.float32),
                "mask": np.arange(int(config.features.max_frames)) < count}
    return [(model_input(frames), stats) for frames, stats in compute(rows, config)]


def file_features(path: pathlib.Path, config, gender: int | None,
                  gender_method: str = "pyin") -> FileResult:
    """One file -> FileResult with features and gender, or with ``error`` set."""
    result = FileResult(str(path))
    try:
        wave, result.warning = prepare_file(path, config)
    except (ValueError, audio.BadAudio) as err:
        result.error = str(err)
        return result
    (result.acoustic, result.statistical), = wave_features([wave], config)
    leaves = [*(result.acoustic.values() if isinstance(result.acoustic, dict)
                else [result.acoustic]), result.statistical]
    if not all(np.all(np.isfinite(leaf)) for leaf in leaves):
        result.error = f"{path}: features contain NaN or inf; check the file"
    elif gender is not None:
        result.gender, result.gender_source = gender, "given"
    else:
        est = gender_lib.estimate_gender(wave, int(config.audio.sample_rate), gender_method)
        result.gender, result.f0_hz = est.gender, est.f0_hz
        result.gender_source = "estimated" if est.voiced_frames else "default (no voiced frame)"
    return result


def classify(classifier: Classifier, results: list[FileResult]) -> None:
    """Fills ``probs`` of every result without an error, in batches of PREDICT_BATCH rows
    (padded, so the forward pass compiles once)."""
    ok = [r for r in results if not r.error]
    for start in range(0, len(ok), PREDICT_BATCH):
        chunk = ok[start:start + PREDICT_BATCH]
        pad = PREDICT_BATCH - len(chunk)
        stack = lambda xs: np.concatenate([np.stack(xs), np.repeat(xs[:1], pad, 0)])  # noqa: E731
        acoustic = [r.acoustic for r in chunk]
        if isinstance(acoustic[0], dict):
            acoustic = {k: stack([a[k] for a in acoustic]) for k in ("frames", "mask")}
        else:
            acoustic = stack(acoustic)
        probs = classifier.probs(acoustic,
                                 stack([r.statistical for r in chunk]),
                                 stack([np.float32(r.gender) for r in chunk]))
        for r, p in zip(chunk, probs):
            r.probs = p


def predict_files(bundle: Bundle, paths, gender: str = "auto", progress: bool = False,
                  classifier: Classifier | None = None) -> list[FileResult]:
    """Files/folders -> one FileResult per .wav found (bad files carry ``error``)."""
    fixed = gender_lib.parse_gender(gender)
    files = find_wavs(paths)
    results = []
    for i, path in enumerate(files):
        results.append(file_features(path, bundle.config, fixed))
        if progress:
            print(f"\r{i + 1}/{len(files)} files", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    classify(classifier or Classifier(bundle), results)
    return results


# ------------------------------------------------------------------------ output and CLI

def run(args) -> int:
    """``serjax predict``: prints the table; writes ``--csv`` / ``--json``; returns 0, or 1
    when no file could be classified."""
    bundle = load_bundle(args.workdir, args.models)
    results = predict_files(bundle, args.paths, args.gender, progress=not args.quiet)
    print(inference_io.format_table(results, bundle.labels))
    for r in results:
        if r.warning:
            print(f"warning: {r.file}: {r.warning}", file=sys.stderr)
    if args.csv:
        inference_io.write_csv(results, bundle.labels, args.csv)
    if args.json:
        inference_io.write_json(results, bundle.labels, args.json)
    if all(r.error for r in results):
        print("serjax predict: no file could be classified (reasons above)", file=sys.stderr)
        return 1
    return 0


def add_cli(subparsers) -> None:
    """Registers ``serjax predict`` (``func`` returns the exit code)."""
    p = subparsers.add_parser("predict", help="classify .wav files with a trained workdir")
    p.add_argument("paths", nargs="+", type=pathlib.Path, metavar="PATH",
                   help=".wav files or folders (searched recursively)")
    p.add_argument("--workdir", type=pathlib.Path, required=True,
                   help="a `serjax cv` workdir or a `serjax export` artifact directory")
    p.add_argument("--gender", default="auto", choices=gender_lib.GENDER_CHOICES,
                   help="speaker gender for the fused classifier; auto: from median F0 "
                        f"(>= {gender_lib.THRESHOLD_HZ:g} Hz female)")
    p.add_argument("--models", default="all",
                   help="all (ensemble of every fold x seed), best, or a fold number")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", type=pathlib.Path, help="also write the results as CSV")
    out.add_argument("--json", type=pathlib.Path, help="also write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)
