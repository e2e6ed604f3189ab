"""Tests of Python numbers, lists and ints where the standard takes arrays or tuples."""

from __future__ import annotations

import textwrap

import array_api_strict as xp
import numpy as np
import pytest

from arrayport.portcheck import check_source


def findings(source: str) -> dict[tuple[int, str], list[tuple[str, str | None]]]:
    """(line, name) -> [(message, replacement), ...] of the findings in ``source``."""
    found: dict[tuple[int, str], list[tuple[str, str | None]]] = {}
    for f in check_source(textwrap.dedent(source)):
        found.setdefault((f.line, f.name), []).append((f.message, f.replacement))
    return found


def test_an_int_or_a_list_for_a_tuple_parameter_is_reported() -> None:
    found = findings(
        """
        import numpy as np
        a = np.reshape(x, -1)
        b = np.reshape(x, [4])
        c = np.tile(x, 2)
        d = np.permute_dims(x, [1, 0])
        e = np.reshape(x, shape=[2, 3])
        f = np.reshape(x, (-1,))
        g = np.tile(x, (2, 1))
        h = np.reshape(x, n)
        """
    )
    hints = {line: found[(line, name)][0][1] for line, name in found}
    assert hints == {
        3: "xp.reshape(x, (-1,))",
        4: "xp.reshape(x, (4,))",
        5: "xp.tile(x, (2,))",
        6: "xp.permute_dims(x, (1, 0))",
        7: "shape=(2, 3)",
    }
    assert {name for _, name in found} == {
        "numpy.reshape(not a tuple)",
        "numpy.tile(not a tuple)",
        "numpy.permute_dims(not a tuple)",
    }
    x = xp.reshape(xp.arange(4), (2, 2))
    for refused in (lambda: xp.reshape(x, -1), lambda: xp.reshape(x, [4]), lambda: xp.tile(x, 2)):
        with pytest.raises(TypeError):
            refused()
    assert xp.reshape(x, (-1,)).shape == (4,)
    assert xp.tile(x, (2,)).shape == (2, 4)


def test_python_numbers_by_keyword_or_beyond_the_standards_positionals() -> None:
    found = findings(
        """
        import numpy as np
        d = np.diff(m, prepend=0, append=0)
        e = np.diff(m, 1, -1, 0.0)
        c = np.clip(x, min=[0.0, 1.0])
        k = np.clip(x, min=0, max=1)
        s = np.diff(m, prepend=m[:1])
        """
    )
    messages = [message for message, _ in found[(3, "numpy.diff(Python number)")]]
    assert sorted(messages) == [
        "the standard's diff takes arrays for append, not a Python number (0); NumPy converts it",
        "the standard's diff takes arrays for prepend, not a Python number (0); NumPy converts it",
    ]
    ((message, hint),) = found[(4, "numpy.diff(Python number)")]
    assert "for prepend, not a Python number (0.0)" in message
    assert hint is not None
    assert hint.startswith("xp.full((*m.shape[:-1], 1), 0.0, dtype=m.dtype) (NumPy broadcasts")
    assert (5, "numpy.clip(Python list)") in found
    assert not [key for key in found if key[0] in (6, 7)]
    # The hint gives NumPy's values (of an array whose dtype the number does not change).
    data = np.asarray([[1.0, 5.0, 2.0], [3.0, 3.0, 9.0]])
    x = xp.asarray(data)
    ported = xp.diff(x, prepend=xp.full((*x.shape[:-1], 1), 0.0, dtype=x.dtype))
    assert np.array_equal(np.asarray(ported), np.diff(data, prepend=0.0))


def test_positional_python_numbers_are_still_reported_as_before() -> None:
    found = findings(
        """
        import numpy as np
        a = np.sqrt(2)
        b = np.where(c, 1.0, 0.0)
        c = np.maximum(x, 0)
        """
    )
    ((_, hint),) = found[(3, "numpy.sqrt(Python number)")]
    assert hint == "xp.asarray(2, dtype=xp.float64) (or the math module)"
    assert (4, "numpy.where(Python numbers)") in found
    assert not [key for key in found if key[0] == 5]


