"""Dispatch overhead of ``@arrayport.memory_type`` and dtype-conversion speed, side by side
with ArrayBridge 0.5.2 when it is installed.

(a) Per-call overhead of the decorator on a trivial function (``return x``) over an 8x8
    float32 array: decorated time minus undecorated time, the best of ``--repeat`` rounds
    of ``--number`` calls, every candidate measured in each round next to the undecorated
    baseline (so a busy machine slows them alike). Cases:

    * numpy-declared, numpy input: nothing to convert (target: <= 1.5 us added);
    * torch-declared, torch input: nothing to convert;
    * torch-declared, numpy input: arrayport converts numpy -> torch -> numpy (ArrayBridge
      converts nothing: its decorators do not move inputs).

    Targets: at most 1.5 us added where nothing is converted; at least 5x less overhead
    than ArrayBridge (FACTS.md: ArrayBridge adds 7.9 us, and 11.4 us on a torch-declared
    function). Each row's last column says ``ok`` or ``MISSED`` for each target that
    applies to it (the ArrayBridge one only where ArrayBridge is installed).

(b) ``convert_dtype`` float32 ``--mib`` MiB -> uint16 with VALUE scaling, as a ratio to
    ``np.copyto`` of the same bytes, next to ArrayBridge's ``scale_dtype`` on the same
    input (which stretches min..max instead: the time is comparable, the values are not).
    Each call is timed right after one copy (an adjacent pair), the two candidates taking
    turns in every round, the same number of rounds each. Two figures per row:
    ``median``, the median of the pairs' ratios, and ``best/best``, the call's best time
    over the copy's best time (not the smallest pair ratio, which reads low: it comes from
    the round whose copy was slowest).

(c) ``ap.namespace(x)`` next to array-api-compat's ``array_namespace(x)`` for a numpy, a
    torch and a jax array (the same namespace objects), best of ``--repeat`` rounds, the two
    taking turns in every round. Target: no slower than array-api-compat.

Each part first checks its candidates' results once, untimed (the decorated functions give
the input's type, ``convert_dtype`` the naive reference's value at every position,
``ap.namespace`` array-api-compat's namespace); a wrong one stops the run before it is
timed, ``CHECK FAILED`` on standard error and exit status 1.

(a) and (c) are timed with ``timeit`` with the garbage collector left on (``timeit`` turns
it off by default), so a call's garbage is paid for as in a real loop.

Run: ``.venv/bin/python benchmarks/bench_dispatch.py [--number 20000] [--repeat 15]
[--mib 256]``
"""

from __future__ import annotations

import argparse
import importlib.util
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
from _args import CheckFailed, positive_int, require

# The same paired timing as the dtype benchmark.
from bench_convert_dtype import interleaved_times, naive, summary

import arrayport as ap  # before any framework

MIB = 1 << 20


def ident(x: Any) -> Any:
    return x


def seconds(fn: Callable[[], Any], number: int) -> float:
    """Seconds for ``number`` calls of ``fn``, timed by ``timeit`` with the garbage
    collector left on: ``timeit`` turns it off, which leaves out what a call's garbage
    costs in a real loop (ArrayBridge's decorators leave about 5 tracked objects per
    call, arrayport's almost none)."""
    return timeit.Timer(fn, setup="gc.enable()").timeit(number=number)


def overheads(
    candidates: dict[str, tuple[Callable[[Any], Any], Any]], number: int, repeat: int
) -> dict[str, float]:
    """Best per-call time minus the undecorated call on the same input, in microseconds."""
    best = {name: float("inf") for name in candidates}
    base: dict[int, float] = {}
    for _ in range(repeat):
        for name, (fn, x) in candidates.items():
            key = id(x)
            b = seconds(lambda x=x: ident(x), number) / number
            base[key] = min(base.get(key, float("inf")), b)
            t = seconds(lambda fn=fn, x=x: fn(x), number) / number
            best[name] = min(best[name], t)
    return {name: (best[name] - base[id(x)]) * 1e6 for name, (_, x) in candidates.items()}


def _mark(met: bool) -> str:
    return "ok" if met else "MISSED"


