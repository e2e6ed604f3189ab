"""Comparing the values of two numpy arrays of the same shape, for
:func:`arrayport.testing.assert_equivalent` (``arrayport.testing._results`` checks the
structure, memory type, dtype and shape first): floats within a tolerance (NaN equal to
NaN, never to a number, in a complex value's real and imaginary parts apart), an integer
or bool reference exactly (a float result too: every value finite, integral and equal to
numpy's as a Python number), everything else exactly; then, if asked, the sign of every
zero."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "compare_values",
    "exact",
    "first_difference",
    "first_index",
    "native",
    "signed_zero_mismatch",
]


def native(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """``dtype`` in this machine's byte order: conversions may swap big-endian bytes."""
    return dtype.newbyteorder("=") if dtype.byteorder not in "=|" else dtype


def first_index(mask: np.ndarray) -> tuple[int, ...] | None:
    """The first index where ``mask`` is true (``()`` for a true 0-d mask), or None."""
    hits = np.argwhere(mask)
    return tuple(int(i) for i in hits[0]) if len(hits) else None


def exact(x: np.ndarray) -> np.ndarray:
    """``x``, bfloat16 (ml_dtypes, kind "V") made float32: exact, and numpy's NaN tests
    read it."""
    return x.astype(np.float32) if x.dtype.name == "bfloat16" else x


def signed_zero_mismatch(actual: np.ndarray, expected: np.ndarray) -> tuple[int, ...] | None:
    """The first index where both are zero (a complex number's real or imaginary part)
    with different signs, or None. Only float and complex values have signed zeros."""
    a, e = exact(actual), exact(expected)
    if a.dtype.kind not in "fc" or e.dtype.kind not in "fc":
        return None
    pairs = [(np.real(a), np.real(e))]
    if a.dtype.kind == "c" and e.dtype.kind == "c":  # a real result has no signed imaginary 0
        pairs.append((np.imag(a), np.imag(e)))
    mask = np.zeros(np.broadcast_shapes(a.shape, e.shape), bool)
    for x, y in pairs:
        mask |= (x == 0) & (y == 0) & (np.signbit(x) != np.signbit(y))
    return first_index(mask)


def first_difference(after: np.ndarray, before: np.ndarray) -> str | None:
    """What differs between two arrays compared exactly (NaN equal to NaN, -0.0 not equal
    to 0.0), said in words, or None when they are the same."""
    if after.shape != before.shape or native(after.dtype) != native(before.dtype):
        return (
            f"it became {after.dtype.name}{list(after.shape)}, "
            f"was {before.dtype.name}{list(before.shape)}"
        )
    a, b = exact(after), exact(before)
    if a.dtype.kind in "fc":
        mask = np.zeros(a.shape, bool)
        for x, y in [(np.real(a), np.real(b)), (np.imag(a), np.imag(b))]:
            same = ((x == y) & (np.signbit(x) == np.signbit(y))) | (np.isnan(x) & np.isnan(y))
            mask |= ~same
    else:
        mask = np.asarray(a != b)
    where = first_index(mask)
    if where is None:
        return None
    return f"at index {where} it holds {a[where].item()!r}, it held {b[where].item()!r}"


def _check_complex_nan(
    a: np.ndarray, e: np.ndarray, rtol: float, atol: float, *, where: str, what: str
) -> None:
    """Where either value has a NaN part, its real and imaginary parts compared apart:
    numpy's ``assert_allclose`` calls any complex with a NaN part equal to any other."""
    if a.dtype.kind != "c" and e.dtype.kind != "c":
        return
    suspect = np.isnan(a) | np.isnan(e)
    if not suspect.any():
        return
    bad = np.zeros(suspect.shape, bool)
    for x, y in [(np.real(a), np.real(e)), (np.imag(a), np.imag(e))]:
        nan_x, nan_y = np.isnan(x), np.isnan(y)
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.isclose(x, y, rtol=rtol, atol=atol)
        bad |= suspect & ((nan_x != nan_y) | (~nan_x & ~nan_y & ~close))
    at = first_index(bad)
    if at is not None:
        msg = (
            f"{where}: {what} has {a[at].item()!r} at index {at}, numpy gave "
            f"{e[at].item()!r} (NaN is compared in the real and the imaginary part apart)"
        )
        raise AssertionError(msg)


def _check_integers_exactly(a: np.ndarray, e: np.ndarray, *, where: str, what: str) -> None:
    """A float or complex ``a`` against numpy's integer or bool ``e``, exactly: every value
    finite, integral (no imaginary part) and equal to numpy's as a Python number. Compared
    in float64, int64 2**53 + 1 would equal 2**53 and uint64 2**64 - 1 would equal 2**64."""
    real = np.real(a)
    with np.errstate(invalid="ignore"):
        fits = np.isfinite(real) & (np.floor(real) == real)
    if a.dtype.kind == "c":
        fits &= np.imag(a) == 0
    # Python compares an int and a float exactly (float(2**53) != 2**53 + 1).
    equal = np.equal(real.astype(object), e.astype(object)).astype(bool)
    at = first_index(~(fits & equal))
    if at is not None:
        msg = (
            f"{where}: {what} has {a[at].item()!r} at index {at}, numpy gave "
            f"{e[at].item()!r} (numpy's result is {e.dtype.name}: compared exactly, the "
            "result must hold that integer)"
        )
        raise AssertionError(msg)


def compare_values(
    a: np.ndarray,
    e: np.ndarray,
    *,
    where: str,
    what: str,
    rtol: float,
    atol: float,
    check_signed_zeros: bool,
) -> None:
    """Raise an AssertionError saying where and what if ``a``'s values are not ``e``'s
    (numpy's): both arrays of one shape. Floats within ``rtol``/``atol`` when numpy's
    result is float or complex; an integer or bool reference exactly, whatever the
    tolerances (a float result against it too)."""
    a, e = exact(a), exact(e)  # bfloat16 is kind "V": numpy's NaN test would skip it
    if e.dtype.kind in "biu" and a.dtype.kind in "fc":  # no NaN, no signed zero to check
        _check_integers_exactly(a, e, where=where, what=what)
        return
    try:
        if e.dtype.kind in "fc" or a.dtype.kind in "fc":
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(a, e, err_msg=what, strict=False)
    except AssertionError as exc:
        msg = f"{where}: {what} differs from numpy's{exc}"
        raise AssertionError(msg) from None
    except (TypeError, ValueError) as exc:  # values numpy cannot compare (objects, None)
        msg = (
            f"{where}: {what} ({a.dtype.name}{list(a.shape)}) cannot be compared with "
            f"numpy's ({e.dtype.name}{list(e.shape)}): {type(exc).__name__}: {exc}"
        )
        raise AssertionError(msg) from exc
    _check_complex_nan(a, e, rtol, atol, where=where, what=what)
    at = signed_zero_mismatch(a, e) if check_signed_zeros else None
    if at is not None:
        msg = (
            f"{where}: {what} has {a[at].item()!r} at index {at}, numpy gave "
            f"{e[at].item()!r} (the sign of a zero differs; check_signed_zeros=True)"
        )
        raise AssertionError(msg)
