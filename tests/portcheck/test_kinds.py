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
