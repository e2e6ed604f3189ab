"""arrayport.convert against the limits, every installed CPU pair, side by side in one run.

For float32 arrays of 1, 64 and 256 MiB and every ordered pair of installed CPU memory
types, the table shows the best-of-N time of ``arrayport.convert`` and, as ratios of best
times measured round-robin in the same rounds (so a shared machine slows them alike):

* ``/copy``: against ``ndarray.copy()`` of the same bytes (allocate and copy: the limit
  for any route that needs a fresh buffer);
* ``/direct``: against the frameworks' own direct call for that pair (what a user would
  write: ``torch.from_numpy``, ``jnp.asarray``, ``cle.pull``, ...). Into torch from jax or
  tensorflow, whose buffers are immutable, it is ``torch.from_dlpack(x).clone()``: without
  the clone torch hands the immutable memory out writable, which arrayport refuses to do
  (ADR 0001), so the two would not do the same work. A row whose direct call still does
  other work than ``convert`` says so at its end: ``(direct copies)`` where its result
  does not share the source's memory and convert's does (``Tensor.numpy`` of a tensorflow
  tensor), ``(direct shares)`` the other way round (observed as in the checks below);
  ``(ab copies)`` and ``(ab shares)`` say the same of ArrayBridge's result (it hands jax's
  immutable buffer to torch writable, and copies where arrayport shares: those ratios
  compare different work, not overhead);
* ``/cle``: only in rows into or out of pyclesperanto: against pyclesperanto's own bare
  transfer of the same bytes, ``cle.pull(c)`` out of it, or ``cle.push(view)`` into it,
  where ``view`` is a numpy view of the source made (untimed) by its framework's own call
  (``Tensor.numpy``, ``np.asarray``, ``np.from_dlpack``); ``-`` in the other rows;
* ``/ab``: against ArrayBridge's ``convert_memory`` when it is installed.

Targets (the issue), the last column: zero-copy routes under 50 us at any size
(``<50us``); copying routes at most 1.5x the allocate-and-copy (``<=1.5x copy``); routes
into or out of pyclesperanto at most 1.5x its own push/pull, the ``/cle`` column
(``<=1.5x push/pull``). Each says ``ok`` or ``SLOW``. Two extra rows start from an
unaligned numpy array (jax and tensorflow copy such a buffer again when handed it
directly); under each, the same copy and the framework's own import of it without any
routing (``floor_calls``): what the framework adds to the copy, which no route can avoid.
One more starts from a read-only numpy array into torch, which copies it (torch would
hand read-only memory out writable).

A first table shows the per-call cost on a small (16 x 16 float32) array, where the fixed
cost is everything: ``arrayport.convert`` against the frameworks' own call for the pair
(marked ``(direct copies)`` or ``(direct shares)`` as in the main table), and
the numpy -> torch -> numpy round trip a dispatched torch function makes for numpy input
(against ``torch.from_numpy`` plus ``Tensor.numpy``).

The machine may be shared: read the ratios, which are measured side by side, rather than
the absolute times.

Before a row is timed, each candidate's result (``convert``, the direct call, the bare
push/pull, ArrayBridge, the floor) is checked once, untimed: of the target memory type
(numpy for ``cle.pull``), with the source's shape, dtype and values. ``convert``'s result
must also share the source's memory exactly when ``ap.plan`` says the route is zero-copy,
read through the frameworks' own pointers (``arrayport.testing.memory_bounds``; a claim
that cannot be observed, as for pyclesperanto, which exposes no address, fails too): the
``zc`` column and the ``<50us`` target are observed, not taken on trust. A candidate that
fails is not timed and the row says ``CHECK FAILED`` (a fast wrong path must not read
well); the exit status is then 1. With ``--device``, the GPU tables check their
candidates the same way, and also that a result not in numpy is on the device asked for;
where sharing cannot be observed (tensorflow on a GPU: numpy cannot view its memory), a
zero-copy claim is not failed but the row ends in ``(zc not observed)``. On the GPU too,
``/direct`` from jax into torch or cupy is the import followed by a copy (``.clone()``,
``.copy()``: jax's buffers are immutable), and a row whose direct call still does other
work ends in ``(direct copies)`` or ``(direct shares)``. A pair that raises says
``FAILED`` and the exit status is 1 as well, as it is when an installed GPU memory type
cannot reach the device (said at the start: a broken GPU install, whose pairs would
otherwise just be missing) or none can. ``/dcopy`` is a copy on the device by the first
of cupy, torch and jax installed (``-`` where tensorflow is the only one).

Run: ``.venv/bin/python benchmarks/bench_convert.py [--mib 1 64 256] [--repeat 5]
[--no-per-call]``
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _args import positive_int, require

import arrayport as ap  # first: its import guard must precede tensorflow
from arrayport._host import aligned_copy, aligned_empty
from arrayport.backends import get_backend
from arrayport.devices import Device, parse_device
from arrayport.testing import memory_bounds

MT = ap.MemoryType


def _once(fn: Callable[[], Any], sync: Callable[[], None] | None = None) -> None:
    out = fn()
    block = getattr(out, "block_until_ready", None)
    if block is not None:
        block()
    if sync is not None:
        sync()


def side_by_side(
    fns: dict[str, Callable[[], Any]], repeat: int, sync: Callable[[], None] | None = None
) -> dict[str, float]:
    """Best per-call wall time of each ``fn()`` in seconds, measured round-robin.

    Each round times every function once, one after the other, so a busy machine slows
    them alike and their ratios hold. Fast calls are looped until one timing covers at
    least 5 ms, so that microsecond routes are not lost in timer and scheduler noise; each
    timed loop follows one untimed call, so that a microsecond route is not timed with the
    caches another candidate's 256 MiB copy has just emptied. Results are dropped at once
    (jax keeps imported buffers alive otherwise). ``sync`` (GPU tables) waits for the work
    each call queued on the device, so that a timing covers it.
    """
    loops = {}
    for name, fn in fns.items():
        _once(fn, sync)  # a first call may plan or start threads: a second sets the loop size
        start = time.perf_counter()
        _once(fn, sync)
        loops[name] = max(1, min(2000, int(5e-3 / max(time.perf_counter() - start, 1e-7))))
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            n = loops[name]
            _once(fn, sync)  # warm: see the docstring
            start = time.perf_counter()
            for _ in range(n):
                _once(fn, sync)
            best[name] = min(best[name], (time.perf_counter() - start) / n)
    return best


def twin(x: Any, memory_type: str) -> Any:
    """An equal source of its own for each candidate: a framework may change how it treats
    an array once another call has used it (a jax array exported once through DLPack makes
    ``np.asarray`` on it slower, for one), and one candidate must not pay for another.
    numpy arrays are shared (nothing of the kind), so unaligned ones stay unaligned."""
    return x if memory_type == "numpy" else ap.convert(x, memory_type, copy=True)


def to_host(y: Any) -> np.ndarray:
    """``y``'s values as a numpy array, read by the framework's own call (not arrayport's,
    whose results are what is being checked)."""
    module = type(y).__module__.partition(".")[0]
    if module == "torch":
        return np.asarray(y.detach().cpu().numpy())
    if module == "tensorflow":
        return np.asarray(y.numpy())
    if module == "cupy":
        return np.asarray(y.get())  # cupy's own device-to-host copy
    if module.startswith("pyclesperanto"):
        import pyclesperanto as cle

        return np.asarray(cle.pull(y))
    return np.asarray(y)  # numpy, jax


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's type and message on one line, shortened to ``limit`` characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: Candidates whose check failed in this run (the exit status is 1 when any did).
FAILED_CHECKS: list[str] = []


def shares(y: Any, x: Any) -> bool | None:
    """Whether ``y`` overlaps ``x`` in memory, read through the frameworks' own pointers
    (``memory_bounds``), or None where either exposes no address (pyclesperanto) or its
    address cannot be read (tensorflow on a GPU: numpy cannot view its memory)."""
    try:
        a, b = memory_bounds(y), memory_bounds(x)
    # Whatever the reader raises, sharing is not observed: a zero-copy claim then fails
    # (unless the caller allows it, and marks the row), and no other check depends on it.
    except Exception:
        return None
    if a is None or b is None:
        return None
    return a[0] < b[1] and b[0] < a[1]


def _zero_copy_problem(claim: bool, observed: bool | None) -> str | None:
    """What is wrong with a route's zero-copy ``claim`` given what was ``observed``."""
    if claim and observed is None:
        return "plan() says zero-copy, but sharing cannot be observed (no address)"
    if observed is not None and claim != observed:
        said, found = ("zero-copy", "does not share") if claim else ("copy", "shares")
        return f"plan() says {said}, but the result {found} the source's memory"
    return None


