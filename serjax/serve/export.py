"""Self-contained inference artifacts: ``serjax export --workdir W --out DIR``.

The artifact directory holds everything inference needs, and nothing of the training run::

  config.json          the experiment config (audio loading, features, model, labels, ...)
  models/              the selected models' parameters and scalers (checkpoint.save_models)
  artifact.json        format, labels, each model's fold and seed, the feature spec (audio and
                       features sections, widths, statistical names, gender encoding) and the
                       StableHLO functions' signatures
  label_map.json       {"0": "neutral", ...}
  scalers.npz          the scalers as plain arrays (acoustic_mean [M, F], ... fused_scale [M, D])
  inference.stablehlo  jax.export of  probs = f(acoustic f32[n, F], statistical f32[n, S],
                       gender f32[n]) -> f32[n, C]  (ensemble mean; parameters baked in; n
                       symbolic)
  window.stablehlo     jax.export of  probs = g(wave f32[L], length i32[], gender f32[]) -> f32[C]
                       for a fixed stream window of L samples at audio.sample_rate: the JAX
                       features and the model in one function (the wave already trimmed and
                       zero-padded to L; ``length`` its real sample count)

``*.stablehlo`` are ``Exported.serialize()`` bytes, written when the ``flatbuffers`` package
(JAX's optional dependency for serialization) is installed; ``*.mlir`` is always written: the
same StableHLO module as text, for other StableHLO runtimes.

``serjax predict`` / ``serjax stream`` accept the directory as ``--workdir``. Outside the
training code, ``load_exported(DIR)`` (needs only jax and numpy; copy this function) runs the
StableHLO through ``jax.export.deserialize``.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import sys

import jax
import jax.numpy as jnp
import numpy as np

from serjax.corpora import naming
from serjax.features import spec  # noqa: PLC0415
from serjax.models import networks as models_lib
from serjax.serve import live, model_bundle, predict
from serjax.training import checkpoint

FORMAT = "serjax-artifact-1"


def load_exported(directory, name: str = "inference"):
    """The exported function ``name`` of an artifact as a callable on NumPy arrays.

    Needs only ``jax`` and ``numpy``: ``inference(acoustic [n, F], statistical [n, S],
    gender [n]) -> probs [n, C]``; ``window(wave [L], length, gender) -> probs [C]``."""
    path = pathlib.Path(directory) / f"{name}.stablehlo"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: export the artifact with `serjax export` "
                                "(with the 'flatbuffers' package installed)")
    exported = jax.export.deserialize(bytearray(path.read_bytes()))
    return lambda *args: np.asarray(exported.call(*args))


def _inference_fn(bundle):
    forward = checkpoint.forward_fn(bundle.models)
    params = jax.tree.map(np.asarray, bundle.models.params)
    scalers = jax.tree.map(np.asarray, bundle.models.scalers)
    return lambda acoustic, statistical, gender: forward(
        params, scalers, acoustic, statistical, gender).mean(axis=0)


def _window_fn(bundle):
    inference = _inference_fn(bundle)
    features = live.traceable_features(bundle.config)

    def window(wave, length, gender):
        summary, statistical = features(wave, length)
        return inference(summary, statistical, gender[None])[0]
    return window


def serialization_available() -> bool:
    """jax.export serialization needs the ``flatbuffers`` package (a JAX optional extra)."""
    try:
        import flatbuffers  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def export_functions(bundle, window_s: float, platforms=("cpu",)) -> dict:
    """{name: jax.export.Exported} for ``inference`` (n symbolic) and ``window``."""
    f = bundle.config.features
    width, stats = spec.acoustic_width(f), len(spec.statistical_names(f))
    (n,) = jax.export.symbolic_shape("n")
    row = lambda *shape, dtype=jnp.float32: jax.ShapeDtypeStruct(shape, dtype)  # noqa: E731
    window_n = int(round(window_s * bundle.config.audio.sample_rate))
    signatures = {
        "inference": (_inference_fn(bundle), (row(n, width), row(n, stats), row(n))),
        "window": (_window_fn(bundle), (row(window_n), row(dtype=jnp.int32), row())),
    }
    return {name: jax.export.export(jax.jit(fn), platforms=tuple(platforms))(*args)
            for name, (fn, args) in signatures.items()}


def feature_spec(config) -> dict:
    f = config.features
    return {"audio": config.audio.to_dict(), "features": f.to_dict(),
            "acoustic_width": spec.acoustic_width(f),
            "acoustic_blocks": list(spec.ACOUSTIC_BLOCKS),
            "statistical_names": list(spec.statistical_names(f)),
            "gender": {"male": naming.MALE, "female": naming.FEMALE}}


def export_artifact(workdir, out, models: str = "all", window_s: float = 2.5,
                    platforms=("cpu",)) -> pathlib.Path:
    """Writes the artifact directory ``out`` (see module doc) from a workdir; returns it."""
    bundle = model_bundle.load_bundle(workdir, models)
    if models_lib.reads_frames(bundle.models.config):
        raise ValueError(f"{workdir}: serjax export writes the summary-vector models "
                         "(model.kind='fusionnet'); use this frames model with `serjax predict` "
                         "or `serjax stream --workdir` directly")
    if bundle.speaker_norm:
        raise ValueError(f"{workdir}: trained with train.speaker_norm=True; its inputs must be "
                         "standardised per speaker first, which the exported forward pass "
                         "does not do: use `serjax predict --speaker name|one` on the workdir")
    reason = predict.jax_window_reason(bundle.config)
    if reason:  # window.stablehlo computes its features in JAX; artifact.json describes them
        raise ValueError(f"{workdir}: {reason}. serjax export writes models on the librosa "
                         "features.acoustic='summary' without features.fuse only; serve this "
                         "model with `serjax predict` or `serjax stream --features librosa` "
                         "on the workdir")
    out = pathlib.Path(out).expanduser()
    if out.exists() and any(out.iterdir()):
        if not (out / "artifact.json").is_file():
            raise ValueError(f"--out {out} exists and is not a serjax artifact; choose an "
                                  "empty or new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    m = bundle.models
    shutil.copyfile(bundle.source / "config.json", out / "config.json")
    checkpoint.save_models(out, m.params, m.scalers, m.config, m.labels, bundle.seeds)
    np.savez(out / "scalers.npz", **{f"{k}_{field}": np.asarray(v)
                                     for k, s in m.scalers.items()
                                     for field, v in s._asdict().items()})
    labels = list(m.labels)
    (out / "label_map.json").write_text(json.dumps({str(i): n for i, n in enumerate(labels)}))
    serialized = serialization_available()
    for name, exported in export_functions(bundle, window_s, platforms).items():
        (out / f"{name}.mlir").write_text(exported.mlir_module())
        if serialized:
            (out / f"{name}.stablehlo").write_bytes(bytes(exported.serialize()))
    spec_ = feature_spec(bundle.config)
    manifest = {
        "format": FORMAT, "labels": labels, "folds": bundle.folds, "seeds": bundle.seeds,
        "source": str(bundle.source.resolve()), "models": models, "jax_version": jax.__version__,
        "feature_spec": spec_, "platforms": list(platforms), "serialized": serialized,
        # so that `--models best` works on the artifact too (its predictions.csv stays behind)
        "test_accuracy": model_bundle.test_accuracies(bundle.source, bundle.folds, bundle.seeds),
        "functions": {
            "inference": {"file": "inference.stablehlo",
                          "inputs": [["acoustic", "float32", ["n", spec_["acoustic_width"]]],
                                     ["statistical", "float32",
                                      ["n", len(spec_["statistical_names"])]],
                                     ["gender", "float32", ["n"]]],
                          "output": ["probabilities", "float32", ["n", len(labels)]]},
            "window": {"file": "window.stablehlo", "window_s": window_s,
                       "inputs": [["wave", "float32",
                                   [int(round(window_s * bundle.config.audio.sample_rate))]],
                                  ["length", "int32", []], ["gender", "float32", []]],
                       "output": ["probabilities", "float32", [len(labels)]]}},
    }
    (out / "artifact.json").write_text(json.dumps(manifest, indent=1))
    return out


def run(args) -> int:
    out = export_artifact(args.workdir, args.out, args.models, args.window,
                          tuple(args.platforms.split(",")))
    print(f"wrote {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    if not serialization_available():
        print("note: the 'flatbuffers' package is not installed, so only the StableHLO text "
              "(*.mlir) was written; `pip install flatbuffers` and export again for the "
              "*.stablehlo files that load_exported runs", file=sys.stderr)
    return 0
