"""What ``arrayport bench`` measures: quick conversion and dispatch timings.

Every conversion time is a ratio to ``ndarray.copy()`` of the same bytes, timed in turn
with the conversion (one of each per repeat, so a busy machine slows both alike), so the
numbers compare across machines: 0.00x means zero-copy, about 1x means one memcpy, more
means the route copies more than once or pays a framework's fixed cost. Each figure is the
best of a few repeats (the least disturbed by the other work on the machine).
One result per route is checked, or the row has an error: its values (read by the
framework's own calls) and ``plan``'s zero-copy claim (read through their own pointers).
The decorator overhead is per call on a tiny array, as a ratio to calling the undecorated
function, the two timed in turn. Only CPU memory types are timed, not dask (lazy) nor cupy
(``benchmarks/bench_convert.py --device`` times GPUs). This is a quick check, not a
benchmark suite: ``benchmarks/`` holds those.

A memory type that cannot be loaded (a broken installation, a user's own ``jax.py`` that
shadows jax) or a pair that raises is reported in its rows' ``error`` and the run goes on:
any exception counts, as in ``arrayport doctor``.
"""

from __future__ import annotations

import functools
import gc
import importlib
import importlib.metadata
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import arrayport
from arrayport._cli_exit import stop_if_interrupted
from arrayport._doctor import describe_error, load_order, not_usable
from arrayport._host import aligned_copy
from arrayport.backends import detect_memory_type, get_backend, installed_memory_types
from arrayport.convert import Route, convert, plan
from arrayport.errors import ArrayportError, InvalidOptionError
from arrayport.memory_types import MemoryType

__all__ = ["check_size", "max_size_mib", "run_bench"]

#: Untimed conversions before a pair is timed.
_WARM_UP = 5
#: Memory types not timed, and why: dask conversions are lazy (no bytes move until
#: compute), so timing them says nothing; cupy's arrays are not in host memory.
_SKIPPED = {
    MemoryType.CUPY: "its arrays live on a GPU (benchmarks/bench_convert.py --device times them)",
    MemoryType.DASK: "its conversions are lazy (no bytes move until compute)",
}


def _physical_memory() -> int | None:
    """The machine's physical memory in bytes, or None where the system does not say."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows), or no such name
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def _arrays_held() -> int:
    """Most test-size arrays alive at once, at worst: the test array, one source per timed
    memory type other than numpy (the test array itself; see :func:`_conversions`), one
    conversion result and its values read back by the framework (a copy for some) or one
    reference copy; 2 while the test array is built (``np.arange``, its aligned copy).
    Most sources share the test array (torch, jax and tensorflow do on the CPU): measured,
    the peak is about three arrays with every CPU memory type installed (ADR 0034)."""
    others = sum(
        mt not in _SKIPPED and mt is not MemoryType.NUMPY for mt in installed_memory_types()
    )
    return max(2, 1 + others + 2)


def max_size_mib() -> float | None:
    """The largest ``size_mib`` whose arrays fit in this machine's physical memory, or None
    where the system does not report its memory."""
    total = _physical_memory()
    return None if total is None else total / _arrays_held() / 2**20


def check_size(size_mib: float, name: str = "size_mib") -> None:
    """Raise :class:`InvalidOptionError` unless ``size_mib`` is a finite positive size whose
    arrays fit in memory; ``name`` is the option the message names."""
    if not (math.isfinite(size_mib) and size_mib > 0):
        msg = f"{name} must be a finite positive number of MiB, not {size_mib:g}"
        raise InvalidOptionError(msg)
    limit = max_size_mib()
    if limit is not None and size_mib > limit:
        total = _physical_memory() or 0
        msg = (
            f"{name} {size_mib:g} MiB does not fit in memory: the bench holds up to "
            f"{_arrays_held()} arrays of that size at once and this machine has "
            f"{total / 2**30:,.1f} GiB, so the most is {math.floor(limit):,} MiB"
        )
        raise InvalidOptionError(msg)


def _ready(x: Any) -> Any:
    # jax may return before the copy is done; wait so that the time covers the copy.
    block = getattr(x, "block_until_ready", None)
    if block is not None:
        block()
    return x


def _best_seconds(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = _ready(fn())
        best = min(best, time.perf_counter() - start)
        del out  # free before the next repeat: peak memory stays at one result
    return best


def _best_in_turn(
    fn: Callable[[], Any], reference: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Best seconds of ``fn`` and of ``reference``, timed one after the other per repeat."""
    best = ref = float("inf")
    for _ in range(repeats):
        best = min(best, _best_seconds(fn, 1))
        ref = min(ref, _best_seconds(reference, 1))
    return best, ref


