"""_stack_rows: the per-slice results of a slice_by_slice call placed as unsliced results
of the same shape are (audit round 3, finding 2)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap


def _names(result: Any) -> list[Any]:
    return [
        [type(a).__name__ for a in r] if isinstance(r, list) else type(r).__name__ for r in result
    ]


def test_arrays_in_per_slice_lists_go_where_output_says() -> None:
    # Only the top level was placed: the arrays in one list per slice stayed numpy.
    torch = pytest.importorskip("torch")

    def crop(s: Any) -> Any:  # crops of data-dependent size: one list per slice
        return [s[: 1 + int(s[0, 0]) // 12]]

    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    unsliced = ap.memory_type("numpy", output="torch")(crop)(x[1])
    assert _names([unsliced]) == [["Tensor"]]
    sliced = ap.memory_type("numpy", slice_by_slice=True, output="torch")(crop)(x)
    assert _names(sliced) == [["Tensor"], ["Tensor"]]
    assert type(sliced) is list  # the per-slice mark (_split.Rows) is taken off
    np.testing.assert_array_equal(sliced[1][0].numpy(), x[1][:2])

    # output="input" with a torch caller: [array, None] per slice comes back as tensors.
    pair = ap.memory_type("numpy", slice_by_slice=True, output="input")(lambda s: [s, None])
    assert _names(pair(torch.from_numpy(x))) == [["Tensor", "NoneType"]] * 2
    # One item of a tuple result holding one value per slice: placed as a tuple's item.
    maybe = ap.memory_type("numpy", slice_by_slice=True, output="torch")(
        lambda s: (s.sum(), None if s[0, 0] < 12 else s, [s])
    )
    sums, masks, lists = maybe(np.concatenate([x, x[:1]]))
    assert isinstance(sums, torch.Tensor)
    assert _names(masks) == ["NoneType", "Tensor", "NoneType"]
    # Lists inside a tuple's item are left, as an unsliced tuple's nested lists are.
    # (one shape per slice: a list of one stack, inside the tuple, left numpy).
    assert type(lists) is list
    assert isinstance(lists[0], np.ndarray)


def test_per_slice_results_that_are_not_arrays_and_declared_output_pass_as_they_are() -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    numbers = ap.memory_type("numpy", slice_by_slice=True, output="numpy")(
        lambda s: {"n": float(s.sum())}
    )
    assert numbers(x) == [{"n": 66.0}, {"n": 210.0}]
    kept = ap.memory_type("numpy", slice_by_slice=True)(lambda s: [s[: 1 + int(s[0, 0]) // 12]])
    assert [type(r[0]) for r in kept(x)] == [np.ndarray, np.ndarray]


def test_a_call_that_ran_once_is_not_taken_for_a_sliced_one() -> None:
    # Per-slice lists were told by their length: a slice_by_slice function given its
    # stack inside a list (so run once) whose list result was as long as the stack had
    # its nested arrays moved (n=2: numpy; n=3: torch, as the unsliced call leaves them).
    torch = pytest.importorskip("torch")

    @ap.memory_type("torch", slice_by_slice=True)
    def pairs(stacks: Any) -> Any:
        s = stacks[0]
        return [[s[0], s[1]], None]

    x = np.arange(32, dtype=np.float32).reshape(2, 4, 4)
    for stack in (x, np.concatenate([x, x[:1]])):
        out = pairs([stack])
        assert type(out) is list
        assert [type(a) for a in out[0]] == [torch.Tensor, torch.Tensor]


# --- audit round 4: the dtype policy of per-slice results ------------------------------


def _halve_if_bright(x: Any) -> Any:
    return x.astype(np.float64) / 2 if x.max() > 5 else None  # float64, or None


_DARK_FIRST = np.array([[[0, 1], [2, 3]], [[12, 14], [16, 18]]], dtype=np.uint8)


def test_per_slice_results_are_given_the_dtype_policy_of_an_unsliced_result() -> None:
    # Per-slice lists skipped the policy: [None, float64] where the unsliced call, and
    # the sliced one whose slices all restack, give uint8 (PRESERVE_INPUT).
    sliced = ap.memory_type("numpy", slice_by_slice=True)(_halve_if_bright)
    got = sliced(_DARK_FIRST)
    assert got[0] is None
    assert got[1].dtype == np.uint8
    np.testing.assert_array_equal(got[1], [[6, 7], [8, 9]])
    assert sliced(_DARK_FIRST + 10).dtype == np.uint8  # restacked: as before
    fixed = sliced.options(dtype_conversion=ap.DtypeConversion.FLOAT32)(_DARK_FIRST)
    assert fixed[1].dtype == np.float32
    # NATIVE_OUTPUT and output="declared" keep the function's dtype, as unsliced.
    native = sliced.options(dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)(_DARK_FIRST)
    assert native[1].dtype == np.float64
    # In a tuple result, the primary output's per-slice results only.
    pair = ap.memory_type("numpy", slice_by_slice=True)(
        lambda x: (_halve_if_bright(x), [x.astype(np.float64)] if x.max() > 5 else None)
    )(_DARK_FIRST)
    assert pair[0][1].dtype == np.uint8
    assert pair[1][1][0].dtype == np.float64


def test_per_slice_float64_results_reach_jax_in_the_inputs_dtype() -> None:
    # A float32 input's float64 slices were placed into jax before the policy: refused
    # without 64-bit mode, where the unsliced call gives float32.
    jax = pytest.importorskip("jax")
    if jax.config.jax_enable_x64:
        pytest.skip("64-bit mode on: jax holds float64")
    sliced = ap.memory_type("numpy", slice_by_slice=True, output="jax")(_halve_if_bright)
    got = sliced(_DARK_FIRST.astype(np.float32))
    assert got[0] is None
    assert isinstance(got[1], jax.Array)
    assert got[1].dtype == np.float32
    np.testing.assert_array_equal(np.asarray(got[1]), [[6, 7], [8, 9]])


def test_minmax_is_refused_for_per_slice_results_that_were_not_restacked() -> None:
    minmax = ap.memory_type("numpy", slice_by_slice=True, scaling=ap.Scaling.MINMAX)
    with pytest.raises(ap.DtypeConversionError, match=r"Scaling\.MINMAX .* slice 1 gave nd"):
        minmax(_halve_if_bright)(_DARK_FIRST)
    # Restacked results are stretched together, as before; no array: nothing to stretch.
    stack = minmax(_halve_if_bright)(_DARK_FIRST + 10)
    assert (stack.min(), stack.max()) == (0, 255)
    assert minmax(lambda x: None)(_DARK_FIRST) == [None, None]
