"""_slicing: slice_by_slice dispatch (the sliced call, its OOM policy, argument pairing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from tests._oom_support import fail_first_move


def test_run_slices_slices_same_shaped_arguments_and_runs_others_once() -> None:
    from arrayport._slicing import run_slices

    calls: list[tuple] = []

    def fn(*args, k=1):
        calls.append(args)
        return args[0] * args[1] + k if len(args) > 1 else args[0] + k

    volume = np.arange(24.0).reshape(2, 3, 4)
    mask = np.ones((2, 3, 4))
    out = run_slices(fn, (volume, mask), {"k": 2}, volume)
    np.testing.assert_array_equal(out, volume + 2)
    assert [a[0].shape for a in calls] == [(3, 4), (3, 4)]  # one run per slice
    calls.clear()
    flat = np.arange(4.0)
    np.testing.assert_array_equal(run_slices(fn, (flat,), {}, flat), flat + 1)
    assert len(calls) == 1  # not 3-D: one run


def test_run_slices_pairs_broadcasting_arguments_as_broadcasting_does() -> None:
    # Only arguments of exactly the stack's shape were sliced: per-slice factors of shape
    # (3, 1, 1) reached every slice whole, and the (3, 2, 2) call gave (3, 3, 2, 2).
    from arrayport._slicing import run_slices

    x = np.arange(12.0).reshape(3, 2, 2)
    seen: list[tuple[tuple[int, ...], ...]] = []

    def times(p: Any, w: Any) -> Any:
        seen.append((p.shape, w.shape))
        return p * w

    for w in (np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1), np.full((1, 2, 2), 5.0)):
        seen.clear()
        out = run_slices(times, (x, w), {}, x)
        np.testing.assert_array_equal(out, x * w)
        assert seen == [((2, 2), (1, 1) if w.shape[0] == 3 else (2, 2))] * 3
    kernel = np.ones((3, 3, 3))  # not broadcastable against (3, 2, 2): passed whole
    out = run_slices(lambda p, k: p + k.sum(), (x, kernel), {}, x)
    np.testing.assert_array_equal(out, x + 27.0)


def test_slice_by_slice_restacks_in_the_memory_type_the_function_returned() -> None:
    # Restacked in the declared memory type whatever fn returned: a numpy float64 result
    # of a jax-declared function was refused on its way into jax (float64 without x64),
    # where the unsliced call returns float32 through the dtype policy.
    pytest.importorskip("jax")

    @ap.memory_type("jax")
    def to_host(p: Any) -> Any:
        return np.asarray(p, dtype=np.float64) / 2

    x = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    whole = to_host(x)
    sliced = to_host.options(slice_by_slice=True)(x)
    assert type(sliced) is type(whole)
    assert sliced.dtype == whole.dtype == np.float32
    np.testing.assert_array_equal(sliced, whole)


def test_slice_by_slice_results_of_two_dtypes_are_named_as_the_functions() -> None:
    @ap.memory_type("numpy", slice_by_slice=True)
    def uneven(p: Any) -> Any:
        return p if p[0, 0] == 0 else p.astype(np.float64)

    x = np.arange(8, dtype=np.float32).reshape(2, 2, 2) * (np.arange(2) > 0)[:, None, None]
    with pytest.raises(ap.DtypeConversionError, match="returned float32 for slice 0 but float64"):
        uneven(x)


def test_slice_by_slice_of_a_stack_of_unknown_extents_says_what_to_do() -> None:
    # int() of the unknown extent: "cannot convert float NaN to integer".
    da = pytest.importorskip("dask.array")

    @ap.memory_type("dask", slice_by_slice=True)
    def centre(p: Any) -> Any:
        return p - p.mean()

    stack = da.ones((6, 4, 4), chunks=(2, 2, 2), dtype="f4")
    picked = stack[da.from_array(np.array([True, False, True, True, False, True]), chunks=2)]
    with pytest.raises(ap.InvalidOptionError, match=r"compute_chunk_sizes"):
        centre(picked)


def test_a_split_sliced_call_passes_volumes_inside_lists_whole_as_slicing_does() -> None:
    # The slices get a volume inside a list whole; the split cut it with the stack, so the
    # first piece divided by the maximum of its own rows: other values than unsplit.
    from arrayport.testing import inject_oom

    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)

    @ap.memory_type("numpy", slice_by_slice=True, oom=policy, blockwise=True)
    def scaled(plane: Any, refs: list[Any]) -> Any:
        return plane / refs[0].max()

    volume = np.arange(20.0).reshape(5, 2, 2) + 1
    expected = volume / volume.max()
    np.testing.assert_allclose(scaled(volume, [volume]), expected)
    with inject_oom("numpy", times=1), pytest.raises(ap.OutOfMemoryError):
        scaled(volume, [volume])  # not split: nothing else to try
    with_fallback = scaled.options(oom=ap.OOMPolicy(retries=0, split_axis=0, fallback="numpy"))
    with inject_oom("numpy", times=1):
        np.testing.assert_allclose(with_fallback(volume, [volume]), expected)


def test_split_axis_minus_3_of_a_sliced_call_joins_what_axis_0_joins() -> None:
    # -3 was applied to the restacked result as well: a 0-d or 1-D result per slice has no
    # axis -3, and the call was refused where split_axis=0 joined it.
    from arrayport.testing import inject_oom

    @ap.memory_type(
        "numpy", slice_by_slice=True, oom=ap.OOMPolicy(retries=0, release=False, split_axis=-3)
    )
    def peaks(plane: Any) -> Any:
        return plane.max(axis=0)  # 1-D per slice

    x = np.arange(5 * 3 * 4, dtype=np.float32).reshape(5, 3, 4)
    with inject_oom("numpy", times=1):
        np.testing.assert_array_equal(peaks(x), x.max(axis=1))


def _mean(plane: Any) -> Any:
    return float(plane.mean())  # one number per slice


def _with_mean(plane: Any) -> Any:
    return plane * 2, float(plane.mean())  # an array and a number per slice


def _crops(plane: Any) -> Any:
    rows = int(plane[0, 0]) % 5 + 1  # data-dependent: never stacked
    return [plane[:rows], float(plane.max())]


def _same(got: Any, want: Any) -> None:
    assert type(got) is type(want)
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same(g, w)
    elif isinstance(want, float):
        assert got == want
    else:
        np.testing.assert_array_equal(ap.convert(got, "numpy"), ap.convert(want, "numpy"))


@pytest.mark.parametrize("fn", [_mean, _with_mean, _crops])
@pytest.mark.parametrize("mt", ["numpy", "torch"])
def test_a_split_sliced_call_joins_results_that_are_one_list_per_slice(fn: Any, mt: str) -> None:
    # Results that are not stacked come back as a list, one per slice: the split refused
    # to join them ("not an array"), told the user to change the split_axis that
    # slice_by_slice requires, and skipped the fallback. The pieces' lists joined in order
    # are the unsplit call's list.
    from arrayport.testing import inject_oom

    pytest.importorskip(mt)
    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)
    sliced = ap.memory_type(mt, slice_by_slice=True, oom=policy)(fn)
    stack = np.arange(7 * 3 * 4, dtype=np.float32).reshape(7, 3, 4)
    want = sliced(stack)
    with ap.metrics.collecting() as m, inject_oom(mt, times=1):
        got = sliced(stack)
    assert m.snapshot()["oom_outcomes"] == {"split": 1}
    _same(got, want)
    assert type(got if fn is not _with_mean else got[1]) is list  # not arrayport's mark


def test_a_sliced_call_whose_input_ran_out_of_memory_joins_its_per_slice_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The recovery of a call whose inputs ran out of memory on their way (ADR 0055) runs
    # the pieces itself, and takes the mark off their joined lists as the policy does.
    pytest.importorskip("torch")
    import torch

    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)
    crops = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(_crops)
    stack = torch.arange(5 * 3 * 4, dtype=torch.float32).reshape(5, 3, 4)
    want = crops(stack)
    failing = fail_first_move(monkeypatch)
    got = crops(stack)
    assert not failing  # the forced error happened
    _same(got, want)  # types included: placed as the unsplit call's list is
    # Arrays inside each slice's list are placed as an unsliced call's list is (output
    # "input": torch), unfailed and recovered alike (audit round 3, finding 2).
    assert type(got[0][0]) is torch.Tensor


def _above_5(plane: Any) -> Any:
    return [plane[plane > 5]]  # data-dependent crops, the same size in some pieces


def _none_first(plane: Any) -> Any:
    return None if plane[0, 0] < 4 else plane * 2  # arrays in one piece, None in another


def _rows_by_half(plane: Any) -> Any:
    return [plane[: 1 if plane[0, 0] < 8 else 2]]  # 1 row in slices 0-1, 2 rows in 2-3


@pytest.mark.parametrize(("fn", "min_split"), [(_above_5, 1), (_none_first, 1), (_rows_by_half, 2)])
def test_a_split_sliced_call_joins_pieces_that_stacked_differently(fn: Any, min_split: int) -> None:
    # Each piece decided alone between one stack per place and one list per slice: a
    # piece whose slices agreed was stacked, the other not (or both stacked, in shapes that
    # differ), and the join refused the mix, blaming the split_axis slice_by_slice requires.
    from arrayport.testing import inject_oom

    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0, min_split=min_split)
    sliced = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(fn)
    stack = np.arange(16, dtype=np.float32).reshape(4, 2, 2)
    want = sliced(stack)
    assert type(want) is list
    with ap.metrics.collecting() as m, inject_oom("numpy", times=1):
        got = sliced(stack)
    assert m.snapshot()["oom_outcomes"] == {"split": 1}
    assert [type(v) for v in got] == [type(v) for v in want]
    for g, w in zip(got, want, strict=True):
        if w is not None:
            _same(g, w)


def test_join_slices_stacks_pieces_that_agree_and_restacks_the_others_once() -> None:
    from arrayport._slicing import join_slices
    from arrayport._split import Rows

    a, b = np.zeros((1, 2)), np.ones((2, 2))
    joined = join_slices([a, b], 0, [1, 2])
    np.testing.assert_array_equal(joined, np.concatenate([a, b]))
    mixed = join_slices([[np.zeros((1, 3))], Rows([[np.ones(2)], [np.ones(4)]])], 0, [1, 2])
    assert type(mixed) is Rows
    assert [type(v) for v in mixed] == [list, list, list]
    assert [v[0].shape for v in mixed] == [(3,), (2,), (4,)]
    # Pieces that stacked alike, but only together: one stack per place again.
    together = join_slices([Rows([None]), np.ones((1, 2))], 0, [1, 1])
    assert type(together) is Rows
    assert together[0] is None


def test_a_sliced_call_split_into_single_slices_is_joined() -> None:
    # Pieces that all had one row were never joined (ADR 0062's guard against reductions
    # keeping the axis), after every slice had been computed; a sliced call's result has
    # one row per slice by construction.
    from arrayport.testing import inject_oom

    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)
    doubled = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(lambda p: p * 2)
    stack = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    with ap.metrics.collecting() as m, inject_oom("numpy", times=1):
        np.testing.assert_array_equal(doubled(stack), stack * 2)
    assert m.snapshot()["oom_outcomes"] == {"split": 1}
    calls: list[int] = []

    def fits_one(p: Any) -> Any:  # only one slice fits: the first run and the 2-slice piece
        calls.append(1)
        if len(calls) in (1, 3):
            raise MemoryError("Unable to allocate 1.00 GiB for an array")
        return p * 2

    three = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    got = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(fits_one)(three)
    np.testing.assert_array_equal(got, three * 2)


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda f, v: f(v[0]), "the first array argument is 2-D, not a 3-D stack"),
        (lambda f, v: f([v]), "the stack is inside a list or tuple argument"),
        (lambda f, v: f(v, [v]), "a list or tuple argument holds an array of the stack's"),
    ],
    ids=["2-D", "in a list", "volume in a list"],
)
def test_a_dropped_split_is_explained_not_suggested(call: Any, why: str) -> None:
    # The error suggested OOMPolicy(split_axis=...), which the policy declared already.
    from arrayport.testing import inject_oom

    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)
    fn = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(lambda *a: 1.0)
    volume = np.ones((3, 2, 2), np.float32)
    with inject_oom("numpy", times=1), pytest.raises(ap.OutOfMemoryError) as info:
        call(fn, volume)
    text = str(info.value)
    assert "split_axis=..." not in text
    assert f"no split (the declared split_axis=0 was not used: {why}" in text


def test_sliced_policy_keeps_declared_policies_and_says_why_it_drops_a_split() -> None:
    from arrayport._slicing import Unsplit, sliced_policy

    policy = ap.OOMPolicy(retries=1, split_axis=-3, fallback="numpy")
    volume = np.ones((3, 2, 2))
    assert sliced_policy(policy, (volume,), {}).split_axis == 0
    flat = sliced_policy(policy, (volume[0],), {})
    assert isinstance(flat, Unsplit)
    assert (flat.retries, flat.split_axis, flat.fallback) == (1, None, ap.MemoryType.NUMPY)
    assert "split_axis=-3 was not used: the first array argument is 2-D" in flat.dropped
    assert repr(flat).startswith("OOMPolicy(retries=1")
    none = ap.OOMPolicy(retries=0)
    assert sliced_policy(none, (volume[0],), {}) is none


def test_0d_arrays_of_a_split_sliced_call_stay_0d_arrays() -> None:
    # A piece that stacked its slices' 0-d arrays was cut back into numpy scalars when the
    # pieces were restacked together: [np.float32(66.0)] split, [array(66.)] unsplit
    # (finding 6a).
    from arrayport.testing import inject_oom

    def sums(s: Any) -> Any:
        total = np.asarray(s.sum())
        return [total] if s[0, 0] < 24 else [total, np.asarray(s.max())]

    f = ap.memory_type(
        "numpy", slice_by_slice=True, oom=ap.OOMPolicy(retries=0, release=False, split_axis=0)
    )(sums)
    x = np.arange(5 * 3 * 4, dtype=np.float32).reshape(5, 3, 4)
    unsplit = f(x)
    with inject_oom("numpy", times=1):
        split = f(x)
    assert [[type(v) for v in r] for r in split] == [[type(v) for v in r] for r in unsplit]
    assert all(type(v) is np.ndarray and v.ndim == 0 for r in split for v in r)
    assert [[float(v) for v in r] for r in split] == [[float(v) for v in r] for r in unsplit]


# --- audit round 4 ---------------------------------------------------------------------


def _oom_first(fn: Any) -> Any:
    calls = {"n": 0}

    def once_out_of_memory(x: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise MemoryError("fake")
        return fn(x)

    return once_out_of_memory


def test_a_split_calls_restack_errors_number_the_slices_of_the_whole_stack() -> None:
    # The piece of slices 1-3 said "shape (1,) for slice 0 but (6,) for slice 1".
    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0, min_split=1)
    x = np.arange(4 * 2 * 3, dtype=np.float32).reshape(4, 2, 3)

    def crop(s: Any) -> Any:
        return s[s > 10]

    with pytest.raises(ap.InvalidOptionError, match=r"\(0,\) for slice 0 but \(1,\) for slice 1;"):
        ap.memory_type("numpy", slice_by_slice=True, oom=None)(crop)(x)
    split = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(_oom_first(crop))
    with pytest.raises(ap.InvalidOptionError, match=r"\(1,\) for slice 1 but \(6,\) for slice 2;"):
        split(x)
    # Dtypes and reused buffers too.
    typed = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(
        _oom_first(lambda s: s.sum(keepdims=True).astype(np.float64 if s[0, 0] > 12 else "f4"))
    )
    with pytest.raises(
        ap.DtypeConversionError, match="float32 for slice 1 but float64 for slice 3"
    ):
        typed(x)
    buf = np.empty((2, 3), np.float32)

    def into(s: Any) -> Any:
        buf[...] = s
        return buf

    reused = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(_oom_first(into))
    with pytest.raises(ap.InvalidOptionError, match=r"same array .* for slice 1 and slice 2:"):
        reused(x)


def test_a_split_calls_join_of_pieces_split_again_numbers_the_whole_stack() -> None:
    # Six slices cut into slices 0-1 and 2-5; 2-5 runs out of memory too and is cut into 2
    # and 3-5, whose results' shapes differ: their join names slices 2 and 3, not 0 and 1.
    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0, min_split=1)

    def per_slice(s: Any) -> Any:
        return s[0, :1] if s[0, 0] < 12 else s[0, :2]

    x = np.arange(6 * 2 * 2, dtype=np.float32).reshape(6, 2, 2)
    whole = ap.memory_type("numpy", slice_by_slice=True, oom=None)(per_slice)
    with pytest.raises(ap.InvalidOptionError, match=r"\(1,\) for slice 0 but \(2,\) for slice 3;"):
        whole(x)
    calls: list[int] = []

    def counted(s: Any) -> Any:
        calls.append(1)
        if len(calls) in (1, 4):  # the whole stack, then the first run of slices 2-5
            raise MemoryError("fake")
        return per_slice(s)

    split = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(counted)
    with pytest.raises(ap.InvalidOptionError, match=r"\(1,\) for slice 2 but \(2,\) for slice 3;"):
        split(x)


def test_a_bare_crop_of_data_dependent_size_is_refused_saying_to_return_it_in_a_list() -> None:
    # The refusal is intended, but it said nothing of what to do, and the docs suggested
    # bare crops came back one per slice (audit a22 #2): only crops inside a list do.
    x = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)

    def bare(img: Any) -> Any:
        return img[: int(img[0, 0]) % 3 + 1]

    with pytest.raises(
        ap.InvalidOptionError,
        match=(
            r"^slice_by_slice: fn returned shape \(1, 5\) for slice 0 but \(3, 5\) for slice 1; "
            r"it must return one shape for every slice to be restacked \(for one result per "
            r"slice instead, return it inside a list, `return \[crop\]`, which comes back as "
            r"one list per slice while the shapes differ: crops of one "
            r"shape in every slice are restacked, `\[stack\]`; a dict, `return \{'crop': "
            r"crop\}`, always comes back one per slice, its arrays as the function made them\)$"
        ),
    ):
        ap.memory_type("numpy", slice_by_slice=True)(bare)(x)
    # The remedy the message gives works: one list per slice, each crop as it was cut.
    listed = ap.memory_type("numpy", slice_by_slice=True)(lambda img: [bare(img)])(x)
    assert type(listed) is list
    assert [[c.shape for c in r] for r in listed] == [[(1, 5)], [(3, 5)], [(2, 5)]]
    for r, plane in zip(listed, x, strict=True):
        np.testing.assert_array_equal(r[0], bare(plane))
    # ... while the crops differ: crops of one shape in every slice are restacked, so a
    # loop over "one list per slice" would read one stack. The dict form the message names
    # too comes back one per slice whatever the data (a final review's finding).
    same = np.zeros((3, 4, 5), np.float32)
    restacked = ap.memory_type("numpy", slice_by_slice=True)(lambda img: [bare(img)])(same)
    assert len(restacked) == 1
    assert restacked[0].shape == (3, 1, 5)
    keyed = ap.memory_type("numpy", slice_by_slice=True)(lambda img: {"crop": bare(img)})
    for data, shapes in ((x, [(1, 5), (3, 5), (2, 5)]), (same, [(1, 5)] * 3)):
        assert [r["crop"].shape for r in keyed(data)] == shapes
