"""Config files and --config.FIELD=VALUE overrides (serjax.config), and the configs/ files:
the written-out recipe, a runtime section everywhere, moved fields named by their new place."""

import ast
import importlib.util
import re

import ml_collections
import pytest

from serjax import config as config_lib
from serjax import experiment
from serjax.corpora import naming
from serjax.features import spec
from serjax.models import networks
from serjax.splits import schemes
from serjax.training import hparams, runtime, train


def _base():
    c = ml_collections.ConfigDict()
    c.train = ml_collections.ConfigDict({"epochs": 25, "lr": 1e-3, "seeds": 3, "shuffle": True})
    c.data = ml_collections.ConfigDict({"corpora": ("ravdess",), "root": ""})
    return c


def test_overrides_keep_types():
    c = config_lib.apply_overrides(_base(), [
        "--config.train.epochs=5", "config.train.lr=3e-4", "train.shuffle=false",
        "--config.data.corpora=ravdess,tess", "--config.data.root=/tmp/x"])
    assert c.train.epochs == 5 and isinstance(c.train.epochs, int)
    assert c.train.lr == pytest.approx(3e-4)
    assert c.train.shuffle is False
    assert c.data.corpora == ("ravdess", "tess")
    assert c.data.root == "/tmp/x"


@pytest.mark.parametrize("override, message", [
    ("--config.train.epoch=5", "no such field"),
    ("--config.trian.epochs=5", "no field 'trian'"),
    ("--config.train.epochs=five", "expected a number"),
    ("--config.train.epochs=2.5", "expected an integer"),
    ("--config.train.shuffle=maybe", "expected true or false"),
    ("--config.train.epochs", "must look like"),
])
def test_bad_overrides_name_the_field(override, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        config_lib.apply_overrides(_base(), [override])


def test_missing_config_lists_available():
    with pytest.raises(config_lib.ConfigError, match="not found"):
        config_lib.load_config("no_such_config")


# ------------------------------------------------------------------ the configs/ files

def _common():
    """configs/common.py as a module (the experiment configs' ``import common``)."""
    path = config_lib.configs_dir() / "common.py"
    spec_ = importlib.util.spec_from_file_location("serjax_test_common", path)
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


def _fields(c, prefix=""):
    """{dotted name: (value, declared type)}: placeholders differ from None only by type."""
    out = {}
    for key in c.keys():
        if isinstance(c[key], ml_collections.ConfigDict):
            out.update(_fields(c[key], f"{prefix}{key}."))
        else:
            out[prefix + key] = (c[key], c.get_type(key))
    return out


def test_written_out_recipe_equals_the_library_defaults():
    """configs/common.py writes every value out; the library's default functions (tests,
    notebooks) hold the same values, field by field, with the same types."""
    common = _common()
    data = spec.default_config()
    for section, written in (("audio", common.audio_config()),
                              ("augment", common.augment_config()),
                              ("features", common.features_config())):
        assert _fields(written) == _fields(data[section]), section
    for scheme in schemes.SCHEMES:
        assert _fields(common.folds_config(scheme)) == _fields(
            schemes.default_folds_config(scheme))
    assert _fields(common.model_config()) == _fields(networks.default_model_config())
    assert _fields(common.train_config()) == _fields(train.default_train_config())
    base = common.base_config("ravdess")
    assert _fields(base.runtime) == _fields(runtime.default_runtime_config())
    assert base.labels == naming.LABELS
    assert common.base_config("superset", "superset").labels == naming.SUPERSET_LABELS
    assert set(base.keys()) == {"data", "audio", "augment", "features", "folds", "model",
                                "train", "seeds", "seed_offset", "labels", "runtime",
                                "baseline", "sweep"}
    assert _fields(base.sweep) == _fields(hparams.default_sweep_config())
    assert base.baseline.kind == "" and base.baseline.C == 0.01  # --config.baseline.kind=…
    assert (base.train.epochs, base.train.batch_size, base.train.learning_rate) == (25, 64, 1e-3)
    assert (base.model.conv_features, base.model.deep_width, base.seeds) == ((32, 64), 32, 3)


def _config_files():
    root = config_lib.configs_dir()
    return [p for p in sorted([*root.glob("*.py"), *root.glob("paper/*.py")])
            if p.stem != "common" and not p.stem.startswith("_")]


def test_every_config_file_loads_validates_and_shows_its_command():
    files = _config_files()
    assert len(files) >= 26  # 7 in configs/, 19 paper cells in configs/paper/ (and any new)
    root = config_lib.configs_dir().parent
    for path in files:
        c = config_lib.load_config(str(path))
        experiment.validate(c)
        if not c.get("baseline") or not c.baseline.kind:
            experiment.check_features_suit_model(c)
        assert _fields(c.runtime).keys() == _fields(runtime.default_runtime_config()).keys()
        assert config_lib.moved_fields(c) == [], path
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert f"serjax cv --config {path.relative_to(root)}" in doc, path


def test_frames_configs_nest_the_frames_model():
    c = config_lib.load_config("ravdess_cv_frames", ["--config.model.frames_cnn.pool=3"])
    assert (c.model.kind, c.features.acoustic) == ("frames_cnn", "frames")
    assert (c.model.frames_cnn.input_pool, c.model.frames_cnn.conv_features,
            c.model.frames_cnn.kernel_sizes, c.model.frames_cnn.pool) == (2, (64, 64), (5, 5), 3)
    networks.check_model_config(c.model)
    paper = config_lib.load_config(str(config_lib.configs_dir() / "paper" /
                                       "table4_frames_superset.py"))
    assert paper.model.kind == "frames_cnn" and paper.model.frames_cnn.conv_features == (64, 64)


@pytest.mark.parametrize("old", sorted(config_lib.MOVED))
def test_a_moved_field_given_by_its_old_name_names_the_new_one(old):
    new = config_lib.MOVED[old]
    config = _common().base_config()
    message = f"--config.{old}: {old} moved to {new}; pass --config.{new}=1"
    with pytest.raises(config_lib.ConfigError, match=re.escape(message)):
        config_lib.apply_overrides(config, [f"--config.{old}=1"])
    parent, leaf = new.rsplit(".", 1)  # the new name exists and takes the value
    config_lib.apply_overrides(config, [f"--config.{new}={config[parent][leaf]}"])


def test_model_chunk_override_and_old_fields_in_a_config_file(tmp_path):
    with pytest.raises(config_lib.ConfigError,
                       match="train.model_chunk moved to runtime.models_per_group"):
        config_lib.load_config("ravdess_cv", ["--config.train.model_chunk=2"])
    c = config_lib.load_config("ravdess_cv", ["--config.runtime.models_per_group=2"])
    assert c.runtime.models_per_group == "2"
    path = tmp_path / "old_style.py"
    path.write_text("import common\n\n\ndef get_config():\n"
                    "    c = common.base_config()\n"
                    "    c.train.model_chunk = 2\n"
                    "    c.model.frames_pool = 3\n"
                    "    return c\n")
    with pytest.raises(config_lib.ConfigError) as err:
        config_lib.load_config(str(path))
    assert str(err.value) == (
        f"{path}: model.frames_pool moved to model.frames_cnn.pool (set "
        "config.model.frames_cnn.pool instead); train.model_chunk moved to "
        "runtime.models_per_group (set config.runtime.models_per_group instead)")
