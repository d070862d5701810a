"""Running one experiment as N cooperating processes (one per host, or per GPU) with
``jax.distributed``.

Every process runs the same program on the same inputs (the FeatureSet is read from a shared
or identical disk; folds and batches are pure functions of the config), and the model axis is
split over the *global* device mesh, so each process trains only the models on its own
devices. Host-side results are gathered to every process (``sharding.to_host``); only the main
process (index 0) prints and writes reports; checkpoints are written by all processes
together (orbax coordinates them).

How a process learns its place, first match wins:

* arguments of :func:`initialize` (what ``serjax cv --coordinator ... --num-processes ...
  --process-id ...`` passes);
* the environment: ``SERJAX_COORDINATOR`` (``host:port`` of process 0), ``SERJAX_NUM_PROCESSES``,
  ``SERJAX_PROCESS_ID`` (or ``JOB_COMPLETION_INDEX``, set by a Kubernetes indexed Job);
* ``SERJAX_DISTRIBUTED=auto`` (or ``auto=True``): JAX detects the cluster itself, as on a
  Cloud TPU VM, under SLURM (``srun``) or Open MPI (``mpirun``).

Nothing set: a single ordinary process; every function here then degrades to a no-op.
"""

from __future__ import annotations

import contextlib
import os

import jax

ENV_COORDINATOR = "SERJAX_COORDINATOR"
ENV_NUM_PROCESSES = "SERJAX_NUM_PROCESSES"
ENV_PROCESS_ID = "SERJAX_PROCESS_ID"
ENV_AUTO = "SERJAX_DISTRIBUTED"
ENV_K8S_INDEX = "JOB_COMPLETION_INDEX"  # Kubernetes indexed Job / JobSet
#: How long the other processes wait for the main one at a barrier (feature precompute of a
#: full corpus takes tens of minutes on a small host).
LONG_BARRIER_MS = 24 * 3600 * 1000


_BARRIER_USES: dict[str, int] = {}


class DistributedError(ValueError):
    """A multi-process setup that cannot start; the message says what to set (a ValueError:
    a user-input problem the CLI reports plainly)."""


def _int_or_none(value, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"{name}={value!r} is not an integer") from None


def resolve_settings(coordinator: str | None = None, num_processes: int | None = None,
                     process_id: int | None = None, auto: bool | None = None,
                     environ=None) -> dict | None:
    """The ``jax.distributed.initialize`` arguments from arguments, then the environment.

    Returns None for a single process, ``{}`` for auto-detection, or
    ``{"coordinator_address", "num_processes", "process_id"}``.
    """
    env = os.environ if environ is None else environ
    coordinator = coordinator or env.get(ENV_COORDINATOR) or None
    if num_processes is None:
        num_processes = _int_or_none(env.get(ENV_NUM_PROCESSES), ENV_NUM_PROCESSES)
    if process_id is None:
        process_id = _int_or_none(env.get(ENV_PROCESS_ID, env.get(ENV_K8S_INDEX)),
                                  ENV_PROCESS_ID)
    if auto is None:
        auto = env.get(ENV_AUTO, "").lower() in ("auto", "1", "true")
    if auto and coordinator is None:
        return {}
    if coordinator is None and num_processes is None:
        return None  # one ordinary process (a stray process id alone means nothing)
    missing = [flag for flag, value in (("--coordinator / " + ENV_COORDINATOR, coordinator),
                                        ("--num-processes / " + ENV_NUM_PROCESSES, num_processes),
                                        ("--process-id / " + ENV_PROCESS_ID, process_id))
               if value is None]
    if missing:
        raise DistributedError(
            f"multi-process run needs {', '.join(missing)} as well; give all three (or "
            f"{ENV_AUTO}=auto on a TPU VM, under SLURM or Open MPI)")
    if ":" not in coordinator:
        raise DistributedError(f"coordinator {coordinator!r} needs a port: HOST:PORT of process 0")
    if num_processes < 1 or not 0 <= process_id < num_processes:
        raise DistributedError(f"process id {process_id} must lie in 0..{num_processes - 1} "
                               f"(num_processes={num_processes})")
    return {"coordinator_address": coordinator, "num_processes": num_processes,
            "process_id": process_id}


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, auto: bool | None = None,
               timeout_s: int = 300) -> bool:
    """Joins the process group described by the arguments or the environment (module doc).

    Must run before anything touches a JAX device. Returns True when running as one of
    several processes, False for a single process. Calling it again is a no-op.
    """
    if jax.distributed.is_initialized():
        return True
    settings = resolve_settings(coordinator, num_processes, process_id, auto)
    if settings is None:
        return False
    from jax._src import xla_bridge  # noqa: PLC0415  (the public API has no such query)
    if xla_bridge.backends_are_initialized():
        raise DistributedError(
            "jax.distributed must start before any JAX computation: call "
            "serjax.training.distributed.initialize() first thing (serjax cv does)")
    try:
        jax.distributed.initialize(**settings, initialization_timeout=timeout_s)
    except Exception as err:  # noqa: BLE001  (jaxlib raises bare runtime errors)
        where = settings.get("coordinator_address", "auto-detected cluster")
        raise DistributedError(
            f"could not join the process group at {where} ({type(err).__name__}: {err}); "
            "check that process 0 runs, that the port is open between hosts, and that every "
            "process got the same coordinator and process count") from err
    return True


