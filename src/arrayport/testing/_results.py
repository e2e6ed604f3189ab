"""Comparing a function's result on one memory type with numpy's, for
:func:`arrayport.testing.assert_equivalent`: structure (dict, tuple, list) part by part,
then memory type, device, dtype, shape (for dask, also the dtype and shape the lazy array
reports) and values (``arrayport.testing._values``: floats within
:func:`default_tolerance`, an integer reference exactly), then, if asked, the sign of every
zero."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from arrayport._dtype_kinds import is_value
from arrayport.backends import detect_memory_type, get_backend
from arrayport.backends._util import bfloat16_dtype
from arrayport.errors import InvalidOptionError, UnsupportedArrayError
from arrayport.memory_types import MemoryType
from arrayport.testing._memory_readers import as_numpy, is_strict
from arrayport.testing._values import (
    compare_values,
    first_difference,
    first_index,
    native,
    signed_zero_mismatch,
)

__all__ = [
    "ARRAY_API_STRICT",
    "compare_results",
    "default_tolerance",
    "device_of",
    "first_difference",
    "is_array",
    "signed_zero_mismatch",
]

#: Pass this name in ``memory_types`` to also run the function on array-api-strict arrays on
#: each of its devices (its fake ``device1``/``device2`` included): a CPU-only check that the
#: function keeps results on its input's device.
ARRAY_API_STRICT = "array_api_strict"


def is_array(x: object) -> bool:
    """Whether ``x`` is an array arrayport handles (or an array-api-strict array)."""
    if is_strict(x):
        return True
    try:
        detect_memory_type(x)
    except UnsupportedArrayError:
        return False
    return True


def _as_dtype(dtype: Any) -> np.dtype[Any]:
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str) and dtype.strip().lower() == "bfloat16":
        bf16 = bfloat16_dtype()
        if bf16 is not None:
            return bf16
    # numpy reads None as float64 (here a missing argument), and an array's or a scalar
    # value's .dtype as a dtype: neither is one.
    elif dtype is not None and not is_value(dtype):
        try:
            out: np.dtype[Any] = np.dtype(dtype)
        except (TypeError, ValueError):
            pass
        else:
            return out
    msg = (
        f"default_tolerance(dtype={dtype!r}): not a dtype; pass anything numpy.dtype() "
        "accepts, such as 'float32' or np.float64 ('bfloat16' needs ml_dtypes installed)"
    )
    raise InvalidOptionError(msg)


#: The default ``rtol`` of 16-bit floats (float16, bfloat16), in units of their ``eps``.
_HALF_ULPS = 8


def default_tolerance(dtype: Any) -> float:
    """The default ``rtol`` for results of ``dtype``: ``4 * sqrt(eps)`` for floating and
    complex dtypes of 32 bits and more, ``8 * eps`` for 16-bit floats, 0 for exact dtypes.

    ``4 * sqrt(eps)`` is SciPy's ``xp_assert_close`` default: about 1.4e-3 for float32
    (and complex64), 6.0e-8 for float64, loose enough for a different summation order or
    a fused multiply-add, tight enough to catch a wrong formula. For 16-bit floats it
    would be 12.5% (float16) and 35% (bfloat16), letting wrong formulas pass (a variance
    divided by n - 1 instead of n, a 30% gain); there the default is counted in units of
    eps instead: float16 ``8 * 2**-10``, about 7.8e-3; bfloat16 ``8 * 2**-7``, 6.25e-2.
    That leaves room for the roundings between frameworks (numpy rounds each operation
    to 16 bits where torch and jax compute in float32 and round once): a correct mean,
    variance, box filter or normalisation of well-conditioned data differs by about one
    eps. It does not cover numpy's bfloat16 (ml_dtypes) reductions, which add in
    bfloat16 (a sum of a few hundred values can be off by 100% against torch's): pass
    ``rtol`` there, or reduce in float32.

    ``dtype`` is anything :func:`numpy.dtype` accepts (``"float32"``, ``np.float64``), or
    ``"bfloat16"`` with ml_dtypes installed; anything else raises
    :class:`~arrayport.InvalidOptionError`.
    """
    dtype = _as_dtype(dtype)
    if dtype.kind in "fc":
        info = np.finfo(dtype)
    elif dtype.name == "bfloat16":  # ml_dtypes' (kind "V"): 8 significant bits
        import ml_dtypes

        info = ml_dtypes.finfo(dtype)  # type: ignore[no-untyped-call]
    else:
        return 0.0
    eps = float(info.eps)
    return _HALF_ULPS * eps if info.bits <= 16 else 4 * math.sqrt(eps)


def device_of(x: Any) -> Any:
    if is_strict(x):
        return x.device
    return get_backend(detect_memory_type(x)).device_of(x)


def _is_dask(x: Any) -> bool:
    return is_array(x) and not is_strict(x) and detect_memory_type(x) is MemoryType.DASK


def _check_lazy(actual: Any, e: np.ndarray, *, where: str, what: str, check_dtype: bool) -> None:
    """A dask result's reported dtype and shape (what ``x.dtype`` and ``x.shape`` say before
    computing) against numpy's. A shape with unknown (NaN) sizes is not compared here: the
    computed shape is, afterwards."""
    reported = native(np.dtype(actual.dtype))
    if check_dtype and reported != native(e.dtype):
        msg = (
            f"{where}: {what} reports dtype {reported.name} (the dask array's dtype, before "
            f"computing), numpy gave {native(e.dtype).name}"
        )
        raise AssertionError(msg)
    shape = tuple(actual.shape)
    if all(isinstance(n, (int, np.integer)) for n in shape) and shape != e.shape:
        msg = (
            f"{where}: {what} reports shape {shape} (the dask array's shape, before "
            f"computing), numpy gave {e.shape}"
        )
        raise AssertionError(msg)


def _sequence_kind(x: Any) -> str:
    """``list``, ``tuple``, or a named tuple's field names: what :func:`_parts` compares of
    a sequence result's type when dtypes are checked. Not the class itself: numpy's
    ``EighResult`` and torch's ``linalg_eigh`` (a struct sequence) are the same kind of
    result, fields ``eigenvalues`` and ``eigenvectors``."""
    if isinstance(x, list):
        return "list"
    fields = getattr(type(x), "__match_args__", None)  # namedtuples and struct sequences
    return "tuple" if not fields else f"named tuple of {tuple(fields)}"


def _parts(
    actual: Any, expected: Any, *, where: str, what: str, check_type: bool = False
) -> list[Any] | None:
    """``(actual part, expected part, its name)`` for each part of a dict, tuple or list
    result numpy gave (None for anything else), or the AssertionError for a result of
    another structure (with ``check_type``, a list for a tuple or a namedtuple of other
    fields too)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or actual.keys() != expected.keys():
            keys = sorted(map(str, expected))
            msg = f"{where}: {what} is {type(actual).__name__}, numpy gave a dict of {keys}"
            raise AssertionError(msg)
        return [(actual[k], e, f"{what}[{k!r}]") for k, e in expected.items()]
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            msg = (
                f"{where}: {what} is {type(actual).__name__}, numpy gave a "
                f"{type(expected).__name__} of {len(expected)}"
            )
            raise AssertionError(msg)
        kind, want = _sequence_kind(actual), _sequence_kind(expected)
        if check_type and kind != want:
            msg = f"{where}: {what} is a {kind}, numpy gave a {want} (check_dtype=True)"
            raise AssertionError(msg)
        pairs = zip(actual, expected, strict=True)
        return [(a, e, f"{what}[{i}]") for i, (a, e) in enumerate(pairs)]
    return None


