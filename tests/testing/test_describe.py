"""arrayport.testing._describe: the call a failure message names, arrays as dtype[shape]."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.errors import ConversionError
from arrayport.testing import assert_equivalent
from arrayport.testing._describe import describe_call, result_back_hint, unconverted_reason
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


# --- a result that cannot go back to the run's memory type ---


def _mean_all(a: Any) -> Any:
    import arrayport as ap

    xp = ap.namespace(a)
    return xp.mean(a)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_0d_result_pyclesperanto_cannot_hold_names_the_remedies_that_work() -> None:
    import arrayport as ap
    from tests.conftest import INSTALLED

    mean_all = ap.memory_type("numpy", whole_array=True)(_mean_all)
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    with pytest.raises(AssertionError) as caught:
        assert_equivalent(mean_all, x, memory_types=["numpy", "pyclesperanto", "torch"])
    text = str(caught.value)
    assert "on pyclesperanto: raised ConversionError: the result of _mean_all" in text
    assert "pyclesperanto cannot hold this one: in a test, leave pyclesperanto out, " in text
    assert "assert_equivalent(..., memory_types=['numpy', 'torch'])" in text
    assert "declare the function with output='numpy' and pass check_memory_type=False" in text
    # Both remedies pass (dask is left out: a reduction does not keep its block's shape).
    kept = [t for t in ("numpy", "torch", "jax", "tensorflow") if MemoryType(t) in INSTALLED]
    assert assert_equivalent(mean_all, x, memory_types=kept)
    to_numpy = mean_all.options(output="numpy")
    checked = assert_equivalent(
        to_numpy, x, memory_types=[*kept, "pyclesperanto"], check_memory_type=False
    )
    assert "pyclesperanto" in checked


def test_the_result_hint_is_only_for_a_result_that_cannot_go_back_to_the_run() -> None:
    back = ConversionError(
        "the result of f (output='input'): cannot convert ... to pyclesperanto",
        target="pyclesperanto",
    )
    targets = [MemoryType.NUMPY, MemoryType.PYCLESPERANTO, "array_api_strict"]
    hint = result_back_hint(back, MemoryType.PYCLESPERANTO, targets)
    assert "memory_types=['numpy', 'array_api_strict']" in hint
    assert result_back_hint(back, MemoryType.TORCH, targets) == ""  # another run's target
    argument = ConversionError("argument 'x' of f: cannot convert", target="pyclesperanto")
    assert result_back_hint(argument, MemoryType.PYCLESPERANTO, targets) == ""
    declared = ConversionError(
        "the result of f (output='pyclesperanto'): cannot convert", target="pyclesperanto"
    )
    assert result_back_hint(declared, MemoryType.PYCLESPERANTO, targets) == ""
    assert result_back_hint(ValueError("x"), MemoryType.PYCLESPERANTO, targets) == ""


def test_the_namespace_hint_keeps_a_type_whose_framework_is_not_installed(monkeypatch) -> None:
    # torch's backend imports array_api_compat.torch for its namespace: without torch, the
    # hint for a pyclesperanto run raised ModuleNotFoundError out of assert_equivalent.
    from arrayport.errors import NoNamespaceError
    from arrayport.testing import _describe

    real = _describe.get_backend

    class Absent:
        @staticmethod
        def namespace() -> None:
            raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(
        _describe, "get_backend", lambda mt: Absent if mt is MemoryType.TORCH else real(mt)
    )
    exc = NoNamespaceError("pyclesperanto has no array API namespace", memory_type="pyclesperanto")
    targets = [MemoryType.NUMPY, MemoryType.PYCLESPERANTO, MemoryType.TORCH]
    hint = _describe.no_namespace_hint(exc, MemoryType.PYCLESPERANTO, targets)
    assert "memory_types=['numpy', 'torch']" in hint
