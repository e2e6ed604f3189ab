"""Tests of what port-check takes NumPy calls to return, and of the namespaces it knows."""

from __future__ import annotations

import textwrap
import warnings

from arrayport.portcheck import check_source
from tests.portcheck.test_scopes import kinds


def names(source: str) -> list[tuple[int, str]]:
    return [(f.line, f.name) for f in check_source(textwrap.dedent(source))]


def test_non_array_results_are_not_arrays() -> None:
    # x.tolist() is a list, x.item() a Python scalar, np.array2string(x) a str: their
    # .sort(), .copy(), .real and .partition are list's, float's and str's.
    source = """
        import numpy as np
        def ranked(values):
            x = np.asarray(values)
            items = x.tolist()
            items.sort()
            backup = items.copy()
            first = x[0].item()
            raw = x.tobytes().hex()
            text = np.array2string(x)
            head, _, tail = text.partition("[")
            shape = np.shape(x)
            return backup, first.real, shape.count(1)
        """
    assert names(source) == [
        (5, ".tolist"),
        (8, ".item"),
        (9, ".tobytes"),
        (10, "numpy.array2string"),
        (12, "numpy.shape"),
    ]


def test_a_list_of_arrays_is_not_an_array_but_its_elements_are() -> None:
    source = """
        import numpy as np
        pieces = np.array_split(x, 3)
        pieces.sort(key=len)
        parts = np.split(x, 2)
        parts[0].sort()
        first, *rest = np.split(x, 2)
        first.sort()
        rest.sort(key=len)
        for piece in np.array_split(x, 3):
            piece.sort()
        """
    assert names(source) == [
        (3, "numpy.array_split"),
        (5, "numpy.split"),
        (6, ".sort"),
        (7, "numpy.split"),
        (8, ".sort"),
        (10, "numpy.array_split"),
        (11, ".sort"),
    ]


def test_kinds_of_sequences_of_arrays() -> None:
    found = kinds(
        """
        import numpy as np
        pieces = np.split(x, 3)
        a, b = np.linalg.eigh(m)
        n = x.nonzero()
        y = np.zeros(3)
        s = y.tolist()
        probe(pieces, a, b, n, y, s)
        """
    )
    assert found == [
        {"pieces": "arrays", "a": "array", "b": "array", "n": "arrays", "y": "array", "s": None}
    ]


def test_memoryview_and_bytearray_attributes_are_not_taken_for_ndarrays() -> None:
    source = """
        import numpy as np
        def frame_sizes(frames):
            for buf in frames:
                mv = memoryview(buf)
                n = mv.nbytes // mv.itemsize
                header = mv.tobytes()[:4]
                strides = mv.strides
                listed = mv.tolist()
            z = np.zeros(3)
            return z.nbytes
        """
    assert names(source) == [(11, ".nbytes")]


def test_the_namespaces_extensions_are_not_array_methods() -> None:
    # port-check's own replacements for a.diagonal() and a.trace() were reported.
    source = """
        import numpy as np
        from array_api_compat import array_namespace
        def f(a):
            xp = array_namespace(a)
            return xp.linalg.diagonal(a), xp.linalg.trace(a), xp.fft.fft(a)
        def g(a, xp):
            return xp.linalg.diagonal(a)
        class M:
            def h(self, a):
                return self._xp.linalg.trace(a)
        def arrays(a):
            b = np.zeros((2, 2))
            return b.diagonal(), a.trace()
        """
    assert names(source) == [(14, ".diagonal"), (14, ".trace")]


def test_scanning_removed_numpy_names_prints_no_warning() -> None:
    source = 'import numpy as np\na = np.zeros(3, dtype=np.object)\np = re.compile("\\\\d")\n'
    assert "\\d" in source
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = names(source)
    assert found == [(2, "numpy.object")]


def test_results_of_ndarray_only_methods_are_arrays_unless_from_another_module() -> None:
    source = """
        import pandas as pd
        a = x.astype(int).flatten()
        a.sort()
        b = pd.read_csv(f).astype(int)
        b.sort()
        """
    assert names(source) == [(3, ".astype"), (3, ".flatten"), (4, ".sort")]


def test_tuples_that_numpy_returns_by_their_arguments_are_not_arrays() -> None:
    # idx = np.where(mask) is a tuple: len(idx) and rows, cols = idx were reported with
    # hints (idx.shape[0], xp.unstack(idx)) that raise on a tuple.
    source = """
        import numpy as np
        def f(img, mask, a, b):
            idx = np.where(mask)
            rows, cols = idx
            n = len(idx)
            g = np.gradient(img)
            gy, gx = g
            vals, counts = u = np.unique(img, return_counts=True)
            m = len(u)
            p, q = np.atleast_2d(a, b)
            k = len(p)
            h = np.gradient(img, axis=0)
            r0, r1 = h[:, None]
            w = np.where(mask, a, b)
            probe(idx, rows, g, u, p)
            return len(w)
        """
    assert names(source) == [
        (4, "numpy.where(too few arguments)"),
        (7, "numpy.gradient"),
        (9, "numpy.unique"),
        (11, "numpy.atleast_2d"),
        (12, "len()"),  # p, unpacked from the list, is an array
        (13, "numpy.gradient"),
        # One axis: gradient returns one array, and h[:, None] has two axes or more (h itself
        # may be 1-D, and iterating a 1-D array is standard).
        (14, "iteration"),
        (17, "len()"),
    ]
    assert kinds(source) == [
        {"idx": "arrays", "rows": "array", "g": None, "u": "arrays", "p": "array"}
    ]


def test_normalized_axes_are_not_arrays() -> None:
    # normalize_axis_tuple returns a tuple: len(ax) and for a in ax were reported as an
    # array's (numpy's _function_base_impl 357, 1230, 3857).
    source = """
        import numpy as np
        import numpy._core.numeric as _nx
        from numpy.lib.array_utils import normalize_axis_index
        def f(axis, m):
            ax = np.lib.array_utils.normalize_axis_tuple(0, 2)
            axes = _nx.normalize_axis_tuple(axis, m.ndim)
            i = normalize_axis_index(axis, m.ndim)
            probe(ax, axes, i)
            return len(ax), len(axes), [a for a in axes]
        """
    assert [name for _, name in names(source) if name in ("len()", "iteration")] == []
    assert kinds(source) == [{"ax": None, "axes": None, "i": None}]