def _result_error(route: Route, result: Any, source: Any, base: np.ndarray) -> str | None:
    """What is wrong with a ``route`` result, or None: type, shape, dtype, values against
    ``base`` (read by its framework), sharing ``source``'s memory against the claim."""
    from arrayport.testing._memory_readers import as_numpy, memory_bounds

    found = detect_memory_type(result)
    got = as_numpy(result) if found is route.target else None
    if got is None or got.shape != base.shape or got.dtype != base.dtype:
        said = found.value if got is None else f"{got.dtype} {got.shape}"
        return f"{route.method} gave a {said} result, not {route.target.value} {base.dtype}"
    if not np.array_equal(got, base):  # `got` is freed on return, before the timing
        return f"{route.method} gave values that differ from the source's"
    a, b = memory_bounds(result), memory_bounds(source)
    shared = None if a is None or b is None else a[0] < b[1] and b[0] < a[1]
    if shared == route.zero_copy or (shared is None and not route.zero_copy):
        return None
    said = "zero-copy" if route.zero_copy else "a copy"
    seen = "the result shares the source's memory" if shared else "the result is a copy"
    seen = "its sharing cannot be observed (no address)" if shared is None else seen
    return f"plan() says {route.method} is {said}, but {seen}"


def _timed_pair(x: Any, target: MemoryType, base: np.ndarray, repeats: int) -> dict[str, Any]:
    """The figures of one row (``method``, ``zero_copy``, ``ms``, ``copy_ms``, ``ratio``),
    or only its ``error`` where the checked result is wrong: then it is not timed."""
    route = plan(x, target)
    # Untimed: the first call plans the route, and the first few into torch start its copy
    # threads (1.8 s, then 0.6 ms, 0.2 ms, ... measured at 1 MiB from jax, against 30 us
    # once warm). The last one's result is checked: its values and the zero-copy claim.
    for _ in range(_WARM_UP):
        result = _ready(convert(x, target))
    error = _result_error(route, result, x, base)
    del result
    if error is not None:
        return {"error": error}
    seconds, memcpy = _best_in_turn(functools.partial(convert, x, target), base.copy, repeats)
    return {
        "method": route.method,
        "zero_copy": route.zero_copy,
        "ms": seconds * 1e3,
        "copy_ms": memcpy * 1e3,
        "ratio": seconds / memcpy,
    }


def _conversions(
    base: np.ndarray, repeats: int, broken: dict[MemoryType, str], unfit: dict[MemoryType, str]
) -> list[dict[str, Any]]:
    """Every ordered pair of the timed memory types; a memory type that cannot be loaded
    is added to ``broken`` with its error, one that cannot hold the test array to
    ``unfit`` (the size's fault, not the framework's), and its rows say so."""
    types = [mt for mt in installed_memory_types() if mt not in _SKIPPED]
    ordered = load_order(types)
    sources: dict[MemoryType, Any] = {}
    for mt in ordered:
        try:
            sources[mt] = _ready(convert(base, mt))
        except MemoryError as exc:
            unfit[mt] = f"out of memory holding the test array ({exc}): try a smaller size"
        # Any exception: a broken framework raises what it raises (an AttributeError from
        # a user's own jax.py); its rows say so and the other pairs are timed.
        except Exception as exc:
            broken[mt] = describe_error(mt, exc)
    errors = {mt: f"{mt.value} not usable (see above)" for mt in broken}
    errors.update((mt, f"{mt.value} not timed (see above)") for mt in unfit)
    rows: list[dict[str, Any]] = []
    for source in types:
        for target in types:
            if source is target:
                continue
            row: dict[str, Any] = {
                "source": source.value,
                "target": target.value,
                "method": None,
                "zero_copy": None,
                "ms": None,
                "copy_ms": None,
                "ratio": None,
                "error": errors.get(source) or errors.get(target),
            }
            if row["error"] is None:
                try:
                    row.update(_timed_pair(sources[source], target, base, repeats))
                except ArrayportError as exc:
                    row["error"] = f"{type(exc).__name__}: {exc}"
                # A framework failing on this pair: shown in its row, the others timed.
                except Exception as exc:
                    row["error"] = describe_error(target, exc)
            rows.append(row)
            stop_if_interrupted()  # a Ctrl-C that Python dropped (in a gc callback) stops here
        gc.collect()  # jax and tensorflow free host buffers only when collected
        stop_if_interrupted()  # Ctrl-C landing in jax's gc callback is dropped by Python
    return rows