def test_numbers_computed_in_place_are_reported_as_numbers() -> None:
    # Only literals were: np.sqrt(2 * np.pi), np.log2(len(x)) and np.sqrt(x.size) were not,
    # though array-api-strict refuses a Python number there (numpy's _histograms_impl).
    with pytest.raises(TypeError):
        xp.sqrt(2 * np.pi)  # type: ignore[arg-type]
    found = findings(
        """
        import numpy as np
        def f(x, n, size):
            a = np.sqrt(2 * np.pi)
            c = np.sqrt(x.size)
            d = np.exp(-1.0 / 3)
            g = np.log2(len(x))
            h = np.sqrt(6.0 * (x.size - 2) / ((x.size + 1.0) * (x.size + 3)))
            k = np.sqrt(x.shape[0] * x.ndim)
            ok1 = np.sqrt(n)  # n may be an array
            ok2 = np.maximum(x, 2 * np.pi)  # maximum takes a number beside an array
            ok3 = np.sqrt(self.size)  # may hold an array
            ok4 = np.sqrt(x.size * n)
            return a, c, d, g, h, k
        """
    )
    reported = sorted(line for line, name in found if name.endswith("(Python number)"))
    assert reported == [4, 5, 6, 7, 8, 9]
    ((_, hint),) = found[7, "numpy.log2(Python number)"]
    assert hint == "xp.asarray(len(x), dtype=xp.float64) (or the math module)"
    ((_, hint),) = found[4, "numpy.sqrt(Python number)"]
    assert hint == "xp.asarray(2 * np.pi) (or the math module)"
    # An integer becomes an integer array, which sqrt refuses: hence dtype=xp.float64.
    with pytest.raises(TypeError):
        xp.sqrt(xp.asarray(3))
    assert float(xp.log2(xp.asarray(8, dtype=xp.float64))) == 3.0


def test_the_diff_prepend_hint_takes_the_calls_axis() -> None:
    # np.diff(x, axis=0, prepend=0) was offered a prepend of shape (*x.shape[:-1], 1), for
    # axis=-1: concatenated along axis 0 it raised.
    found = findings(
        """
        import numpy as np
        a = np.diff(d, axis=0, prepend=0)
        b = np.diff(d, 1, 0, 0.0)
        c = np.diff(e, axis=-2, append=1.0)
        f = np.diff(e, axis=2, prepend=0)
        g = np.diff(e, axis=ax, append=1.0)
        h = np.diff(e, prepend=0, **kw)
        """
    )
    hints = {
        line: (found[(line, "numpy.diff(Python number)")][0][1] or "").partition(" (NumPy")[0]
        for line in range(3, 9)
    }
    assert hints == {
        3: "xp.full((1, *d.shape[1:]), 0, dtype=d.dtype)",
        4: "xp.full((1, *d.shape[1:]), 0.0, dtype=d.dtype)",
        5: "xp.full((*e.shape[:-2], 1, *e.shape[-1:]), 1.0, dtype=e.dtype)",
        6: "xp.full((*e.shape[:2], 1, *e.shape[3:]), 0, dtype=e.dtype)",
        7: "xp.full((*e.shape[:ax], 1, *e.shape[ax:][1:]), 1.0, dtype=e.dtype)",
        8: "xp.full((*e.shape[:-1], 1), 0, dtype=e.dtype) for axis=-1",  # **kw may hold it
    }
    # Each gives NumPy's values on the standard.
    data, data3 = np.arange(12).reshape(3, 4) ** 2, np.arange(24.0).reshape(2, 3, 4)
    d, e = xp.asarray(data), xp.asarray(data3)
    got = xp.diff(d, axis=0, prepend=xp.full((1, *d.shape[1:]), 0, dtype=d.dtype))
    assert np.array_equal(np.asarray(got), np.diff(data, axis=0, prepend=0))
    got = xp.diff(e, axis=-2, append=xp.full((*e.shape[:-2], 1, *e.shape[-1:]), 1.0, dtype=e.dtype))
    assert np.array_equal(np.asarray(got), np.diff(data3, axis=-2, append=1.0))
    got = xp.diff(e, axis=2, prepend=xp.full((*e.shape[:2], 1, *e.shape[3:]), 0, dtype=e.dtype))
    assert np.array_equal(np.asarray(got), np.diff(data3, axis=2, prepend=0))
    for ax in (0, 1, -1, -3):
        append = xp.full((*e.shape[:ax], 1, *e.shape[ax:][1:]), 1.0, dtype=e.dtype)
        got = xp.diff(e, axis=ax, append=append)
        assert np.array_equal(np.asarray(got), np.diff(data3, axis=ax, append=1.0))


