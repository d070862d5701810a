"""Test helpers: small corpora written as manifests and as EmoBox folders (no fixtures here;
tests/test_manifest.py and tests/test_emobox.py make them)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import soundfile

from serjax.corpora import naming
from serjax.synth import corpus as synth

#: A non-RAVDESS label set (EmoDB's seven classes), each voiced with the synthetic voice's style
#: of the Kaggle emotion beside it.
EMODB_STYLE = {"anger": "angry", "boredom": "calm", "disgust": "disgust", "fear": "fear",
               "happiness": "happy", "neutral": "neutral", "sadness": "sad"}


def write_seven_class_corpus(root: Path, speakers: int = 6, per_class: int = 2,
                             seed: int = 0) -> list[dict]:
    """Writes ``speakers`` × 7 classes × ``per_class`` synthetic utterances as
    ``root/audio/spkNN/uNNN.wav`` (16 kHz) and ``root/corpus.csv``; returns the rows."""
    rows = []
    for s in range(speakers):
        actor = f"crema_d/{naming.CREMA_D_ACTORS[s]}"   # a synthetic voice per speaker
        gender = naming.actor_gender(actor)
        for name, style in EMODB_STYLE.items():
            for k in range(per_class):
                info = naming.FileInfo("crema_d", actor, gender, style, "IEO", "medium")
                path = f"audio/spk{s:02d}/u{len(rows):03d}.wav"
                samples = synth.render_file(info, f"{name}-{s}-{k}", seed)
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(root / path, samples, naming.NATIVE_RATES["crema_d"],
                                subtype="PCM_16")
                rows.append({"path": path, "emotion": name, "speaker": f"spk{s:02d}",
                             "gender": "m" if gender == naming.MALE else "f",
                             "session": str(s % 2)})
    write_csv(root / "corpus.csv", rows)
    return rows


def write_csv(path: Path, rows: list[dict], fields=None) -> Path:
    fields = fields or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_emobox(folder: Path, name: str, records: list[dict], folds: list[list[str]],
                 label_map: dict | None = None) -> Path:
    """An EmoBox data folder: ``<name>.jsonl``, ``fold_<k>/<name>_{train,test}_fold_<k>.jsonl``
    (fold k tests the keys ``folds[k-1]``, trains the rest) and ``label_map.json``."""
    write_jsonl(folder / f"{name}.jsonl", records)
    for k, test in enumerate(folds, 1):
        train = [r for r in records if r["key"] not in set(test)]
        write_jsonl(folder / f"fold_{k}" / f"{name}_train_fold_{k}.jsonl", train)
        write_jsonl(folder / f"fold_{k}" / f"{name}_test_fold_{k}.jsonl",
                    [r for r in records if r["key"] in set(test)])
    if label_map is not None:
        (folder / "label_map.json").write_text(json.dumps(label_map), encoding="utf-8")
    return folder


def trained_manifest_run(tmp: Path, overrides: list[str]):
    """(corpus root, workdir, the training FeatureSet) of a tiny 3-fold ``manifest_cv`` run on
    the seven-class corpus (3 speakers, 1 file per class; 1 seed, 1 epoch, librosa backend,
    no augmented copies) with ``overrides`` (features, model) on top: what the serving tests
    of a feature kind train once per module."""
    from serjax import config as config_lib  # noqa: PLC0415  (only the serving tests train)
    from serjax import experiment  # noqa: PLC0415
    from serjax.features import precompute  # noqa: PLC0415
    root = tmp / "corpus"
    write_seven_class_corpus(root, speakers=3, per_class=1)
    config = config_lib.load_config("manifest_cv", [
        f"--config.data.manifest={root / 'corpus.csv'}",
        f"--config.data.cache_dir={tmp / 'cache'}", "--config.folds.num_folds=3",
        "--config.folds.n_val_actors=1", "--config.seeds=1", "--config.augment.copies=0",
        "--config.features.workers=1", "--config.features.backend=librosa",
        "--config.train.epochs=1", "--config.runtime.xla_opt_level=0",
        "--config.runtime.scan_unroll=1", *overrides])
    experiment.run_cv(config, tmp / "run", progress=False)
    return root, tmp / "run", precompute.prepare_features(config, progress=False)  # cached
