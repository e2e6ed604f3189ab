"""Exhaust real GPU memory with torch, cupy and jax, and show OOMPolicy recovering.

Run on a machine with one NVIDIA GPU (it uses device 0)::

    python scripts/gpu_oom_check.py [--json PATH] [--budget 170]

Frameworks that are missing or see no GPU are skipped. Every scenario sizes itself from
the device's free memory at that moment and prints its figures; a summary table and (with
``--json``) a JSON file follow. The exit status is 1 when a scenario that ran did not end
as expected, else 0. The whole run stays under ``--budget`` seconds (default 170): a
scenario is skipped, not started, once the budget is spent.

Scenarios, for each framework F:

* ``cross-release`` (F other than torch, torch present; run first): torch's caching
  allocator holds 60% of the free memory as cached (freed tensors), and F asks for as
  much. F's own release does not help; the policy's second release also frees the other
  frameworks' caches on that GPU. Expected outcome ``release`` after 2 errors.
* ``release``: a garbage reference cycle keeps 60% of the free memory alive (Python frees
  it only at the next garbage collection, and no framework collects garbage when its
  allocator fails, except cupy's pool); ``fn`` then asks for 60% again. Expected: an
  out-of-memory error, then recovery by OOMPolicy's release step (``gc.collect`` plus
  the framework's cache release), outcome ``release``.
* ``split``: ``x`` takes 1/16 of the free memory; ``fn(x, w)`` builds an intermediate
  20 times the size of its input, so the whole call needs 1.25x the free memory and
  each half 0.63x. Expected outcome ``split``, and a result equal to ``x * sum(w)``
  (exact: small integers in float32), i.e. identical to an unsplit run.
* ``input`` (GPU only: conversions are not injected): all but 4 GiB of the device is taken;
  a dispatched ``fn`` declared on F and cuda:0 gets a 6 GiB numpy array, so moving it onto
  the device runs out of memory (ADR 0055). Expected outcome ``split``, with the result on
  the host equal to ``2 * x``.
* ``raise``: ``fn`` asks for twice the device's total memory. Expected:
  ``arrayport.OutOfMemoryError`` with ``memory_type`` F, ``device`` cuda:0,
  ``attempts`` 2 and ``__cause__`` the framework's own error.

jax runs last because its allocator keeps what it once took; it is started with
``XLA_PYTHON_CLIENT_PREALLOCATE=false`` so that it does not take 75% of the GPU up front.

``--selftest`` runs the same scenarios on the CPU with tiny sizes and injected errors
(``arrayport.testing.inject_oom``): it checks this script's own code where no GPU is.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


import numpy as np

import arrayport as ap  # before any framework (numpy is not one)
from arrayport.testing import inject_oom

GIB = float(1 << 30)
K = 20  # the split scenario's intermediate is K times its input


# ------------------------------------------------------------------ framework adapters


class Framework:
    """What the scenarios need from one framework, on the GPU (or the CPU in selftest)."""

    name = ""

    def __init__(self, gpu: bool) -> None:
        self.gpu = gpu

    def free(self) -> int:
        raise NotImplementedError

    def total(self) -> int:
        raise NotImplementedError

    def alloc(self, nbytes: int) -> Any:
        raise NotImplementedError

    def ints(self, rows: int, cols: int) -> Any:
        raise NotImplementedError

    def weights(self, k: int) -> Any:
        raise NotImplementedError

    def equal(self, a: Any, b: Any) -> bool:
        raise NotImplementedError

    def sync(self) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def expand_sum(self, x: Any, w: Any) -> Any:
        y = x[:, None, :] * w[None, :, None]  # materialised: K times the input
        self.sync()
        return y.sum(1)


class Torch(Framework):
    name = "torch"

    def __init__(self, gpu: bool) -> None:
        super().__init__(gpu)
        import torch

        self.t = torch
        if gpu and not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
        self.dev = torch.device("cuda", 0) if gpu else torch.device("cpu")

    def free(self) -> int:
        return int(self.t.cuda.mem_get_info(0)[0]) if self.gpu else 16 << 20

    def total(self) -> int:
        return int(self.t.cuda.mem_get_info(0)[1]) if self.gpu else 32 << 20

    def alloc(self, nbytes: int) -> Any:
        out = self.t.empty(nbytes // 4, dtype=self.t.float32, device=self.dev)
        self.sync()
        return out

    def ints(self, rows: int, cols: int) -> Any:
        return self.t.randint(0, 100, (rows, cols), dtype=self.t.float32, device=self.dev)

    def weights(self, k: int) -> Any:
        return self.t.arange(k, dtype=self.t.float32, device=self.dev)

    def equal(self, a: Any, b: Any) -> bool:
        return bool(self.t.equal(a, b))

    def sync(self) -> None:
        if self.gpu:
            self.t.cuda.synchronize()

    def cleanup(self) -> None:
        gc.collect()
        if self.gpu:
            self.t.cuda.synchronize()
            self.t.cuda.empty_cache()


class Cupy(Framework):
    name = "cupy"

    def __init__(self, gpu: bool) -> None:
        super().__init__(gpu)
        if not gpu:
            raise RuntimeError("cupy needs a GPU")
        import cupy

        self.cp = cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("cupy sees no CUDA device")
        cupy.cuda.Device(0).use()

    def free(self) -> int:
        return int(self.cp.cuda.runtime.memGetInfo()[0])

    def total(self) -> int:
        return int(self.cp.cuda.runtime.memGetInfo()[1])

    def alloc(self, nbytes: int) -> Any:
        out = self.cp.empty(nbytes // 4, dtype=self.cp.float32)
        self.sync()
        return out

    def ints(self, rows: int, cols: int) -> Any:
        x = self.cp.random.random_sample((rows, cols), dtype=self.cp.float32)
        x *= 100
        self.cp.floor(x, out=x)
        return x

    def weights(self, k: int) -> Any:
        return self.cp.arange(k, dtype=self.cp.float32)

    def equal(self, a: Any, b: Any) -> bool:
        return bool(self.cp.array_equal(a, b))

    def sync(self) -> None:
        self.cp.cuda.Device(0).synchronize()

    def cleanup(self) -> None:
        gc.collect()
        self.sync()
        self.cp.get_default_memory_pool().free_all_blocks()
        self.cp.get_default_pinned_memory_pool().free_all_blocks()


class Jax(Framework):
    name = "jax"

    def __init__(self, gpu: bool) -> None:
        super().__init__(gpu)
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        if gpu:
            try:
                self.dev = jax.devices("gpu")[0]
            except RuntimeError as exc:
                raise RuntimeError(f"jax sees no GPU ({exc})") from exc
        else:
            self.dev = jax.devices("cpu")[0]
        self.key = jax.random.PRNGKey(0)

    def _stats(self) -> dict[str, int]:
        return dict(self.dev.memory_stats() or {})

    def free(self) -> int:
        if not self.gpu:
            return 16 << 20
        s = self._stats()
        return int(s.get("bytes_limit", 0)) - int(s.get("bytes_in_use", 0))

    def total(self) -> int:
        return int(self._stats().get("bytes_limit", 0)) if self.gpu else 32 << 20

    def alloc(self, nbytes: int) -> Any:
        out = self.jnp.zeros(nbytes // 4, dtype=self.jnp.float32, device=self.dev)
        return out.block_until_ready()  # surface an asynchronous failure here, inside fn

    def ints(self, rows: int, cols: int) -> Any:
        with self.jax.default_device(self.dev):
            x = self.jax.random.randint(self.key, (rows, cols), 0, 100, dtype=self.jnp.int32)
            return x.astype(self.jnp.float32).block_until_ready()

    def weights(self, k: int) -> Any:
        return self.jnp.arange(k, dtype=self.jnp.float32, device=self.dev)

    def equal(self, a: Any, b: Any) -> bool:
        return bool(self.jnp.array_equal(a, b))

    def expand_sum(self, x: Any, w: Any) -> Any:
        # Eager jax runs each operation on its own, so y is materialised (not fused).
        y = (x[:, None, :] * w[None, :, None]).block_until_ready()
        return y.sum(1).block_until_ready()

    def sync(self) -> None:
        pass

    def cleanup(self) -> None:
        gc.collect()


# --------------------------------------------------------------------------- scenarios


def _row(ok: bool, outcome: str, errors: int, seconds: float, detail: str) -> dict[str, Any]:
    """One scenario's result, as printed and written to the JSON file."""
    return {
        "ok": ok,
        "outcome": outcome,
        "oom_errors": errors,
        "seconds": seconds,
        "detail": detail,
    }


