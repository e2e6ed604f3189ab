"""Tests of what an expression evaluates to: arrays, objects, other libraries' modules."""

from __future__ import annotations

import ast
import textwrap

import pytest

from arrayport.portcheck import standard
from arrayport.portcheck._kinds import ExpressionKinds
from arrayport.portcheck._scopes import ScopeTracker

_IMPORTS = """
    import json, numpy as np, pandas as pd, torch
    from scipy import ndimage
    from scipy.spatial.distance import cdist
    from scipy.spatial import KDTree
    df = pd.read_csv(path)
    """


def _tracker() -> ScopeTracker:
    tree = ast.parse(textwrap.dedent(_IMPORTS))
    tracker = ScopeTracker(standard())
    tracker.collect(tree)
    tracker.visit(tree)
    return tracker


def _expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


@pytest.mark.parametrize(
    "text",
    ["json", "json.dumps", "ndimage", "df", 'df["a"]', "pd.read_csv(f)", 'pd.read_csv(f)["a"]'],
)
def test_other_libraries_modules_and_objects_are_foreign_receivers(text: str) -> None:
    assert _tracker()._foreign_receiver(_expr(text))


@pytest.mark.parametrize(
    "text",
    ["cdist(a, b)", "ndimage.gaussian_filter(img, 1)", "torch.zeros(3).numpy()", "x", "np.ones(3)"],
)
def test_array_library_results_are_not_foreign_receivers(text: str) -> None:
    # cdist(...).min(axis=0) was skipped like json.dumps(...): a scipy result is an array.
    assert not _tracker()._foreign_receiver(_expr(text))


def test_a_class_of_an_array_library_gives_an_object() -> None:
    tracker = _tracker()
    assert tracker._kind(_expr("KDTree(x)")) == "object"
    assert tracker._foreign_receiver(_expr("KDTree(x)"))
    assert tracker._is_array_expr(_expr("ndimage.gaussian_filter(img, 1).astype(int)"))
    assert not tracker._is_array_expr(_expr("pd.read_csv(f).astype(int)"))


def test_the_mixin_needs_its_subclass() -> None:
    with pytest.raises(NotImplementedError):
        ExpressionKinds().resolve(_expr("np"))


def test_scipy_sparse_arrays_and_matrices_are_not_ndarrays() -> None:
    # sp.sparse.csc_array(...).diagonal(), .sum(axis=1), .max() and .astype(float) were
    # reported as ndarray methods (3 false alarms in networkx's algebraicconnectivity):
    # only a capitalised callee was taken for a class.
    from arrayport.portcheck import check_source

    source = """
        import numpy as np
        import scipy as sp
        from scipy import sparse
        from scipy.sparse import csr_array as C, linalg as sla

        def f(x, n):
            L = sp.sparse.csc_array([[2.0, -1.0], [-1.0, 2.0]])
            d = L.diagonal(); s = L.sum(axis=1); m = L.max(); g = L.astype(float)
            D = sp.sparse.dia_array((x, [0]), shape=(n, n)).tocsc()
            e = D.diagonal() + sparse.kron(D, D).T.sum(axis=0) + C(x).mean()
            L = D @ L @ D
            h = L.diagonal()
            y = sla.spsolve(D, x)
            z = y.astype(float)
            Z = D.toarray()
            q = Z.sum(0)
            I, J, V = sparse.find(D)
            G = sp.sparse._sputils.convert_pydata_sparse_to_scipy(x)  # may return x itself
            g = G.astype(int)
            return V.astype(int), sp.sparse.csr_array([[1.0]]).max()
        """
    found = [(f.line, f.name) for f in check_source(textwrap.dedent(source))]
    # spsolve's result, toarray()'s and find's are ndarrays: still reported; what a private
    # helper returns is not known.
    expected = [(15, ".astype"), (17, ".sum"), (17, ".sum(positional)"), (20, ".astype")]
    assert found == [*expected, (21, ".astype")]