#: Python's own scalar types: with ``check_dtype``, a result of one must have numpy's type.
_PY_SCALARS = (bool, int, float, complex)


def _check_scalar_type(actual: Any, expected: Any, *, where: str, what: str) -> None:
    """A Python scalar (or None) numpy gave against ``actual``, by exact type: ``True`` is
    not ``1``, nor ``1`` ``1.0``."""
    python = type(expected) in _PY_SCALARS or expected is None
    if python and type(actual) is not type(expected):
        msg = (
            f"{where}: {what} is {type(actual).__name__} {repr(actual)[:60]}, numpy gave "
            f"{type(expected).__name__} {expected!r} (check_dtype=True)"
        )
        raise AssertionError(msg)


def _check_python_scalar(
    actual: Any, expected: Any, *, where: str, what: str, check_dtype: bool
) -> None:
    """``actual``, neither an array nor a numpy scalar, against numpy's array or numpy
    scalar: an AssertionError, except for a Python scalar against a numpy scalar with
    ``check_dtype`` off (its value is compared then, like a 0-d array's)."""
    got = f"{where}: {what} is {type(actual).__name__} {repr(actual)[:60]}"
    if not isinstance(expected, np.generic):
        raise AssertionError(f"{got}, not an array (numpy gave an array)")
    if type(actual) not in _PY_SCALARS:
        msg = f"{got}, not an array (numpy gave a numpy scalar, {expected.dtype.name})"
        raise AssertionError(msg)
    if check_dtype:
        msg = (
            f"{where}: {what} is a Python {type(actual).__name__} {repr(actual)[:60]}, numpy "
            f"gave a numpy scalar {expected!r} (check_dtype=True; with check_dtype=False "
            "their values are compared)"
        )
        raise AssertionError(msg)


