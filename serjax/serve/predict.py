"""Inference on audio files: ``serjax predict --workdir W PATH...``.

The models come from ``serjax.serve.model_bundle.load_bundle`` (a workdir or an artifact, and
which of its models vote: ``--models all | best | FOLD``). Each file goes through exactly the
training-time code: ``audio_file.read_int16`` (any encoding; stereo is downmixed),
``audio.prepare`` (resample to ``audio.sample_rate`` with ``audio.res_type``, the fixed window
if the config has one, trim with ``audio.trim_top_db``), and the precompute code of
``features.acoustic`` (``wave_features``: librosa ``extract.librosa_features`` /
``jax_features`` with the config's backend, or openSMILE ``extract.row_features``; plus the
``features.fuse`` view appended to the statistical features), plus the gender bit
(``--gender``, or ``auto``: ``serjax.serve.gender``). Files with less than ``MIN_SPEECH_S`` of
sound after trimming are skipped with the reason. Models trained with ``train.speaker_norm``
need each speaker's features standardised by that speaker's own statistics, as in training:
``--speaker name`` (the speaker read from RAVDESS / CREMA-D / SAVEE / TESS file names) or
``--speaker one`` (every input is one speaker) groups the files, and each group of at least
``MIN_SPEAKER_FILES`` is standardised with ``grid_data.speaker_normalize``. ``Classifier`` is
the jitted forward pass (``checkpoint.forward_fn``: extractor -> fusion -> MLP for every
selected model, vmapped), probabilities averaged over models. The command's arguments live in
``serjax.serve.commands``.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys
from typing import Any

import jax
import numpy as np

from serjax.corpora import audio_file, naming
from serjax.features import audio, extract, fused_views, spec  # noqa: PLC0415
from serjax.serve import gender as gender_lib
from serjax.serve import inference_io
from serjax.serve.inference_io import MIN_SPEAKER_FILES, SPEAKER_CHOICES
from serjax.serve.model_bundle import Bundle, load_bundle
from serjax.training import checkpoint, grid_data

#: Shorter sound (after trimming) is skipped: the models saw 1.5-4 s utterances.
MIN_SPEECH_S = 0.25
#: Below this native rate the audio lacks the upper band the models were trained on.
LOW_RATE_WARNING_HZ = 16_000
PREDICT_BATCH = 64
SPEAKER_NORM_NEEDS = (
    "these models were trained with train.speaker_norm=True: each speaker's features are "
    "standardised by that speaker's own statistics. Pass --speaker name (the speaker read from "
    "corpus file names) or --speaker one (all inputs are one speaker), with at least "
    f"{MIN_SPEAKER_FILES} files per speaker")
EXTERNAL_REASON = ("these features were read from features.external_path at training time; "
                   "serjax cannot compute them for new audio")


# ------------------------------------------------------------------------ the forward pass

class Classifier:
    """Jitted ensemble forward pass (``checkpoint.forward_fn``); compiled once per batch size
    and reused.

    ``probs(acoustic [N, F], statistical [N, S], gender [N]) -> float32 [N, C]`` (mean over
    models); ``per_model(...) -> [M, N, C]``."""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self._forward = jax.jit(checkpoint.forward_fn(bundle.models))
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
    speaker: str = ""                        # with --speaker: the speaker group
    probs: np.ndarray | None = None          # float32 [C]
    error: str = ""
    warning: str = ""


def find_wavs(paths) -> list[pathlib.Path]:
    """Files and folders (searched recursively for audio files: ``audio_file.AUDIO_SUFFIXES``,
    any case) -> sorted file list."""
    found: list[pathlib.Path] = []
    for raw in paths:
        path = pathlib.Path(raw).expanduser()
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file()
                            and audio_file.audio_suffix(p.name))
            if not inside:
                raise ValueError(f"{path}: no .wav files in this folder, nor .flac, .ogg, .opus "
                                 "or .mp3 (searched recursively)")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist; pass .wav files (or .flac, .ogg, "
                                    ".opus, .mp3) or folders")
    if not found:
        raise ValueError("no input files: pass one or more audio files or folders")
    return found


def prepare_file(path: pathlib.Path, config) -> tuple[np.ndarray, str]:
    """A WAV file -> (prepared float32 waveform at ``audio.sample_rate``, warning text), with
    the training-time ``audio.prepare``; raises ``ValueError`` naming the file and the fix."""
    samples, rate = audio_file.read_int16(path)
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


def stored_acoustic(values: np.ndarray, features) -> Any:
    """One row's acoustic values from ``extract.row_features`` -> the model input as the
    FeatureSet stores it, through the precompute code (``extract._row_acoustic``): frame kinds
    ``{"frames": float32 [max_frames, D] (rounded through features.frames_dtype), "mask":
    [max_frames]}``, ``summary`` the frame mean, vector kinds float32 [D]. Raises ValueError
    with precompute's reason for a row it would skip (no frames, frames_dtype overflow)."""
    stored, mask, _, problem = extract._row_acoustic(np.asarray(values), features)  # noqa: SLF001
    if problem:
        raise ValueError(problem)
    if mask is None:
        return np.asarray(stored, np.float32)
    return {"frames": np.asarray(stored, np.float32), "mask": mask}


