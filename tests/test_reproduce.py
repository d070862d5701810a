"""serjax.paper.reproduce / serjax.paper.tables / serjax.splits.protocols: cells, statistics, tables, the
leaky and cross-corpus protocols, and a tiny end-to-end reproduction on a synthetic corpus."""

import json

import numpy as np
import pytest
from scipy import stats

from serjax.corpora import naming
from serjax.paper import reproduce
from serjax.paper import tables as paper
from serjax.splits import folds, protocols, schemes
from serjax.splits.roles import LEAKY_PROTOCOL, TEST, TRAIN, UNUSED, VAL

# ------------------------------------------------------------------------- split protocols ---


def _rows(n_files=40, copies=1):
    source = np.array([f"ravdess/f{i:02d}.wav" for i in range(n_files)] * (1 + copies))
    augmented = np.repeat([False] + [True] * copies, n_files)
    label = np.tile(np.arange(n_files) % 4, 1 + copies)
    actor = np.tile([f"ravdess/{1 + i % 4:02d}" for i in range(n_files)], 1 + copies)
    return source, label, actor, augmented


def test_leaky_row_keys_rank_originals_first():
    source = np.array(["b", "a", "b", "a", "b"])
    augmented = np.array([True, False, False, True, True])
    keys = folds.leaky_row_keys(source, augmented)
    np.testing.assert_array_equal(keys, ["b#1", "a#0", "b#0", "a#1", "b#2"])


def test_leaky_split_lets_augmented_copies_of_test_files_train():
    source, label, actor, augmented = _rows()
    splits = protocols.leaky_split(source, label, actor, augmented, seeds=(0, 1))
    assert [s.protocol for s in splits] == [LEAKY_PROTOCOL] * 2
    assert splits[0].name == "fold 0 seed 0 [leaky]"
    roles = folds.role_matrix(actor, augmented, splits, row_source=source)
    np.testing.assert_array_equal(roles[0], roles[1])  # the partition depends on split_seed
    r = roles[0]
    # Stratified over 80 rows (20 per class): per class round(2) val, round(2) test.
    assert [(r == role).sum() for role in (TRAIN, VAL, TEST)] == [64, 8, 8]
    assert (r[augmented] == TEST).any()  # augmented copies are tested...
    test_files = set(source[r == TEST])
    assert test_files & set(source[r == TRAIN])  # ...and copies of test files train: the leak
    assert (r != UNUSED).all()
    # The speaker-independent rules still hold for every other protocol.
    split = folds.cv_splits([("ravdess/01", "ravdess/02"), ("ravdess/03", "ravdess/04")],
                            n_val_actors=1)
    honest = folds.role_matrix(actor, augmented, split)
    assert not (honest[:, augmented] == TEST).any()


def test_leaky_flag_requires_a_speaker_dependent_split():
    with pytest.raises(ValueError, match="leaky split is speaker-dependent"):
        folds.Split(0, 0, ("ravdess/01",), (), ("ravdess/02",), leaky=True)


def test_corpus_split_tests_every_actor_of_the_test_corpora():
    actors = folds.superset_actors()
    cfg = schemes.default_folds_config("corpus_split")
    splits = schemes.from_config(cfg, actors, seeds=(0, 1))
    assert len(splits) == 2 and {s.fold for s in splits} == {0}
    expected = {a for a in actors if a.startswith(("savee/", "tess/"))}
    assert set(splits[0].test_actors) == expected and len(expected) == 6
    for s in splits:
        assert not {a.partition("/")[0] for a in s.train_actors + s.val_actors} & {"savee",
                                                                                   "tess"}
        assert len(s.val_actors) == folds.default_n_val_actors(
            [a for a in actors if a not in expected])
    with pytest.raises(ValueError, match="test_corpora"):
        protocols.corpus_split(actors, ("iemocap",))
    with pytest.raises(ValueError, match="at least one other corpus"):
        protocols.corpus_split(naming.all_actors("tess"), ("tess",))


# --------------------------------------------------------------------------------- tables ---