def counted(policy: ap.OOMPolicy, fn: Callable[..., Any], *args: Any) -> tuple[Any, dict[str, Any]]:
    with ap.metrics.collecting() as m:
        out = policy.run(fn, *args)
        snap = m.snapshot()
    return out, snap


def outcome_of(snap: dict[str, Any]) -> str:
    outcomes = snap["oom_outcomes"]
    return next(iter(outcomes)) if outcomes else "no OOM"


def scenario_release(fw: Framework, emulate: bool) -> dict[str, Any]:
    free = fw.free()
    n = int(free * 0.6) // 4 * 4
    small = fw.alloc(4096)
    gc.disable()  # keep the cycle alive until the policy collects it
    try:
        holder: list[Any] = [fw.alloc(n)]
        holder.append(holder)
        del holder
        t0 = time.perf_counter()
        with inject_oom(fw.name, times=1) if emulate else _nothing():
            out, snap = counted(ap.OOMPolicy(retries=2), lambda x: fw.alloc(n), small)
        seconds = time.perf_counter() - t0
    finally:
        gc.enable()
    del out
    fw.cleanup()
    outcome = outcome_of(snap)
    return _row(
        outcome in ("release", "no OOM"),
        outcome,
        snap["oom_errors"],
        seconds,
        f"{n / GIB:.2f} GiB held by a garbage cycle, {n / GIB:.2f} GiB asked for; "
        f"free before: {free / GIB:.2f} GiB"
        + ("" if outcome != "no OOM" else " (the framework recovered on its own)"),
    )