def view_features(waves: list[np.ndarray], config, backend: str | None = None) -> list[tuple]:
    """Prepared waveforms -> [(acoustic, statistical float32 [S])] of one FeatureSet's config
    (``features.fuse`` ignored): ``extract.row_features``, or for the librosa kinds with the
    config's backend resolved to ``jax`` (as ``spec.feature_backend`` has precompute do)
    ``extract.jax_features``, then ``stored_acoustic`` (precompute's own code: the frame mean
    for ``summary``; frame kinds padded to ``features.max_frames`` and rounded through
    ``frames_dtype``). External kinds (computed by another program) raise ValueError."""
    f = config.features
    kind = spec.acoustic_kind(f)
    if kind in spec.EXTERNAL_KINDS:
        raise ValueError(f"features.acoustic={kind!r}: {EXTERNAL_REASON}")
    sr = int(config.audio.sample_rate)
    rows = [extract.Row(extract.Item("input", f"input{i}", "input/0", 0, 0,
                                     np.zeros(0, np.int16), sr), 0, w)
            for i, w in enumerate(waves)]
    jax_path = (kind in spec.LIBROSA_KINDS
                and spec.resolve_backend(backend or f.backend) == "jax")
    compute = extract.jax_features if jax_path else extract.row_features
    return [(stored_acoustic(values, f), stats) for values, stats in compute(rows, config)]


def wave_features(waves: list[np.ndarray], config, backend: str | None = None) -> list[tuple]:
    """Prepared waveforms -> [(acoustic, statistical float32 [S])] with the precompute code
    (``view_features``): acoustic is a vector ``[F]`` (librosa ``summary``, openSMILE
    functionals) or, for frame kinds, ``{"frames": [T, F], "mask": [T]}`` as the FeatureSet
    stores them. With ``features.fuse`` the fused view (``fused_views.fuse_config``, a vector
    kind) is computed too and its vector appended to the statistical features, as
    ``fused_views.join`` does in training: ``statistical = [S | fused D]``."""
    main = view_features(waves, fused_views.without_fuse(config), backend)
    view = fused_views.fuse_config(config)
    if view is None:
        return main
    if view.features.acoustic in spec.EXTERNAL_KINDS:
        raise ValueError(f"features.fuse={view.features.acoustic!r}: {EXTERNAL_REASON}")
    fused = view_features(waves, view, backend)
    return [(a, np.concatenate([s, v]).astype(np.float32))
            for (a, s), (v, _) in zip(main, fused)]


def jax_window_reason(config) -> str:
    """Empty when the JAX window path (``live.traceable_features``: the librosa summary and
    statistical features in one jitted function, used by ``serjax stream --features jax`` and
    ``serjax export``'s window function) computes this config's model inputs; else why not
    (openSMILE and external kinds, fused views)."""
    kind = spec.acoustic_kind(config.features)
    fuse = config.features.get("fuse", "") or ""
    if kind != "summary":
        return (f"features.acoustic={kind!r}: the JAX window function computes the librosa "
                "summary features only")
    if fuse:
        return (f"features.fuse={fuse!r}: the JAX window function does not compute the fused "
                "view appended to the statistical features")
    return ""


