"""Conversion laws: round trips, honest zero-copy, copy=True/False, read-only sources.

Every law runs over every ordered pair of memory types under test, with arrays of every
dtype, shape (0-d and empty included) and layout (strided, negative strides, offset,
unaligned, big-endian, read-only) the source can hold. Values are read back with each
framework's own calls (:func:`arrayport.testing.as_numpy`) and memory overlap through the
frameworks' own pointers, so arrayport's conversion code is never its own oracle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import arrayport as ap
from arrayport.backends import detect_memory_type
from arrayport.backends._torch_copy import PARALLEL_BYTES
from arrayport.memory_types import MemoryType
from arrayport.testing import arrays, dtypes_for, shares_memory
from arrayport.testing.plugin import selected_memory_types, unusable_reason
from arrayport.testing.strategies import LAYOUTS, shapes_for
from conformance._support import (
    assert_identical,
    common_dtypes,
    device_name,
    is_writable,
    native,
    size_of,
    snapshot,
)
from conformance.conftest import MEMORY_TYPES, PAIRS, law

_pairs = pytest.mark.parametrize(("source", "target"), PAIRS)

_CLE = MemoryType.PYCLESPERANTO
_NUMPY = MemoryType.NUMPY
_TORCH = MemoryType.TORCH


def _arrays_for(source: MemoryType, target: MemoryType, **kw: object) -> st.SearchStrategy[object]:
    """Arrays of ``source`` that ``target`` can hold too (dtype and shape)."""
    shape = shapes_for(_CLE) if _CLE in (source, target) else None
    return arrays(source, dtype=common_dtypes(source, target), shape=shape, **kw)  # type: ignore[arg-type]


@law("conversion.round_trip", "A -> B -> A gives back the same dtype, shape and values")
@_pairs
@given(data=st.data())
def test_round_trip(source: MemoryType, target: MemoryType, data: st.DataObject) -> None:
    x = data.draw(_arrays_for(source, target), label="x")
    before = snapshot(x)
    y = ap.convert(x, target)
    assert detect_memory_type(y) is target
    assert_identical(snapshot(y), before, f"{source.value} -> {target.value}")
    back = ap.convert(y, source)
    assert detect_memory_type(back) is source
    assert_identical(snapshot(back), before, f"{source.value} -> {target.value} -> {source.value}")
    assert_identical(snapshot(x), before, "the source after the round trip")


@law("conversion.round_trip")
@_pairs
def test_round_trip_of_complex_values_with_one_nan_part(
    source: MemoryType, target: MemoryType
) -> None:
    # Drawn rarely (3 in 400 examples); numpy's equal_nan takes any two complex values with
    # a NaN part as equal, so a changed other part passed the law until it compared parts.
    common = common_dtypes(source, target)
    dtypes = [d for d in ("complex64", "complex128") if d in common]
    if not dtypes:
        pytest.skip(f"{source.value} and {target.value} share no complex dtype")
    for dtype in dtypes:
        values = np.array([complex(np.nan, 1.5), complex(2.5, np.nan), complex(-0.0, np.nan)])
        x = ap.convert(values.astype(dtype), source)
        before = snapshot(x)
        back = ap.convert(ap.convert(x, target), source)
        assert_identical(snapshot(back), before, f"{source.value} -> {target.value} ({dtype})")


@law(
    "conversion.no_silent_loss",
    "any dtype and shape: an exact result (or a declared lossless widening), else "
    "UnsupportedDtypeError naming the dtype (ConversionError for a shape limit)",
)
@_pairs
@given(data=st.data())
def test_no_silent_loss(source: MemoryType, target: MemoryType, data: st.DataObject) -> None:
    x = data.draw(arrays(source), label="x")
    before = snapshot(x)
    refusal: ap.ConversionError | None = None
    try:
        route = ap.plan(x, target)
    except ap.ConversionError as exc:  # UnsupportedDtypeError and CopyRequiredError included
        refusal = exc
    if refusal is not None:
        _check_refusal(refusal, x, target, before)
        return
    y = ap.convert(x, target)
    got = snapshot(y)
    if native(got.dtype) != native(before.dtype):
        assert "widened losslessly" in route.reason, (
            f"{source.value} -> {target.value}: {before.dtype} came back as {got.dtype} "
            f"without a declared widening (route: {route.reason})"
        )
        assert np.array_equal(got, before.astype(got.dtype), equal_nan=True)
        assert np.array_equal(got.astype(before.dtype), before, equal_nan=True), "lossy widening"
    else:
        assert_identical(got, before, f"{source.value} -> {target.value}")


def _check_refusal(
    exc: ap.ConversionError, x: object, target: MemoryType, before: np.ndarray
) -> None:
    """A refusal must say why, be what convert raises too, and be a real limit of the
    target: a dtype it cannot hold (an ``UnsupportedDtypeError`` naming the dtype, DESIGN:
    "UnsupportedDtypeError naming the dtype and the remedy") or a shape it cannot have."""
    assert str(exc), "an error without a message"
    with pytest.raises(type(exc)):
        ap.convert(x, target)
    name = before.dtype.name
    held = name in dtypes_for(target)
    shape_limit = target is _CLE and (before.ndim == 0 or before.size == 0 or before.ndim > 3)
    what = f"{target.value} refused {name}{list(before.shape)}"
    if isinstance(exc, ap.UnsupportedDtypeError):
        # The strategy's independent table agrees that the target cannot hold it.
        assert not held, f"{what}, which it holds: {exc}"
        assert name in str(exc), f"{what} with a message that does not name {name}: {exc}"
    else:
        assert shape_limit, (
            f"{what} with {type(exc).__name__}, not UnsupportedDtypeError, and no shape "
            f"limit applies: {exc}"
        )


#: Masked arrays (one with values under its mask, one with an all-False mask): DESIGN's
#: "no lost masks".
_MASKED = (
    np.ma.masked_array([1.5, 2.5, 3.5], mask=[False, True, False], dtype=np.float32),
    np.ma.masked_array([[1, 2], [3, 4]], mask=False, dtype=np.int32),
)
_DASK = MemoryType.DASK
_DASK_HERE = _DASK in selected_memory_types() and unusable_reason(_DASK) is None


def _masked_sources() -> list[tuple[str, object]]:
    """Each masked array as a masked numpy array and, where dask is under test, as a dask
    array with masked chunks (``from_array(..., asarray=False)`` keeps them; its meta
    array is masked too), each with a name for the law's messages."""
    sources: list[tuple[str, object]] = [("a masked array", m) for m in _MASKED]
    if _DASK_HERE:
        import dask.array as da

        sources += [
            ("a dask array with masked chunks", da.from_array(m, chunks=1, asarray=False))  # type: ignore[no-untyped-call]
            for m in _MASKED
        ]
    return sources


