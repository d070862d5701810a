"""features.fuse: a second vector view appended to ``statistical`` (serjax.features.fused_views),
its alignment, its validation, the main set's cache key, serving's refusal of an external
view and one CV run."""

import json
import logging

import numpy as np
import pytest
from _feature_tables import feature_config, tiny_table
from _listed_corpora import write_seven_class_corpus

from serjax import config as config_lib
from serjax import experiment
from serjax.corpora import sources
from serjax.features import fused_views, precompute, spec, store
from serjax.serve import model_bundle
from serjax.training import checkpoint

AUTHORS8 = len(spec.AUTHORS8)
SUMMARY = 162


@pytest.fixture(scope="module")
def table():
    return tiny_table(4)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("fuse_cache")


def _prepare(monkeypatch, table, cache, **features):
    """precompute.prepare_features on the in-memory ``table`` (no corpus to build)."""
    monkeypatch.setattr(sources, "load_tables", lambda config, progress: table)
    monkeypatch.setattr(sources, "cache_dir", lambda config: cache)
    return precompute.prepare_features(feature_config(workers=1, **features), progress=False)


@pytest.fixture(scope="module")
def sets(table, cache):
    """(frames FeatureSet, summary FeatureSet) of the same 4 files + 1 augmented copy each."""
    def build(**features):
        return precompute.precompute(table, feature_config(**features), cache / "features",
                                     workers=1, progress=False)
    return build(acoustic="frames", max_frames=64), build(acoustic="summary")


def test_fused_statistical_is_main_statistical_then_the_view_row_for_row(
        monkeypatch, table, cache, sets):
    frames, summary = sets
    joined = _prepare(monkeypatch, table, cache, acoustic="frames", max_frames=64,
                      fuse="summary")
    assert joined.num_rows == frames.num_rows == summary.num_rows == 8
    assert joined.statistical.shape == (8, AUTHORS8 + SUMMARY)
    np.testing.assert_array_equal(joined.statistical[:, :AUTHORS8], frames.statistical)
    np.testing.assert_array_equal(joined.statistical[:, AUTHORS8:], summary.acoustic)
    # Both views come from the same prepared (and augmented) waveforms: the same statistics.
    np.testing.assert_allclose(frames.statistical, summary.statistical, rtol=1e-5, atol=1e-6)
    # The main set is untouched: same cached directory, frames and mask as it was.
    assert joined.directory == frames.directory
    assert joined.acoustic.shape == (8, 64, SUMMARY) and joined.frame_mask.shape == (8, 64)
    np.testing.assert_array_equal(joined.path, frames.path)
    assert joined.manifest["fused"] == {
        "kind": "summary", "width": SUMMARY, "statistical_width": AUTHORS8,
        "directory": str(summary.directory), "dropped_rows": 0}
    names = joined.manifest["statistical_names"]
    assert names[:AUTHORS8] == list(spec.AUTHORS8) and names[AUTHORS8] == "summary:0"
    assert len(names) == AUTHORS8 + SUMMARY
    assert joined.manifest["fields"]["statistical"]["shape"] == [8, AUTHORS8 + SUMMARY]
    line = precompute.describe(joined)
    assert "statistical (170,), statistical = 8 + fused summary 162" in line
    picked = joined.select(joined.augmented)
    assert picked.statistical.shape == (4, 170) and picked.manifest["fused"]["width"] == 162


def test_prepare_features_without_progress_draws_no_bar(monkeypatch, table, tmp_path, capfd):
    capfd.readouterr()
    _prepare(monkeypatch, table, tmp_path, acoustic="summary", fuse="egemaps")  # both computed
    out, err = capfd.readouterr()
    assert "file/s" not in out + err and "features:" not in out + err


def test_openSMILE_names_follow_the_view(sets):
    frames, summary = sets
    fake = store.FeatureSet(dict(summary.arrays, acoustic=np.asarray(summary.acoustic)[:, :3]),
                            dict(summary.manifest, acoustic_names=["a", "b", "c"]), None)
    joined = fused_views.join(frames, fake, "egemaps")
    assert joined.manifest["statistical_names"][-3:] == ["egemaps:a", "egemaps:b", "egemaps:c"]
    assert joined.manifest["fused"]["directory"] is None


def test_misaligned_views_join_by_key_and_drop_missing_rows(sets, caplog):
    frames, summary = sets
    # The view lost row 3 (unreadable there only) and comes in reverse order.
    rows = np.array([7, 6, 5, 4, 2, 1, 0])
    view = summary.select(rows)
    with caplog.at_level(logging.WARNING, logger="serjax.features"):
        joined = fused_views.join(frames, view, "summary")
    assert joined.num_rows == 7
    keep = np.array([0, 1, 2, 4, 5, 6, 7])
    np.testing.assert_array_equal(joined.path, np.asarray(frames.path)[keep])
    np.testing.assert_array_equal(joined.copy, np.asarray(frames.copy)[keep])
    np.testing.assert_array_equal(joined.statistical[:, :AUTHORS8],
                                  np.asarray(frames.statistical)[keep])
    np.testing.assert_array_equal(joined.statistical[:, AUTHORS8:],
                                  np.asarray(summary.acoustic)[keep])
    np.testing.assert_array_equal(joined.acoustic, np.asarray(frames.acoustic)[keep])
    assert joined.manifest["fused"]["dropped_rows"] == 1
    assert joined.manifest["num_rows"] == 7
    dropped = f"ravdess/{frames.path[3]}/1/True"
    assert [r.getMessage() for r in caplog.records] == [
        ("features.fuse=summary: 1 row(s) of features.acoustic=frames have no summary row and "
         f"are dropped: {dropped} (corpus/path/copy/augmented)")]
    # Rows only the view holds are dropped too, and said so.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="serjax.features"):
        back = fused_views.join(frames.select(keep), summary, "summary")
    assert back.num_rows == 7 and "1 row(s) of the summary view" in caplog.text