def checked(
    fns: dict[str, Callable[[], Any]],
    expected: np.ndarray,
    target: str,
    row: str,
    *,
    sources: dict[str, Any] | None = None,
    claims: dict[str, bool] | None = None,
    targets: dict[str, str] | None = None,
    skip: tuple[str, ...] = ("copy", "key"),
    device: Device | None = None,
    unobserved_ok: bool = False,
) -> tuple[dict[str, Callable[[], Any]], dict[str, bool | None]]:
    """``fns`` without the candidates whose result is wrong, and whether each kept one's
    result shares memory with its source.

    Each candidate is called once, untimed, and its result must be of memory type
    ``target`` (``targets[name]`` where given) with ``expected``'s shape, dtype and values.
    For a candidate in ``sources`` (name -> the array it converts) whether its result
    overlaps that source is observed (:func:`shares`); one in ``claims`` (name -> what
    ``ap.plan`` says of zero-copy) fails when the observation differs, or when sharing
    cannot be observed unless ``unobserved_ok`` (then the claim stands unchecked). With
    ``device`` (GPU tables), a result of a memory type other than numpy must be on it. A
    failure is printed, loudly, under the ``row`` it belongs to. ``skip``: the references
    (a numpy or device copy, a plan lookup), which return no converted array."""
    sources = sources or {}
    claims = claims or {}
    targets = targets or {}
    kept: dict[str, Callable[[], Any]] = {}
    shared: dict[str, bool | None] = {}
    for name, fn in fns.items():
        if name in skip:
            kept[name] = fn
            continue
        want = targets.get(name, target)
        try:
            y = fn()
            found = ap.detect_memory_type(y).value
            require(found == want, f"a {found} array, not {want}")
            if device is not None and found != "numpy":
                on = get_backend(MT(found)).device_of(y)
                require(on == device, f"on {on}, not on {device}")
            got = to_host(y)
            require(got.shape == expected.shape, f"shape {got.shape}, not {expected.shape}")
            require(got.dtype == expected.dtype, f"dtype {got.dtype}, not {expected.dtype}")
            require(np.array_equal(got, expected), "values differ from the source's")
            if name in sources:
                shared[name] = shares(y, sources[name])
            if name in claims and not (unobserved_ok and shared.get(name) is None):
                problem = _zero_copy_problem(claims[name], shared.get(name))
                require(problem is None, problem or "")
        # Any failure, an exception from the candidate included: reported, not timed.
        except Exception as exc:
            FAILED_CHECKS.append(f"{row}: {name}")
            print(f"    !! CHECK FAILED {row}: {name}: {one_line(exc)} (not timed)")
            shared.pop(name, None)
            continue
        kept[name] = fn
    return kept, shared


