"""Out of core with dask.distributed: an array four times larger than each worker's memory.

A 1 GiB float64 array (built lazily: no process ever holds all of it) is smoothed by a
function written once for numpy, with a one-element halo (``depth=1``), on a
``LocalCluster`` of two worker processes limited to 256 MiB each, then reduced to its mean.
Where the workers' imports alone take too much of that (``dask.array`` imports cupy in every
worker where cupy is installed: about 200 MiB more), the limit grows to leave the same room,
and the array with it; ``ARRAYPORT_EXAMPLE_WORKER_MIB`` sets the limit instead (a whole
number of MiB, at least 256). The check: no worker died (the workers' addresses are the
same before and after; a worker restarted by its nanny would have a new one), and the mean
equals the mean computed by plain numpy in this process, strip by strip, from the same
numpy code, without dask or arrayport.

Run: ``python examples/dask_out_of_core.py`` (under a minute on two cores).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

import arrayport as ap  # before any framework (numpy is not one); preloaded in workers

MIB = 1 << 20
#: The least ARRAYPORT_EXAMPLE_WORKER_MIB accepted: a worker holds 80-100 MiB at start,
#: and the run refuses workers that hold more than CROWDED (45%) of their limit then (it
#: takes 90-170 MiB more), so no limit below about 224 MiB could ever run.
SMALLEST_MIB = 256


def worker_limit(chosen: str | None) -> int:
    """The workers' limit in bytes: ``chosen`` MiB (ARRAYPORT_EXAMPLE_WORKER_MIB), or
    256 MiB when it is not set; anything but a whole number of MiB of at least
    SMALLEST_MIB stops the example with a message that says so."""
    if not chosen:
        return 256 * MIB
    try:
        mib = int(chosen)
    except ValueError:
        mib = None
    if mib is None or mib < SMALLEST_MIB:
        msg = (
            f"ARRAYPORT_EXAMPLE_WORKER_MIB={chosen!r}: give each worker's memory limit as a "
            f"whole number of MiB, at least {SMALLEST_MIB} (the default is 256)"
        )
        raise SystemExit(msg)
    return mib * MIB


#: Per worker, unless the workers' imports need more (see sized_cluster).
CHOSEN_LIMIT = os.environ.get("ARRAYPORT_EXAMPLE_WORKER_MIB")
MEMORY_LIMIT = worker_limit(CHOSEN_LIMIT)
#: A worker holding more than this share of its limit before any block arrives has too
#: little room left: the run takes 90-170 MiB more, and the nanny restarts it at 95%.
CROWDED = 0.45
CHUNKS = (1024, 1024)  # 8 MiB per chunk


def shape_for(limit: int) -> tuple[int, int]:
    """The array's shape for workers of ``limit`` bytes: float64, four times ``limit``."""
    return (8192 * limit // (256 * MIB), 16384)


SHAPE = shape_for(MEMORY_LIMIT)


def smooth_numpy(x: Any) -> Any:
    """Mean of each element and its four neighbours; edges repeat the edge value.

    Written to hold few temporaries: a worker has 256 MiB and a block is 8 MiB.
    """
    out = x.copy()
    out[1:] += x[:-1]
    out[:1] += x[:1]
    out[:-1] += x[1:]
    out[-1:] += x[-1:]
    out[:, 1:] += x[:, :-1]
    out[:, :1] += x[:, :1]
    out[:, :-1] += x[:, 1:]
    out[:, -1:] += x[:, -1:]
    out /= 5.0
    return out


# The dispatched function: blocks arrive with a one-element halo from their neighbours.
smooth = ap.memory_type("numpy", depth=1)(smooth_numpy)


def field(rows: Any, cols: Any) -> Any:
    """A non-linear field (a linear one would hide halo mistakes in the mean), from numpy
    or dask coordinate vectors alike."""
    return np.sin(rows[:, None] * 0.001) * np.cos(cols[None, :] * 0.0007) + (rows[:, None] % 7)


def make_input(shape: tuple[int, int] = SHAPE) -> Any:
    """The input as a lazy dask array: each chunk is made where it is needed."""
    import dask.array as da

    rows = da.arange(shape[0], chunks=CHUNKS[0], dtype=np.float64)
    cols = da.arange(shape[1], chunks=CHUNKS[1], dtype=np.float64)
    return field(rows, cols)


def reference_mean(shape: tuple[int, int] = SHAPE, strip: int = 512) -> float:
    """The same mean by plain numpy in this process, strip by strip (64 MiB at a time):
    each strip is smoothed with one extra row from each neighbouring strip."""
    cols = np.arange(shape[1], dtype=np.float64)
    total = 0.0
    for r0 in range(0, shape[0], strip):
        lo, hi = max(r0 - 1, 0), min(r0 + strip + 1, shape[0])
        smoothed = smooth_numpy(field(np.arange(lo, hi, dtype=np.float64), cols))
        total += float(smoothed[r0 - lo : r0 - lo + min(strip, shape[0] - r0)].sum())
    return total / (shape[0] * shape[1])


def peak_memory(dask_worker: Any) -> int:
    """The highest process memory a worker's own monitor sampled (what its nanny and its
    spill and pause thresholds go by), in bytes. ``client.run`` passes ``dask_worker``."""
    return int(max(dask_worker.monitor.quantities["memory"]))


def process_memory(dask_worker: Any) -> int:
    """A worker's process memory now, in bytes (what its nanny goes by)."""
    return int(dask_worker.monitor.get_process_memory())


def run(client: Any, limit: int = MEMORY_LIMIT) -> dict[str, Any]:
    """Smooth and average an array four times the workers' ``limit`` on ``client``'s
    cluster; return what happened. Workers that already hold more than CROWDED of their
    ``limit`` stop the example with a message (SystemExit) saying what limit to give."""
    workers_before = set(client.scheduler_info()["workers"])
    at_start = client.run(process_memory)
    # The run takes about 90-170 MiB more than a worker holds at start (80-100 MiB with
    # numpy and dask here), and the nanny restarts a worker at 95% of its limit. Where imports
    # leave less room, say so instead of letting dask restart workers until it gives up.
    crowded = {w: m for w, m in at_start.items() if m > CROWDED * limit}
    if crowded:
        figures = ", ".join(f"{m / MIB:.0f} MiB" for m in crowded.values())
        step = 256 * MIB  # as sized_cluster grows them: held at most a third
        enough = step * -(-3 * max(crowded.values()) // step)
        msg = (
            f"the workers already use {figures} of their {limit / MIB:.0f} MiB before any "
            "block arrives (imports at start-up): run with "
            f"ARRAYPORT_EXAMPLE_WORKER_MIB={enough // MIB} (or more)"
        )
        raise SystemExit(msg)
    shape = shape_for(limit)
    x = make_input(shape)
    assert x.nbytes >= 4 * limit
    start = time.perf_counter()
    mean = float(smooth(x).mean().compute())
    seconds = time.perf_counter() - start
    reference = reference_mean(shape)
    workers_after = set(client.scheduler_info()["workers"])
    return {
        "mean": mean,
        "reference": reference,
        "seconds": seconds,
        "array_bytes": int(x.nbytes),
        "workers_before": sorted(workers_before),
        "workers_after": sorted(workers_after),
        "start_memory": at_start,
        "peak_memory": client.run(peak_memory),
    }


def start_cluster(limit: int = MEMORY_LIMIT) -> Any:
    """Two worker processes, one thread each, ``limit`` bytes each (256 MiB); arrayport and
    dask.array preloaded in each, so that their memory at start counts those imports.

    The workers spill blocks to disk from 30% of their limit and pause at 60% (dask's
    defaults: 60% and 80%), leaving room for what they cannot spill (the running task's
    temporaries, memory the allocator has not returned): with the defaults a worker here
    peaked at 236 MiB of 256, near the nanny's 95% restart line; with these at 150-180
    MiB, in about twice the time.
    """
    import dask
    from distributed import LocalCluster

    fractions = {"target": 0.3, "spill": 0.4, "pause": 0.6}
    # The nannies take the configuration in force when they start their workers.
    with dask.config.set({f"distributed.worker.memory.{k}": v for k, v in fractions.items()}):
        return LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit=limit,
            dashboard_address=None,
            preload=["arrayport", "dask.array"],
        )


def sized_cluster() -> tuple[Any, int]:
    """A cluster from :func:`start_cluster` and its workers' limit: MEMORY_LIMIT, or where
    the workers hold more than CROWDED of it after their imports (and the limit was not
    chosen), the multiple of 256 MiB of which they hold at most a third."""
    from distributed import Client

    cluster = start_cluster(MEMORY_LIMIT)
    with Client(cluster) as client:
        # A lambda travels by value (process_memory would not: the workers cannot import
        # this file by its name when a test loads it).
        held = max(
            client.run(lambda dask_worker: dask_worker.monitor.get_process_memory()).values()
        )
    if CHOSEN_LIMIT or held <= CROWDED * MEMORY_LIMIT:
        return cluster, MEMORY_LIMIT
    cluster.close()
    step = 256 * MIB
    limit = step * -(-3 * held // step)
    print(
        f"the workers hold {held / MIB:.0f} MiB after their imports (dask.array imports "
        f"cupy where it is installed): {limit / MIB:.0f} MiB workers instead of "
        f"{MEMORY_LIMIT / MIB:.0f}, and the array grows with them"
    )
    return start_cluster(limit), limit


def main() -> None:
    from distributed import Client
    from distributed.scheduler import KilledWorker

    cluster, limit = sized_cluster()
    with cluster, Client(cluster) as client:
        try:
            found = run(client, limit)
        except KilledWorker:
            try:
                held = client.run(process_memory).values()
                now = "restarted workers now hold " + ", ".join(f"{m / MIB:.0f} MiB" for m in held)
            # A worker restarting while asked drops the connection (seen on a GPU machine):
            # the message below must still reach the user.
            except OSError as exc:
                now = f"their memory could not be read: {type(exc).__name__}"
            msg = (
                f"dask workers died: their memory grew past {limit / MIB:.0f} MiB "
                f"({now}). Where imports or the allocator take more room, run with "
                "ARRAYPORT_EXAMPLE_WORKER_MIB=512 (or more)"
            )
            raise SystemExit(msg) from None
    died = set(found["workers_before"]) ^ set(found["workers_after"])
    size = found["array_bytes"] / MIB
    print(f"array: {size:.0f} MiB, workers limited to {limit / MIB:.0f} MiB each")
    print(f"mean {found['mean']:.12f} (numpy strips: {found['reference']:.12f})")
    print(f"dask dispatch: {found['seconds']:.1f} s")
    for address, peak in found["peak_memory"].items():
        start = found["start_memory"].get(address, 0) / MIB
        print(
            f"  worker {address}: process memory {start:.0f} MiB at start, "
            f"highest sampled {peak / MIB:.0f} MiB"
        )
    assert not died, f"workers died and were restarted: {sorted(died)}"
    np.testing.assert_allclose(found["mean"], found["reference"], rtol=1e-12)
    print("ok: no worker died and the mean matches")


if __name__ == "__main__":
    main()