def _loop_size(fn: Callable[[Any], Any], x: Any, calls: int) -> int:
    """Calls of ``fn(x)`` for a timing of about 50 ms: at least 20, at most ``calls``."""
    fn(x)  # the first call pays one-off costs (imports, caches): it must not size the loop
    start = time.perf_counter()
    fn(x)
    once = time.perf_counter() - start
    return max(20, min(calls, int(0.05 / max(once, 1e-7))))


def _loop_seconds(fn: Callable[[Any], Any], x: Any, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(x)
    return (time.perf_counter() - start) / n


def _per_call_in_turn(
    fn: Callable[[Any], Any], plain: Callable[[Any], Any], x: Any, calls: int
) -> tuple[float, float]:
    """Best seconds per call of ``fn(x)`` and of ``plain(x)``: three rounds, each timing a
    loop of one and then a loop of the other (so a busy machine slows both alike)."""
    n_fn, n_plain = _loop_size(fn, x, calls), _loop_size(plain, x, calls)
    best = ref = float("inf")
    for _ in range(3):
        best = min(best, _loop_seconds(fn, x, n_fn))
        ref = min(ref, _loop_seconds(plain, x, n_plain))
    return best, ref


def _dispatch(calls: int, broken: dict[MemoryType, str]) -> list[dict[str, Any]]:
    try:
        dispatch = importlib.import_module("arrayport.dispatch")
    except ImportError:  # an arrayport build without the decorator: nothing to time
        return []

    def identity(x: Any) -> Any:
        return x

    x = np.ones((4, 4), dtype=np.float32)
    rows: list[dict[str, Any]] = []
    for mt in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.JAX):
        if mt not in installed_memory_types():
            continue
        case = f"{mt.value} function, numpy input" + (
            " (converts in and out)" if mt is not MemoryType.NUMPY else ""
        )
        row: dict[str, Any] = {"case": case, "us": None, "ratio": None, "error": None}
        if mt in broken:
            row["error"] = f"{mt.value} not usable (see above)"
            rows.append(row)
            continue
        try:
            get_backend(mt).load()
            decorated = dispatch.memory_type(mt)(identity)
            seconds, plain = _per_call_in_turn(decorated, identity, x, calls)
        # A broken framework (see _conversions): its row says so, the others are timed.
        except Exception as exc:
            row["error"] = describe_error(mt, exc)  # its conversions were timed: not broken
        else:
            row.update(us=seconds * 1e6, ratio=seconds / plain)
        rows.append(row)
        stop_if_interrupted()
    return rows


def _distribution_version(name: str) -> str | None:
    """The version of the installed distribution that holds module ``name`` (read from its
    metadata, importing nothing), or None where none can be found."""
    try:
        candidates = importlib.metadata.packages_distributions().get(name, [])
    except Exception:  # unreadable metadata: the distribution of the module's own name
        candidates = []
    for dist in [*candidates, name]:
        try:
            return importlib.metadata.version(dist)
        except Exception:  # not installed under that name, or broken metadata
            continue
    return None


def _versions(unusable: dict[MemoryType, str]) -> dict[str, str | None]:
    """arrayport's version and each installed memory type's (None where it cannot be
    loaded: its rows say why), those installed but not usable here (``unusable``) included,
    their versions read from the installed distribution's metadata (loading them would fail,
    or crash the process: pyclesperanto after tensorflow)."""
    installed = installed_memory_types()
    found: dict[MemoryType, str | None] = {}
    for mt in load_order(installed):
        try:
            backend = get_backend(mt)
            backend.load()
            found[mt] = backend.version()
        # Reported in the rows (see _conversions); here only the version is missing.
        except Exception:
            found[mt] = None
    for mt in unusable:
        found[mt] = _distribution_version(get_backend(mt).IMPORT_NAME)
    ordered = [*installed, *unusable]
    return {"arrayport": arrayport.__version__, **{mt.value: found[mt] for mt in ordered}}