def _refused(what: str, call: Callable[[], object], kept: object = None) -> None:
    """``call`` must raise UnsupportedArrayError naming the mask (or return ``kept``, the
    masked array itself, where nothing is converted); anything else lost the mask."""
    refusal: ap.UnsupportedArrayError | None = None
    try:
        got = call()
    except ap.UnsupportedArrayError as exc:
        refusal = exc
    if refusal is not None:
        assert "mask" in str(refusal), f"{what}: {refusal}"
        return
    if kept is not None and got is kept:
        return
    try:
        shown: object = got if isinstance(got, ap.Route) else snapshot(got).tolist()
    except ap.ArrayportError as exc:  # read back by arrayport, a mutant may refuse it
        shown = f"{type(got).__name__} ({exc})"
    msg = f"{what} gave {shown}: the mask was dropped"
    raise AssertionError(msg)


@law("conversion.no_silent_loss")
@pytest.mark.parametrize("target", MEMORY_TYPES)
def test_masked_arrays_are_refused(target: MemoryType) -> None:
    # A masked numpy array, and a dask array with masked chunks, is refused with
    # UnsupportedArrayError by plan, convert (any copy) and a dispatched call declared on
    # the target: never converted with the values under its mask exposed as data. (A dask
    # array declared on dask is passed to the function as it is, mask and all.)
    for kind, m in _masked_sources():
        dask_to_dask = target is _DASK and kind.startswith("a dask")
        calls = [
            ("plan", lambda m=m: ap.plan(m, target)),
            *(
                (f"convert(copy={c})", lambda m=m, c=c: ap.convert(m, target, copy=c))
                for c in (None, True)
            ),
            ("a dispatched call", lambda m=m: ap.memory_type(target)(_identity)(m)),
        ]
        for what, call in calls:
            kept = m if dask_to_dask and what == "a dispatched call" else None
            _refused(f"{what} of {kind} to {target.value}", call, kept)


@law("conversion.no_silent_loss")
@pytest.mark.parametrize(
    "source",
    [p for p in MEMORY_TYPES if p.values[0] in (_NUMPY, _DASK)],  # type: ignore[attr-defined]
)
def test_masked_arrays_are_refused_by_convert_dtype(source: MemoryType) -> None:
    # convert_dtype reads its input's values too: a masked one is refused under every
    # scaling, whatever the target dtype, never converted without its mask.
    for kind, m in _masked_sources():
        if detect_memory_type(m) is not source:
            continue
        for dtype, scaling in (("uint8", ap.Scaling.VALUE), ("float64", ap.Scaling.MINMAX)):
            what = f"convert_dtype({dtype}, {scaling.name}) of {kind}"
            _refused(what, functools.partial(ap.convert_dtype, m, dtype, scaling=scaling))


def _identity(a: object) -> object:
    return a