def test_views_of_different_tables_are_an_error_naming_both_kinds(sets):
    frames, summary = sets
    other = store.FeatureSet(dict(summary.arrays, corpus=np.full(8, "tess")), summary.manifest)
    with pytest.raises(ValueError, match=r"features.acoustic='frames' and features.fuse="
                                         r"'summary'.*share no row.*features.fuse=''"):
        fused_views.join(frames, other, "summary")
    twice = summary.select(np.array([0, 0, 1, 2, 3, 4, 5, 6]))
    with pytest.raises(ValueError, match="does not identify a row"):
        fused_views.join(frames, twice, "summary")


@pytest.mark.parametrize("value, message", [
    ("frames", "features.fuse='frames'"), ("egemaps_frames", "features.fuse='egemaps_frames'"),
    ("mfcc", "choose '' \\(off\\) or one of summary, egemaps, compare, external"),
    ("external", "features.fuse='external' reads features computed elsewhere"),
])
def test_a_bad_fuse_value_names_the_field(monkeypatch, value, message, tmp_path):
    c = feature_config(fuse=value)
    with pytest.raises(ValueError, match=message):
        spec.fuse_kind(c.features)

    def no_corpus(config, progress):
        raise AssertionError("the config is checked before any corpus is read")
    monkeypatch.setattr(sources, "load_tables", no_corpus)
    with pytest.raises(config_lib.ConfigError, match=message):
        precompute.prepare_features(c, progress=False)


def test_fuse_allowed_values_and_the_same_kind():
    assert spec.FUSE_KINDS == ("summary", "egemaps", "compare", "external")
    assert spec.fuse_kind(feature_config().features) == ""
    assert spec.fuse_kind(feature_config(fuse="compare").features) == "compare"
    view = fused_views.fuse_config(feature_config(acoustic="egemaps_frames", fuse="compare"))
    assert (view.features.acoustic, view.features.fuse) == ("compare", "")
    short = fused_views.fuse_config(feature_config(acoustic="frames", max_frames=64,
                                                   frames_dtype="float16", fuse="summary"))
    assert (short.features.max_frames, short.features.frames_dtype) == (256, "float32")
    assert fused_views.fuse_config(feature_config()) is None


def test_fuse_leaves_the_main_cache_key_alone(table):
    old = feature_config()
    del old.features["fuse"]          # a config written before the field existed
    keys = {precompute.cache_key([table], c, "librosa")
            for c in (old, feature_config(), feature_config(fuse="compare"),
                      feature_config(fuse="summary"))}
    assert len(keys) == 1
    assert precompute.cache_key([table], feature_config(acoustic="compare"), "librosa") \
        not in keys


def test_a_model_trained_with_an_external_fused_view_is_refused_by_serving(tmp_path):
    """Computable views (summary, egemaps, compare) are served (tests/test_predict_opensmile.py);
    features read from features.external_path are not."""
    (tmp_path / checkpoint.MODELS_DIR).mkdir()
    (tmp_path / checkpoint.MODELS_DIR / "models.json").write_text("{}")
    c = feature_config(fuse="external", external_path=str(tmp_path / "x.npz"))
    (tmp_path / "config.json").write_text(json.dumps(c.to_dict()))
    with pytest.raises(ValueError, match="features.fuse='external': these features were read "
                                         "from features.external_path at training time"):
        model_bundle.load_bundle(tmp_path)


def test_cv_with_a_fused_view_trains_on_the_wider_input(tmp_path):
    root = tmp_path / "corpus"
    write_seven_class_corpus(root, speakers=3, per_class=1)
    config = config_lib.load_config("manifest_cv", [
        f"--config.data.manifest={root / 'corpus.csv'}",
        f"--config.data.cache_dir={tmp_path / 'cache'}", "--config.folds.num_folds=3",
        "--config.folds.n_val_actors=1",
        "--config.seeds=1", "--config.augment.copies=0", "--config.features.workers=1",
        "--config.features.backend=librosa", "--config.features.fuse=summary",
        "--config.train.epochs=1",
        "--config.model.conv_features=(4,)", "--config.model.kernel_sizes=(5,)",
        "--config.runtime.xla_opt_level=0", "--config.runtime.scan_unroll=1"])
    summary = experiment.run_cv(config, tmp_path / "run", progress=False)
    assert len(summary["models"]) == 3
    saved = checkpoint.load_models(tmp_path / "run")
    deep = int(config.model.deep_width)
    assert deep == 32
    # [deep 32 | statistical 8 | summary 162 | gender 1]
    assert np.asarray(saved.scalers["fused"].mean).shape == (3, deep + AUTHORS8 + SUMMARY + 1)
    assert np.asarray(saved.scalers["acoustic"].mean).shape == (3, SUMMARY)
    # The main FeatureSet was cached once: the summary view of features.fuse is the same set.
    assert len(list((tmp_path / "cache" / "features").glob("features-*[!l]"))) == 1