def _mask(x: Any) -> np.ndarray | None:
    """The mask of a numpy masked array (every element's entry), None for anything else."""
    return np.ma.getmaskarray(x) if isinstance(x, np.ma.MaskedArray) else None


def _computed(actual: Any, *, where: str, what: str) -> np.ndarray:
    """A dask result computed, an error on the way reported like one raised by ``fn``:
    dask runs ``fn`` on the blocks only now."""
    try:
        return as_numpy(actual)
    except Exception as exc:
        msg = (
            f"{where}: raised {type(exc).__name__} computing {what} (dask runs fn on its "
            f"blocks when the result is computed): {exc}"
        )
        raise AssertionError(msg) from exc


def _unmasked(
    actual: Any, expected: Any, a: np.ndarray, e: np.ndarray, *, where: str, what: str
) -> np.ndarray:
    """``a`` with numpy's values where both results are masked, after checking that either
    both are masked arrays with the same mask or neither is (``np.asarray`` drops a mask)."""
    a_mask, e_mask = _mask(actual), _mask(expected)
    if a_mask is None and e_mask is None:
        return a
    if a_mask is None or e_mask is None:
        got = "a plain array" if a_mask is None else "a masked array"
        gave = "a masked array" if a_mask is None else "a plain array"
        raise AssertionError(f"{where}: {what} is {got}, numpy gave {gave}")
    at = first_index(a_mask != e_mask)
    if at is not None:
        msg = (
            f"{where}: {what} is {'masked' if a_mask[at] else 'not masked'} at index {at}, "
            f"numpy's {'is' if e_mask[at] else 'is not'} (masks are compared exactly)"
        )
        raise AssertionError(msg)
    return np.where(e_mask, e, a).astype(a.dtype, copy=False)  # masked values: not compared


