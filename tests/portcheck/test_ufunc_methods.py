"""ufunc methods (np.add.at, np.add.reduce, ...) are reported, with hints that hold in the
standard (checked against array-api-strict)."""

from __future__ import annotations

import textwrap

import array_api_extra as xpx
import array_api_strict as xp
import numpy as np

from arrayport.portcheck import check_source
from arrayport.portcheck._ufunc_methods import ufunc_method_finding


def _found(source: str) -> dict[tuple[int, str], str | None]:
    return {(f.line, f.name): f.replacement for f in check_source(textwrap.dedent(source))}


def test_ufunc_methods_are_reported() -> None:
    # They were never reported: np.add was standard, so its attributes were not looked at.
    found = _found(
        """
        import numpy as np
        from numpy import add, logical_or
        np.add.at(a, [0, 1], 1)
        s = np.add.reduce(a)
        c = np.maximum.accumulate(a)
        o = np.multiply.outer(a, a)
        add.at(a, i, 1)
        m = logical_or.reduce(ms)
        ok = np.add(a, a) + np.sum(a)
        """
    )
    assert sorted(found) == [
        (4, "numpy.add.at"),
        (5, "numpy.add.reduce"),
        (6, "numpy.maximum.accumulate"),
        (7, "numpy.multiply.outer"),
        (8, "numpy.add.at"),
        (9, "numpy.logical_or.reduce"),
    ]
    assert found[(5, "numpy.add.reduce")] == (
        "xp.sum(x, axis=0) (ufunc.reduce's default axis is 0)"
    )
    assert found[(9, "numpy.logical_or.reduce")] is not None
    assert found[(6, "numpy.maximum.accumulate")] is None  # no standard equivalent


def test_non_ufunc_standard_names_have_no_method_finding() -> None:
    assert ufunc_method_finding("sum", "reduce", frozenset()) is None
    assert ufunc_method_finding("float32", "itemsize", frozenset()) is None


def test_reduce_accumulate_and_outer_hints_hold_in_array_api_strict() -> None:
    a = np.array([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0]])
    x = xp.asarray(a)
    for ufunc, f in [("add", xp.sum), ("multiply", xp.prod), ("maximum", xp.max)]:
        hint = ufunc_method_finding(ufunc, "reduce", frozenset())[2]  # type: ignore[index]
        assert hint is not None
        assert hint.startswith(f"xp.{f.__name__}(x, axis=0)")
        np.testing.assert_array_equal(np.asarray(f(x, axis=0)), getattr(np, ufunc).reduce(a))
    b = a > 1
    np.testing.assert_array_equal(
        np.asarray(xp.all(xp.asarray(b), axis=0)), np.logical_and.reduce(b)
    )
    for ufunc, f in [("add", xp.cumulative_sum), ("multiply", xp.cumulative_prod)]:
        hint = ufunc_method_finding(ufunc, "accumulate", frozenset())[2]  # type: ignore[index]
        assert hint == f"xp.{f.__name__}(x, axis=0)"
        np.testing.assert_array_equal(np.asarray(f(x, axis=0)), getattr(np, ufunc).accumulate(a))
    v, w = xp.asarray([1.0, 2.0]), xp.asarray([3.0, 4.0, 5.0])
    np.testing.assert_array_equal(
        np.asarray(xp.multiply(v[:, None], w[None, :])),
        np.multiply.outer([1.0, 2.0], [3.0, 4.0, 5.0]),
    )
    nd = xp.multiply(xp.reshape(x, (*x.shape, *(1,) * w.ndim)), w)
    np.testing.assert_array_equal(np.asarray(nd), np.multiply.outer(a, [3.0, 4.0, 5.0]))


def test_at_hint_warns_that_repeated_indices_differ() -> None:
    # np.add.at applies a repeated index once per repeat; xpx.at(...).add once.
    a = np.zeros(3)
    np.add.at(a, [0, 0, 1], 1)
    once = xpx.at(np.zeros(3), np.asarray([0, 0, 1])).add(1.0)
    assert a.tolist() == [2.0, 1.0, 0.0]
    assert np.asarray(once).tolist() == [1.0, 1.0, 0.0]
    hint = ufunc_method_finding("add", "at", frozenset({"at"}))[2]  # type: ignore[index]
    assert hint is not None
    assert "xpx.at(x, idx).add(v)" in hint
    assert "repeat" in hint
    assert "integer-array idx" in hint
    # Without repeats (a boolean mask here) the hint holds in array-api-strict.
    mask = xp.asarray([True, False, True])
    got = xpx.at(xp.zeros(3), mask).add(1.0)
    b = np.zeros(3)
    np.add.at(b, np.asarray([True, False, True]), 1)
    np.testing.assert_array_equal(np.asarray(got), b)
    assert ufunc_method_finding("add", "at", frozenset())[2] is None  # type: ignore[index]
