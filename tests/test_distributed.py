"""Two processes × two CPU devices (jax.distributed, gloo) give the metrics of one device;
process settings come from arguments or the environment; chunked uploads are exact."""

import argparse
import json
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest
from _grid_fixtures import free_port, tiny_configs, tiny_grid

from serjax.training import checkpoint, distributed, sharding, train

EPOCHS = 3

WORKER = """
import json, sys
sys.path.insert(0, {tests!r})
from serjax.training import distributed
assert distributed.initialize({address!r}, 2, {pid}) is True
import jax
from serjax.training import sharding, train
from _grid_fixtures import tiny_configs, tiny_grid
sharding.UPLOAD_CHUNK_BYTES = 4096  # features go up in chunks, as frames would
assert (jax.process_count(), jax.local_device_count(), jax.device_count()) == (2, 2, 4)
data, roles, _, seeds = tiny_grid()
model, config, run = tiny_configs({epochs})
run.checkpoint_every = {epochs}
r = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False,
                     workdir={workdir!r})
print(json.dumps({{"process": jax.process_index(), "confusion": r.confusion.tolist(),
                  "probs": [p.tolist() for p in r.test_probs],
                  "val_loss": r.curves["extractor"]["val_loss"].tolist()}}))
"""


def _start(tests: str, address: str, pid: int, workdir: str) -> subprocess.Popen:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    for name in (distributed.ENV_COORDINATOR, distributed.ENV_NUM_PROCESSES,
                 distributed.ENV_PROCESS_ID, distributed.ENV_AUTO):
        env.pop(name, None)
    code = WORKER.format(tests=tests, address=address, pid=pid, epochs=EPOCHS, workdir=workdir)
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_processes_match_one_device(tmp_path):
    tests = str(pathlib.Path(__file__).parent)
    address = f"127.0.0.1:{free_port()}"
    workers = [_start(tests, address, pid, str(tmp_path / "run")) for pid in (0, 1)]
    data, roles, _, seeds = tiny_grid()  # the reference run, while the workers run
    model, config, run = tiny_configs(EPOCHS)
    one = train.train_grid(data, roles, seeds, model, config, runtime=run, progress=False)
    outs = []
    for w in workers:
        try:
            stdout, stderr = w.communicate(timeout=240)
        finally:
            if w.poll() is None:
                w.kill()
        assert w.returncode == 0, stderr[-3000:]
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    for out in outs:  # both processes hold the gathered results
        np.testing.assert_array_equal(out["confusion"], one.confusion)
        for a, b in zip(out["probs"], one.test_probs):
            np.testing.assert_allclose(a, b, atol=1e-5)
        np.testing.assert_allclose(out["val_loss"], one.curves["extractor"]["val_loss"],
                                   rtol=1e-5)
    # Orbax wrote one set of models (process 0 the metadata), readable by a single process.
    saved = checkpoint.load_models(tmp_path / "run")
    assert saved.scalers["acoustic"].mean.shape == (len(seeds), data["acoustic"].shape[1])
    np.testing.assert_allclose(saved.scalers["acoustic"].mean, one.scalers["acoustic"].mean,
                               rtol=1e-5, atol=1e-7)
    steps = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("[0-9]*"))
    assert steps == [str(EPOCHS), str(2 * EPOCHS)]  # checkpoint_every = EPOCHS
    # TensorBoard curves: written by process 0 alone, one event file per model
    boards = sorted((tmp_path / "run" / "tensorboard").iterdir())
    assert [b.name for b in boards] == [f"model{m}" for m in range(len(seeds))]
    assert all(len(list(b.glob("events.out.tfevents.*"))) == 1 for b in boards)


def test_settings_from_arguments_and_environment(monkeypatch):
    assert distributed.resolve_settings(environ={}) is None
    assert distributed.resolve_settings(environ={distributed.ENV_AUTO: "auto"}) == {}
    env = {distributed.ENV_COORDINATOR: "10.0.0.1:1234", distributed.ENV_NUM_PROCESSES: "4",
           "JOB_COMPLETION_INDEX": "3"}
    assert distributed.resolve_settings(environ=env) == {
        "coordinator_address": "10.0.0.1:1234", "num_processes": 4, "process_id": 3}
    assert distributed.resolve_settings("h:1", 2, 0, environ=env)["num_processes"] == 2
    with pytest.raises(distributed.DistributedError, match="--process-id"):
        distributed.resolve_settings("h:1", 2, environ={})
    with pytest.raises(distributed.DistributedError, match="0..1"):
        distributed.resolve_settings("h:1", 2, 2, environ={})
    with pytest.raises(distributed.DistributedError, match="port"):
        distributed.resolve_settings("h", 2, 0, environ={})
    parser = argparse.ArgumentParser()
    distributed.add_arguments(parser)
    args = parser.parse_args("--coordinator h:9 --num-processes 2 --process-id 1".split())
    assert (args.coordinator, args.num_processes, args.process_id) == ("h:9", 2, 1)
    # A single process: no process group, barriers are no-ops, this process is the main one.
    for name in (distributed.ENV_COORDINATOR, distributed.ENV_NUM_PROCESSES,
                 distributed.ENV_AUTO):
        monkeypatch.delenv(name, raising=False)
    assert distributed.initialize() is False
    assert distributed.initialize_from_args(parser.parse_args([])) is False
    with distributed.main_first("noop"):
        assert distributed.is_main()


def test_chunked_upload_casts_a_memmap_exactly(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(37, 5, 6)).astype(np.float16)
    np.save(tmp_path / "frames.npy", frames)
    source = np.load(tmp_path / "frames.npy", mmap_mode="r")
    mesh = sharding.model_mesh(jax.devices()[:1])
    chunk = 7 * 5 * 6 * 4  # 7 float32 rows: 6 chunks of 7 rows and a last one of 2
    assert sharding.chunk_rows(source.shape, np.float32, chunk) == 7
    up = sharding.upload_in_chunks(source, sharding.replicated(mesh), np.float32, chunk)
    assert up.dtype == np.float32 and up.shape == frames.shape
    np.testing.assert_array_equal(np.asarray(up), frames.astype(np.float32))
    tree = sharding.put_replicated({"frames": source, "label": np.arange(37)}, mesh,
                                   chunk_bytes=chunk)
    np.testing.assert_array_equal(np.asarray(tree["frames"]), frames)
    np.testing.assert_array_equal(np.asarray(tree["label"]), np.arange(37))
    per = sharding.put_per_model(np.arange(6).reshape(3, 2), mesh)
    np.testing.assert_array_equal(sharding.to_host(per, 2), [[0, 1], [2, 3]])