@law("conversion.zero_copy_honest", "Route.zero_copy is true exactly when the result shares memory")
@_pairs
@given(data=st.data())
def test_zero_copy_is_honest(source: MemoryType, target: MemoryType, data: st.DataObject) -> None:
    x = data.draw(_arrays_for(source, target), label="x")
    route = ap.plan(x, target)
    y = ap.convert(x, target)
    assert route.source is source
    assert route.target is target
    assert detect_memory_type(y) is route.target
    assert device_name(y) == str(route.device), f"{target.value} says {device_name(y)}: {route}"
    if size_of(x) == 0:
        return  # zero bytes: sharing them or not cannot be observed, either claim is true
    shared = shares_memory(x, y)
    assert shared == route.zero_copy, (
        f"plan says zero_copy={route.zero_copy} ({route.method}: {route.reason}) but the "
        f"result {'shares' if shared else 'does not share'} memory with the source"
    )


@law("conversion.copy_true", "copy=True never shares memory")
@_pairs
@given(data=st.data())
def test_copy_true_never_shares(
    source: MemoryType, target: MemoryType, data: st.DataObject
) -> None:
    x = data.draw(_arrays_for(source, target), label="x")
    before = snapshot(x)
    route = ap.plan(x, target, copy=True)
    assert not route.zero_copy, f"copy=True planned a zero-copy route: {route}"
    y = ap.convert(x, target, copy=True)
    assert y is not x
    assert not shares_memory(x, y), f"copy=True result shares memory ({route})"
    assert_identical(snapshot(y), before, f"{source.value} -> {target.value} (copy=True)")


@law(
    "conversion.copy_false", "copy=False never copies: it shares memory or raises CopyRequiredError"
)
@_pairs
@given(data=st.data())
def test_copy_false_never_copies(
    source: MemoryType, target: MemoryType, data: st.DataObject
) -> None:
    x = data.draw(_arrays_for(source, target), label="x")
    before = snapshot(x)
    default = ap.plan(x, target)
    try:
        route = ap.plan(x, target, copy=False)
    except ap.CopyRequiredError:
        assert not default.zero_copy, f"copy=False refused, yet the default route shares: {default}"
        with pytest.raises(ap.CopyRequiredError):
            ap.convert(x, target, copy=False)
        return
    assert route.zero_copy, f"copy=False planned a copying route: {route}"
    # And the other way: where memory can be shared, the default shares it (a needless
    # default copy passed this law once).
    assert default.zero_copy, f"copy=False shares memory, yet the default route copies: {default}"
    y = ap.convert(x, target, copy=False)
    if size_of(x):
        assert shares_memory(x, y), f"copy=False result does not share memory ({route})"
    assert_identical(snapshot(y), before, f"{source.value} -> {target.value} (copy=False)")


#: Memory types with read-only arrays: read-only numpy arrays, immutable jax and tensorflow.
_READ_ONLY_SOURCES = (MemoryType.NUMPY, MemoryType.JAX, MemoryType.TENSORFLOW)
_READ_ONLY_PAIRS = [p for p in PAIRS if p.values[0] in _READ_ONLY_SOURCES]  # type: ignore[attr-defined]


@law("conversion.read_only", "read-only sources never come back writable (no writable alias)")
@pytest.mark.parametrize(("source", "target"), _READ_ONLY_PAIRS)
@given(data=st.data(), copy=st.sampled_from([None, True, False]))
def test_read_only_never_writable(
    source: MemoryType, target: MemoryType, data: st.DataObject, copy: bool | None
) -> None:
    readonly_layouts = st.frozensets(st.sampled_from(LAYOUTS), max_size=1).map(
        lambda s: s | {"readonly"}
    )
    x = data.draw(_arrays_for(source, target, layout=readonly_layouts), label="x")
    before = snapshot(x)
    try:
        y = ap.convert(x, target, copy=copy)
    except ap.CopyRequiredError:
        assert copy is False
        return
    if shares_memory(x, y):
        assert not is_writable(y), (
            f"{source.value} -> {target.value} (copy={copy}) gave a writable alias of "
            "read-only memory"
        )
    back = ap.convert(y, source)
    if shares_memory(x, back):
        assert not is_writable(back), (
            f"{source.value} -> {target.value} -> {source.value} is a writable alias"
        )
    if (
        is_writable(y)
        and size_of(y)
        and detect_memory_type(y) in (MemoryType.NUMPY, MemoryType.TORCH)
    ):
        y[...] = 0 if before.dtype.kind != "b" else False  # writing the result must not reach x
        assert_identical(snapshot(x), before, "the read-only source after writing the result")