def file_features(path: pathlib.Path, config, gender: int | None,
                  gender_method: str = "pyin") -> FileResult:
    """One file -> FileResult with features and gender, or with ``error`` set."""
    result = FileResult(str(path))
    try:
        wave, result.warning = prepare_file(path, config)
    except (ValueError, audio.BadAudio) as err:
        result.error = str(err)
        return result
    try:
        (result.acoustic, result.statistical), = wave_features([wave], config)
    except ValueError as err:  # a row precompute would skip (e.g. no frames)
        result.error = f"{path}: {err}"
        return result
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


def speaker_of(path: pathlib.Path, mode: str) -> str:
    """The speaker of a file: ``mode='one'``: the same for every file; ``'name'``: the actor
    of its RAVDESS / CREMA-D / SAVEE / TESS file name (ValueError with the fix if none fits)."""
    if mode == "one":
        return "all inputs"
    if mode != "name":
        raise ValueError(f"--speaker {mode!r}; choose one of {SPEAKER_CHOICES}")
    for corpus in naming.PARSERS:
        try:
            return naming.parse(corpus, path.name).actor
        except ValueError:
            continue
    raise ValueError(f"{path}: the speaker cannot be read from this file name (it follows no "
                     "RAVDESS, CREMA-D, SAVEE or TESS naming); rename it, or pass "
                     "--speaker one if every input file is the same speaker")


def normalize_speakers(results: list[FileResult], mode: str | None,
                       min_files: int = MIN_SPEAKER_FILES) -> None:
    """``train.speaker_norm`` at prediction time: standardises the features of each speaker's
    usable files by that speaker's statistics (``grid_data.speaker_normalize``, the training
    code), in place. A file whose speaker cannot be told, or whose speaker has fewer than
    ``min_files`` usable files, gets ``error`` with the reason."""
    if mode is None:
        raise ValueError(SPEAKER_NORM_NEEDS)
    for r in results:
        if not r.error:
            try:
                r.speaker = speaker_of(pathlib.Path(r.file), mode)
            except ValueError as err:
                r.error = str(err)
    groups: dict[str, list[FileResult]] = {}
    for r in results:
        if not r.error:
            groups.setdefault(r.speaker, []).append(r)
    usable = []
    for speaker, members in groups.items():
        if len(members) < min_files:
            for r in members:
                r.error = (f"{r.file}: speaker {speaker!r} has {len(members)} usable file(s); "
                           f"the models were trained with speaker normalisation, which needs "
                           f"at least {min_files} files of the same speaker: add more of them")
        else:
            usable += members
    if not usable:
        return
    frames = isinstance(usable[0].acoustic, dict)
    data = {"statistical": np.stack([r.statistical for r in usable]),
            "actor": np.asarray([r.speaker for r in usable])}
    if frames:
        data["acoustic"] = np.stack([r.acoustic["frames"] for r in usable])
        data["frame_mask"] = np.stack([r.acoustic["mask"] for r in usable])
    else:
        data["acoustic"] = np.stack([r.acoustic for r in usable])
    normalized = grid_data.speaker_normalize(data)
    for i, r in enumerate(usable):
        r.statistical = normalized["statistical"][i]
        r.acoustic = ({"frames": normalized["acoustic"][i], "mask": r.acoustic["mask"]}
                      if frames else normalized["acoustic"][i])


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
                  classifier: Classifier | None = None,
                  speaker: str | None = None) -> list[FileResult]:
    """Files/folders -> one FileResult per audio file found (bad files carry ``error``). ``speaker``
    (``'name'`` | ``'one'``) groups the files by speaker for models trained with
    ``train.speaker_norm`` (required for them, ignored otherwise)."""
    fixed = gender_lib.parse_gender(gender)
    if bundle.speaker_norm and speaker is None:  # before any file is read
        raise ValueError(f"{bundle.source}: {SPEAKER_NORM_NEEDS}")
    files = find_wavs(paths)
    results = []
    for i, path in enumerate(files):
        results.append(file_features(path, bundle.config, fixed))
        if progress:
            print(f"\r{i + 1}/{len(files)} files", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    if bundle.speaker_norm:
        normalize_speakers(results, speaker)
    classify(classifier or Classifier(bundle), results)
    return results


# ------------------------------------------------------------------------ output and CLI

def run(args) -> int:
    """``serjax predict``: prints the table; writes ``--csv`` / ``--json``; returns 0, or 1
    when no file could be classified."""
    bundle = load_bundle(args.workdir, args.models)
    results = predict_files(bundle, args.paths, args.gender, progress=not args.quiet,
                            speaker=args.speaker)
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