def test_a_list_where_the_standard_takes_an_int_or_a_tuple_is_reported() -> None:
    # np.roll(x, [1, 1], axis=(0, 1)) runs on NumPy and raises on array-api-strict; a list
    # axis of a reduction or squeeze raises on both (NumPy 2 refuses it too).
    found = findings(
        """
        import numpy as np
        a = np.roll(x, [1, 1], axis=(0, 1))
        b = np.sum(x, axis=[0, 1])
        c = np.linalg.vector_norm(x, axis=[0, 1])
        d = np.squeeze(y, [0, 2])
        e = x.mean(axis=[0, 1])
        f = np.sum(x, axis=1)
        g = np.roll(x, 1, axis=(0, 1))
        """
    )
    reported = {
        line: (message, hint)
        for (line, name), [(message, hint)] in found.items()
        if name.endswith("(not a tuple)")
    }
    assert {line: hint for line, (_, hint) in reported.items()} == {
        3: "xp.roll(x, (1, 1), axis=(0, 1))",
        4: "axis=(0, 1)",
        5: "axis=(0, 1)",
        6: "xp.squeeze(y, (0, 2))",
        7: "axis=(0, 1)",
    }
    assert reported[3][0] == (
        "the standard's roll takes an int or a tuple of ints for shift, not a list ([1, 1])"
    )
    data = np.arange(24.0).reshape(2, 3, 4)
    x = xp.asarray(data)
    with pytest.raises(TypeError):
        xp.sum(x, axis=[0, 1])  # type: ignore[arg-type]
    got = xp.roll(x, (1, 1), axis=(0, 1))
    assert np.array_equal(np.asarray(got), np.roll(data, [1, 1], axis=(0, 1)))
    got = xp.squeeze(xp.ones((1, 3, 1)), (0, 2))
    assert np.array_equal(np.asarray(got), np.squeeze(np.ones((1, 3, 1)), (0, 2)))


def test_lists_in_two_places_get_hints_that_fix_both() -> None:
    # np.moveaxis(x, [0, 1], [1, 0]) got two findings whose hints each fixed one argument
    # (xp.moveaxis(x, [0, 1], (1, 0)), xp.moveaxis(x, (0, 1), [1, 0])): neither ran.
    found = findings(
        """
        import numpy as np
        a = np.moveaxis(x, [0, 1], [1, 0])
        b = np.roll(x, [1, 1], axis=[0, 1])
        c = np.moveaxis(x, [0, 1], destination=[1, 0])
        d = np.moveaxis(x, source=[0, 1], destination=[1, 0])
        e = np.moveaxis(x, [0, 1], [1, 0], **options)
        f = np.moveaxis(x, *axes)
        """
    )
    hints = {key: {hint for _, hint in found[key]} for key in found}
    assert len(found[3, "numpy.moveaxis(not a tuple)"]) == 2  # one for each list
    assert hints[3, "numpy.moveaxis(not a tuple)"] == {"xp.moveaxis(x, (0, 1), (1, 0))"}
    assert hints[4, "numpy.roll(not a tuple)"] == {"xp.roll(x, (1, 1), axis=(0, 1))"}
    # destination by keyword: passed by position, and a tuple, in both findings' hints.
    assert hints[5, "numpy.moveaxis(not a tuple)"] == {"xp.moveaxis(x, (0, 1), (1, 0))"}
    assert hints[5, "numpy.moveaxis(destination=)"] == {"xp.moveaxis(x, (0, 1), (1, 0))"}
    assert hints[6, "numpy.moveaxis(source=)"] == {"xp.moveaxis(x, (0, 1), (1, 0))"}
    assert hints[6, "numpy.moveaxis(destination=)"] == {"xp.moveaxis(x, (0, 1), (1, 0))"}
    assert hints[7, "numpy.moveaxis(not a tuple)"] == {"xp.moveaxis(x, (0, 1), (1, 0), **options)"}
    assert not [key for key in found if key[0] == 8]  # *axes: nothing known
    data = np.arange(24.0).reshape(2, 3, 4)
    got = xp.moveaxis(xp.asarray(data), (0, 1), (1, 0))
    assert np.array_equal(np.asarray(got), np.moveaxis(data, [0, 1], [1, 0]))


