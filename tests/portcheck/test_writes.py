"""Tests of writes into an array through its attributes: ``x.flat = v``, ``x.flat[i] = v``,
``z.real[i] = v``, ``z.imag[i] += v``, and the hints that assign the result back."""

from __future__ import annotations

import ast
import textwrap

import array_api_extra as xpx
import array_api_strict as xp
import numpy as np

from arrayport.portcheck import check_source
from arrayport.portcheck._writes import subscript_targets, subscript_write


def findings(source: str) -> dict[tuple[int, str], tuple[str, str | None]]:
    """(line, name) -> (message, replacement) of each finding in ``source``."""
    found = check_source(textwrap.dedent(source))
    return {(f.line, f.name): (f.message, f.replacement) for f in found}


def _same(got: object, want: np.ndarray) -> None:
    got = np.asarray(got)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)


_SOURCE = """
    import numpy as np
    def f(n):
        z = np.zeros(n, dtype=np.complex128)
        z.real[:] = 2
        z.imag[z.imag < 0] = 0
        a = np.zeros((n, n))
        a.flat = 7
        a.flat[::n + 1] = 1
        a.flat[3] += 2
        a.flat[5] //= 2
        w = np.zeros(n)
        w.real[1:] = 5
        z.imag[0] -= 1.5
        c.real[0] = 1  # c is not known to be an array
    """


_INF = " (an infinite part turns the other part into NaN there)"


def test_writes_through_an_index_of_flat_real_and_imag_are_reported_as_writes() -> None:
    # z.real[:] = 2 got the read hint xp.real(z), whose write is lost (silently on dask);
    # a.flat = 7 was not reported (torch sets a new attribute, silently); a.flat[::n + 1]
    # got a hint for an int index that raised for a slice.
    found = findings(_SOURCE)
    writes = {key: hint for key, (_, hint) in found.items() if key[1].endswith("=")}
    assert writes == {
        (5, ".real[...] ="): (
            "z = xpx.at(xp.real(z))[:].set(2) + 1j * xp.imag(z) for complex z (an infinite "
            "part turns the other part into NaN there) (real z: z = xpx.at(z)[:].set(2))"
        ),
        (6, ".imag[...] ="): (
            "z = xp.real(z) + 1j * xpx.at(xp.imag(z))[z.imag < 0].set(0) for complex z (an "
            "infinite part turns the other part into NaN there)"
        ),
        (8, ".flat ="): (  # ASSIGNED["flat"]'s, in the code's names
            "a = xp.full_like(a, v) for a number v (an array of a.size values: a = "
            "xp.reshape(xp.asarray(v, dtype=a.dtype), a.shape))"
        ),
        (9, ".flat[...] ="): (
            "a = xp.reshape(xpx.at(xp.reshape(a, (-1,)))[::n + 1].set(1), a.shape) (an "
            "integer-array index also needs a library that assigns through one: the standard "
            "does not)"
        ),
        (10, ".flat[...] ="): (
            "a = xp.reshape(xpx.at(xp.reshape(a, (-1,)))[3].add(2), a.shape) (an "
            "integer-array index also needs a library that assigns through one: the standard "
            "does not)"
        ),
        (11, ".flat[...] ="): (
            "a = xp.reshape(xpx.at(xp.reshape(a, (-1,)))[5].set(xp.reshape(a, (-1,))[5] // 2), "
            "a.shape) (an integer-array index also needs a library that assigns through one: "
            "the standard does not)"
        ),
        (13, ".real[...] ="): (
            "w = xpx.at(xp.real(w))[1:].set(5) + 1j * xp.imag(w) for complex w (an infinite "
            "part turns the other part into NaN there) (real w: w = xpx.at(w)[1:].set(5))"
        ),
        (
            14,
            ".imag[...] =",
        ): "z = xp.real(z) + 1j * xpx.at(xp.imag(z))[0].subtract(1.5) for complex z" + _INF,
    }
    # A write is not also reported as a read of the attribute; the index's own read is.
    assert (5, ".real") not in found
    assert (6, ".imag") in found
    assert (9, ".flat") not in found
    assert not [key for key in found if key[0] == 15]
    assert "a write into it is lost" in found[(5, ".real[...] =")][0]


