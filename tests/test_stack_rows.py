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
    # NATIVE_OUTPUT keeps the function's dtype, as unsliced.
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


# --- audit of stacks: per-slice results as a loop of the unsliced function -------------


def _described(value: Any) -> Any:
    """Each array as (type, dtype, values); containers item by item."""
    if isinstance(value, (list, tuple)):
        return type(value).__name__, [_described(v) for v in value]
    if isinstance(value, dict):
        return {k: _described(v) for k, v in value.items()}
    if value is None or isinstance(value, (int, float)):
        return value
    return type(value).__name__, str(value.dtype), ap.convert(value, "numpy").tolist()


def _outcome(call: Any, *args: Any) -> Any:
    """``call(*args)`` described, or the name of the arrayport error it raised."""
    try:
        return _described(call(*args))
    except ap.ArrayportError as exc:
        return type(exc).__name__


def _looped(g: Any, x: Any, tuples: bool = False) -> Any:
    """A manual loop of the unsliced ``g`` over ``x``'s slices (tuple results: per item)."""
    results = [g(s) for s in x]
    return tuple(list(items) for items in zip(*results, strict=True)) if tuples else results


def test_declared_per_slice_results_get_the_policy_of_an_unsliced_call() -> None:
    # output="declared" skipped the policy (and the MINMAX refusal) for per-slice results:
    # float32 400 and 500 where the unsliced call per slice gives uint8 255.
    torch = pytest.importorskip("torch")
    x = torch.tensor([[[0, 10]], [[200, 250]]], dtype=torch.uint8)

    def doubled(s: Any) -> Any:  # None beside an array
        return None if s[0, 0] == 0 else s.float() * 2

    def declared(fn: Any, sliced: bool = False, **options: Any) -> Any:
        return ap.memory_type("torch", output="declared", slice_by_slice=sliced, **options)(fn)

    assert _outcome(declared(doubled, True), x) == _outcome(_looped, declared(doubled), x)
    assert _described(declared(doubled, True)(x))[1][1] == ("Tensor", "torch.uint8", [[255, 255]])

    def pair(s: Any) -> Any:  # the first item of a tuple: the primary output
        return doubled(s), s.float()

    got = _described(declared(pair, True)(x))
    assert got[1][0] == _described(_looped(declared(pair), x, tuples=True))[1][0]
    assert got[1][1][:2] == ("Tensor", "torch.float32")  # restacked, not the primary output
    for dc in (ap.DtypeConversion.FLOAT64, ap.DtypeConversion.NATIVE_OUTPUT):
        loop = declared(doubled, dtype_conversion=dc)
        assert _outcome(declared(doubled, True, dtype_conversion=dc), x) == _outcome(
            _looped, loop, x
        )
    minmax = {"dtype_conversion": ap.DtypeConversion.UINT8, "scaling": ap.Scaling.MINMAX}
    with pytest.raises(ap.DtypeConversionError, match=r"Scaling\.MINMAX .* slice 1 gave Tensor"):
        declared(doubled, True, **minmax)(x)
    with pytest.raises(ap.DtypeConversionError, match=r"Scaling\.MINMAX"):
        declared(pair, True, **minmax)(x)
    # Dicts pass as the function made them, as an unsliced call's dict does.
    as_made = declared(lambda s: {"d": s.float() * 2}, True)(x)
    assert [d["d"].dtype for d in as_made] == [torch.float32] * 2


@pytest.mark.parametrize("dtype", ["bool", "float16"])
def test_pyclesperanto_per_slice_results_of_bool_and_float16_input_match_a_loop(
    dtype: str,
) -> None:
    # Each per-slice result was given the policy while still a pyclesperanto array, which
    # holds neither bool nor float16: UnsupportedDtypeError, whose remedy (output='input')
    # was the setting in use, where the unsliced function called per slice works.
    cle = pytest.importorskip("pyclesperanto")
    torch = pytest.importorskip("torch")
    x = np.zeros((2, 2, 3), dtype)
    x[1] = 1

    def body(s: Any) -> Any:  # None for an empty slice
        return None if not cle.pull(s).any() else cle.copy(s)

    def pair(s: Any) -> Any:
        return body(s), cle.copy(s)

    conversions = (
        (ap.DtypeConversion.PRESERVE_INPUT, ap.Scaling.VALUE),
        (ap.DtypeConversion.PRESERVE_INPUT, ap.Scaling.UNIT),
        (ap.DtypeConversion.UINT8, ap.Scaling.VALUE),
        (ap.DtypeConversion.NATIVE_OUTPUT, ap.Scaling.VALUE),
    )
    for output in ("input", "numpy", "torch", "declared", "pyclesperanto"):
        for dc, scaling in conversions:
            options = {"output": output, "dtype_conversion": dc, "scaling": scaling}
            plain = ap.memory_type("pyclesperanto", **options)
            sliced = ap.memory_type("pyclesperanto", slice_by_slice=True, **options)
            for given in (x, torch.from_numpy(x)):
                for fn, tuples in ((body, False), (pair, True)):
                    got = _outcome(sliced(fn), given)
                    loop = _outcome(_looped, plain(fn), given, tuples)
                    if tuples and not isinstance(got, str) and not isinstance(loop, str):
                        got, loop = got[1][0], loop[1][0]  # the second item is restacked
                    assert got == loop, (output, dc, scaling, type(given), fn.__name__)
    # What the loop gives: the input's dtype under PRESERVE_INPUT where output leaves
    # pyclesperanto, as an unsliced call's result.
    got = ap.memory_type("pyclesperanto", slice_by_slice=True)(body)(x)
    assert got[0] is None
    assert isinstance(got[1], np.ndarray)
    assert got[1].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got[1], x[1])


def test_declared_per_slice_results_a_fallback_left_come_back_declared() -> None:
    # A per-slice float64 result of the numpy fallback, which jax without 64-bit mode
    # cannot hold, stays numpy for the policy; given the policy, the converted result was
    # no longer the one left, and stayed numpy (float64 before the policy was given).
    jax = pytest.importorskip("jax")
    if jax.config.jax_enable_x64:
        pytest.skip("needs jax without 64-bit mode")
    from arrayport.testing import inject_oom

    def half(s: Any) -> Any:
        return None if not bool((s != 0).any()) else s / 2  # float64 in numpy

    policy = ap.OOMPolicy(retries=0, fallback="numpy", release=False)
    f = ap.memory_type("jax", output="declared", slice_by_slice=True, oom=policy)(half)
    g = ap.memory_type("jax", output="declared", oom=policy)(half)
    x = np.arange(12, dtype=np.int32).reshape(2, 2, 3)
    x[0] = 0
    plain = _described(f(x))
    with inject_oom("jax", times=1):
        recovered = _described(f(x))
    assert plain == recovered == _described(_looped(g, x))
    assert recovered[1][1] == ("ArrayImpl", "int32", [[3, 4, 4], [4, 5, 6]])
