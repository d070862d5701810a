"""The model axis sharded over 4 fake CPU devices gives the metrics of one device."""

import json
import os
import pathlib
import subprocess
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _grid_fixtures import tiny_configs, tiny_grid

from serjax.training import sharding, train

SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import jax
from serjax.training import train
from _grid_fixtures import tiny_configs, tiny_grid
assert jax.device_count() == 4, jax.devices()
data, roles, _, seeds = tiny_grid({seeds_per_fold})
model, config, run = tiny_configs()
run.models_per_group = {chunk!r}
r = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)
print(json.dumps({{"confusion": r.confusion.tolist(),
                  "probs": [p.tolist() for p in r.test_probs]}}))
"""


def test_pad_models_repeats_the_last_model():
    x = np.arange(6).reshape(3, 2)
    np.testing.assert_array_equal(sharding.pad_models(x, 4), [[0, 1], [2, 3], [4, 5], [4, 5]])
    mesh = sharding.model_mesh()
    assert sharding.padded_model_count(3, mesh) % mesh.size == 0
    four = types.SimpleNamespace(size=4)
    assert sharding.padded_model_count(9, four) == 12
    # groups of 2: 3 models per device become 4 (two equal groups); a device with no more
    # models than one group is not padded further
    assert sharding.padded_model_count(9, four, group=2) == 16
    assert sharding.padded_model_count(4, four, group=2) == 4
    assert sharding.padded_model_count(1, types.SimpleNamespace(size=1), group=2) == 1


@pytest.mark.parametrize("seeds_per_fold,chunk", [(1, "auto"), (3, "2")])
def test_four_devices_match_one_device(seeds_per_fold, chunk):
    """3 models (1 per device after padding to 4), and 9 models (padded to 4 per device,
    trained in two groups of 2) against one device training all at once."""
    tests = str(pathlib.Path(__file__).parent)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    script = SCRIPT.format(tests=tests, seeds_per_fold=seeds_per_fold, chunk=chunk)
    out = subprocess.run([sys.executable, "-c", script], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    four = json.loads(out.stdout.strip().splitlines()[-1])
    data, roles, _, seeds = tiny_grid(seeds_per_fold)
    model, config, run = tiny_configs()
    run.models_per_group = "all"
    one = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)
    np.testing.assert_array_equal(four["confusion"], one.confusion)
    for a, b in zip(four["probs"], one.test_probs):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("chunk", [1, 2, 4, 6, 8])
def test_map_models_in_groups_equals_vmap(chunk):
    """Per-model function with a shared argument and a scan: groups of ``chunk`` models (with
    a remainder for 4) give what one vmap over all 6 gives."""
    def per_model(w, shared, key):
        def step(h, x):
            h = jnp.tanh(h @ w + x + jax.random.normal(key, h.shape))
            return h, h.sum()
        return jax.lax.scan(step, jnp.ones(3), shared)
    w = jax.random.normal(jax.random.key(0), (6, 3, 3))
    shared = jax.random.normal(jax.random.key(1), (5, 3))
    keys = jax.random.split(jax.random.key(2), 6)
    mesh = sharding.model_mesh()
    in_axes = (0, None, 0)
    want = jax.jit(jax.vmap(per_model, in_axes=in_axes))(w, shared, keys)
    got = jax.jit(sharding.map_models(per_model, in_axes, chunk, mesh))(w, shared, keys)
    for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="in_axes of 0 or None"):
        sharding.map_models(per_model, (1, None, 0), chunk, mesh)