@law("conversion.copy_true")
@pytest.mark.parametrize(("source", "target"), [p for p in PAIRS if p.id == "dask-dask"])  # type: ignore[attr-defined]
def test_dask_copy_true_does_not_see_later_writes(source: MemoryType, target: MemoryType) -> None:
    host = np.arange(4.0)
    d = ap.convert(host, source)
    c = ap.convert(d, target, copy=True)
    host[0] = 99.0
    assert snapshot(c).tolist() == [0.0, 1.0, 2.0, 3.0]


def _large_source(source: MemoryType, layout: str) -> object:
    """A float32 array of 4 MiB and a row, past every size threshold a route has (torch's
    multi-threaded copy from 256 KiB, pyclesperanto's slab reads from 1 MiB): distinct
    values with NaN, -0.0 and the infinities in them, in ``layout``."""
    from arrayport._host import aligned_empty

    rows, cols = 1025, 1024
    values = (np.arange(rows * cols, dtype=np.float32) * np.float32(0.37)).reshape(rows, cols)
    values.flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
    if layout == "offset":  # 4 bytes off the 64-byte boundary, as numpy allocations often are
        raw = aligned_empty((rows * cols + 1,), np.dtype("float32"))
        x = raw[1:].reshape(rows, cols)
    else:
        x = aligned_empty((rows, cols), np.dtype("float32"))
    x[...] = values
    if layout == "readonly":
        x.flags.writeable = False
    elif layout == "strided":
        x = x[::2, ::2]
    elif layout == "reversed-1":  # C-contiguous to numpy, a negative stride to the others
        x = x.reshape(1, -1)[::-1]
    return x if source is MemoryType.NUMPY else ap.convert(x, source, copy=True)


#: One dtype of each element size but float32's (the 4 MiB arrays above): bool, then 1, 2
#: and 8 bytes, the first of each group the pair holds. torch's copy (ADR 0052) takes every
#: dtype it wraps; a slip in its byte or element count shows only where the size is not 4.
_ELEMENT_SIZES = (
    ("bool",),
    ("uint8", "int8"),
    ("float16", "uint16", "int16"),
    ("float64", "int64"),
)


def _sized_source(source: MemoryType, dtype: str) -> object:
    """An array of ``dtype`` just past torch's multi-threaded copy threshold (every row
    holds nonzero values; floats have NaN, -0.0 and the infinities): a read-only numpy
    array (torch must copy it), else a copy of it in ``source``."""
    cols = 1024
    rows = PARALLEL_BYTES // (cols * np.dtype(dtype).itemsize) + 1
    n = np.arange(rows * cols)
    values = n % 3 == 0 if dtype == "bool" else (n % 241 + 1) * (0.37 if dtype[0] == "f" else 1)
    x = np.asarray(values).astype(dtype).reshape(rows, cols)
    if dtype[0] == "f":
        x.flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
    x.flags.writeable = False
    return x if source is MemoryType.NUMPY else ap.convert(x, source, copy=True)


def _check_large(x: object, target: MemoryType, what: str, read_only: bool) -> None:
    before = snapshot(x)
    route = ap.plan(x, target)
    y = ap.convert(x, target)
    assert_identical(snapshot(y), before, what)
    shared = shares_memory(x, y)
    assert shared == route.zero_copy, f"{what}: {route.method}, zero_copy={route.zero_copy}"
    if read_only and shared:
        assert not is_writable(y), f"{what}: a writable alias of read-only memory"
    if not shared and is_writable(y) and detect_memory_type(y) in (_NUMPY, _TORCH):
        y[...] = 0  # the copy is the caller's: writing it must not reach the source
        assert_identical(snapshot(x), before, f"{what}: the source after writing the copy")


@law(
    "conversion.large_arrays",
    "arrays of several MiB (the sizes where copies take other paths) convert exactly, "
    "honestly and without a writable alias of read-only memory",
)
@_pairs
def test_large_arrays(source: MemoryType, target: MemoryType) -> None:
    layouts = ["aligned"]
    if source is MemoryType.NUMPY:
        layouts += ["offset", "readonly", "strided", "reversed-1"]
    common = common_dtypes(source, target)
    sized = [
        next(d for d in group if d in common)
        for group in _ELEMENT_SIZES
        if set(group) & set(common)
    ]
    # torch's multi-threaded copy is made by numpy instead for the first copies of a size
    # in the process and for a while after a slow one (a busy machine): the switch has
    # torch make every copy it would take, so that its branch is tested on every run.
    from arrayport.backends._torch_copy import torch_copies_only

    with torch_copies_only():
        for layout in layouts:
            what = f"{source.value} -> {target.value} ({layout})"
            _check_large(_large_source(source, layout), target, what, layout == "readonly")
        for dtype in sized:
            what = f"{source.value} -> {target.value} ({dtype})"
            read_only = source in _READ_ONLY_SOURCES  # read-only numpy, immutable jax and tf
            _check_large(_sized_source(source, dtype), target, what, read_only)
