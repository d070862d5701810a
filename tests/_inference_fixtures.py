"""A tiny trained workdir for the inference tests (predict, stream, export), built once per
test session and shared by the three modules through ``functools.cache``.

Synthetic RAVDESS utterances (``serjax.synth.corpus.render_file``) of two well-separated emotions, sad
and angry, for all 24 actors × 2 statements at 48 kHz; features through the real precompute
(``precompute.precompute`` over an in-memory CorpusTable, librosa backend, no augmentation);
2 actor folds (test actors 01-04 and 05-08) × 2 seeds = 4 models trained with
``serjax.training.train.train_grid`` (small extractor, 10 epochs per step); the workdir gets
``config.json``, ``models/`` and ``predictions.csv`` as ``serjax cv`` writes them.
"""

from __future__ import annotations

import atexit
import csv
import dataclasses
import functools
import pathlib
import shutil
import tempfile

import numpy as np
import soundfile

from serjax.corpora import audio_file, naming
from serjax.corpora.dataset import InMemoryTable

EMOTIONS = {"04": "sad", "05": "angry"}
LABELS = ("sad", "angry")
SEEDS = (0, 1)
FOLD_TEST_ACTORS = ((1, 2, 3, 4), (5, 6, 7, 8))
VAL_ACTORS = {0: (9, 10), 1: (11, 12)}


@dataclasses.dataclass
class TrainedRun:
    root: pathlib.Path         # temporary folder holding everything below
    audio_dir: pathlib.Path    # Actor_NN/*.wav
    workdir: pathlib.Path
    files: list                # absolute wav paths, FeatureSet row order
    features: dict             # acoustic, statistical, gender, label (model label index)
    config: object             # the full experiment config


def experiment_config(frames: bool = False):
    """The full experiment config as ``configs/common.py`` composes it, made small; with
    ``frames`` the frame-level extractor on ``features.acoustic='frames'``."""
    import ml_collections

    from serjax.features import spec
    from serjax.models import networks
    from serjax.training import runtime, train
    c = spec.default_config()
    c.augment.copies = 0
    c.features.backend = "librosa"
    c.features.workers = 1
    c.data = ml_collections.ConfigDict({"corpus": "ravdess", "synthetic_scale": 0.0})
    c.folds = ml_collections.ConfigDict({"scheme": "test"})
    c.model = networks.default_model_config()
    c.model.conv_features, c.model.kernel_sizes = (16,), (5,)
    c.train = train.default_train_config()
    c.train.epochs = 10
    c.runtime = runtime.default_runtime_config()
    c.runtime.scan_unroll = 1      # halves the compile time of these tests
    c.runtime.eval_batch_size = 64
    c.seeds = len(SEEDS)
    c.seed_offset = 0
    c.labels = LABELS
    if frames:
        c.features.acoustic, c.features.max_frames = "frames", 160
        c.model.kind, c.model.frames_cnn.conv_features = "frames_cnn", (8, 8)
    return c


def write_utterances(audio_dir: pathlib.Path) -> list[pathlib.Path]:
    from serjax.synth import corpus
    paths = []
    for actor in range(1, 25):
        for emo in EMOTIONS:
            for statement in ("01", "02"):
                name = f"03-01-{emo}-01-{statement}-01-{actor:02d}.wav"
                info = naming.parse("ravdess", name)
                path = audio_dir / f"Actor_{actor:02d}" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(path, corpus.render_file(info, name, seed=0),
                                naming.NATIVE_RATES["ravdess"], subtype="PCM_16")
                paths.append(path)
    return paths


def memory_table(paths: list[pathlib.Path], audio_dir: pathlib.Path) -> InMemoryTable:
    infos = [naming.parse("ravdess", p.name) for p in paths]
    reads = [audio_file.read_int16(p) for p in paths]
    return InMemoryTable(
        corpus=np.array(["ravdess"] * len(paths)),
        path=np.array([p.relative_to(audio_dir).as_posix() for p in paths]),
        actor=np.array([i.actor for i in infos]),
        gender=np.array([i.gender for i in infos], np.int8),
        label=np.array([i.label for i in infos], np.int8),
        sample_rate=np.array([r for _, r in reads], np.int32),
        waves=[s for s, _ in reads], fingerprint="inference-tests-v1")


def role_matrix(actors: np.ndarray) -> np.ndarray:
    """int8 [M, N], fold-major (m = fold * len(SEEDS) + seed index)."""
    number = np.array([int(a.split("/")[1]) for a in actors])
    roles = []
    for fold, test in enumerate(FOLD_TEST_ACTORS):
        row = np.full(number.shape, 1, np.int8)
        row[np.isin(number, VAL_ACTORS[fold])] = 2
        row[np.isin(number, test)] = 3
        roles += [row] * len(SEEDS)
    return np.stack(roles)


def write_predictions(workdir: pathlib.Path, result, feature_set, labels) -> None:
    with open(workdir / "predictions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "actor", "true", "predicted", "fold", "seed"])
        for m in range(result.num_models):
            for row, pred in zip(result.test_rows[m], result.test_pred[m]):
                true = labels[LABELS.index(naming.LABELS[feature_set.label[row]])]
                writer.writerow([feature_set.path[row], feature_set.actor[row], true,
                                 labels[pred], m // len(SEEDS), SEEDS[m % len(SEEDS)]])


@functools.cache
def trained_run(frames: bool = False) -> TrainedRun:
    """Builds (once per process) the audio, features, 4 models and workdir (``frames``: the
    frame-level extractor)."""
    from serjax import config as config_lib
    from serjax.features import precompute
    from serjax.training import train
    root = pathlib.Path(tempfile.mkdtemp(prefix="serjax-inference-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    audio_dir, workdir = root / "audio", root / "workdir"
    paths = write_utterances(audio_dir)
    table = memory_table(paths, audio_dir)
    config = experiment_config(frames)
    fs = precompute.precompute([table], config, root / "features", workers=1, progress=False)
    assert fs.num_rows == len(paths), fs.manifest["skipped"]
    label = np.array([LABELS.index(naming.LABELS[i]) for i in fs.label], np.int32)
    data = {"acoustic": np.asarray(fs.acoustic), "statistical": np.asarray(fs.statistical),
            "gender": np.asarray(fs.gender), "label": label}
    if frames:
        data["frame_mask"] = np.asarray(fs.frame_mask)
    result = train.train_grid(data, role_matrix(fs.actor), np.array(SEEDS * 2), config.model,
                              config.train, runtime=config.runtime, labels=list(LABELS),
                              workdir=workdir, progress=False)
    (workdir / "config.json").write_text(config_lib.to_json(config))
    write_predictions(workdir, result, fs, list(LABELS))
    files = [audio_dir / p for p in fs.path]
    return TrainedRun(root, audio_dir, workdir, files, data, config)