def add_arguments(parser) -> None:
    """Adds ``--coordinator --num-processes --process-id --distributed`` to an argparse parser
    (``serjax cv``); pass the parsed namespace to :func:`initialize_from_args`."""
    group = parser.add_argument_group(
        "multi-process (jax.distributed)", "default: the SERJAX_* environment, else one process")
    group.add_argument("--coordinator", metavar="HOST:PORT", default=None,
                       help="address of process 0 (all processes pass the same one)")
    group.add_argument("--num-processes", type=int, default=None, metavar="N")
    group.add_argument("--process-id", type=int, default=None, metavar="I",
                       help="0..N-1, one per process")
    group.add_argument("--distributed", choices=("auto",), default=None,
                       help="auto: let JAX detect a TPU VM, SLURM or Open MPI cluster")


def initialize_from_args(args) -> bool:
    """:func:`initialize` from the options :func:`add_arguments` defined."""
    return initialize(getattr(args, "coordinator", None), getattr(args, "num_processes", None),
                      getattr(args, "process_id", None),
                      auto=True if getattr(args, "distributed", None) == "auto" else None)


def process_index() -> int:
    return jax.process_index()


def process_count() -> int:
    return jax.process_count()


def is_main() -> bool:
    """True in the process that prints and writes reports (process 0; also a lone process)."""
    return jax.process_index() == 0


def barrier(name: str, timeout_ms: int = LONG_BARRIER_MS) -> None:
    """Blocks until every process reached ``barrier(name)``; no-op for one process.

    Uses the coordination service (no device collective, so it may wait for hours).
    """
    if jax.process_count() == 1:
        return
    from jax._src import distributed as jax_distributed  # noqa: PLC0415  (as orbax does)
    _BARRIER_USES[name] = _BARRIER_USES.get(name, 0) + 1  # every process counts alike, so a
    key = f"serjax/{name}/{_BARRIER_USES[name]}"          # reused name is a fresh barrier
    jax_distributed.global_state.client.wait_at_barrier(key, timeout_ms)


@contextlib.contextmanager
def main_first(name: str):
    """Process 0 runs the block first; the others run it after (and then hit its caches).

    For work that writes shared caches (synthetic corpora, prepared datasets, FeatureSets):
    with a shared filesystem only process 0 computes; with per-host disks each host computes
    its own copy, one after the other never racing on a file.
    """
    if not is_main():
        barrier(f"{name}/main-done")
    yield
    if is_main():
        barrier(f"{name}/main-done")
    barrier(f"{name}/all-done")


def describe() -> str:
    """One line: process i of n, local and global device counts (a cluster smoke test:
    ``python -c "from serjax.training import distributed as d; d.initialize(); print(d.describe())"``)."""
    return (f"process {jax.process_index()} of {jax.process_count()}: "
            f"{jax.local_device_count()} local / {jax.device_count()} global "
            f"{jax.default_backend()} devices")
