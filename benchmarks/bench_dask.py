"""Dask dispatch: per-block overhead against a bare ``map_blocks``, and 1 vs 2 workers.

1. **Per-block overhead.** The same numpy function over the same dask array, once through
   ``dask.array.map_blocks`` and once through ``@arrayport.memory_type("numpy")``, on dask's
   synchronous scheduler (no thread or network noise): the ratio of the two compute times,
   and the difference divided by the number of blocks. With ``--torch`` the function is
   also run declared on torch (each block converted numpy -> torch -> numpy) against a bare
   ``map_blocks`` doing ``torch.from_numpy`` itself.
2. **Workers.** A halo function (``depth=1``) over a larger array on a ``LocalCluster``
   with one worker process, then two (one thread each), arrayport and bare
   ``map_overlap`` side by side on each cluster: the speed-up 1 -> 2 workers as a ratio.

Times are the best of ``--repeat`` runs, the contenders interleaved so that a busy machine
slows them alike. Ratios, not absolute times, are the result.

Run: ``.venv/bin/python benchmarks/bench_dask.py [--blocks 256] [--mib 256] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

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


def per_block(blocks: int, repeat: int, with_torch: bool) -> dict[str, Any]:
    import dask
    import dask.array as da

    side = round(blocks**0.5)
    chunk = 128
    a = np.random.default_rng(0).random((side * chunk, side * chunk), dtype=np.float32)
    x = da.from_array(a, chunks=chunk)
    on_numpy = ap.memory_type("numpy")(affine)
    fns: dict[str, Callable[[], Any]] = {
        "bare map_blocks": lambda: da.map_blocks(affine, x, dtype=x.dtype).compute(),
        "arrayport numpy": lambda: on_numpy(x).compute(),
    }
    if with_torch:
        import torch

        on_torch = ap.memory_type("torch")(affine_torch)

        def bare_torch(block: np.ndarray) -> np.ndarray:
            return affine_torch(torch.from_numpy(block)).numpy()

        fns["bare map_blocks torch"] = lambda: da.map_blocks(bare_torch, x, dtype=x.dtype).compute()
        fns["arrayport torch"] = lambda: on_torch(x).compute()
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_array_equal(on_numpy(x).compute(), affine(a))
        start = time.perf_counter()
        for _ in range(20):
            on_numpy(x)
        build = (time.perf_counter() - start) / 20
        t = best(fns, repeat)
    n = x.npartitions
    out: dict[str, Any] = {
        "blocks": n,
        "block_bytes": chunk * chunk * 4,
        "times_s": t,
        "graph_build_ms": build * 1e3,
        "ratio_numpy": t["arrayport numpy"] / t["bare map_blocks"],
        "overhead_per_block_us_numpy": (t["arrayport numpy"] - t["bare map_blocks"]) / n * 1e6,
    }
    if with_torch:
        out["ratio_torch"] = t["arrayport torch"] / t["bare map_blocks torch"]
        out["overhead_per_block_us_torch"] = (
            (t["arrayport torch"] - t["bare map_blocks torch"]) / n * 1e6
        )
    return out


def workers(mib: int, repeat: int) -> dict[str, Any]:
    import dask.array as da
    from distributed import Client, LocalCluster

    side = int((mib * MIB / 8) ** 0.5)
    chunk = side // 4  # 16 blocks
    on_numpy = ap.memory_type("numpy", depth=1)(smooth)

    def make() -> Any:
        return da.random.default_rng(0).random((side, side), chunks=chunk)

    results: dict[str, dict[str, float]] = {}
    values: dict[str, float] = {}
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
            Client(cluster),
        ):
            x = make()
            fns = {
                "bare map_overlap": lambda x=x: float(
                    da.map_overlap(smooth, x, depth=1, boundary="none").sum().compute()
                ),
                "arrayport": lambda x=x: float(on_numpy(x).sum().compute()),
            }
            values[f"{n}"] = fns["arrayport"]()
            values[f"{n} bare"] = fns["bare map_overlap"]()
            results[f"{n} worker(s)"] = best(fns, repeat)
    assert len({round(v, 6) for v in values.values()}) == 1, values
    one, two = results["1 worker(s)"], results["2 worker(s)"]
    return {
        "array_mib": side * side * 8 / MIB,
        "blocks": 16,
        "times_s": results,
        "speedup_1_to_2_arrayport": one["arrayport"] / two["arrayport"],
        "speedup_1_to_2_bare": one["bare map_overlap"] / two["bare map_overlap"],
        "ratio_arrayport_vs_bare_1_worker": one["arrayport"] / one["bare map_overlap"],
        "ratio_arrayport_vs_bare_2_workers": two["arrayport"] / two["bare map_overlap"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=256)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--torch", action="store_true", help="also a torch-declared function")
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    report = {"per_block": per_block(args.blocks, args.repeat, args.torch)}
    if not args.skip_workers:
        report["workers"] = workers(args.mib, args.repeat)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
