"""Iteration is reported only on arrays known to have two or more axes: the standard
defines iterating a 1-D array (since 2024.12), not the others."""

from __future__ import annotations

import ast
import textwrap

import array_api_strict as xp
import numpy as np
import pytest

from arrayport.portcheck import check_source
from arrayport.portcheck._axes import min_axes


def iterations(source: str) -> list[int]:
    found = check_source(textwrap.dedent(source))
    return [f.line for f in found if f.name == "iteration"]


def test_iterating_a_1d_array_is_standard_and_not_reported() -> None:
    # scipy's _peak_finding (rows = np.arange(...); for col in np.nonzero(m)[0]) and
    # _measurements (zip(range(n), lo, hi)) were reported, all 1-D: the standard defines
    # iteration of a 1-D array as x[0], x[1], ... (2024.12), and array-api-strict allows it.
    assert [int(r) for r in xp.arange(3)] == [0, 1, 2]
    a, _b = xp.asarray([1.0, 2.0])
    assert float(a) == 1.0
    source = """
        import numpy as np
        def peaks(x, m, lo, hi):
            rows = np.arange(x.shape[0])
            for r in rows:
                print(r)
            a, b = np.asarray([1.0, 2.0])
            cols = [c for c in np.nonzero(m)[0]]
            for i, l, h in zip(range(3), np.searchsorted(x, lo), hi):
                pass
            y = np.asarray(x)
            df = pd.read_csv(m)
            for c in df.iloc[:, :]:  # not an array
                pass
            return list(y), tuple(y // 2), a, b, cols
        """
    assert iterations("import pandas as pd\n" + textwrap.dedent(source)) == []


def test_iterating_an_array_of_two_or_more_axes_is_reported() -> None:
    with pytest.raises(TypeError):
        list(xp.ones((2, 3)))
    source = """
        import numpy as np
        def f(x, a):
            g = np.zeros((2, 3))
            for row in g:
                pass
            p, q = np.eye(2)
            rows = [tuple(v) for v in (x.reshape(-1, 1) // a) % 3]
            col = np.arange(4)[:, None]
            u = list(col)
            m = np.asarray([[1, 2], [3, 4]]).astype(float)
            return list(m.T), list(np.atleast_2d(x)), list(g * 2), u
        """
    assert iterations(source) == [5, 7, 8, 10, 12]
    message = next(f for f in check_source(textwrap.dedent(source)) if f.name == "iteration")
    assert "1-D arrays only (since 2024.12" in message.message


def test_lower_bound_on_the_axes_of_expressions() -> None:
    def axes(expression: str, **names: int) -> int:
        node = ast.parse(expression, mode="eval").body
        resolve = {"np.zeros": "numpy.zeros", "np.eye": "numpy.eye", "np.abs": "numpy.abs"}
        resolve |= {"np.where": "numpy.where", "np.modf": "numpy.modf", "np": "numpy"}
        resolve |= {"np.newaxis": "numpy.newaxis", "np.reshape": "numpy.reshape"}
        return min_axes(
            node, lambda n: resolve.get(ast.unparse(n)), lambda name: names.get(name, 0)
        )

    assert axes("np.zeros((n, 3, 2))") == 3
    assert axes("np.zeros(n)") == 0  # n may be a tuple
    assert axes("np.reshape(x, (-1, 1))") == 2
    assert axes("x[:, np.newaxis]") == 2
    assert axes("x[None]") == 1
    assert axes("m[0]", m=3) == 2
    assert axes("m[i]", m=3) == 0  # i may be an array of any shape
    assert axes("np.abs(m) + 1", m=2) == 2
    assert axes("m @ v", m=2) == 0  # matmul drops axes
    assert axes("np.where(m)", m=2) == 0  # a tuple of arrays
    assert axes("np.modf(m)", m=2) == 0  # a tuple of arrays
    assert axes("np.eye(3).T") == 2
    assert axes("df.iloc[:, :]") == 2  # reported only where df is a known array


def test_generalized_ufuncs_drop_axes_and_their_results_are_not_reported() -> None:
    # np.matmul and np.vecdot were taken for elementwise ufuncs, keeping the most axes of
    # their arguments: iterating or unpacking their 1-D results was reported.
    def axes(expression: str, **names: int) -> int:
        node = ast.parse(expression, mode="eval").body
        return min_axes(
            node,
            lambda n: (
                "numpy." + ast.unparse(n).removeprefix("np.") if "np." in ast.unparse(n) else None
            ),
            lambda name: names.get(name, 0),
        )

    for name in ("matmul", "vecdot", "matvec", "vecmat"):
        if isinstance(getattr(np, name, None), np.ufunc):  # NumPy 2.2 added matvec, vecmat
            assert axes(f"np.{name}(m, v)", m=2, v=2) == 0, name
    assert axes("np.add(m, v)", m=2) == 2  # elementwise: broadcast
    source = """
        import numpy as np
        pts = np.zeros((3, 2))
        w = np.ones(2)
        proj = np.matmul(pts, w)
        for p in proj:
            print(p)
        a, b, c = np.vecdot(pts, pts)
        for row in np.add(pts, 1):
            pass
        """
    assert iterations(source) == [9]  # np.add(pts, 1) keeps two axes
    # What array-api-strict accepts: iterating and unpacking these 1-D results.
    pts, w = xp.zeros((3, 2)), xp.ones(2)
    assert len(list(xp.matmul(pts, w))) == 3
    _a, _b, c = xp.vecdot(pts, pts)
    assert float(c) == 0.0


def test_sorting_flattened_and_sparse_indices_are_not_two_dimensional() -> None:
    # sort/argsort(axis=None) flatten (1-D), and indices(sparse=True) is a tuple: iterating
    # them was reported as iterating "an array of two or more axes" (review, session 20).
    source = """
        import numpy as np
        def f(n, axis):
            x = np.zeros((n, 3))
            for v in np.sort(x, axis=None):
                pass
            for i in np.argsort(x, None):
                pass
            for j in x.argsort(axis=None):
                pass
            for k in np.indices((n, 3), sparse=True):
                pass
            for rows in np.sort(x, axis=-1):
                pass
            for grid in np.indices((n, 3)):
                pass
            for unknown in np.sort(x, axis=axis):
                pass
        """
    assert iterations(source) == [13, 15]


def test_T_of_an_array_of_three_or_more_axes_is_reported() -> None:
    # x.T of np.zeros((3, 4, 5)) was not reported; array-api-strict refuses .T beyond 2-D.
    found = check_source(
        textwrap.dedent(
            """
            import numpy as np
            x = np.zeros((3, 4, 5))
            y = x.T
            z = np.ones((2, 3)).T + x[0].T
            def f(a):
                return a.T
            """
        )
    )
    assert [(f.line, f.name) for f in found] == [(4, ".T")]
    assert found[0].replacement == (
        "xp.permute_dims(x, tuple(reversed(range(x.ndim)))) (x.mT swaps only the last two axes)"
    )
    x = xp.zeros((3, 4, 5))
    with pytest.raises(ValueError, match="2 dimensions"):
        _ = x.T
    y = xp.permute_dims(x, tuple(reversed(range(x.ndim))))
    assert y.shape == (5, 4, 3)
    n = np.arange(24).reshape(2, 3, 4)
    assert np.array_equal(np.asarray(xp.permute_dims(xp.asarray(n), (2, 1, 0))), n.T)
