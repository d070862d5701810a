"""serjax.experiment: config validation and the end-to-end CV on a synthetic corpus."""

import json

import pytest

from serjax import config as config_lib
from serjax import experiment
from serjax.corpora import naming, sources
from serjax.splits import schemes


def _config(**overrides):
    c = config_lib.load_config("ravdess_cv")
    return config_lib.apply_overrides(c, [f"{k}={v}" for k, v in overrides.items()])


@pytest.mark.parametrize("override, message", [
    ({"data.corpus": "iemocap"}, "data.corpus='iemocap' is not a corpus"),
    ({"train.epochs": 0}, "train.epochs=0"),
    ({"train.batch_size": 0}, "train.batch_size=0"),
    ({"seeds": 0}, "seeds=0"),
    ({"data.synthetic_scale": 2.0}, "synthetic_scale"),
])
def test_bad_config_values_get_clear_errors(override, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        experiment.validate(_config(**override))


def test_empty_data_root_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SERJAX_DATA_ROOT", raising=False)
    with pytest.raises(config_lib.ConfigError, match="no data: set --config.data.root"):
        sources.data_root(_config())
    with pytest.raises(config_lib.ConfigError, match="is not a folder"):
        sources.data_root(_config(**{"data.root": str(tmp_path / "missing")}))
    empty = tmp_path / "empty"
    empty.mkdir()
    c = _config(**{"data.root": str(empty), "data.cache_dir": str(tmp_path / "cache")})
    with pytest.raises(ValueError, match="ravdess"):
        sources.load_tables(c, progress=False)


def test_more_folds_than_actors_is_a_clear_error():
    c = _config(**{"folds.scheme": "actor_folds", "folds.n_folds": 30})
    with pytest.raises(ValueError, match="n_folds"):
        schemes.from_config(c.folds, naming.all_actors("ravdess"), seeds=(0,))


def test_all_configs_load_and_validate():
    for name in ("ravdess_cv", "ravdess_holdout", "superset_cv", "superset_holdout", "demo"):
        c = config_lib.load_config(name)
        experiment.validate(c)
        assert json.loads(config_lib.to_json(c))["data"]["corpus"] in ("ravdess", "superset")
    assert config_lib.load_config("superset_cv").labels == naming.SUPERSET_LABELS
