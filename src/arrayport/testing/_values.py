"""Comparing the values of two numpy arrays of the same shape, for
:func:`arrayport.testing.assert_equivalent` (``arrayport.testing._results`` checks the
structure, memory type, dtype and shape first): floats within a tolerance (NaN equal to
NaN, never to a number; a complex value with an infinite or NaN part in its real and
imaginary parts apart; values both below the smallest normal number equal), an integer
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


def _tiny(a: np.ndarray, e: np.ndarray) -> float:
    """The smallest normal magnitude (``finfo.tiny``) of the float or complex dtypes among
    ``a``'s and ``e``'s, the larger if both are (0 if neither is)."""
    dtypes = [d for d in (a.dtype, e.dtype) if d.kind in "fc"]
    return max((float(np.finfo(d).tiny) for d in dtypes), default=0.0)


def _part_pairs(a: np.ndarray, e: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The real parts of ``a`` and ``e``, and their imaginary parts if either is complex."""
    pairs = [(np.real(a), np.real(e))]
    if a.dtype.kind == "c" or e.dtype.kind == "c":
        pairs.append((np.imag(a), np.imag(e)))
    return pairs


def _below_tiny(a: np.ndarray, e: np.ndarray) -> list[np.ndarray]:
    """For each part (real, then imaginary if either is complex), where both values are
    below the smallest normal number in magnitude, zeros included: jax and tensorflow flush
    subnormal results (and inputs) to zero where numpy keeps them."""
    tiny = _tiny(a, e)
    with np.errstate(invalid="ignore"):
        return [(np.abs(x) < tiny) & (np.abs(y) < tiny) for x, y in _part_pairs(a, e)]


