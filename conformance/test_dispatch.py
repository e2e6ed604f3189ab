"""Dispatch laws: a write-once function gives numpy's result under every memory type.

For every input memory type I and every declared memory type D with an array API
namespace, ``@memory_type(D)`` functions from :mod:`conformance._functions` must give the
numpy result (within float32 tolerance), place the output as ``output`` says, with
``PRESERVE_INPUT`` return the input's dtype, and with a fixed dtype (``UINT8`` ...
``FLOAT64``) return that dtype, its values mapped by the declared ``scaling`` (of a tuple
result, the first element only). A function declared on a memory type with writable arrays
that writes into its arguments must never change a read-only numpy input, however it is
passed (alone, among several positional arguments, by keyword, in a list).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import arrayport as ap
from arrayport.backends import detect_memory_type
from arrayport.memory_types import MemoryType
from arrayport.testing import arrays, as_numpy, default_tolerance, dtypes_for
from arrayport.testing.plugin import selected_memory_types, unusable_reason
from arrayport.testing.strategies import LAYOUTS, shapes_for
from conformance import _functions
from conformance._support import (
    common_dtypes,
    device_name,
    int_range,
    minmax_float_ok,
    minmax_int_ok,
    native,
    nearest_ok,
    unit_int_ok,
    value_int,
)
from conformance.conftest import MEMORY_TYPES, _param, law

#: Memory types a write-once array API function can be declared on.
_COMPUTING = (MemoryType.NUMPY, MemoryType.CUPY, MemoryType.TORCH, MemoryType.JAX, MemoryType.DASK)
DECLARED_PAIRS = [
    _param(i, d)
    for i in selected_memory_types()
    for d in selected_memory_types()
    if d in _COMPUTING
]

_finite = st.floats(-1e3, 1e3, width=32, allow_subnormal=False)
_layouts = st.frozensets(st.sampled_from(list(LAYOUTS)), max_size=2)
# Native byte order only where the function itself refuses big-endian input: array-api-
# compat's numpy clip (soft_clip) run on numpy big-endian input, which dispatch to numpy
# passes as it is (a limit of the function under test, not of dispatch).
_native_layouts = st.frozensets(
    st.sampled_from([n for n in LAYOUTS if n != "bigendian"]), max_size=2
)


def _float_input(mt: MemoryType, native: bool = False) -> st.SearchStrategy[Any]:
    # Shapes every memory type holds (pyclesperanto: 1-3-D, non-empty), finite values: the
    # laws are about dispatch, not about framework differences in inf/NaN arithmetic.
    return arrays(
        mt,
        dtype="float32",
        shape=shapes_for(MemoryType.PYCLESPERANTO),
        elements=_finite,
        layout=_native_layouts if native else _layouts,
    )


def _check_close(got: Any, want: Any, what: str, scale: float) -> None:
    g = as_numpy(got) if not isinstance(got, (np.generic, float)) else np.asarray(got)
    w = np.asarray(want)
    assert g.shape == w.shape, f"{what}: shape {g.shape}, numpy gave {w.shape}"
    assert g.dtype == w.dtype, f"{what}: dtype {g.dtype}, numpy gave {w.dtype}"
    np.testing.assert_allclose(
        g, w, rtol=default_tolerance(w.dtype), atol=1e-5 * scale, err_msg=what
    )


@law(
    "dispatch.numpy_result", "a write-once function gives the numpy result under every memory type"
)
@pytest.mark.parametrize(("source", "target"), DECLARED_PAIRS)
@given(data=st.data(), fn=st.sampled_from(_functions.GALLERY))
def test_numpy_result(source: MemoryType, target: MemoryType, data: st.DataObject, fn: Any) -> None:
    if source is MemoryType.DASK and fn not in _functions.BLOCKWISE:
        # dask input runs the function block by block: only elementwise functions qualify
        # (others are refused with an ArrayportError, or need depth=/whole_array=True).
        fn = _functions.affine
    if source is MemoryType.PYCLESPERANTO and fn in (
        _functions.row_sums,
        _functions.shifted_and_max,
    ):
        # Their 0-d results cannot go back to pyclesperanto (a ConversionError says so);
        # row sums of 2- and 3-D input can.
        x = data.draw(
            arrays(
                source,
                dtype="float32",
                elements=_finite,
                layout=_layouts,
                shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=1),
            ),
            label="x",
        )
        fn = _functions.row_sums
    else:
        clip_on_numpy = fn is _functions.soft_clip and target is MemoryType.NUMPY
        x = data.draw(_float_input(source, native=clip_on_numpy), label="x")
    host = np.array(as_numpy(x), copy=True)
    want = fn(host.astype(host.dtype.newbyteorder("=")))
    f = ap.memory_type(target, dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT, blockwise=True)(
        fn
    )
    got = f(x)
    scale = 1.0 + float(np.max(np.abs(host)))
    what = f"{fn.__name__} declared on {target.value}, {source.value} input"
    if isinstance(want, tuple):
        assert isinstance(got, tuple), what
        assert len(got) == len(want), what
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _check_close(g, w, f"{what}, result[{i}]", scale)
    else:
        _check_close(got, want, what, scale)
    np.testing.assert_array_equal(as_numpy(x), host, err_msg=f"{what}: the input was modified")


@law(
    "dispatch.output_placement",
    "the result lands where output= says: input, declared, or a memory type",
)
@pytest.mark.parametrize(("source", "target"), DECLARED_PAIRS)
@given(data=st.data())
def test_output_placement(source: MemoryType, target: MemoryType, data: st.DataObject) -> None:
    x = data.draw(_float_input(source), label="x")
    choices = ["input", "declared", *selected_memory_types()]
    output = data.draw(st.sampled_from(choices), label="output")
    if isinstance(output, MemoryType) and output not in ap.available_memory_types():
        return
    # No 0-d max into pyclesperanto; dask input runs only blockwise functions.
    pair_ok = MemoryType.PYCLESPERANTO not in (source, output) and source is not MemoryType.DASK
    fn = data.draw(
        st.sampled_from(
            [_functions.affine, _functions.shifted_and_max] if pair_ok else [_functions.affine]
        ),
        label="fn",
    )
    f = ap.memory_type(
        target, output=output, dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT, blockwise=True
    )(fn)
    got = f(x)
    primary = got[0] if isinstance(got, tuple) else got
    want = {"input": source, "declared": target}.get(output, output)  # type: ignore[call-overload]
    if source is MemoryType.DASK and output == "declared":
        want = MemoryType.DASK  # dask input stays lazy: docs/decisions/0026-dask-dispatch.md
    assert detect_memory_type(primary) is want, (
        f"output={output!r}: the result is {detect_memory_type(primary).value}, expected {want}"
    )
    if output == "input":
        assert device_name(primary) == device_name(x), "output='input' must keep the input's device"
    np.testing.assert_allclose(
        as_numpy(primary),
        _functions.affine(as_numpy(x)) if fn is _functions.affine else as_numpy(x) + 1.0,
        rtol=1e-6,
    )


@law(
    "dispatch.preserve_input",
    "PRESERVE_INPUT returns the first argument's dtype, values as numpy's",
)
@pytest.mark.parametrize(("source", "target"), DECLARED_PAIRS)
# float64 values beyond float32's range become inf in the function's own cast (numpy's
# too, the reference; dask's in its worker threads): that overflow warning is the
# function's, not arrayport's, whose conversions clip without one.
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@given(data=st.data())
def test_preserve_input(source: MemoryType, target: MemoryType, data: st.DataObject) -> None:
    real = [d for d in common_dtypes(source, target) if not d.startswith("complex")]
    x = data.draw(
        arrays(source, dtype=real, shape=shapes_for(MemoryType.PYCLESPERANTO), layout=_layouts),
        label="x",
    )
    host = np.array(as_numpy(x), copy=True)
    # A tuple result's primary output (its first element) is converted, the rest not; dask
    # input runs the function per block, which returns one array.
    pair = source is not MemoryType.DASK and data.draw(st.booleans(), label="tuple result")
    f = ap.memory_type(target, dtype_conversion=ap.DtypeConversion.PRESERVE_INPUT, blockwise=True)(
        _functions.halves if pair else _functions.half
    )
    got = f(x)
    reference = _functions.half(host)
    what = f"PRESERVE_INPUT on {target.value}{' (tuple result)' if pair else ''}"
    if pair:
        assert isinstance(got, tuple), f"{what}: {type(got)}"
        got, second = got
        _check_untouched(second, reference, what)
    assert detect_memory_type(got) is source
    g = as_numpy(got)
    assert g.dtype == host.dtype.newbyteorder("="), (
        f"{what}: {host.dtype} input came back {g.dtype}"
    )
    # The reference: numpy's float32 result taken to the input's dtype in exact Python
    # arithmetic (not through arrayport's convert_dtype, the code under test).
    dtype = host.dtype.newbyteorder("=")
    halves = reference.reshape(-1).tolist()
    if dtype.kind in "biu":
        lo, hi = int_range(dtype)
        want = np.array([value_int(v, lo, hi) for v in halves], dtype=dtype).reshape(host.shape)
        np.testing.assert_array_equal(g, want, err_msg=what)
        return
    # jax and tensorflow flush subnormal results to zero on the CPU: within tolerance (a
    # zero is no subnormal: -0.0 stays -0.0).
    tiny = float(np.finfo(dtype).tiny)
    for v, r in zip(halves, g.reshape(-1).tolist(), strict=True):
        assert nearest_ok(v, r, dtype) or (abs(r) <= tiny and 0 < abs(v) <= tiny), (
            f"{what}: {v!r} (float32) became {r!r} in {dtype}"
        )


def _check_untouched(second: Any, want: np.ndarray, what: str) -> None:
    """A tuple result's second output is the function's own (float32, numpy's values): the
    dtype policy converts only the primary output."""
    s = as_numpy(second)
    assert s.dtype == np.float32, f"{what}: the tuple's second output became {s.dtype}"
    # jax and tensorflow flush subnormal results to zero on the CPU: within tolerance.
    tiny = float(np.finfo(np.float32).tiny)
    np.testing.assert_allclose(s, want, rtol=default_tolerance(s.dtype), atol=tiny, err_msg=what)


#: The decorator's fixed dtypes: DtypeConversion members that name a dtype.
_FIXED = [
    c
    for c in ap.DtypeConversion
    if c not in (ap.DtypeConversion.PRESERVE_INPUT, ap.DtypeConversion.NATIVE_OUTPUT)
]
# float32 values around the unit range and beyond it, never subnormal (jax and tensorflow
# flush those): the function's result is then the same on every memory type.
_unit_values = st.one_of(
    st.floats(0.0, 1.0, width=32, allow_subnormal=False),
    st.floats(-1.5, 1.5, width=32, allow_subnormal=False),
    _finite,
)


#: Declared memory types usable here (asked once: each ask looks for libraries on disk).
_USABLE_COMPUTING = [
    d for d in selected_memory_types() if d in _COMPUTING and unusable_reason(d) is None
]


def _plus_zero(x: Any) -> Any:
    """Elementwise and exact for float32 input: its values are the reference's."""
    return x + 0.0


def _plus_zero_twice(x: Any) -> tuple[Any, Any]:
    """A tuple result: only the first element (the primary output) gets the fixed dtype."""
    return x + 0.0, x + 0.0


def _fixed_ok(v: float, r: Any, dtype: np.dtype[Any], scaling: ap.Scaling, span: Any) -> bool:
    """Whether ``r`` is float32 ``v`` in fixed ``dtype`` under ``scaling``: the exact
    references of :mod:`conformance._support` (``span``: MINMAX's finite range, or None
    when there is none to stretch and VALUE applies)."""
    if dtype.kind in "iu":
        lo, hi = int_range(dtype)
        if scaling is ap.Scaling.UNIT:
            return unit_int_ok(v, int(r), lo, hi)
        if scaling is ap.Scaling.MINMAX and span is not None:
            return minmax_int_ok(v, *span, int(r), lo, hi)
        return int(r) == value_int(v, lo, hi)
    if scaling is ap.Scaling.MINMAX and span is not None:
        return minmax_float_ok(v, *span, r, dtype)
    return nearest_ok(v, r, dtype)  # UNIT between float types is VALUE (ADR 0011)


@law(
    "dispatch.fixed_dtype",
    "a fixed DtypeConversion returns that dtype, values mapped by the declared scaling",
)
@pytest.mark.parametrize("memory_type", MEMORY_TYPES)
@given(data=st.data())
def test_fixed_dtype(memory_type: MemoryType, data: st.DataObject) -> None:
    held = set(dtypes_for(memory_type))
    fixed = [c for c in _FIXED if c.value in held]
    targets = _USABLE_COMPUTING
    if not fixed or not targets:
        pytest.skip(f"{memory_type.value} holds no fixed dtype, or nothing computes here")
    conversion = data.draw(st.sampled_from(fixed), label="dtype_conversion")
    scaling = data.draw(st.sampled_from(list(ap.Scaling)), label="scaling")
    target = data.draw(st.sampled_from(targets), label="declared")
    # Constant arrays drawn on purpose: MINMAX has no range to stretch in them (VALUE
    # applies), and chance alone seldom draws one.
    constant = data.draw(st.sampled_from([False, False, False, True]), label="constant")
    elements = st.just(data.draw(_unit_values, label="value")) if constant else _unit_values
    x = data.draw(
        arrays(
            memory_type,
            dtype="float32",
            shape=shapes_for(MemoryType.PYCLESPERANTO),
            elements=elements,
            layout=_layouts,
        ),
        label="x",
    )
    values = np.array(as_numpy(x), copy=True).reshape(-1).tolist()
    # dask input runs block by block; a MINMAX stretch needs the whole array at once.
    rule = {"whole_array": True} if scaling is ap.Scaling.MINMAX else {"blockwise": True}
    # A tuple result: the fixed dtype is the primary output's only (not for dask input,
    # whose blocks each return one array).
    pair = memory_type is not MemoryType.DASK and data.draw(st.booleans(), label="tuple result")
    fn = _plus_zero_twice if pair else _plus_zero
    f = ap.memory_type(target, dtype_conversion=conversion, scaling=scaling, **rule)(fn)
    got = f(x)
    what = f"{conversion.name}, {scaling.name}, declared on {target.value}"
    what += " (tuple result)" if pair else ""
    if pair:
        assert isinstance(got, tuple), f"{what}: {type(got)}"
        got, second = got
        _check_untouched(second, np.array(values, np.float32).reshape(tuple(x.shape)), what)
    assert detect_memory_type(got) is memory_type, f"{what}: the result is not {memory_type.value}"
    g = as_numpy(got)
    dtype = np.dtype(conversion.value)
    assert g.dtype == dtype, f"{what}: the result is {g.dtype}, not {dtype}"
    assert g.shape == tuple(x.shape), f"{what}: shape {g.shape}"
    span = (min(values), max(values)) if min(values) < max(values) else None
    for v, r in zip(values, g.reshape(-1).tolist(), strict=True):
        # The function's own result is v + 0.0, which turns -0.0 into +0.0.
        assert _fixed_ok(v + 0.0, r, dtype, scaling, span), f"{what}: float32 {v!r} became {r!r}"


@law(
    "dispatch.signature",
    "the decorator injects nothing: same signature, __wrapped__ is the original",
)
@pytest.mark.parametrize("memory_type", [p for p in selected_memory_types() if p in _COMPUTING])
def test_signature_is_the_originals(memory_type: MemoryType) -> None:
    def f(image: Any, sigma: float = 1.0, *, mode: str = "reflect") -> Any:
        return image

    g = ap.memory_type(memory_type)(f)
    assert inspect.signature(g) == inspect.signature(f)
    assert g.__wrapped__ is f
    assert g.__name__ == "f"


#: Declared memory types whose arrays a function can write into.
_WRITABLE = (MemoryType.NUMPY, MemoryType.CUPY, MemoryType.TORCH)
_WRITABLE_TARGETS = [d for d in selected_memory_types() if d in _WRITABLE]


def _write_into(x: Any) -> Any:
    """Adds 1 to its argument in place where the array is writable, and returns it."""
    try:
        x += 1
    except ValueError:  # a read-only numpy array handed through as it is
        return x + 1
    return x


def _write_into_all(first: Any, second: Any = None, *, third: Any = None) -> tuple[Any, ...]:
    """:func:`_write_into` on every array it is given (positional, keyword, or in a list
    argument), returning what each became, in order."""
    out = []
    for arg in (first, second, third):
        for a in arg if isinstance(arg, list) else [arg]:
            if a is not None:
                out.append(_write_into(a))
    return tuple(out)


#: How the read-only array is passed: alone (the one-argument quick path), among several
#: positional arguments (``quick_arguments``), as a keyword argument, or in a list
#: argument (both planned); and where its result is in :func:`_write_into_all`'s tuple.
_PASSED = ("alone", "first of two", "second of two", "keyword", "in a list")


def _call_writing(f_one: Any, f_all: Any, x: Any, other: Any, how: str) -> Any:
    """Call the writing function with ``x`` passed as ``how`` says; return its result for x."""
    if how == "alone":
        return f_one(x)
    if how == "first of two":
        return f_all(x, other)[0]
    if how == "second of two":
        return f_all(other, x)[1]
    if how == "keyword":
        return f_all(other, third=x)[1]
    return f_all([other, x])[1]


def _check_read_only_input(target: MemoryType, x: np.ndarray, how: str) -> None:
    assert not x.flags.writeable
    before = x.copy()
    f_one = ap.memory_type(target)(_write_into)
    f_all = ap.memory_type(target)(_write_into_all)
    for call in ("planned", "quick"):  # the second call of a pair may take the quick shares
        other = np.zeros(x.shape, native(x.dtype))  # writable: the function writes it too
        got = as_numpy(_call_writing(f_one, f_all, x, other, how))
        np.testing.assert_array_equal(
            x, before, err_msg=f"{call} call on {target.value} wrote into read-only input ({how})"
        )
        np.testing.assert_array_equal(got, before + np.asarray(1, dtype=before.dtype))


@law(
    "dispatch.read_only_input",
    "a function writing into its arguments never changes a read-only numpy input",
)
@pytest.mark.parametrize("target", _WRITABLE_TARGETS, ids=lambda m: m.value)
@given(data=st.data())
def test_read_only_input(target: MemoryType, data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(["float32", "int32", "uint8", "float64"]), label="dtype")
    # Read-only in the drawn layout (strided, negative, offset, unaligned, ...): a copy here
    # would make every input contiguous and hide a share that mishandles the others.
    x = data.draw(
        arrays(
            MemoryType.NUMPY,
            dtype=dtype,
            shape=hnp.array_shapes(max_dims=3),
            layout=_layouts.map(lambda s: s | {"readonly"}),
        ),
        label="x",
    )
    _check_read_only_input(target, x, data.draw(st.sampled_from(_PASSED), label="passed"))


@law("dispatch.read_only_input")
@pytest.mark.parametrize("target", _WRITABLE_TARGETS, ids=lambda m: m.value)
def test_read_only_input_passed_every_way(target: MemoryType) -> None:
    # Every way of passing it, whatever the drawn law happens to draw: among several
    # positional arguments dispatch takes another quick path than for one (ADR 0048).
    for how in _PASSED:
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        x.flags.writeable = False
        _check_read_only_input(target, x, how)