def run_bench(size_mib: float = 64.0, repeats: int = 3, calls: int = 20000) -> dict[str, Any]:
    """Time conversions between installed memory types and the decorator's overhead.

    Parameters
    ----------
    size_mib : float
        Size of the float32 test array in MiB.
    repeats : int
        Repeats per conversion; the best is kept.
    calls : int
        Most calls per timing of the decorator overhead (fewer for slow calls: each timing
        takes about 50 ms, the loop sized from a second call, since the first pays one-off
        costs). Each decorated call is timed in turn with the plain one, its reference.

    Returns
    -------
    dict
        ``{"versions", "size_mib", "memcpy_ms", "timed", "skipped", "conversions":
        [{"source", "target", "method", "zero_copy", "ms", "copy_ms", "ratio",
        "error"}], "dispatch": [{"case", "us", "ratio", "error"}], "broken"}``:
        ``versions`` maps
        ``"arrayport"`` and each installed memory type to its version (None where it
        cannot be loaded; for one installed but not usable here, the installed package's
        version); ``timed`` names the memory types whose conversions are timed
        (not those in ``broken``),
        ``skipped`` the installed ones left out, each with the reason (dask, whose
        conversions are lazy, and a framework installed but not usable here, as
        :func:`arrayport._doctor.not_usable` says); ``ratio`` is
        ``ms / copy_ms``, the copy timed in turn with that conversion; ``memcpy_ms`` is
        the best copy time of the run. A row that could not be timed has ``error`` set
        and its figures None; ``broken`` maps each memory type that could not be loaded
        to its error (its rows' ``error`` points there). A route whose checked result is
        wrong (its values, or its sharing of the source's memory against ``plan``'s
        zero-copy claim) is not timed: its row's ``error`` says so.

    Raises
    ------
    InvalidOptionError
        If ``size_mib`` is not a finite positive number, or its arrays cannot fit in the
        machine's physical memory (see :func:`max_size_mib`).
    """
    check_size(size_mib)
    installed = installed_memory_types()
    # Before the others load: pyclesperanto, if probed, is imported before tensorflow.
    unusable = not_usable(installed)
    n = max(1, int(size_mib * 2**20) // 4)
    # 64-byte aligned, as arrayport's own copies are: jax and tensorflow share only such
    # memory, and an unaligned start would time numpy's allocator, not the routes.
    try:
        # Distinct values (not ones): a result with misplaced elements must not pass.
        base = aligned_copy(np.arange(n, dtype=np.float32))
        memcpy = _best_seconds(base.copy, max(repeats, 5))
    except MemoryError as exc:  # less free than physical memory (ulimit -v, a container)
        msg = f"{size_mib:g} MiB arrays cannot be allocated here ({exc}): try a smaller size"
        raise InvalidOptionError(msg) from exc
    broken: dict[MemoryType, str] = {}
    unfit: dict[MemoryType, str] = {}
    conversions = _conversions(base, repeats, broken, unfit)
    copies = [c["copy_ms"] / 1e3 for c in conversions if c["copy_ms"] is not None]
    memcpy = min([memcpy, *copies])
    skipped = {mt: why for mt, why in _SKIPPED.items() if mt in installed}
    skipped.update((mt, f"installed but not usable here: {why}") for mt, why in unusable.items())
    skipped.update(unfit)
    dispatch = _dispatch(calls, broken)
    return {
        "versions": _versions(unusable),
        "size_mib": n * 4 / 2**20,
        "memcpy_ms": memcpy * 1e3,
        "timed": [mt.value for mt in installed if mt not in _SKIPPED and mt not in broken | unfit],
        "skipped": {mt.value: skipped[mt] for mt in MemoryType if mt in skipped},
        "conversions": conversions,
        "dispatch": dispatch,
        "broken": {mt.value: error for mt, error in broken.items()},
    }