def compare_results(
    actual: Any,
    expected: Any,
    *,
    where: str,
    what: str,
    target: Any,
    device: Any,
    rtol: float | None,
    atol: float,
    check_dtype: bool,
    check_memory_type: bool,
    check_signed_zeros: bool = False,
) -> None:
    """Raise an AssertionError saying where and what if ``actual`` is not ``expected``.

    Dicts, tuples and lists are compared part by part; with ``check_dtype``, a list is not
    a tuple, a namedtuple must have numpy's fields, and a Python scalar (or None) numpy
    gave must come back with its exact type (``True`` is not ``1``, ``1`` not ``1.0``),
    and an array or numpy scalar numpy gave must come back as an array or numpy scalar;
    without ``check_dtype`` a Python scalar may stand for a numpy scalar. Masked arrays
    must come back masked, with the same mask (always); the values under it are not
    compared. A dask result is computed first: an error on the way is reported
    as raised by ``fn``, chained, before its lazily reported dtype and shape are checked
    (and before a dask array is reported as the wrong structure for a dict, tuple or list
    numpy gave: dispatch refuses a tuple from a dask block).
    """
    if isinstance(expected, (dict, tuple, list)) and _is_dask(actual):
        # A dask array for a structured result: computing it first surfaces fn's own error
        # (dispatch refuses a tuple from a dask block) before "the result is Array".
        _computed(actual, where=where, what=what)
    parts = _parts(actual, expected, where=where, what=what, check_type=check_dtype)
    if parts is not None:  # a dict, tuple or list result: compared part by part
        for a, e, part in parts:
            compare_results(
                a,
                e,
                where=where,
                what=part,
                target=target,
                device=device,
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
                check_memory_type=check_memory_type,
                check_signed_zeros=check_signed_zeros,
            )
        return
    # A dask result is computed first: fn's errors (dask runs it now) before any check.
    computed = _computed(actual, where=where, what=what) if _is_dask(actual) else None
    if check_dtype:
        _check_scalar_type(actual, expected, where=where, what=what)
    exp_is_array = isinstance(expected, (np.ndarray, np.generic))
    if exp_is_array and not is_array(actual) and not isinstance(actual, np.generic):
        _check_python_scalar(actual, expected, where=where, what=what, check_dtype=check_dtype)
    if (expected is None) != (actual is None):  # None against a 0-d array is no number
        msg = f"{where}: {what} is {repr(actual)[:60]}, numpy gave {repr(expected)[:60]}"
        raise AssertionError(msg)
    if check_memory_type and isinstance(actual, np.generic) and target is not MemoryType.NUMPY:
        msg = f"{where}: {what} is a numpy scalar, expected a {target} array"
        raise AssertionError(msg)
    if is_array(actual) and check_memory_type:
        got = ARRAY_API_STRICT if is_strict(actual) else detect_memory_type(actual)
        want = ARRAY_API_STRICT if not isinstance(target, MemoryType) else target
        if got != want:
            msg = f"{where}: {what} is a {got} array, expected {want} (the input's memory type)"
            raise AssertionError(msg)
        if device is not None and device_of(actual) != device:
            msg = f"{where}: {what} is on {device_of(actual)}, the inputs on {device}"
            raise AssertionError(msg)
    e = np.asarray(expected)
    if computed is not None:
        _check_lazy(actual, e, where=where, what=what, check_dtype=check_dtype)
        a = computed
    else:
        a = as_numpy(actual) if is_array(actual) else np.asarray(actual)
    a_dt, e_dt = native(a.dtype), native(e.dtype)
    if check_dtype and (exp_is_array or is_array(actual)) and a_dt != e_dt:
        msg = f"{where}: {what} has dtype {a_dt.name}, numpy gave {e_dt.name}"
        from arrayport.backends.pyclesperanto import WIDENINGS  # the failure path only

        held = WIDENINGS.get(e_dt.name)
        if target is MemoryType.PYCLESPERANTO and held == a_dt.name:
            msg += (
                f" (pyclesperanto holds {e_dt.name} as {held}: pass check_dtype=False or "
                "leave pyclesperanto out of memory_types)"
            )
        raise AssertionError(msg)
    if a.shape != e.shape:
        msg = f"{where}: {what} has shape {a.shape}, numpy gave {e.shape}"
        raise AssertionError(msg)
    a = _unmasked(actual, expected, np.asarray(a), e, where=where, what=what)
    tol = default_tolerance(e.dtype) if rtol is None else rtol
    compare_values(
        a, e, where=where, what=what, rtol=tol, atol=atol, check_signed_zeros=check_signed_zeros
    )