def _summary(values, folds_, seeds, labels=("a", "b", "c", "d")):
    return {"labels": list(labels), "models": [
        {"fold": f, "seed": s, "accuracy": v, "uar": v / 2, "macro_f1": v / 4, "n_test": 10}
        for v, f, s in zip(values, folds_, seeds)]}


def test_cell_stats_stds_and_t_interval_over_fold_means():
    values = [0.40, 0.44, 0.50, 0.52, 0.30, 0.36]
    s = paper.cell_stats(_summary(values, [0, 0, 1, 1, 2, 2], [0, 1] * 3))
    fold_means = np.array([0.42, 0.51, 0.33])
    assert s["mean"] == pytest.approx(np.mean(values))
    assert s["std_folds"] == pytest.approx(fold_means.std())
    assert s["std_seeds"] == pytest.approx(np.std([np.mean(values[::2]), np.mean(values[1::2])]))
    half = stats.t.ppf(0.975, 2) * fold_means.std(ddof=1) / np.sqrt(3)
    assert s["ci95"] == pytest.approx((fold_means.mean() - half, fold_means.mean() + half))
    assert (s["ci_over"], s["n_folds"], s["n_seeds"], s["n_models"]) == ("folds", 3, 2, 6)
    single = paper.cell_stats(_summary([0.5, 0.6], [0, 0], [0, 1]))
    assert single["ci_over"] == "seeds" and single["ci95"][0] < 0.55 < single["ci95"][1]
    assert paper.cell_stats(_summary([0.5], [0], [0]))["ci95"] is None


def test_tables_quote_the_paper_and_report_missing_cells(tmp_path):
    for cell, shift in (("table1_ravdess", 0.0), ("table3_ravdess_deep_only", -0.02)):
        (tmp_path / cell).mkdir()
        (tmp_path / cell / "metrics.json").write_text(json.dumps(
            _summary([0.5 + shift, 0.54 + shift, 0.52 + shift], [0, 0, 0], [0, 1, 2])))
    status = {"table1_ravdess": "done", "table3_ravdess_deep_only": "done",
              "table1_superset": "not run: needs crema_d, savee"}
    text = paper.table_markdown("3", tmp_path, status)
    assert "| RAVDESS | SER-FusionNet (fusion) |" in text and "88.07 %" in text
    assert "86.65 %" in text and "67.19 %" in text
    assert "**52.0**" in text  # one fold: the mean without a ± over folds
    assert "-2.0 vs table1_ravdess" in text  # paired difference in percentage points
    assert "not run: needs crema_d, savee" in text
    leaky = paper.table_markdown("leaky", tmp_path, status)
    assert LEAKY_PROTOCOL in leaky and "50.1 %" in leaky


def test_fold_accuracy_plot_is_written(tmp_path):
    summary = _summary([0.4, 0.5, 0.3, 0.35], [0, 0, 1, 1], [0, 1, 0, 1])
    paper.plot_fold_accuracy(summary, tmp_path / "fold_accuracy.png", "test")
    assert (tmp_path / "fold_accuracy.png").stat().st_size > 1000


def test_cells_of_orders_fusionnet_before_baselines_and_rejects_unknown_tables():
    cells = reproduce.cells_of(["4"])
    assert cells.index("table2_superset") < cells.index("table4_cnn1d_superset")
    assert set(cells) >= {"table2_ravdess", "table4_rf_ravdess", "table4_raw_ravdess"}
    assert reproduce.cells_of(["3"])[:2] == ["table1_ravdess", "table3_ravdess_deep_only"]
    with pytest.raises(reproduce.ReproduceError, match="unknown \\['5'\\]"):
        reproduce.cells_of(["5"])
    for name in paper.TABLES:  # every row has its config
        for row in paper.TABLES[name][1]:
            assert reproduce.config_path(row.cell).is_file()


def test_available_corpora_needs_audio_not_just_a_folder(tmp_path):
    (tmp_path / "ravdess" / "Actor_01").mkdir(parents=True)
    (tmp_path / "ravdess" / "Actor_01" / "x.WAV").write_bytes(b"")
    (tmp_path / "crema_d").mkdir()
    (tmp_path / "crema_d" / "VideoDemographics.csv").write_text("ActorID\n")
    assert reproduce.available_corpora(tmp_path) == ("ravdess",)
    assert reproduce.available_corpora(None) == naming.CORPORA


