"""Tests of ndarray method calls checked as NumPy's function with the array first, and of
the methods NumPy 2 removed."""

from __future__ import annotations

import textwrap

import array_api_strict as xp
import numpy as np

from arrayport.portcheck import check_source, standard


def findings(source: str) -> dict[tuple[int, str], tuple[str, str | None]]:
    """(line, name) -> (message, replacement) of each finding in ``source``."""
    found = check_source(textwrap.dedent(source))
    return {(f.line, f.name): (f.message, f.replacement) for f in found}


def test_method_arguments_are_checked_as_the_functions() -> None:
    found = findings(
        """
        import numpy as np
        x = np.asarray(img)
        a = x.sum(where=m)
        b = x.max(initial=0)
        c = x.mean(dtype=np.float64)
        d = x.std(0, None, None, 1)
        e = x.sum(dtype="float64")
        """
    )
    message, hint = found[(4, ".sum(where=)")]
    assert message == ("x.sum(...) is numpy.sum(x, ...): the standard's sum has no where parameter")
    assert hint == "xp.sum(xp.where(where, x, 0), axis=...)"
    assert found[(5, ".max(initial=)")][1] == (
        "xp.maximum(xp.max(x, axis=...), initial) for non-empty x (NumPy's initial also is "
        "the result for an empty x)"
    )
    assert found[(6, ".mean(dtype=)")][1] == (
        "xp.mean(xp.astype(x, dtype), axis=...) (NumPy computes in dtype)"
    )
    message, hint = found[(7, ".std(positional)")]
    assert "NumPy's 5th argument, ddof, is not a parameter of the standard's std" in message
    assert hint is not None
    assert "correction=" in hint
    assert found[(8, ".sum(dtype='float64')")][1] == "dtype=xp.float64"
    # The methods are still reported themselves.
    assert {(4, ".sum"), (5, ".max"), (6, ".mean"), (7, ".std")} <= set(found)


def test_method_argument_hints_give_numpys_values() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(3, 4)).astype(np.float32)
    mask = rng.random((3, 4)) > 0.5
    x, m = xp.asarray(data), xp.asarray(mask)
    pairs = [
        (xp.sum(xp.where(m, x, 0), axis=0), data.sum(axis=0, where=mask)),
        (xp.maximum(xp.max(x, axis=0), 0.5), data.max(axis=0, initial=0.5)),
        (
            xp.minimum(xp.min(xp.where(m, x, 0.2), axis=0), 0.2),
            data.min(0, where=mask, initial=0.2),
        ),
        (xp.mean(xp.astype(x, xp.float64), axis=0), data.mean(axis=0, dtype=np.float64)),
        (xp.std(x, axis=0, correction=1), data.std(0, None, None, 1)),
    ]
    for ported, expected in pairs:
        assert np.allclose(np.asarray(ported), expected, rtol=1e-6, atol=0)
    # Without the arguments, the plain hints give other values.
    assert not np.allclose(np.asarray(xp.std(x, axis=0)), data.std(0, None, None, 1))


def test_method_argument_findings_the_methods_own_hint_gives_are_not_repeated() -> None:
    found = findings(
        """
        import numpy as np
        x = np.asarray(img)
        a = x.round(2)
        b = x.take(i, 1)
        c = x.squeeze()
        d = x.sum(axis=0, keepdims=True)
        e = x.clip(0, 1)
        f = x.std(ddof=1)
        """
    )
    assert {name for _, name in found} == {".round", ".take", ".squeeze", ".sum", ".clip", ".std"}


def test_methods_numpy_2_removed_are_reported() -> None:
    std = standard()
    assert std.array_only_methods & std.array_methods >= {"ptp", "itemset", "newbyteorder"}
    found = findings(
        """
        import numpy as np
        x = np.asarray(img, dtype=np.float64)
        r = x.ptp(axis=0)
        s = x.ptp()
        x.itemset(0, 1.0)
        x.itemset((1, 2), 3.0)
        y = x.newbyteorder()
        """
    )
    assert found[(4, ".ptp")][1] == "xp.max(x, axis=0) - xp.min(x, axis=0)"
    assert found[(5, ".ptp")][1] == "xp.max(x) - xp.min(x)"
    hint = found[(6, ".itemset")][1]
    assert hint is not None
    assert "flattened" in hint
    assert found[(7, ".itemset")][1] == "x[1, 2] = 3.0"
    assert (8, ".newbyteorder") in found


def test_partition_methods_with_a_negative_or_sequence_kth() -> None:
    # a.partition(-2) was told x = xpx.partition(x, kth), whose kth must be in [0, n).
    import array_api_extra as xpx
    import array_api_strict as xp
    import numpy as np

    from arrayport.portcheck import check_source

    source = (
        "import numpy as np\na = np.zeros(4)\na.partition(-2)\ni = a.argpartition([0, 1])\n"
        "j = a.argpartition(k)\n"
    )
    found = {(f.line, f.name): f.replacement for f in check_source(source)}
    assert found[(3, ".partition")] == (
        "a = xpx.partition(a, a.shape[-1] - 2) (ndarray.partition works in place; "
        "array-api-extra; its kth is in [0, n): NumPy's negative kth counts from the end)"
    )
    assert found[(4, ".argpartition")] == (
        "xp.argsort(a, axis=-1) (a full sort is a partition at every kth)"
    )
    assert (found[(5, ".argpartition")] or "").startswith("xpx.argpartition(a, kth) (its kth")
    v = np.array([5.0, 1.0, 4.0, 2.0])
    w = v.copy()
    w.partition(-2)
    a = xp.asarray(v)
    a = xpx.partition(a, a.shape[-1] - 2)
    assert float(a[2]) == w[2] == 4.0