def scenario_cross(fw: Framework, torch_fw: Torch, emulate: bool) -> dict[str, Any]:
    # 60% of what the device has free, so that what torch caches leaves fw too little;
    # capped below fw's own limit (jax's allocator may use a fraction of the device only).
    n = int(min(torch_fw.free() * 0.6, fw.free() * 0.9)) // 4 * 4
    cached = torch_fw.alloc(n)
    del cached  # now cached by torch's allocator, not free for fw
    small = fw.alloc(4096)
    t0 = time.perf_counter()
    with inject_oom(fw.name, times=2) if emulate else _nothing():
        out, snap = counted(ap.OOMPolicy(retries=2), lambda x: fw.alloc(n), small)
    seconds = time.perf_counter() - t0
    del out
    fw.cleanup()
    torch_fw.cleanup()
    outcome = outcome_of(snap)
    return _row(
        outcome == "release",
        outcome,
        snap["oom_errors"],
        seconds,
        f"torch cached {n / GIB:.2f} GiB; {fw.name} asked for {n / GIB:.2f} GiB",
    )


def scenario_split(fw: Framework, emulate: bool) -> dict[str, Any]:
    free = fw.free()
    cols = 1024
    rows = max(2, free // 16 // (4 * cols))
    x = fw.ints(rows, cols)
    w = fw.weights(K)
    t0 = time.perf_counter()
    with inject_oom(fw.name, times=1) if emulate else _nothing():
        out, snap = counted(ap.OOMPolicy(retries=0, split_axis=0), fw.expand_sum, x, w)
    seconds = time.perf_counter() - t0
    same = fw.equal(out, x * float(K * (K - 1) // 2))
    del out, x, w
    fw.cleanup()
    outcome = outcome_of(snap)
    need = rows * cols * 4 * K
    return _row(
        outcome == "split" and same,
        outcome,
        snap["oom_errors"],
        seconds,
        f"x {rows}x{cols} float32 ({rows * cols * 4 / GIB:.2f} GiB); the unsplit "
        f"call needs {need / GIB:.2f} GiB of {free / GIB:.2f} GiB free; result identical: {same}",
    )


@functools.cache
def _host_input() -> tuple[np.ndarray, np.ndarray]:
    """The input scenario's 6 GiB host array (small integers: exact in float32) and twice it,
    made once for every framework."""
    x = (np.arange(6 * (1 << 30) // 4, dtype=np.float32) % 251).reshape(-1, 1024)
    return x, x * 2


def scenario_input(fw: Framework, emulate: bool) -> dict[str, Any]:
    if emulate:
        return _row(True, "skipped", 0, 0.0, "GPU only: injected errors never reach conversions")
    room = 4 * (1 << 30)
    x, twice = _host_input()
    hold = fw.alloc(max(0, fw.free() - room) // 4 * 4)  # leaves about `room` free
    double = ap.memory_type(fw.name, device="cuda:0", oom=ap.OOMPolicy(retries=0, split_axis=0))(
        lambda a: a * 2
    )
    t0 = time.perf_counter()
    with ap.metrics.collecting() as m:
        out = double(x)
        snap = m.snapshot()
    seconds = time.perf_counter() - t0
    same = isinstance(out, np.ndarray) and bool(np.array_equal(out, twice))
    del out, hold
    fw.cleanup()
    outcome = outcome_of(snap)
    return _row(
        outcome == "split" and same,
        outcome,
        snap["oom_errors"],
        seconds,
        f"x {x.nbytes / GIB:.1f} GiB on the host, about {room / GIB:.0f} GiB free on "
        f"the device; result on the host and equal to 2x: {same}",
    )


def scenario_raise(fw: Framework, emulate: bool) -> dict[str, Any]:
    total = fw.total()
    small = fw.alloc(4096)
    error: ap.OutOfMemoryError | None = None
    t0 = time.perf_counter()
    try:
        with inject_oom(fw.name, times=2) if emulate else _nothing():
            ap.OOMPolicy(retries=1).run(lambda x: fw.alloc(2 * total), small)
    except ap.OutOfMemoryError as exc:
        error = exc
    seconds = time.perf_counter() - t0
    fw.cleanup()
    if error is None:
        return _row(
            False, "no error", 0, seconds, f"asking for {2 * total / GIB:.1f} GiB succeeded?"
        )
    cause = error.__cause__
    ok = (
        error.memory_type == fw.name
        and str(error.device) == ("cuda:0" if fw.gpu else str(error.device))
        and error.attempts == 2
        and cause is not None
        and not isinstance(cause, ap.OutOfMemoryError)
    )
    return _row(
        ok,
        "raised",
        error.attempts,
        seconds,
        f"memory_type={error.memory_type}, device={error.device}, attempts="
        f"{error.attempts}, requested_bytes={error.requested_bytes}, cause="
        f"{type(cause).__module__}.{type(cause).__qualname__}",
    )


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# -------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--budget", type=float, default=170.0, help="seconds for the whole run")
    parser.add_argument("--selftest", action="store_true", help="CPU, tiny sizes, injected OOM")
    args = parser.parse_args()
    gpu, emulate = not args.selftest, args.selftest
    start = time.perf_counter()
    results: list[dict[str, Any]] = []

    def run(fw_name: str, scenario: str, body: Callable[[], dict[str, Any]]) -> None:
        elapsed = time.perf_counter() - start
        if elapsed > args.budget:
            row = _row(True, "skipped", 0, 0.0, f"budget spent ({elapsed:.0f} s)")
        else:
            try:
                row = body()
            except Exception as exc:  # report and go on: one failure must not hide the rest
                row = _row(False, "crashed", 0, 0.0, f"{type(exc).__name__}: {exc}"[:300])
        row = {"framework": fw_name, "scenario": scenario, **row}
        results.append(row)
        print(
            f"[{time.perf_counter() - start:6.1f} s] {fw_name:6} {scenario:13} "
            f"{'ok ' if row['ok'] else 'BAD'} {row['outcome']:8} errors={row['oom_errors']} "
            f"{row['seconds']:.2f} s  {row['detail']}",
            flush=True,
        )

    frameworks: dict[str, Framework] = {}
    for cls in (Torch, Cupy, Jax):
        try:
            frameworks[cls.name] = cls(gpu)
        except Exception as exc:  # missing or without a GPU: skipped, said so
            print(f"skip {cls.name}: {type(exc).__name__}: {exc}", flush=True)
    print(ap.memory_report(list(frameworks)), flush=True)

    torch_fw = frameworks.get("torch")
    for name in ("torch", "cupy", "jax"):  # jax last: its allocator keeps what it took
        fw = frameworks.get(name)
        if fw is None:
            continue
        # cross-release first: jax's allocator keeps the memory of the later scenarios.
        if isinstance(torch_fw, Torch) and name != "torch":
            run(name, "cross-release", functools.partial(scenario_cross, fw, torch_fw, emulate))
        run(name, "release", functools.partial(scenario_release, fw, emulate))
        run(name, "split", functools.partial(scenario_split, fw, emulate))
        run(name, "input", functools.partial(scenario_input, fw, emulate))
        run(name, "raise", functools.partial(scenario_raise, fw, emulate))
        print(ap.memory_report([name]), flush=True)

    bad = [r for r in results if not r["ok"]]
    print(
        f"\n{len(results)} scenarios, {len(bad)} not as expected, "
        f"{time.perf_counter() - start:.1f} s in all"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"gpu": gpu, "results": results}, f, indent=2)
    return 1 if bad or not results else 0


if __name__ == "__main__":
    sys.exit(main())
