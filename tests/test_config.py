"""Config files and --config.FIELD=VALUE overrides (serjax.config)."""

import ml_collections
import pytest

from serjax import config as config_lib


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
