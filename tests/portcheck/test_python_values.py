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
    assert hint.startswith("xp.full((*x.shape[:-1], 1), 0.0, dtype=x.dtype) for axis=-1")
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