def other_work(shared: dict[str, bool | None]) -> str:
    """`` (direct copies)`` or `` (direct shares)`` where the direct call's result and
    convert's differ in sharing the source's memory (both observed), and the same for
    ArrayBridge's (`` (ab copies)``, `` (ab shares)``); else ``""``."""
    mine, marks = shared.get("convert"), ""
    for name in ("direct", "ab"):
        theirs = shared.get(name)
        if mine is not None and theirs is not None and mine != theirs:
            marks += f" ({name} shares)" if theirs else f" ({name} copies)"
    return marks


def direct_calls() -> dict[tuple[str, str], Callable[[Any], Any]]:
    """The frameworks' own call for each pair. Into torch from jax or tensorflow it is
    followed by a clone: ``torch.from_dlpack`` alone hands out their immutable buffers
    writable, which arrayport refuses (ADR 0001) and must copy instead."""
    calls: dict[tuple[str, str], Callable[[Any], Any]] = {}
    have = {mt.value for mt in ap.available_memory_types()}
    torch = jax = jnp = tf = cle = None
    if "torch" in have:
        import torch
    if "jax" in have:
        import jax
        import jax.numpy as jnp
    if "tensorflow" in have:
        import tensorflow as tf
    if "pyclesperanto" in have:
        import pyclesperanto as cle

    if torch is not None:
        calls["numpy", "torch"] = torch.from_numpy
        calls["torch", "numpy"] = lambda t: t.numpy()
    if jnp is not None:
        calls["numpy", "jax"] = jnp.asarray
        calls["jax", "numpy"] = np.asarray
    if tf is not None:
        calls["numpy", "tensorflow"] = tf.convert_to_tensor
        calls["tensorflow", "numpy"] = lambda t: t.numpy()
    if cle is not None:
        calls["numpy", "pyclesperanto"] = cle.push
        calls["pyclesperanto", "numpy"] = cle.pull
    if torch is not None and jax is not None:
        calls["torch", "jax"] = jax.dlpack.from_dlpack
        calls["jax", "torch"] = lambda j: torch.from_dlpack(j).clone()
    if torch is not None and tf is not None:
        calls["torch", "tensorflow"] = lambda t: tf.experimental.dlpack.from_dlpack(
            torch.utils.dlpack.to_dlpack(t)
        )
        calls["tensorflow", "torch"] = lambda t: torch.from_dlpack(t).clone()
    if jax is not None and tf is not None:
        calls["jax", "tensorflow"] = lambda j: tf.experimental.dlpack.from_dlpack(j.__dlpack__())
        calls["tensorflow", "jax"] = jax.dlpack.from_dlpack
    if cle is not None:
        if torch is not None:
            calls["torch", "pyclesperanto"] = lambda t: cle.push(t.numpy())
            calls["pyclesperanto", "torch"] = lambda c: torch.from_numpy(cle.pull(c))
        if jnp is not None:
            calls["jax", "pyclesperanto"] = lambda j: cle.push(np.asarray(j))
            calls["pyclesperanto", "jax"] = lambda c: jnp.asarray(cle.pull(c))
        if tf is not None:
            calls["tensorflow", "pyclesperanto"] = lambda t: cle.push(t.numpy())
            calls["pyclesperanto", "tensorflow"] = lambda c: tf.convert_to_tensor(cle.pull(c))
    return calls


def floor_calls(types: list[str]) -> dict[str, Callable[[np.ndarray], Any]]:
    """The least a host copy into jax or tensorflow can cost: arrayport's aligned copy of a
    numpy array and the framework's import of it (jaxlib's direct import, the one
    arrayport calls), with no routing at all. The rows from an unaligned numpy array are
    measured against it too, to show what the frameworks' own import adds to the copy."""
    floors: dict[str, Callable[[np.ndarray], Any]] = {}
    if "jax" in types:
        import jax

        from arrayport.backends import _jax_dlpack
        from arrayport.backends import jax as jax_backend

        jax_backend.load()
        # The call arrayport makes (ADR 0046): jaxlib's import onto jax's first CPU device.
        importer = _jax_dlpack.importer_on(jax.devices("cpu")[0])
        if importer is not None:
            floors["jax"] = lambda a: importer(aligned_copy(a).__dlpack__())
    if "tensorflow" in types:
        import tensorflow as tf

        adopt = tf.experimental.dlpack.from_dlpack
        floors["tensorflow"] = lambda a: adopt(aligned_copy(a).__dlpack__())
    return floors


def host_view(x: Any, memory_type: str) -> np.ndarray:
    """A numpy view of CPU array ``x``'s memory, made by its framework's own call."""
    if memory_type == "torch":
        return np.asarray(x.numpy())
    if memory_type == "tensorflow":
        return np.from_dlpack(x)  # Tensor.numpy() copies
    return np.asarray(x)  # numpy, jax (read-only)