def _prepared(
    a: np.ndarray, e: np.ndarray, rtol: float, atol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``a`` and ``e`` (numbers, one of them float or complex) for ``assert_allclose``, and
    where a complex value with a non-finite part differs (None if none has one).

    What counts as equal here takes numpy's values in ``a``'s copy (in the dtype both
    share), so ``assert_allclose`` passes there: parts both below the smallest normal
    number (:func:`_below_tiny`), and complex values with an infinite or NaN part whose
    real and imaginary parts are each close (``np.isclose``, the same ``rtol``/``atol``,
    NaN equal to NaN, an infinity only to the same infinity). ``isclose`` asks complex
    values with an infinite part to be exactly equal, and calls any two with a NaN part
    equal."""
    tiny = _below_tiny(a, e)
    bad = None
    if a.dtype.kind == "c" or e.dtype.kind == "c":
        odd = ~np.isfinite(a) | ~np.isfinite(e)
        if odd.any():
            close = np.ones(odd.shape, bool)
            for (x, y), flushed in zip(_part_pairs(a, e), tiny, strict=True):
                with np.errstate(invalid="ignore", over="ignore"):
                    close &= np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=True) | flushed
            bad = odd & ~close
            same = odd & close
        else:
            same = odd
    else:
        same = np.zeros(a.shape, bool)
    if not same.any() and not any(m.any() for m in tiny):
        return a, e, bad
    common = np.result_type(a.dtype, e.dtype)
    a2, e2 = np.array(a, dtype=common), np.asarray(e, dtype=common)
    parts = [a2.real, a2.imag] if common.kind == "c" else [a2]
    for part, (_, y), flushed in zip(parts, _part_pairs(a2, e2), tiny, strict=True):
        part[flushed] = y[flushed]
    a2[same] = e2[same]
    return a2, e2, bad


def _raise_complex_parts(
    a: np.ndarray, e: np.ndarray, bad: np.ndarray | None, *, where: str, what: str
) -> None:
    """The AssertionError for the first complex value with an infinite or NaN part whose
    parts differ (raised before ``assert_allclose``, which would give no index, or let it
    pass: NaN in another part)."""
    at = None if bad is None else first_index(bad)
    if at is not None:
        msg = (
            f"{where}: {what} has {a[at].item()!r} at index {at}, numpy gave "
            f"{e[at].item()!r} (a complex value with an infinite or NaN part is compared in "
            "the real and the imaginary part apart: NaN equal to NaN, an infinity to the "
            "same infinity, a number within rtol/atol)"
        )
        raise AssertionError(msg)


def _raise_misplaced_nonfinite(
    a: np.ndarray, e: np.ndarray, bad: np.ndarray | None, *, where: str, what: str
) -> None:
    """The AssertionError, with the index and both values, for the first NaN or infinity
    that is not where numpy has it: NaN against anything but NaN, an infinity against
    anything but the same infinity (``assert_allclose`` says only "nan location
    mismatch", with no index). Complex values are left to ``bad`` (:func:`_prepared`:
    their real and imaginary parts apart), raised here too, before ``assert_allclose``."""
    if a.dtype.kind == "c" or e.dtype.kind == "c":
        _raise_complex_parts(a, e, bad, where=where, what=what)
        return
    with np.errstate(invalid="ignore"):
        odd = (np.isnan(a) != np.isnan(e)) | ((np.isinf(a) | np.isinf(e)) & (a != e))
    at = first_index(odd)
    if at is not None:
        msg = (
            f"{where}: {what} has {a[at].item()!r} at index {at}, numpy gave "
            f"{e[at].item()!r} (NaN and infinities must be where numpy has them)"
        )
        raise AssertionError(msg)


def _tiny_sign_mismatch(a: np.ndarray, e: np.ndarray) -> tuple[int, ...] | None:
    """The first index where both values are below the smallest normal number (not both
    zero: :func:`signed_zero_mismatch` says those) with different signs, or None."""
    mask = np.zeros(np.broadcast_shapes(a.shape, e.shape), bool)
    for (x, y), flushed in zip(_part_pairs(a, e), _below_tiny(a, e), strict=True):
        if x.dtype.kind in "fc" and y.dtype.kind in "fc":
            mask |= flushed & ~((x == 0) & (y == 0)) & (np.signbit(x) != np.signbit(y))
    return first_index(mask)


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
    result is float or complex, two values (or complex parts) both below the smallest
    normal number in magnitude counting as equal (jax and tensorflow flush subnormals to
    zero), and a complex value with an infinite or NaN part compared part by part; an
    integer or bool reference exactly, whatever the tolerances (a float result against it
    too)."""
    a, e = exact(a), exact(e)  # bfloat16 is kind "V": numpy's NaN test would skip it
    if e.dtype.kind in "biu" and a.dtype.kind in "fc":  # no NaN, no signed zero to check
        _check_integers_exactly(a, e, where=where, what=what)
        return
    floating = e.dtype.kind in "fc" or a.dtype.kind in "fc"
    numbers = a.dtype.kind in "biufc" and e.dtype.kind in "biufc"
    numbers = numbers and a.shape == e.shape  # else assert_allclose says the shapes differ
    a_cmp, e_cmp, bad = _prepared(a, e, rtol, atol) if floating and numbers else (a, e, None)
    if floating and numbers:
        _raise_misplaced_nonfinite(a, e, bad, where=where, what=what)
    try:
        if floating:
            np.testing.assert_allclose(
                a_cmp, e_cmp, rtol=rtol, atol=atol, equal_nan=True, err_msg=what
            )
        else:
            np.testing.assert_array_equal(a, e, err_msg=what, strict=False)
    except AssertionError as exc:
        note = (
            "\n(ACTUAL shows numpy's values where the two count as equal: both below the "
            "smallest normal number, or a complex value with an infinite or NaN part close "
            "in each part)"
            if a_cmp is not a
            else ""
        )
        msg = f"{where}: {what} differs from numpy's{exc}{note}"
        raise AssertionError(msg) from None
    except (TypeError, ValueError) as exc:  # values numpy cannot compare (objects, None)
        msg = (
            f"{where}: {what} ({a.dtype.name}{list(a.shape)}) cannot be compared with "
            f"numpy's ({e.dtype.name}{list(e.shape)}): {type(exc).__name__}: {exc}"
        )
        raise AssertionError(msg) from exc
    if not check_signed_zeros:
        return
    at = signed_zero_mismatch(a, e)
    if at is not None:
        msg = (
            f"{where}: {what} has {a[at].item()!r} at index {at}, numpy gave "
            f"{e[at].item()!r} (the sign of a zero differs; check_signed_zeros=True)"
        )
        raise AssertionError(msg)
    at = _tiny_sign_mismatch(a, e) if floating and numbers else None
    if at is not None:
        msg = (
            f"{where}: {what} has {a[at].item()!r} at index {at}, numpy gave "
            f"{e[at].item()!r} (both are below the smallest normal number, "
            f"{_tiny(a, e):.8g}, and count as equal, but their signs differ; "
            "check_signed_zeros=True)"
        )
        raise AssertionError(msg)
