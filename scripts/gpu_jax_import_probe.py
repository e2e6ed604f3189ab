"""Where the time of a GPU import into jax goes (1 MiB float32 from cupy and torch on
cuda:0), and how the way a call is waited for changes its timing; the cupy routing key
against a full description. Needs cupy, torch and jax on a CUDA GPU; prints a report.

Each row is the median of 7 rounds of 200 calls, the rows of a table timed in turn so
that a busy machine slows them alike. "+sync" follows each call with a device
synchronize (every stream of the process), "+block" with jax's ``block_until_ready``.

    python scripts/gpu_jax_import_probe.py
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import cupy as cp
import jax
import torch

import arrayport as ap
from arrayport._host import route_key_of
from arrayport._plan_cache import _plan_key, _plans
from arrayport.backends import _jax_dlpack
from arrayport.backends import cupy as cupy_backend
from arrayport.backends import jax as jax_backend
from arrayport.backends import torch as torch_backend
from arrayport.memory_types import MemoryType


def interleaved(rows: dict[str, Callable[[], Any]], n: int = 200, rounds: int = 7) -> None:
    for f in rows.values():
        for _ in range(20):
            f()
    times: dict[str, list[float]] = {k: [] for k in rows}
    for _ in range(rounds):
        for k, f in rows.items():
            start = time.perf_counter()
            for _ in range(n):
                f()
            times[k].append((time.perf_counter() - start) / n * 1e6)
    for k, v in times.items():
        print(f"  {k:48s} {statistics.median(v):8.1f} us  (min {min(v):.1f})")


def import_rows(name: str, x: Any) -> None:
    mt = MemoryType(name)
    backend = cupy_backend if name == "cupy" else torch_backend
    dev = ap.Device("cuda", 0)
    sync = cp.cuda.Device(0).synchronize
    for _ in range(3):  # the first conversion to a target is not cached (ADR 0045)
        ap.convert(x, "jax")
    found = _plans.get(_plan_key(x, mt, MemoryType.JAX, None, None))
    direct = _jax_dlpack.gpu_importer_on(0)  # jaxlib's import onto cuda:0, or None
    # The export arrayport hands it (torch's, 8 us less per call; cupy's with its GPU entered).
    export = _jax_dlpack._cupy_export if name == "cupy" else _jax_dlpack._torch_export
    print(f"\n=== {name} -> jax, 1 MiB: host time per call (route cached: {found is not None})")
    rows: dict[str, Callable[[], Any]] = {
        "public jax.dlpack.from_dlpack": lambda: jax.dlpack.from_dlpack(x),
        "backend from_dlpack": lambda: jax_backend.from_dlpack(backend.dlpack_source(x), dev),
        "route key": lambda: backend.route_key(x, False),
        "plan-cache key": lambda: _plan_key(x, mt, MemoryType.JAX, None, None),
        "ap.convert": lambda: ap.convert(x, "jax"),
    }
    if direct is not None:
        rows["jaxlib's import directly"] = lambda: direct(backend.dlpack_source(x), export)
    if found is not None:
        rows["cached route run"] = lambda: found[1](x)
    interleaved(rows)
    print(f"=== {name} -> jax: waited for")
    interleaved(
        {
            "convert+sync": lambda: (ap.convert(x, "jax"), sync()),
            "convert+block": lambda: ap.convert(x, "jax").block_until_ready(),
            "convert+block+sync (bench_convert)": lambda: (
                ap.convert(x, "jax").block_until_ready(),
                sync(),
            ),
            "public+sync": lambda: (jax.dlpack.from_dlpack(x), sync()),
            "public+block+sync (bench_convert)": lambda: (
                jax.dlpack.from_dlpack(x).block_until_ready(),
                sync(),
            ),
            "sync alone": sync,
        },
        n=100,
    )
    y = ap.convert(x, "jax")
    sync()
    print("  jax reports ready right after a device synchronize:", y.is_ready())
    gc.disable()
    interleaved({"ap.convert, gc disabled": lambda: ap.convert(x, "jax")})
    gc.enable()


def main() -> None:
    print("jax", jax.__version__, "torch", torch.__version__, "cupy", cp.__version__)
    print("direct GPU import:", _jax_dlpack.gpu_importer_on(0) is not None)
    n = 1 << 18
    c = cp.arange(n, dtype=cp.float32)
    t = torch.arange(n, dtype=torch.float32, device="cuda")
    cp.cuda.Device(0).synchronize()
    import_rows("cupy", c)
    import_rows("torch", t)
    print("\n=== cupy routing key; cupy <-> torch")
    key = cupy_backend.route_key(c, True)
    print("  key equals the description's:", key == route_key_of(cupy_backend.describe(c), True))
    interleaved(
        {
            "cupy route key": lambda: cupy_backend.route_key(c, True),
            "cupy describe + route_key_of": lambda: route_key_of(cupy_backend.describe(c), True),
            "ap.convert cupy -> torch": lambda: ap.convert(c, "torch"),
            "torch.from_dlpack(cupy)": lambda: torch.from_dlpack(c),
            "ap.convert torch -> cupy": lambda: ap.convert(t, "cupy"),
            "cp.from_dlpack(torch)": lambda: cp.from_dlpack(t),
        }
    )


if __name__ == "__main__":
    main()