def cle_call(x: Any, source: str) -> tuple[Callable[[], Any], str]:
    """pyclesperanto's own bare transfer of ``x``'s bytes, and the memory type of its
    result: ``cle.pull(x)`` out of pyclesperanto, else ``cle.push`` of a host view of
    ``x`` (made here, untimed). The reference of the rows into or out of pyclesperanto."""
    import pyclesperanto as cle

    if source == "pyclesperanto":
        return (lambda: cle.pull(x)), "numpy"
    view = host_view(x, source)
    return (lambda: cle.push(view)), "pyclesperanto"


def split_calls(x: Any, t: str) -> dict[str, Callable[[], Any]]:
    """``convert(x, t)`` in its two halves, where its route is cached: ``key`` (reading
    the array's routing summary and looking the plan up) and ``run`` (the cached route's
    own work), to show where a conversion's fixed cost goes. Empty when not cached."""
    from arrayport import _plan_cache

    ap.convert(x, t)  # plans and caches the route
    source, target = ap.detect_memory_type(x), ap.MemoryType(t)
    pkey = _plan_cache._plan_key(x, source, target, None, None)
    found = _plan_cache._plans.get(pkey) if pkey is not None else None
    if found is None:
        return {}
    run = found[1]
    return {
        "key": lambda: _plan_cache._plans.get(_plan_cache._plan_key(x, source, target, None, None)),
        "run": lambda: run(x),
    }


def _split_text(times: dict[str, float]) -> str:
    if "key" not in times:
        return f"{'-':>8} {'-':>9}"
    return f"{times['key'] * 1e6:>6.2f}us {times['run'] * 1e6:>7.2f}us"


def arraybridge_call() -> Callable[[Any, str, str], Any] | None:
    try:
        import arraybridge
    except ImportError:
        return None
    return lambda x, s, t: arraybridge.convert_memory(x, s, t, arraybridge.HOST)