def test_a_list_where_the_standard_takes_a_python_number_is_reported() -> None:
    # np.full((2, 2), [1, 2]) broadcasts the list; array-api-strict and torch refuse it.
    found = findings(
        """
        import numpy as np
        a = np.full((2, 2), [1, 2])
        b = np.full_like(x, [1.0, 2.0, 3.0, 4.0])
        c = np.full(4, (1, 2, 3, 4), dtype=np.float32)
        d = np.linspace([0, 0], [1, 2], 5)
        e = np.full((2, 2), 1.5)
        f = np.full(n, -1)
        g = np.full_like(x, [1, 2], None, "K", True, (3, 2))
        h = np.full_like(x, [1, 2], shape=(3, 2))
        """
    )
    reported = {
        line: hints
        for (line, name), hints in found.items()
        if name.endswith("(not a number)") and line in (3, 4, 5)
    }
    assert {line: hint for line, [(_, hint)] in reported.items()} == {
        3: "xp.asarray(xp.broadcast_to(xp.asarray([1, 2]), (2, 2)), copy=True)",
        4: (
            "xp.asarray(xp.broadcast_to(xp.asarray([1.0, 2.0, 3.0, 4.0], dtype=x.dtype), "
            "x.shape), copy=True)"
        ),
        5: (
            "xp.asarray(xp.broadcast_to(xp.asarray((1, 2, 3, 4), dtype=np.float32), (4,)), "
            "copy=True)"
        ),
    }
    assert found[(9, "numpy.full_like(not a number)")][0][1] is None  # not x's shape
    assert found[(10, "numpy.full_like(not a number)")][0][1] is None
    assert sorted(found[(6, "numpy.linspace(not a number)")]) == [
        (
            "the standard's linspace takes a Python number for start, not a list or tuple "
            "([0, 0]); NumPy broadcasts it",
            None,
        ),
        (
            "the standard's linspace takes a Python number for stop, not a list or tuple "
            "([1, 2]); NumPy broadcasts it",
            None,
        ),
    ]
    # The hints give NumPy's values (and a writable array) on the standard.
    want = np.full((2, 2), [1, 2])
    got = xp.asarray(xp.broadcast_to(xp.asarray([1, 2]), (2, 2)), copy=True)
    assert np.asarray(got).dtype == want.dtype
    assert np.array_equal(np.asarray(got), want)
    got[0, 0] = 9
    ints = np.zeros((3, 4), dtype=np.int32)
    x = xp.asarray(ints)
    got = xp.asarray(
        xp.broadcast_to(xp.asarray([1.0, 2.0, 3.0, 4.0], dtype=x.dtype), x.shape), copy=True
    )
    want = np.full_like(ints, [1.0, 2.0, 3.0, 4.0])
    assert np.asarray(got).dtype == want.dtype
    assert np.array_equal(np.asarray(got), want)
    with pytest.raises(TypeError):
        xp.full((2, 2), [1, 2])  # type: ignore[arg-type]
