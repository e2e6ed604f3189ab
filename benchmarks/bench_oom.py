"""Cost of the OOM policy and of the metrics counters, side by side in one process.

(a) ``OOMPolicy().run(fn, x)`` and ``OOMPolicy.disabled().run(fn, x)`` against a plain
    ``fn(x)`` call on an 8x8 float32 numpy array (``fn`` returns its input): the policy's
    cost on the path that does not run out of memory. Target: well under a microsecond.

(b) The counters when off: ``arrayport.convert`` reads ``metrics.enabled`` (at most twice)
    and does nothing else for them, not even reading the clock. The cost of that read is
    measured against an empty call and shown as a share of the cheapest conversions
    (identity, and numpy -> torch when torch is installed: zero-copy, by the route
    ``arrayport.plan`` names, printed in the label); ``convert`` with the counters on is
    shown for comparison, the two timed in turn in every round after an untimed call each.

(c) Recovery costs, for information: one release-and-retry (a full ``gc.collect``), and a
    split of a 256 x 1024 float32 array into two pieces (127 and 129 rows) after an
    injected OOM, with ``release=False`` (the default policy releases before it splits,
    and that full ``gc.collect`` would be most of the figure: it is the release row's).
    Each recovery's result is checked once against the unsplit call, untimed; one that
    disagrees is reported (``checks``, and on standard error), its time is left out, and
    the exit status is 1.

Times are the best of ``--repeat`` rounds of ``--number`` calls.

Run: ``.venv/bin/python benchmarks/bench_oom.py [--number 50000] [--repeat 7]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _args import positive_int, require

import arrayport as ap  # before any framework
from arrayport.testing import inject_oom


def best_ns(fn: Callable[[], Any], number: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / number)
    return best


def check(run: Callable[[], Any], expected: np.ndarray) -> str:
    """``"ok"`` when ``run()`` gives ``expected`` (values, dtype, shape), else
    ``"FAILED: ..."`` with the reason on one line (an exception from ``run`` included)."""
    try:
        got = np.asarray(run())
        require(got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}")
        require(got.dtype == expected.dtype, f"dtype {got.dtype}, expected {expected.dtype}")
        np.testing.assert_array_equal(got, expected)
    # Any failure is reported in the output, never a traceback that hides the other figures.
    except Exception as exc:
        return "FAILED: " + " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return "ok"


def interleaved(cases: dict[str, Callable[[], Any]], number: int, repeat: int) -> dict[str, float]:
    """Best ns per call of each case, the cases measured in turn within every round."""
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(repeat):
        for name, fn in cases.items():
            best[name] = min(best[name], best_ns(fn, number, 1))
    return best


def off_and_on(call: Callable[[], Any], number: int, repeat: int) -> tuple[float, float]:
    """Best ns per call of ``call()`` with the metrics counters off and on, side by side:
    one untimed call each way first (the first conversion plans its route, the first
    counted one sets its counters up), then in every round a timing off and one on, so
    that neither pays for a first use nor for a quieter moment of the machine alone. The
    counters are off afterwards."""
    best = {False: float("inf"), True: float("inf")}
    try:
        for on in (False, True):  # warm up, untimed
            (ap.metrics.enable if on else ap.metrics.disable)()
            call()
        for _ in range(repeat):
            for on in (False, True):
                (ap.metrics.enable if on else ap.metrics.disable)()
                best[on] = min(best[on], best_ns(call, number, 1))
    finally:
        ap.metrics.disable()
    return best[False], best[True]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--number", type=positive_int, default=50_000, help="calls per timing (50000)"
    )
    parser.add_argument("--repeat", type=positive_int, default=7, help="rounds, the best kept (7)")
    args = parser.parse_args()
    n, r = args.number, args.repeat
    x = np.zeros((8, 8), np.float32)

    def ident(a: Any) -> Any:
        return a

    policy, disabled = ap.OOMPolicy(), ap.OOMPolicy.disabled()
    a = interleaved(
        {
            "plain call": lambda: ident(x),
            "OOMPolicy().run": lambda: policy.run(ident, x),
            "OOMPolicy.disabled().run": lambda: disabled.run(ident, x),
        },
        n,
        r,
    )
    results: dict[str, Any] = {"policy_ns": a}
    results["policy_overhead_ns"] = a["OOMPolicy().run"] - a["plain call"]

    # (b) When off, convert() pays for reading ``metrics.enabled`` (twice at most) and
    # nothing else: measure that read next to an empty call, and convert itself off and on.
    from arrayport import _metrics

    def read_flag() -> bool:
        return _metrics.metrics.enabled

    def nothing() -> bool:
        return False

    flag = interleaved({"empty call": nothing, "metrics.enabled read": read_flag}, n, r)
    results["flag_read_ns"] = flag["metrics.enabled read"] - flag["empty call"]
    candidates = [(x, "numpy")]
    if ap.MemoryType.TORCH in ap.available_memory_types():
        candidates.append((np.zeros((8, 8), np.float32), "torch"))
    sources: dict[str, tuple[Any, str]] = {}
    for src, target in candidates:  # labelled with the route plan says it takes
        route = ap.plan(src, target)
        sources[f"numpy->{target} {route.method}"] = (src, target)
    conv: dict[str, Any] = {}
    for label, (src, target) in sources.items():

        def call(src: Any = src, target: str = target) -> Any:
            return ap.convert(src, target)

        off, on = off_and_on(call, n // 5, r)
        conv[label] = {
            "metrics off ns": off,
            "metrics on ns": on,
            "off: flag reads as % of the call": 200 * results["flag_read_ns"] / off,
        }
    results["convert"] = conv
    results["record_conversion when off (ns)"] = best_ns(
        lambda: ap.metrics.record_conversion("numpy", "torch", "dlpack", True, 256, 0.0), n, r
    )
    ap.metrics.reset()

    big = np.arange(256 * 1024, dtype=np.float32).reshape(256, 1024)

    def work(v: np.ndarray) -> np.ndarray:
        return np.asarray(np.sqrt(v) * 2.0)

    def split_run() -> Any:
        with inject_oom("numpy", times=1):
            # No release before the split: its full gc.collect is the release row's figure.
            return ap.OOMPolicy(retries=0, split_axis=0, release=False).run(work, big)

    def release_run() -> Any:
        with inject_oom("numpy", times=1):
            return ap.OOMPolicy(retries=1).run(work, big)

    for _ in range(2):  # warm up: the first split imports the array API namespace
        split_run()
    # Untimed: each recovery must give the unsplit call's result, or its time says nothing.
    expected = work(big)
    checks = {"split": check(split_run, expected), "release": check(release_run, expected)}
    results["checks"] = checks
    t0 = time.perf_counter()
    for _ in range(5):
        work(big)
    unsplit_ms = (time.perf_counter() - t0) / 5 * 1e3
    t0 = time.perf_counter()
    for _ in range(5):
        split_run()
    split_ms = (time.perf_counter() - t0) / 5 * 1e3
    t0 = time.perf_counter()
    for _ in range(3):
        release_run()
    release_ms = (time.perf_counter() - t0) / 3 * 1e3
    results["recovery_ms"] = {
        "unsplit run": unsplit_ms,
        "split into two pieces after one OOM (no release)": (
            split_ms if checks["split"] == "ok" else None
        ),
        "release (numpy: nothing cached) + retry": (
            release_ms if checks["release"] == "ok" else None
        ),
    }
    print(json.dumps(results, indent=2))
    failed = {k: v for k, v in checks.items() if v != "ok"}
    for name, text in failed.items():
        print(f"CHECK FAILED, {name} recovery's time left out: {text}", file=sys.stderr)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
