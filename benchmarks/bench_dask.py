"""Dask dispatch: per-block overhead against a bare ``map_blocks``, and 1 vs 2 workers.

1. **Per-block overhead.** The same numpy function over the same dask array, once through
   ``dask.array.map_blocks`` and once through
   ``@arrayport.memory_type("numpy", blockwise=True)``, on dask's synchronous scheduler
   (no thread or network noise): the ratio of the two compute times, and the difference
   divided by the number of blocks. With ``--torch`` the function is
   also run declared on torch (each block converted numpy -> torch -> numpy) against a bare
   ``map_blocks`` doing ``torch.from_numpy`` itself. Every contender's graph is built once,
   before the timing, and each timing is one ``compute()`` of it: building a graph is not
   the same work on both sides (dask tokenises a bare ``map_blocks`` function by its
   code, 1.75 ms for a closure against 0.15 ms for a module function, which once made the
   torch overhead read negative), so the build times are reported on their own
   (``graph_build_ms``). Each contender's result is checked against numpy's once, untimed;
   one that disagrees is reported (``checks``, and on standard error) and not timed.
2. **Workers.** A halo function (``depth=1``) over a larger array on a ``LocalCluster``
   with one worker process, then two (one thread each), arrayport and bare
   ``map_overlap`` side by side on each cluster: the speed-up 1 -> 2 workers as a ratio.
   The random input is drawn once per cluster and kept on its workers (``persist``)
   before anything is timed, so that no timing draws it again; each timing is one
   ``compute()`` of the result's sum. Before a cluster is timed, both results are
   computed in full (untimed) and every value checked against the whole input smoothed
   at once by numpy (in this process: about four times ``--mib`` at its peak, once);
   where one differs, ``checks`` says so, on standard error too, that cluster is not
   timed and its ratios are null.

   The array's side is a multiple of its chunk, so that its 16 blocks are equal;
   ``blocks`` is the number dask made.

Times are the best of ``--repeat`` runs, the contenders interleaved so that a busy machine
slows them alike. Ratios, not absolute times, are the result. The exit status is 1 when a
check failed.

Run: ``.venv/bin/python benchmarks/bench_dask.py [--blocks 256] [--mib 256] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _args import positive_int, require

import arrayport as ap  # before any framework (numpy is not one)

MIB = 1 << 20


def best(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Best time of each function, runs interleaved."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {k: min(v) for k, v in times.items()}


def affine(x: Any) -> Any:
    return x * 2.0 + 1.0


def affine_torch(x: Any) -> Any:
    return x * 2.0 + 1.0


def smooth(x: Any) -> Any:
    """Five-point mean with edge padding (numpy)."""
    p = np.pad(x, 1, mode="edge")
    out = p[1:-1, 1:-1].copy()
    out += p[:-2, 1:-1]
    out += p[2:, 1:-1]
    out += p[1:-1, :-2]
    out += p[1:-1, 2:]
    out /= 5.0
    return out


def build_time(build: Callable[[], Any], number: int = 20) -> float:
    """Seconds to build one graph (the best of three runs of ``number`` builds)."""
    best_run = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(number):
            build()
        best_run = min(best_run, (time.perf_counter() - start) / number)
    return best_run


def check(name: str, result: Any, expected: np.ndarray, checks: dict[str, str]) -> bool:
    """Record in ``checks`` whether ``result`` equals ``expected`` (values, dtype, shape);
    a failure is also printed on standard error, so that no fast wrong path reads well."""
    try:
        if isinstance(result, BaseException):  # the path raised (see per_block)
            raise result
        got = np.asarray(result)
        require(got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}")
        require(got.dtype == expected.dtype, f"dtype {got.dtype}, expected {expected.dtype}")
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)
    # Any failure, an exception from the path itself included: reported, never timed.
    except Exception as exc:
        text = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        checks[name] = f"FAILED: {text}"
        print(f"CHECK FAILED, {name} not timed: {text}", file=sys.stderr)
        return False
    checks[name] = "ok"
    return True


def per_block(blocks: int, repeat: int, with_torch: bool) -> dict[str, Any]:
    import dask
    import dask.array as da

    side = round(blocks**0.5)
    chunk = 128
    a = np.random.default_rng(0).random((side * chunk, side * chunk), dtype=np.float32)
    x = da.from_array(a, chunks=chunk)
    on_numpy = ap.memory_type("numpy", blockwise=True)(affine)
    builds: dict[str, Callable[[], Any]] = {
        "bare map_blocks": lambda: da.map_blocks(affine, x, dtype=x.dtype),
        "arrayport numpy": lambda: on_numpy(x),
    }
    if with_torch:
        import torch

        on_torch = ap.memory_type("torch", blockwise=True)(affine_torch)

        def bare_torch(block: np.ndarray) -> np.ndarray:
            return affine_torch(torch.from_numpy(block)).numpy()

        builds["bare map_blocks torch"] = lambda: da.map_blocks(bare_torch, x, dtype=x.dtype)
        builds["arrayport torch"] = lambda: on_torch(x)
    expected = affine(a)
    checks: dict[str, str] = {}
    with dask.config.set(scheduler="synchronous"):
        build_ms = {name: build_time(build) * 1e3 for name, build in builds.items()}
        # Built once, outside the timing: each timing is one compute() of the same graph.
        graphs = {name: build() for name, build in builds.items()}
        fns: dict[str, Callable[[], Any]] = {}
        for name, graph in graphs.items():
            try:
                result = graph.compute()
            except Exception as exc:  # reported by check(), as a wrong result is
                result = exc
            if check(name, result, expected, checks):
                fns[name] = graph.compute
        t = best(fns, repeat)
    n = x.npartitions

    def ratio(ours: str, bare: str) -> tuple[float | None, float | None]:
        if ours not in t or bare not in t:
            return None, None  # a check failed: see "checks"
        return t[ours] / t[bare], (t[ours] - t[bare]) / n * 1e6

    out: dict[str, Any] = {
        "blocks": n,
        "block_bytes": chunk * chunk * 4,
        "checks": checks,
        "times_s": t,
        "graph_build_ms": build_ms,
    }
    out["ratio_numpy"], out["overhead_per_block_us_numpy"] = ratio(
        "arrayport numpy", "bare map_blocks"
    )
    if with_torch:
        out["ratio_torch"], out["overhead_per_block_us_torch"] = ratio(
            "arrayport torch", "bare map_blocks torch"
        )
    return out


def workers(mib: int, repeat: int) -> dict[str, Any]:
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    chunk = int((mib * MIB / 8) ** 0.5) // 4
    side = 4 * chunk  # 16 equal blocks
    on_numpy = ap.memory_type("numpy", depth=1)(smooth)

    def make() -> Any:
        return da.random.default_rng(0).random((side, side), chunks=chunk)

    results: dict[str, dict[str, float]] = {}
    checks: dict[str, str] = {}
    expected: np.ndarray | None = None
    for n in (1, 2):
        with (
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                memory_limit="2GiB",
                dashboard_address=None,
                preload=["arrayport"],
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            # Made once, on the workers, before anything is timed: a lazy random array
            # would be drawn again inside every timed compute, on both sides alike.
            x = client.persist(make())
            wait(x)
            blocks = x.npartitions
            if expected is None:  # the same draw on both clusters (seeded): one reference
                # map_overlap with boundary="none" leaves the array's own edges to smooth's
                # edge padding, so the whole array smoothed at once is the expected result.
                expected = smooth(x.compute())
            graphs = {
                "bare map_overlap": da.map_overlap(smooth, x, depth=1, boundary="none"),
                "arrayport": on_numpy(x),
            }
            # Untimed, as in part 1: every value of both results, or this cluster is not
            # timed.
            ok = [
                check(f"{n} worker(s) {name}", graph.compute(), expected, checks)
                for name, graph in graphs.items()
            ]
            if all(ok):
                fns = {k: (lambda g=g: float(g.sum().compute())) for k, g in graphs.items()}
                results[f"{n} worker(s)"] = best(fns, repeat)
            del x, graphs
    one, two = results.get("1 worker(s)"), results.get("2 worker(s)")

    def ratio(a: dict[str, float] | None, b: dict[str, float] | None, x: str, y: str) -> Any:
        return None if a is None or b is None else a[x] / b[y]  # None: a check failed

    ours, bare = "arrayport", "bare map_overlap"
    return {
        "array_mib": side * side * 8 / MIB,
        "blocks": blocks,
        "checks": checks,
        "times_s": results,
        "speedup_1_to_2_arrayport": ratio(one, two, ours, ours),
        "speedup_1_to_2_bare": ratio(one, two, bare, bare),
        "ratio_arrayport_vs_bare_1_worker": ratio(one, one, ours, bare),
        "ratio_arrayport_vs_bare_2_workers": ratio(two, two, ours, bare),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--blocks", type=positive_int, default=256, help="blocks in part 1 (a square number: 256)"
    )
    parser.add_argument("--mib", type=positive_int, default=256, help="array size in part 2 (256)")
    parser.add_argument(
        "--repeat", type=positive_int, default=5, help="timed runs, the best kept (5)"
    )
    parser.add_argument("--torch", action="store_true", help="also a torch-declared function")
    parser.add_argument("--skip-workers", action="store_true", help="part 1 only")
    args = parser.parse_args()
    report = {"per_block": per_block(args.blocks, args.repeat, args.torch)}
    if not args.skip_workers:
        report["workers"] = workers(args.mib, args.repeat)
    print(json.dumps(report, indent=2))
    checks = [*report["per_block"]["checks"].values()]
    checks += report.get("workers", {}).get("checks", {}).values()
    if any(v != "ok" for v in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