def test_the_write_hints_give_numpys_values_on_the_standard() -> None:
    n = 4
    z, a, w = np.zeros(n, dtype=np.complex128), np.zeros((n, n)), np.zeros(n)
    zx, ax, wx = xp.asarray(z), xp.asarray(a), xp.asarray(w)
    z.real[:] = 2
    zx = xpx.at(xp.real(zx))[:].set(2) + 1j * xp.imag(zx)
    _same(zx, z)
    z[1] = 3 - 4j
    zx = xp.asarray(z)
    z.imag[z.imag < 0] = 0
    zx = xp.real(zx) + 1j * xpx.at(xp.imag(zx))[xp.imag(zx) < 0].set(0)
    _same(zx, z)
    a.flat = 7
    ax = xp.full_like(ax, 7)
    _same(ax, a)
    a.flat = np.arange(16.0)  # an array of x.size values
    ax = xp.reshape(xp.asarray(np.arange(16.0), dtype=ax.dtype), ax.shape)
    _same(ax, a)
    a.flat[:: n + 1] = 1
    ax = xp.reshape(xpx.at(xp.reshape(ax, (-1,)))[:: n + 1].set(1), ax.shape)
    _same(ax, a)
    a.flat[3] += 2
    ax = xp.reshape(xpx.at(xp.reshape(ax, (-1,)))[3].add(2), ax.shape)
    _same(ax, a)
    a.flat[5] //= 2
    ax = xp.reshape(xpx.at(xp.reshape(ax, (-1,)))[5].set(xp.reshape(ax, (-1,))[5] // 2), ax.shape)
    _same(ax, a)
    w.real[1:] = 5
    wx = xpx.at(wx)[1:].set(5)  # real w: w itself
    _same(wx, w)
    z.imag[0] -= 1.5
    zx = xp.real(zx) + 1j * xpx.at(xp.imag(zx))[0].subtract(1.5)
    _same(zx, z)


def test_each_target_of_an_unpacking_is_a_write_without_its_value() -> None:
    found = findings(
        """
        import numpy as np
        z = np.zeros(3, dtype=complex)
        z.real[0], z.imag[0] = a, b
        """
    )
    assert found[(4, ".real[...] =")][1] == (
        "z = xpx.at(xp.real(z))[0].set(v) + 1j * xp.imag(z) for complex z (an infinite part "
        "turns the other part into NaN there) (real z: z = xpx.at(z)[0].set(v))"
    )
    assert found[(4, ".imag[...] =")][1] == (
        "z = xp.real(z) + 1j * xpx.at(xp.imag(z))[0].set(v) for complex z (an infinite part "
        "turns the other part into NaN there)"
    )


def test_subscript_targets_and_a_receiver_that_is_not_a_name() -> None:
    (target,) = ast.parse("a, (x.flat[0], *y.real[1:]), d[0] = v").body[0].targets  # type: ignore[attr-defined]
    assert [(a.attr, ast.unparse(i), n) for a, i, n in subscript_targets(target)] == [
        ("flat", "x.flat[0]", False),
        ("real", "y.real[1:]", False),
    ]
    call = ast.parse("f()", mode="eval").body
    long = ast.parse("a_very_long_name_for_an_index + another_long_name", mode="eval").body
    _, hint = subscript_write("flat", call, long, None, None)
    assert hint is not None
    assert hint.startswith("x = xp.reshape(xpx.at(xp.reshape(x, (-1,)))[i].set(v), x.shape)")


def test_nested_indexes_and_views_as_receivers_are_writes_without_a_wrong_hint() -> None:
    # z.real[m][0] = 1 got the read hint xp.real(z), which loses the write (silently); a
    # write through a.T.flat[...] got the hint "a.T = ...", which cannot be assigned.
    found = findings(
        """
        import numpy as np
        z = np.zeros(4, dtype=complex)
        a = np.zeros((2, 3))
        z.real[1:][0] = 1
        z.imag[0][1:] += 2
        a.T.flat[1] = 7
        a.T.real[0] = 5
        """
    )
    for line, name in ((5, ".real[...] ="), (6, ".imag[...] =")):
        message, hint = found[(line, name)]
        assert message.endswith("(through a nested index: no hint)")
        assert hint is None
    for line, name in ((7, ".flat[...] ="), (8, ".real[...] =")):
        message, hint = found[(line, name)]
        assert hint is None
        assert "a.T" in message
    assert not any(name == "real" and line == 5 for line, name in found)  # not a read
