"""arrayport.testing._describe: the call a failure message names, arrays as dtype[shape]."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.testing import assert_equivalent
from arrayport.testing._describe import describe_call, unconverted_reason
from tests.conftest import skip_unless_installed


def test_arrays_are_shown_as_dtype_and_shape_keywords_by_name() -> None:
    x, w = np.zeros((3, 4), np.float32), np.ones(3)
    assert describe_call([x, 2.5, "mean"], {"w": w, "axis": 0}) == (
        "float32[3, 4], 2.5, 'mean', w=float64[3], axis=0"
    )
    assert describe_call([], {}) == ""


def test_lists_tuples_and_dicts_are_shown_item_by_item_one_level_down() -> None:
    labels, x = np.array(["a", "b", "c"]), np.arange(3.0)
    pair = collections.namedtuple("pair", "lo hi")
    assert describe_call([[labels, x]], {}) == "[str32[3], float64[3]]"
    assert describe_call([(x,), pair(x, 1)], {"d": {"k": x}}) == (
        "(float64[3],), (float64[3], 1), d={'k': float64[3]}"
    )
    assert describe_call([[[x]]], {}) == "[[array([0., 1., 2.])]]"  # deeper: a repr, cut short
    assert describe_call([[x] * 8], {}) == (
        "[" + ", ".join(["float64[3]"] * 6) + ", ... (8 items)]"
    )
    assert describe_call(["y" * 100], {}) == "'" + "y" * 39


def _x_plus_one_on_torch(x: Any, *, w: Any) -> Any:
    return x * w + (1 if "torch" in type(w).__module__ else 0)


@skip_unless_installed(MemoryType.TORCH)
def test_a_failure_names_keyword_arrays() -> None:
    # "f(float64[3]) on torch" left out w=float64[3].
    with pytest.raises(
        AssertionError,
        match=r"^_x_plus_one_on_torch\(float64\[3\], w=float64\[3\]\) on torch: the result",
    ):
        assert_equivalent(_x_plus_one_on_torch, np.arange(3.0), w=np.ones(3), memory_types="torch")


@skip_unless_installed(MemoryType.TORCH)
def test_a_failure_names_the_arrays_in_a_list_argument() -> None:
    # The list was shown as its repr cut at 40 characters: "f([array(['a', 'b', 'c'], dt".
    def second(pair: Any) -> Any:
        return pair[1] * 2 + (1 if "torch" in type(pair[1]).__module__ else 0)

    with pytest.raises(
        AssertionError, match=r"second\(\[str32\[3\], float64\[3\]\]\) on torch: the result"
    ):
        assert_equivalent(second, [np.array(["a", "b", "c"]), np.arange(3.0)], memory_types="torch")


# --- why a memory type got no array (an audit of the kit, round 5) ---


def test_a_numpy_scalar_argument_is_named_with_the_remedy() -> None:
    # Said "only arrays at the top level or one level down ... are" converted, of an
    # argument at the top level: numpy scalars are no arrays, and dispatch passes them as is.
    with pytest.raises(
        AssertionError,
        match=r"numpy \(no array argument was converted to it: args\[0\] \(float64\) is a "
        r"numpy scalar, not an array; numpy scalars are not converted .*: pass "
        r"np\.asarray\(x\), a 0-d array\)",
    ):
        assert_equivalent(lambda a: a * 2, np.float64(3.0), memory_types=["numpy"])
    said = unconverted_reason([[np.float32(1), 2.0]], {"w": np.int64(2)})
    assert said.startswith(
        "no array argument was converted to it: args[0][0] (float32), w= (int64) are numpy scalars"
    )
    assert "np.asarray(x)" in said
    # Arrays where dispatch does not look: as before.
    assert "those in dicts or deeper" in unconverted_reason([{"k": np.float64(1)}], {})