# ------------------------------------------------------------------------------ end to end ---

def test_quick_reproduction_end_to_end_on_a_synthetic_ravdess(synth_root, tmp_path,
                                                             monkeypatch):
    """--quick over a root with RAVDESS actors 01–12 only (as /work/shared/realdata): its cells
    run on the 3 complete folds (Superset cells report the missing corpora), the tables, plots
    and a paired comparison come out, and reruns reuse the workdirs."""
    from serjax.evaluation import compare

    monkeypatch.setenv("SERJAX_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "data"
    (root / "ravdess").mkdir(parents=True)
    for actor in range(1, 13):
        (root / "ravdess" / f"Actor_{actor:02d}").symlink_to(
            synth_root / "ravdess" / f"Actor_{actor:02d}")
    work = tmp_path / "w"
    status = reproduce.reproduce(workdir=work, data_root=root, tables=["1", "4", "leaky"],
                                 quick=True, docs=tmp_path / "docs" / "results.md",
                                 skip=["table4_frames_ravdess"], progress=False)
    ran = ["table1_ravdess", "leaky_ravdess", "table2_ravdess", "table4_rf_ravdess",
           "table4_cnn1d_ravdess", "table4_raw_ravdess"]
    assert all(status[c] == "done" for c in ran), status
    assert status["table1_superset"] == "not run: needs crema_d, savee, tess"
    assert status["table4_frames_ravdess"] == "not run: skipped (--skip)"
    for cell in ran:
        summary = json.loads((work / cell / "metrics.json").read_text())
        assert (work / cell / "fold_accuracy.png").is_file()
        expected = 3 if cell.startswith(("table2", "table4")) else 1  # 3 folds × 1 seed
        assert len(summary["models"]) == expected
    # The 1-D CNN reads table2_ravdess's extractors and pairs with it model for model.
    cnn = json.loads((work / "table4_cnn1d_ravdess" / "metrics.json").read_text())
    assert cnn["baseline"]["source_workdir"] == str(work / "table2_ravdess")
    paired = compare.compare(work / "table2_ravdess", work / "table4_cnn1d_ravdess")
    assert paired.n == 3
    tables = (work / "tables.md").read_text()
    assert "not run: needs crema_d, savee, tess" in tables and LEAKY_PROTOCOL in tables
    assert "vs table2_ravdess" in tables and "88.07 %" in tables
    docs = (tmp_path / "docs" / "results.md").read_text()
    assert "(figures/results/table1_ravdess_fold_accuracy.png)" in docs
    # Rerunning reuses every finished workdir; --from-workdirs regenerates without data.
    again = reproduce.reproduce(workdir=work, data_root=root, tables=["1"], quick=True,
                                progress=False)
    assert again["table1_ravdess"] == "done"
    regenerated = reproduce.reproduce(workdir=work, tables=["1", "3"], from_workdirs=True,
                                      progress=False)
    assert regenerated["table1_ravdess"] == "done"
    assert regenerated["table1_superset"] == "not run: needs crema_d, savee, tess"  # recorded
    assert regenerated["table3_ravdess_deep_only"].startswith("not run: no ")  # never run
    assert f"--config.data.root={root}" in (work / "tables.md").read_text()


def test_docs_page_keeps_its_hand_written_tail(tmp_path):
    """``--docs`` regenerates the tables but keeps what follows KEEP_MARKER (hand-run rows)."""
    page = tmp_path / "results.md"
    assert reproduce.kept_tail(page) == ""
    page.write_text("old tables\n")
    assert reproduce.kept_tail(page) == ""
    page.write_text(f"old tables\n{reproduce.KEEP_MARKER}\n## openSMILE rows\n")
    assert reproduce.kept_tail(page) == f"\n{reproduce.KEEP_MARKER}\n## openSMILE rows\n"