def per_call(
    types: list[str], calls: dict[tuple[str, str], Callable[[Any], Any]], repeat: int
) -> None:
    """The fixed cost of a conversion: a 1 KiB array, every pair, against the direct call."""
    base = aligned_empty((16, 16), np.dtype("float32"))
    base[...] = 1
    sources = {mt: ap.convert(base, mt, copy=True) for mt in types}
    header = (
        f"{'per call':>8} {'source':>15} -> {'target':<14} {'method':<11} {'zc':<3}"
        f"{'convert':>10} {'key':>8} {'run':>9} {'direct':>9} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for s in types:
        for t in types:
            if s == t:
                continue
            x = sources[s]
            route = ap.plan(x, t)
            fns: dict[str, Callable[[], Any]] = {"convert": lambda x=x, t=t: ap.convert(x, t)}
            fns.update(split_calls(x, t))
            row_sources = {"convert": x}  # not `sources`: that one holds each type's array
            direct = calls.get((s, t))
            if direct is not None:
                x_direct = twin(x, s)
                fns["direct"] = lambda d=direct, x=x_direct: d(x)
                row_sources["direct"] = x_direct
            fns, shared = checked(
                fns,
                base,
                t,
                f"per call {s}->{t}",
                sources=row_sources,
                claims={"convert": route.zero_copy},
            )
            if "convert" not in fns:
                continue  # said by checked()
            times = side_by_side(fns, repeat)
            t_conv, t_direct = times["convert"], times.get("direct", float("nan"))
            print(
                f"{'':>8} {s:>15} -> {t:<14} {route.method:<11} "
                f"{'y' if route.zero_copy else 'n':<3}{t_conv * 1e6:>8.2f}us "
                f"{_split_text(times)} {t_direct * 1e6:>7.2f}us {t_conv / t_direct:>7.2f}"
                f"{other_work(shared)}"
            )
    if "torch" in types:
        import torch

        def round_trip() -> Any:
            return ap.convert(ap.convert(base, "torch"), "numpy")

        # Zero-copy both ways, as plan() says, and observed: the result shares base.
        claim = ap.plan(base, "torch").zero_copy and ap.plan(sources["torch"], "numpy").zero_copy
        fns, _ = checked(
            {"rt": round_trip, "direct": lambda: torch.from_numpy(base).numpy()},
            base,
            "numpy",
            "per call numpy->torch->numpy",
            sources={"rt": base},
            claims={"rt": claim},
        )
        times = side_by_side(fns, repeat)
        t_rt = times.get("rt", float("nan"))
        t_direct = times.get("direct", float("nan"))
        print(
            f"{'':>8} {'numpy':>15} -> {'torch->numpy':<14} {'round trip':<11} "
            f"{'y' if claim else 'n':<3}"
            f"{t_rt * 1e6:>8.2f}us {_split_text({})} {t_direct * 1e6:>7.2f}us "
            f"{t_rt / t_direct:>7.2f}"
        )
    print()


# --- GPU ------------------------------------------------------------------------------

GPU_TYPES = ("cupy", "torch", "jax", "tensorflow")


def gpu_types(device: str) -> tuple[list[str], list[str]]:
    """The installed memory types that can hold an array on ``device`` (each one tried),
    and those left out, with why: they fail the run (an installed framework that cannot
    reach the GPU is a broken GPU install, whose pairs would otherwise go missing)."""
    have = {mt.value for mt in ap.available_memory_types()}
    found, left_out = [], []
    for t in GPU_TYPES:
        if t not in have:
            continue
        try:
            ap.convert(np.zeros(4, np.float32), t, device=device)
        except ap.ArrayportError as exc:
            print(f"({t} left out: {type(exc).__name__}: {exc})")
            left_out.append(f"{t} cannot reach {device}")
            continue
        found.append(t)
    return found, left_out


def device_sync(types: list[str], index: int) -> Callable[[], None]:
    """Wait for everything queued on CUDA device ``index`` (every stream of the process:
    cupy, torch and jax share the device's primary context)."""
    if "cupy" in types:
        import cupy as cp

        return cp.cuda.Device(index).synchronize
    if "torch" in types:
        import torch

        return lambda: torch.cuda.synchronize(index)
    return lambda: None  # jax alone: _once waits on block_until_ready


def gpu_direct_calls(types: list[str], index: int) -> dict[tuple[str, str], Callable[[Any], Any]]:
    """The frameworks' own call for each pair on the GPU, and to and from the host."""
    calls: dict[tuple[str, str], Callable[[Any], Any]] = {}
    importers: dict[str, Callable[[Any], Any]] = {}
    if "cupy" in types:
        import cupy as cp

        importers["cupy"] = cp.from_dlpack
        calls["numpy", "cupy"] = lambda a: cp.asarray(a)
        calls["cupy", "numpy"] = cp.asnumpy
    if "torch" in types:
        import torch

        gpu = torch.device("cuda", index)
        importers["torch"] = torch.from_dlpack
        calls["numpy", "torch"] = lambda a: torch.from_numpy(a).to(gpu)
        calls["torch", "numpy"] = lambda t: t.cpu().numpy()
    if "jax" in types:
        import jax

        jdev = jax.devices("gpu")[index]
        importers["jax"] = jax.dlpack.from_dlpack
        calls["numpy", "jax"] = lambda a: jax.device_put(a, jdev)
        calls["jax", "numpy"] = np.asarray
    for s in types:
        for t in types:
            if s == t or t not in importers or s == "tensorflow":
                continue
            imp = importers[t]
            if s == "jax" and t == "torch":
                # jax's buffers are immutable: torch alone would hand them out writable,
                # which arrayport refuses (ADR 0001) and copies instead, as on the CPU.
                calls[s, t] = lambda j, imp=imp: imp(j).clone()
            elif s == "jax" and t == "cupy":
                calls[s, t] = lambda j, imp=imp: imp(j).copy()  # the same, for cupy
            else:
                calls[s, t] = imp
    return calls


#: The memory types whose copy on the device is the /dcopy reference, in this order.
DCOPY_TYPES = ("cupy", "torch", "jax")


def device_copy(x: Any) -> Callable[[], Any]:
    """Allocate and copy ``x`` on its device (a cupy, torch or jax array): the limit for a
    route that needs a fresh buffer."""
    mt = ap.detect_memory_type(x).value
    if mt == "cupy":
        return x.copy
    if mt == "torch":
        return x.clone
    if mt == "jax":
        import jax.numpy as jnp

        return lambda: jnp.array(x, copy=True)
    raise ValueError(f"no device copy for a {mt} array (only {', '.join(DCOPY_TYPES)})")


def device_copy_of(x: Any) -> Any:
    """A fresh device copy of ``x`` (see :func:`device_copy`)."""
    return device_copy(x)()


def _gpu_row(
    x: Any,
    s: str,
    t: str,
    kw: dict[str, Any],
    fns: dict[str, Callable[[], Any]],
    calls: dict[tuple[str, str], Callable[[Any], Any]],
    repeat: int,
    sync: Callable[[], None],
    check: tuple[np.ndarray, str, Device],
    fresh: Callable[[Any], Any] | None = None,
) -> tuple[ap.Route, dict[str, float] | None, dict[str, bool | None]]:
    """The route of ``x`` to ``t``, the side-by-side times of ``fns`` plus the frameworks'
    own call for the pair (on an equal source of its own, through ``fresh`` when given, as
    the caller's ``fns`` do), and which results share their source's memory (for
    :func:`other_work`). Each candidate is checked first, untimed (:func:`checked`, with
    ``check``: the expected values, the row's name, the device); the times are None where
    convert's check failed (said by checked()). A row through ``fresh`` converts a copy
    made in the call: its sharing is not observed (its route copies)."""
    expected, row, device = check
    route = ap.plan(x, t, **kw)
    sources = {"convert": x} if fresh is None else {}
    direct = calls.get((s, t))
    if direct is not None:
        x_direct = twin(x, s)
        if fresh is None:
            fns["direct"] = lambda: direct(x_direct)
            sources["direct"] = x_direct
        else:
            fns["direct"] = lambda: direct(fresh(x_direct))
    fns, shared = checked(
        fns,
        expected,
        t,
        row,
        sources=sources,
        claims={"convert": route.zero_copy},
        skip=("dcopy", "key"),
        device=device,
        unobserved_ok=True,  # tensorflow on a GPU: the row says "(zc not observed)"
    )
    if "convert" not in fns:
        return route, None, shared
    return route, side_by_side(fns, repeat, sync), shared


def _gpu_marks(route: ap.Route, shared: dict[str, bool | None], fresh: bool) -> str:
    """The end of a GPU row: :func:`other_work`'s marks, and ``(zc not observed)`` where
    the route claims zero-copy and sharing could not be read (its ``<50us`` rests on the
    claim)."""
    unseen = route.zero_copy and not fresh and shared.get("convert") is None
    return other_work(shared) + (" (zc not observed)" if unseen else "")


def jax_gpu_import_table(
    types: list[str], device: str, index: int, repeat: int, sync: Callable[[], None]
) -> None:
    """What jaxlib's own DLPack import costs on the GPU without the Python around it in
    ``jax.dlpack.from_dlpack`` (chiefly a ``jnp.asarray`` that re-canonicalises the dtype):
    the same calls in the same order (jax's stream for external ready events, the
    producer's ``__dlpack__`` with it, jaxlib's import), checked to share the source's
    memory. arrayport calls it for cupy and torch sources (ADR 0063); the table shows
    where the time goes. Each call is waited for, as in every GPU table: an import this
    fast is timed together with jax's wait for its definition event."""
    if "jax" not in types:
        return
    import jax

    try:
        from jax._src.lib import _jax

        call = _jax.dlpack_managed_tensor_to_buffer
    # Private jaxlib API: where it moved or changed, say so and go on with the other tables.
    except (ImportError, AttributeError) as exc:
        print(f"(jaxlib's own DLPack import is not reachable here: {exc})\n")
        return
    gpu = jax.devices("gpu")[index]

    def direct(x: Any) -> Any:
        stream = gpu.get_stream_for_external_ready_events()
        return call(x.__dlpack__(stream=stream), gpu, stream, None, 2)  # 2: kDLCUDA

    small = aligned_empty((16, 16), np.dtype("float32"))
    small[...] = np.arange(256, dtype=np.float32).reshape(16, 16)
    print(f"{'into jax':>8} {'source':>15}   {'convert':>10} {'public':>9} {'jaxlib':>9}  shares")
    for s in types:
        if s in ("jax", "tensorflow"):
            continue
        x = ap.convert(small, s, device=device, copy=True)
        try:
            out = direct(x)
            out.block_until_ready()
            shares = int(out.unsafe_buffer_pointer()) == int(memory_bounds(x)[0])
            equal = bool(np.array_equal(np.asarray(out), small))
            fns = {
                "convert": lambda x=x: ap.convert(x, "jax"),
                "public": lambda x=x: jax.dlpack.from_dlpack(x),
                "jaxlib": lambda x=x: direct(x),
            }
            t = side_by_side(fns, repeat, sync)
        # Private jaxlib API: any failure is printed, and says the call is not usable here.
        except Exception as exc:
            print(f"{'':>8} {s:>15}   jaxlib's import FAILED {type(exc).__name__}: {exc}")
            continue
        print(
            f"{'':>8} {s:>15}   {t['convert'] * 1e6:>8.2f}us {t['public'] * 1e6:>7.2f}us "
            f"{t['jaxlib'] * 1e6:>7.2f}us  {shares and equal}"
        )
    print()


def gpu_tables(device: str, mibs: list[int], repeat: int, per_call_table: bool) -> list[str]:
    """Every pair of GPU memory types on ``device``, and each to and from the host; the
    rows that failed (a pair that raised), which make the run's exit status 1 (as do the
    candidates whose check failed: ``FAILED_CHECKS``)."""
    parsed = parse_device(device)
    if parsed is None or parsed.is_cpu:
        raise SystemExit(f"--device wants a GPU such as cuda:0, not {device!r}")
    index = parsed.index
    types, failed = gpu_types(device)
    if not types:
        print(f"no installed memory type reaches {device}")
        return [*failed, f"no memory type on {device}"]
    sync = device_sync(types, index)
    calls = gpu_direct_calls(types, index)
    if per_call_table:
        small = aligned_empty((16, 16), np.dtype("float32"))
        small[...] = np.arange(256, dtype=np.float32).reshape(16, 16)
        print(
            f"{'per call':>8} {'source':>15} -> {'target':<14} {'method':<11} {'zc':<3}"
            f"{'convert':>10} {'key':>8} {'run':>9} {'direct':>9} {'ratio':>7}"
        )
        for s in types:
            x = ap.convert(small, s, device=device, copy=True)
            for t in types:
                if s == t:
                    continue
                fns = {"convert": lambda x=x, t=t: ap.convert(x, t)}
                check = (small, f"per call {s}->{t}", parsed)
                try:
                    fns.update(split_calls(x, t))
                    route, times, shared = _gpu_row(x, s, t, {}, fns, calls, repeat, sync, check)
                # A failing pair is printed and the table goes on: one run covers every pair.
                except Exception as exc:
                    print(f"{'':>8} {s:>15} -> {t:<14} FAILED {type(exc).__name__}: {exc}")
                    failed.append(f"per call {s}->{t}")
                    continue
                if times is None:
                    print(f"{'':>8} {s:>15} -> {t:<14} CHECK FAILED: convert's result is wrong")
                    continue
                t_direct = times.get("direct", float("nan"))
                print(
                    f"{'':>8} {s:>15} -> {t:<14} {route.method:<11} "
                    f"{'y' if route.zero_copy else 'n':<3}{times['convert'] * 1e6:>8.2f}us "
                    f"{_split_text(times)} {t_direct * 1e6:>7.2f}us "
                    f"{times['convert'] / t_direct:>7.2f}{_gpu_marks(route, shared, False)}"
                )
        print()
        jax_gpu_import_table(types, device, index, repeat, sync)
    header = (
        f"{'MiB':>4} {'source':>15} -> {'target':<14} {'method':<11} {'zc':<3}"
        f"{'convert':>11} {'/dcopy':>7} {'/direct':>8}  target"
    )
    ref = next((t for t in DCOPY_TYPES if t in types), None)
    if ref is None:
        print(f"device {device}; /dcopy: none (no device copy by {', '.join(DCOPY_TYPES)})")
    else:
        print(f"device {device}; /dcopy: allocate-and-copy on the device ({ref})")
    print(header)
    print("-" * len(header))
    for mib in mibs:
        n = mib * (1 << 20) // 4
        base = aligned_empty((n // 1024, 1024), np.dtype("float32"))
        base[...] = np.random.default_rng(0).random(base.shape, dtype=np.float32)
        sources: dict[str, Any] = {"numpy": base}
        sources.update({t: ap.convert(base, t, device=device, copy=True) for t in types})
        dcopy = None if ref is None else device_copy(sources[ref])
        rows = [(s, t) for s in types for t in types if s != t]
        rows += [("numpy", t) for t in types] + [(s, "numpy") for s in types]
        for s, t in rows:
            x = sources[s]
            host_row = "numpy" in (s, t)
            kw = {"device": device} if s == "numpy" else {}
            # A jax GPU array keeps its host copy once read: every later read of it is
            # free. Each call of that row reads a fresh device copy (made in the timing,
            # for convert and the direct call alike; its cost is the /dcopy column's).
            fresh = device_copy_of if (s, t) == ("jax", "numpy") else None
            fns: dict[str, Callable[[], Any]] = {
                "convert": (
                    (lambda x=x, t=t, kw=kw: ap.convert(x, t, **kw))
                    if fresh is None
                    else (lambda x=x, t=t, kw=kw, f=fresh: ap.convert(f(x), t, **kw))
                ),
            }
            if dcopy is not None:
                fns["dcopy"] = dcopy
            check = (base, f"{mib} MiB {s}->{t}", parsed)
            try:
                route, times, shared = _gpu_row(x, s, t, kw, fns, calls, repeat, sync, check, fresh)
            # A failing pair is printed and the table goes on: one run covers every pair.
            except Exception as exc:
                print(f"{mib:>4} {s:>15} -> {t:<14} FAILED {type(exc).__name__}: {exc}")
                failed.append(f"{mib} MiB {s}->{t}")
                continue
            if times is None:
                print(f"{mib:>4} {s:>15} -> {t:<14} CHECK FAILED: convert's result is wrong")
                continue
            t_conv = times["convert"]
            t_copy = times.get("dcopy", float("nan"))
            t_direct = times.get("direct", float("nan"))
            if route.zero_copy:
                verdict, goal = ("ok" if t_conv < 50e-6 else "SLOW"), "<50us"
            elif host_row:
                goal = "<=1.5x direct"
                if "direct" not in times:  # no framework's own call here (tensorflow)
                    verdict = "no reference"
                else:
                    verdict = "ok" if t_conv <= 1.5 * t_direct else "SLOW"
            else:
                goal = "<=1.5x dcopy"
                if "dcopy" not in times:  # tensorflow alone: no device copy to compare
                    verdict = "no reference"
                else:
                    verdict = "ok" if t_conv <= 1.5 * t_copy else "SLOW"
            dcopy_text = f"{t_conv / t_copy:>7.2f}" if "dcopy" in times else f"{'-':>7}"
            print(
                f"{mib:>4} {s:>15} -> {t:<14} {route.method:<11} "
                f"{'y' if route.zero_copy else 'n':<3}"
                f"{t_conv * 1e3:>9.3f}ms {dcopy_text} {t_conv / t_direct:>8.2f}"
                f"  {goal} {verdict}{'' if fresh is None else ' (each on a fresh copy)'}"
                f"{_gpu_marks(route, shared, fresh is not None)}"
            )
        # Every reference to this size's arrays, before the next size allocates its own.
        del sources, base, dcopy, rows
        fns, x, check = {}, None, None
        gc.collect()
    return failed


def _cle_text(times: dict[str, float]) -> str:
    return f"{times['convert'] / times['cle']:>6.2f}" if "cle" in times else f"{'-':>6}"


def _verdict(route: ap.Route, s: str, t: str, times: dict[str, float]) -> str:
    """The row's target and whether it is met (the module's docstring)."""
    t_conv = times["convert"]
    if route.zero_copy:  # observed by checked()
        return f"<50us {'ok' if t_conv < 50e-6 else 'SLOW'}"
    if "pyclesperanto" in (s, t):
        if "cle" not in times:  # its check failed: said above, and the run fails
            return "<=1.5x push/pull no reference"
        return f"<=1.5x push/pull {'ok' if t_conv <= 1.5 * times['cle'] else 'SLOW'}"
    return f"<=1.5x copy {'ok' if t_conv <= 1.5 * times['copy'] else 'SLOW'}"


def device_text(text: str) -> str:
    """``text`` when arrayport reads it as a device, else argparse's usage error (exit 2)
    with arrayport's message, which lists the accepted forms."""
    try:
        parse_device(text)
    except ap.ArrayportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--mib", type=positive_int, nargs="+", default=[1, 64, 256], help="array sizes (1 64 256)"
    )
    parser.add_argument("--repeat", type=positive_int, default=5, help="rounds, the best kept (5)")
    parser.add_argument("--no-per-call", action="store_true", help="skip the small-array table")
    parser.add_argument(
        "--device",
        type=device_text,
        help="a GPU such as cuda:0: time the pairs among cupy, torch, jax and tensorflow "
        "on it, and each to and from the host, instead of the CPU pairs",
    )
    args = parser.parse_args()
    if args.device is not None:
        failed = gpu_tables(args.device, args.mib, args.repeat, not args.no_per_call)
        failed += [f"CHECK FAILED {name}" for name in FAILED_CHECKS]
        if failed:
            print(f"FAILED ({len(failed)}): {'; '.join(failed)}")
            raise SystemExit(1)
        return

    types = [mt.value for mt in ap.available_memory_types() if mt not in (MT.CUPY, MT.DASK)]
    if len(types) < 2:
        raise SystemExit(
            f"bench_convert times pairs of CPU memory types; only {types} is installed: "
            'install another (pip install "arrayport[cpu]")'
        )
    calls = direct_calls()
    if not args.no_per_call:
        per_call(types, calls, args.repeat)
    ab = arraybridge_call()
    floors = floor_calls(types)
    header = (
        f"{'MiB':>4} {'source':>15} -> {'target':<14} {'method':<11} {'zc':<3}"
        f"{'convert':>11} {'/copy':>7} {'/direct':>8} {'/cle':>6} {'/ab':>7}  target"
    )
    print(
        "zc: zero-copy, as plan() says and observed; convert's time as a ratio to\n"
        "/copy ndarray.copy(), /direct the frameworks' own call, /cle pyclesperanto's bare\n"
        "push/pull (its rows' target), /ab ArrayBridge; best of "
        f"{args.repeat}, side by side"
    )
    print(header)
    print("-" * len(header))
    for mib in args.mib:
        n = mib * (1 << 20) // 4
        base = aligned_empty((n // 1024, 1024), np.dtype("float32"))
        base[...] = np.random.default_rng(0).random(base.shape, dtype=np.float32)
        unaligned = aligned_empty((n + 4,), np.dtype("float32"))[4:].reshape(base.shape)
        unaligned[...] = base
        sources = {mt: ap.convert(base, mt, copy=True) for mt in types}
        rows = [(s, t, sources[s]) for s in types for t in types if s != t]
        rows += [("numpy(unaligned)", t, unaligned) for t in ("jax", "tensorflow") if t in types]
        readonly = base.copy()
        readonly.flags.writeable = False
        rows += [("numpy(read-only)", "torch", readonly)] if "torch" in types else []
        copies = []
        for s, t, x in rows:
            s_name = s.partition("(")[0]
            route = ap.plan(x, t)
            fns: dict[str, Callable[[], Any]] = {
                "convert": lambda x=x, t=t: ap.convert(x, t),
                "copy": base.copy,  # timed next to each row: the ratio is side by side
            }
            row_sources = {"convert": x}  # not `sources`: that one is freed after each size
            targets: dict[str, str] = {}
            direct = calls.get((s_name, t))
            if direct is not None:
                x_direct = twin(x, s_name)
                fns["direct"] = lambda d=direct, x=x_direct: d(x)
                row_sources["direct"] = x_direct
            if "pyclesperanto" in (s_name, t):
                try:
                    fns["cle"], targets["cle"] = cle_call(twin(x, s_name), s_name)
                # No host view of the source: the row has no reference, and the run fails.
                except Exception as exc:
                    FAILED_CHECKS.append(f"{mib} MiB {s}->{t}: cle")
                    print(f"    !! CHECK FAILED {mib} MiB {s}->{t}: cle: {one_line(exc)}")
            if ab is not None:
                try:
                    x_ab = twin(x, s_name)
                    ab(x_ab, s_name, t)
                    fns["ab"] = lambda x=x_ab, s=s_name, t=t: ab(x, s, t)
                    row_sources["ab"] = x_ab
                # Any ArrayBridge failure is printed, not hidden: its own errors vary.
                except Exception as exc:
                    print(f"    (ArrayBridge {s_name}->{t} failed: {one_line(exc)})")
            floor = floors.get(t) if s != s_name else None
            if floor is not None:
                fns["floor"] = lambda f=floor, x=x: f(x)
            fns, shared = checked(
                fns,
                base,
                t,
                f"{mib} MiB {s}->{t}",
                sources=row_sources,
                claims={"convert": route.zero_copy},
                targets=targets,
            )
            if "convert" not in fns:
                print(f"{mib:>4} {s:>15} -> {t:<14} CHECK FAILED: convert's result is wrong")
                continue
            times = side_by_side(fns, args.repeat)
            t_conv, t_copy = times["convert"], times["copy"]
            t_direct = times.get("direct", float("nan"))
            t_ab = times.get("ab", float("nan"))
            copies.append(t_copy)
            print(
                f"{mib:>4} {s:>15} -> {t:<14} {route.method:<11} "
                f"{'y' if route.zero_copy else 'n':<3}"
                f"{t_conv * 1e3:>9.3f}ms {t_conv / t_copy:>7.2f} {t_conv / t_direct:>8.2f}"
                f" {_cle_text(times)} {t_conv / t_ab:>7.2f}  {_verdict(route, s_name, t, times)}"
                f"{other_work(shared)}"
            )
            if "floor" in times:
                print(
                    f"{'':>4} {'':>15}    (aligned copy + {t}'s own import, no routing: "
                    f"{times['floor'] / t_copy:.2f}x copy)"
                )
        if copies:
            print(f"{mib:>4} ndarray.copy() = {min(copies) * 1e3:.2f} ms (best over all rows)")
        # Every reference to this size's arrays (the rows, the last row's candidates and
        # sources), before the next size allocates its own.
        del sources, base, unaligned, readonly, rows
        fns, row_sources, x, x_direct, x_ab = {}, {}, None, None, None
        gc.collect()
    if FAILED_CHECKS:
        print(f"CHECK FAILED for {len(FAILED_CHECKS)} candidate(s): {'; '.join(FAILED_CHECKS)}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