def part_a(number: int, repeat: int) -> None:
    import torch

    a = np.ones((8, 8), np.float32)
    t = torch.ones((8, 8), dtype=torch.float32)
    ours = {
        "numpy fn, numpy in": (ap.memory_type("numpy")(ident), a),
        "torch fn, torch in": (ap.memory_type("torch")(ident), t),
        "torch fn, numpy in": (ap.memory_type("torch")(ident), a),
    }
    no_oom = {
        f"{k} [OOMPolicy.disabled()]": (fn.options(oom=ap.OOMPolicy.disabled()), x)
        for k, (fn, x) in ours.items()
    }
    theirs: dict[str, tuple[Callable[[Any], Any], Any]] = {}
    has_ab = importlib.util.find_spec("arraybridge") is not None
    if has_ab:
        from arraybridge import decorators as ab

        theirs = {
            "numpy fn, numpy in": (ab.numpy(ident), a),
            "torch fn, torch in": (ab.torch(ident), t),
            "torch fn, numpy in": (ab.torch(ident), a),
        }
    for k, (fn, x) in ours.items():  # output="input": the result has the input's type
        found = type(fn(x))
        require(found is type(x), f"{k}: the result is {found.__name__}, not {type(x).__name__}")
    measured = overheads(
        {
            **{f"ap {k}": v for k, v in ours.items()},
            **{f"ap {k}": v for k, v in no_oom.items()},
            **{f"ab {k}": v for k, v in theirs.items()},
        },
        number,
        repeat,
    )
    print(f"(a) added time per call, best of {repeat} x {number} calls, 8x8 float32")
    print(f"    {'case':24s}{'arrayport':>11s}{'ArrayBridge':>13s}{'AB/ap':>8s}  targets")
    for k in ours:
        mine = measured[f"ap {k}"]
        marks = [] if k == "torch fn, numpy in" else [f"<=1.5us {_mark(mine <= 1.5)}"]
        if has_ab:
            other = measured[f"ab {k}"]
            factor = other / mine if mine > 0 else float("inf")
            marks.append(f">=5x AB {_mark(factor >= 5)}")
            print(f"    {k:24s}{mine:9.2f}us{other:11.2f}us{factor:7.1f}x  {'; '.join(marks)}")
        else:
            print(f"    {k:24s}{mine:9.2f}us{'not installed':>13s}{'':8s}  {'; '.join(marks)}")
    for k in ours:
        print(f"    {k + ', no OOM policy':42s}{measured[f'ap {k} [OOMPolicy.disabled()]']:6.2f}us")
    print("    targets: <= 1.5 us without conversion; >= 5x less than ArrayBridge")
    print("    (ArrayBridge converts nothing; arrayport converts in 'torch fn, numpy in')")


def make_input(mib: int) -> np.ndarray:
    x = np.empty(mib * MIB // 4, dtype=np.float32)
    np.random.default_rng(0).random(dtype=np.float32, out=x)
    x *= 71000.0  # -1000..70000: some values clip at both ends of uint16
    x -= 1000.0
    return x


def part_b(mib: int, repeat: int) -> None:
    x = make_input(mib)
    dst = np.empty_like(x)
    dst[...] = 0  # fault the baseline's pages in once

    def memcpy() -> None:
        np.copyto(dst, x)

    def ours() -> None:
        ap.convert_dtype(x, "uint16", scaling=ap.Scaling.VALUE)

    got = ap.convert_dtype(x, "uint16", scaling=ap.Scaling.VALUE)
    require(
        got.dtype == np.uint16 and got.shape == x.shape,
        f"convert_dtype gave {got.dtype} {got.shape}: benchmark void",
    )
    step = 1 << 20  # every value, against the naive reference a slice at a time
    for start in range(0, x.size, step):
        part = slice(start, start + step)
        require(
            np.array_equal(got[part], naive(x[part])), "convert_dtype disagrees: benchmark void"
        )
    del got
    rows: dict[str, Callable[[], object]] = {"arrayport convert_dtype VALUE": ours}
    if importlib.util.find_spec("arraybridge") is not None:
        from arraybridge.types import MemoryType as ABMemoryType

        scale = ABMemoryType("numpy").library.scale_dtype
        rows["ArrayBridge scale_dtype"] = lambda: scale(x, np.uint16)
    print(
        f"(b) float32 {mib} MiB -> uint16, time / np.copyto of {mib} MiB, "
        f"{repeat} adjacent pairs per row, rows in turn"
    )
    print(f"    {'':32s}{'median':>8s}{'best/best':>11s}")
    for label, pairs in interleaved_times(rows, memcpy, repeat).items():
        median, best = summary(pairs)
        print(f"    {label:32s}{median:7.2f}x{best:10.2f}x")
    print("    median: of the pairs' ratios; best/best: best time over the copy's best time")


def part_c(number: int, repeat: int) -> None:
    import array_api_compat
    import jax.numpy as jnp
    import torch

    arrays = {"numpy": np.ones(8), "torch": torch.ones(8), "jax": jnp.ones(8)}
    print(f"(c) namespace lookup per call, best of {repeat} x {number} calls")
    print(f"    {'array':8s}{'arrayport':>11s}{'array-api-compat':>18s}{'compat/ap':>11s}")
    for name, x in arrays.items():
        found, compat = ap.namespace(x), array_api_compat.array_namespace(x)
        require(found is compat, f"{name}: ap.namespace gives {found}, not {compat}")
        ours = theirs = float("inf")
        for _ in range(repeat):
            ours = min(ours, seconds(lambda x=x: ap.namespace(x), number))
            theirs = min(theirs, seconds(lambda x=x: array_api_compat.array_namespace(x), number))
        mine, other = ours / number * 1e6, theirs / number * 1e6
        print(f"    {name:8s}{mine:9.2f}us{other:16.2f}us{other / mine:10.1f}x")
    print("    target: arrayport no slower than array-api-compat (compat/ap >= 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--number", type=positive_int, default=20000, help="calls per timing in (a)"
    )
    parser.add_argument(
        "--repeat", type=positive_int, default=15, help="rounds in (a); (b) takes half, at least 3"
    )
    parser.add_argument("--mib", type=positive_int, default=256, help="input size in MiB for (b)")
    args = parser.parse_args()
    print(f"arrayport {ap.__version__}, numpy {np.__version__}")
    try:
        part_a(args.number, args.repeat)
        part_b(args.mib, max(3, args.repeat // 2))
        part_c(args.number, args.repeat)
    except CheckFailed as exc:  # a wrong result is not timed: the run stops and fails
        raise SystemExit(f"CHECK FAILED, the rest not timed: {exc}") from None


if __name__ == "__main__":
    main()
