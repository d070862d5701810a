"""The model axis sharded over 4 fake CPU devices gives the metrics of one device."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np

from serjax import sharding, train
from test_train import tiny_configs, tiny_grid

SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import jax
from serjax import train
from test_train import tiny_configs, tiny_grid
assert jax.device_count() == 4, jax.devices()
data, roles, _, seeds = tiny_grid()
model, config = tiny_configs()
r = train.train_grid(data, roles, seeds, model, config, progress=False)
print(json.dumps({{"confusion": r.confusion.tolist(),
                  "probs": [p.tolist() for p in r.test_probs]}}))
"""


def test_pad_models_repeats_the_last_model():
    x = np.arange(6).reshape(3, 2)
    np.testing.assert_array_equal(sharding.pad_models(x, 4), [[0, 1], [2, 3], [4, 5], [4, 5]])
    mesh = sharding.model_mesh()
    assert sharding.padded_model_count(3, mesh) % mesh.size == 0


def test_four_devices_match_one_device():
    tests = str(pathlib.Path(__file__).parent)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    four = json.loads(out.stdout.strip().splitlines()[-1])
    data, roles, _, seeds = tiny_grid()
    model, config = tiny_configs()
    one = train.train_grid(data, roles, seeds, model, config, progress=False)
    np.testing.assert_array_equal(four["confusion"], one.confusion)
    for a, b in zip(four["probs"], one.test_probs):
        np.testing.assert_allclose(a, b, atol=1e-5)
