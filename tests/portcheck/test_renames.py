"""NumPy's names for standard functions (np.concatenate, np.amax, np.power, np.transpose)
have their arguments checked against the standard function's signature, as a standard
name's are; the hints run under the standard."""

from __future__ import annotations

import inspect
import textwrap

import array_api_strict as xp
import numpy as np
import pytest

from arrayport.portcheck import check_source, standard
from arrayport.portcheck._hints import FUNCTION_HINTS
from arrayport.portcheck._numpy_signatures import numpy_parameters
from arrayport.portcheck._renames import RENAMES


def findings(source: str) -> dict[tuple[int, str], tuple[str, str | None]]:
    """(line, name) -> (message, replacement) of each finding in ``source``."""
    found = check_source(textwrap.dedent(source))
    return {(f.line, f.name): (f.message, f.replacement) for f in found}


#: What NumPy and the standard call the same positional parameter.
_SAME = {"a": "x", "obj": "x"}


@pytest.mark.parametrize(("numpy_name", "name"), sorted(RENAMES.items()))
def test_each_rename_means_the_same_at_each_standard_position(numpy_name: str, name: str) -> None:
    # Checking np.identity(n, dtype) as eye(n_rows, n_cols) would pass its dtype as n_cols:
    # a rename is only listed where NumPy's positional parameters are the standard's.
    sig = standard().signatures[name]
    ours = numpy_parameters(f"numpy.{numpy_name}")
    assert ours is not None
    theirs = [
        p.name
        for p in inspect.signature(getattr(xp, name)).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert sig.max_positional == len(theirs)
    assert [_SAME.get(p, p) for p in ours[: len(theirs)]] == [_SAME.get(p, p) for p in theirs]
    hint = FUNCTION_HINTS[numpy_name]
    assert hint.startswith((f"xp.{name}", "xp.round without")), hint  # the name's own hint


def test_positional_axis_and_out_of_a_renamed_function_are_reported() -> None:
    # np.concatenate((a, a), 1), np.power(t, 3, t) and np.amax(a, 0, initial=0.0) were
    # reported by name only (use xp.concat, xp.pow, xp.max): followed literally, the hints
    # raise TypeError or, without the out, leave t unchanged (wrong values after it).
    found = findings(
        """
        import numpy as np
        c = np.concatenate((a, a), 1)
        np.power(t, 3, t)
        m = np.amax(a, 0, keepdims=True, initial=0.0)
        np.true_divide(temp, sigma, temp)
        v = np.concatenate(parts, out=vertices)
        """
    )
    message, hint = found[(3, "numpy.concatenate(positional)")]
    assert message == (
        "numpy.concatenate is the standard's concat, which takes at most 1 positional "
        "argument(s); 2 given"
    )
    assert hint == "keywords after the first argument (axis=)"
    message, hint = found[(4, "numpy.power(positional)")]
    assert "NumPy's 3rd argument, out, is not a parameter of the standard's pow" in message
    assert hint == (
        "t[...] = xp.pow(...) (jax and tensorflow arrays are immutable: there, t = xp.pow(...))"
    )
    assert found[(5, "numpy.amax(positional)")][1] == (
        "keywords after the first argument (axis=, keepdims=)"
    )
    assert found[(5, "numpy.amax(initial=)")][1] == (
        "xp.maximum(xp.max(x, axis=...), initial) for non-empty x (NumPy's initial also is "
        "the result for an empty x)"
    )
    assert found[(6, "numpy.true_divide(positional)")][1] == (
        "temp[...] = xp.divide(...) (jax and tensorflow arrays are immutable: there, "
        "temp = xp.divide(...))"
    )
    assert found[(7, "numpy.concatenate(out=)")][1] == (
        "vertices[...] = xp.concat(...) (jax and tensorflow arrays are immutable: there, "
        "vertices = xp.concat(...))"
    )
    # The hints, followed, give NumPy's values under the standard; the old ones raise.
    a = np.arange(4.0).reshape(2, 2)
    xa = xp.asarray(a)
    assert np.array_equal(np.asarray(xp.concat((xa, xa), axis=1)), np.concatenate((a, a), 1))
    with pytest.raises(TypeError):
        xp.concat((xa, xa), 1)  # type: ignore[misc]
    m = xp.maximum(xp.max(xa - 10, axis=0, keepdims=True), 0.0)
    assert np.array_equal(np.asarray(m), np.amax(a - 10, 0, keepdims=True, initial=0.0))
    t = np.full(2, 2.0)
    np.power(t, 3, t)
    xt = xp.full(2, 2.0)
    xt[...] = xp.pow(xt, 3)
    assert np.asarray(xt).tolist() == t.tolist() == [8.0, 8.0]
    vertices = np.empty((4, 2))
    np.concatenate([a, a], out=vertices)
    xv = xp.empty((4, 2))
    xv[...] = xp.concat([xa, xa])
    assert np.array_equal(np.asarray(xv), vertices)


def test_renamed_functions_get_the_standard_functions_other_checks() -> None:
    found = findings(
        """
        import numpy as np
        a = np.transpose(M, [0, 2, 1])
        b = np.transpose(M)
        c = np.cumsum(M, 0)
        d = np.product(M, 0)
        e = np.round_(M, 1)
        f = np.concatenate(arrays=parts)
        g = np.concatenate((i, j), dtype=np.float32)
        """
    )
    assert found[(3, "numpy.transpose(not a tuple)")][1] == "xp.permute_dims(M, (0, 2, 1))"
    # np.transpose(M) reverses the axes: its name's hint says so, not "too few arguments".
    assert [n for line, n in found if line == 4] == ["numpy.transpose"]
    assert found[(5, "numpy.cumsum(positional)")][1] == (
        "keywords after the first argument (axis=, dtype=, include_initial=)"
    )
    # np.product and np.round_, which NumPy 2 removed, are np.prod's and np.round's.
    assert found[(6, "numpy.product(positional)")][1] == (
        "keywords after the first argument (axis=, dtype=, keepdims=)"
    )
    message, hint = found[(7, "numpy.round_(positional)")]
    assert "NumPy's 2nd argument, decimals, is not a parameter of the standard's round" in message
    assert hint is not None
    assert hint.startswith("floating x: xp.round(x * 10**decimals) / 10**decimals")
    assert found[(8, "numpy.concatenate(arrays=)")][1] == "xp.concat(parts)"
    assert found[(9, "numpy.concatenate(dtype=)")][1] == (
        "xp.concat([xp.astype(a, dtype) for a in arrays], axis=...) (NumPy casts each array "
        "to dtype first)"
    )
    i, j = np.arange(3), np.array([0.5, 1.5])
    arrays = [xp.asarray(i), xp.asarray(j)]
    got = xp.concat([xp.astype(a, xp.float32) for a in arrays], axis=0)
    assert got.dtype == xp.float32
    assert np.array_equal(np.asarray(got), np.concatenate((i, j), dtype=np.float32))
    m = np.arange(24.0).reshape(2, 3, 4)
    xm = xp.asarray(m)
    assert np.array_equal(np.asarray(xp.permute_dims(xm, (0, 2, 1))), np.transpose(m, [0, 2, 1]))
    assert np.array_equal(np.asarray(xp.cumulative_sum(xm, axis=0)), np.cumsum(m, 0))
    assert np.array_equal(np.asarray(xp.prod(xm, axis=0)), np.prod(m, 0))
    parts = [xm, xm]
    assert xp.concat(parts).shape == (4, 3, 4)
