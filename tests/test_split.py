"""Tests of arrayport._split: halving a call's array arguments along an axis and joining
the pieces' results, as OOMPolicy's split step does it."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType, OOMPolicy, OutOfMemoryError
from arrayport.errors import InvalidOptionError
from arrayport.testing import inject_oom
from tests._oom_support import GRID, NO_RELEASE, Calls, as_np, device_of, make
from tests.conftest import CPU_TYPES, skip_unless_installed


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_split_is_identical_to_unsplit(mt: MemoryType) -> None:
    x = make(mt, GRID)
    unsplit = OOMPolicy().run(Calls(), x)
    fn = Calls()
    # The whole call fails on both attempts; the pieces then run: 8 rows are cut into 3
    # and 5, pieces of different lengths (a reduction cannot pass the check on both).
    with inject_oom(mt, times=2):
        out = OOMPolicy(retries=1, split_axis=0, **NO_RELEASE).run(fn, x)
    assert fn.lengths == [3, 5]
    assert ap.detect_memory_type(out) is mt
    assert device_of(out) == device_of(x)
    np.testing.assert_array_equal(as_np(out), as_np(unsplit))
    assert as_np(out).dtype == as_np(unsplit).dtype


def test_split_halves_only_arguments_of_the_same_length() -> None:
    kernel = np.arange(3.0)  # different length along axis 0: passed whole
    weights = np.arange(8.0)[:, None]  # same length: halved

    def fn(x: np.ndarray, k: np.ndarray, scale: float, *, w: np.ndarray) -> np.ndarray:
        assert k.shape == (3,)
        assert w.shape[0] == x.shape[0]
        return x * scale + w + k.sum()

    expected = fn(GRID, kernel, 2.0, w=weights)
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID, kernel, 2.0, w=weights)
    np.testing.assert_array_equal(out, expected)


def test_split_recurses_and_keeps_order() -> None:
    fn = Calls()
    with inject_oom("numpy", times=2):  # the whole (8 -> 3 + 5), its first piece (3 -> 1 + 2)
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID)
    assert fn.lengths == [1, 2, 5]
    np.testing.assert_array_equal(out, GRID * 2 + 1)


def test_split_respects_min_split_and_negative_axis() -> None:
    fn = Calls(lambda x: x.T)  # lengths recorded along axis 0 of x.T below
    x = np.arange(2 * 7, dtype=np.int64).reshape(2, 7)
    seen: list[int] = []

    def g(a: np.ndarray) -> np.ndarray:
        seen.append(a.shape[-1])
        return fn(a).T * 3

    with inject_oom("numpy", times=10), pytest.raises(OutOfMemoryError):
        OOMPolicy(retries=0, split_axis=-1, min_split=3, **NO_RELEASE).run(g, x)
    assert seen == []  # every attempt injected: nothing ran
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=-1, min_split=3, **NO_RELEASE).run(g, x)
    assert seen == [3, 4]
    np.testing.assert_array_equal(out, x * 3)
    seen.clear()
    with inject_oom("numpy", times=2), pytest.raises(OutOfMemoryError) as info:
        # 7 -> 3 + 4; the piece of 3 cannot be halved without going under min_split
        OOMPolicy(retries=0, split_axis=-1, min_split=3, **NO_RELEASE).run(g, x)
    assert "min_split=3" in str(info.value)


def test_split_joins_tuples_and_namedtuples() -> None:
    Pair = collections.namedtuple("Pair", "a b")

    def fn(x: np.ndarray) -> tuple[Any, ...]:
        return (x + 1, Pair(x * 2, x[:, :2]))

    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID)
    assert isinstance(out, tuple)
    assert isinstance(out[1], Pair)
    np.testing.assert_array_equal(out[0], GRID + 1)
    np.testing.assert_array_equal(out[1].a, GRID * 2)
    np.testing.assert_array_equal(out[1].b, GRID[:, :2])


@pytest.mark.parametrize("result", [1.5, None, np.float64(2.0), "text"])
def test_split_needs_array_results(result: Any) -> None:
    with inject_oom("numpy", times=1), pytest.raises(InvalidOptionError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(lambda x: result, GRID)
    assert "split" in str(info.value)
    assert isinstance(info.value.__cause__, MemoryError)


def test_no_split_without_the_axis() -> None:
    fn = Calls()
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError):
        OOMPolicy(retries=0, split_axis=2, **NO_RELEASE).run(fn, GRID)
    assert fn.count == 0


@pytest.mark.parametrize("mt", [m for m in CPU_TYPES if m is not MemoryType.PYCLESPERANTO])
def test_split_through_the_array_api(mt: MemoryType) -> None:
    def fn(x: Any) -> Any:
        xp = ap.namespace(x) if mt is not MemoryType.TENSORFLOW else None
        if xp is None:
            import tensorflow as tf

            return tf.cumsum(x, axis=1)
        return (
            xp.cumulative_sum(x, axis=1) if hasattr(xp, "cumulative_sum") else xp.cumsum(x, axis=1)
        )

    x = make(mt, GRID)
    unsplit = as_np(fn(x))
    with inject_oom(mt, times=2):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, x)
    np.testing.assert_array_equal(as_np(out), unsplit)


def test_split_halves_arrays_inside_list_and_tuple_arguments() -> None:
    weights = np.arange(8.0)[:, None]  # same length: halved, inside the list too
    kernel = np.arange(3.0)  # another length: passed whole
    seen: list[int] = []

    def fn(images: list[Any], pair: tuple[Any, str], *, scale: float) -> Any:
        x, w = images
        k, label = pair
        seen.append(int(x.shape[0]))
        assert w.shape[0] == x.shape[0]
        assert k.shape == (3,)
        assert label == "k"
        return x * scale + w + k.sum()

    expected = fn([GRID, weights], (kernel, "k"), scale=2.0)
    seen.clear()
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(
            fn, [GRID, weights], (kernel, "k"), scale=2.0
        )
    assert seen == [3, 5]
    np.testing.assert_array_equal(out, expected)


def test_halve_rebuilds_containers_and_leaves_deeper_arrays_whole() -> None:
    from arrayport._split import NotSplittable, halve

    Pair = collections.namedtuple("Pair", "a b")
    x = np.arange(5.0)
    split = halve(([x, 1], Pair(x, "b")), {"k": (x,), "deep": [[x]]}, 0, 1)
    assert split is not None
    halves, which = split
    assert which == {0, 1, 2}
    for (args, kwargs), expected in zip(halves, ([0.0, 1.0], [2.0, 3.0, 4.0]), strict=True):
        assert type(args[0]) is list
        assert args[0][1] == 1
        np.testing.assert_array_equal(args[0][0], expected)
        assert type(args[1]) is Pair
        np.testing.assert_array_equal(args[1].a, expected)
        assert type(kwargs["k"]) is tuple
        np.testing.assert_array_equal(kwargs["k"][0], expected)
        assert kwargs["deep"][0][0] is x  # two levels down: not an argument array
    with pytest.raises(NotSplittable, match="no array argument has axis 0"):
        halve(([[x]],), {}, 0, 1)  # no array argument: nothing to split


@skip_unless_installed(MemoryType.TORCH)
def test_dispatch_and_split_agree_on_arrays_inside_lists() -> None:
    # The decorator converts the arrays inside the list to torch; the policy then finds,
    # splits and joins those same arrays.
    seen: list[tuple[str, int]] = []

    @ap.memory_type("torch", oom=OOMPolicy(retries=0, split_axis=0, **NO_RELEASE))
    def total(images: list[Any]) -> Any:
        seen.append((type(images[0]).__module__.partition(".")[0], int(images[0].shape[0])))
        return images[0] + images[1]

    with inject_oom("torch", times=1):
        out = total([GRID, GRID * 2])
    assert seen == [("torch", 3), ("torch", 5)]
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, GRID * 3)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_halve_keeps_length_one_pyclesperanto_pieces_arrays() -> None:
    # pyclesperanto's x[0:1] on a 1-D array is a Python float; the pieces must stay arrays.
    from arrayport._split import halve

    x = ap.convert(np.array([3.0, 4.0], np.float32), MemoryType.PYCLESPERANTO)
    split = halve((x,), {}, 0, 1)
    assert split is not None
    pieces, _ = split
    got = [ap.convert(args[0], MemoryType.NUMPY) for args, _ in pieces]
    assert [g.tolist() for g in got] == [[3.0], [4.0]]
    assert all(ap.detect_memory_type(args[0]) is MemoryType.PYCLESPERANTO for args, _ in pieces)


def test_an_argument_passed_whole_is_never_cut_by_a_later_split() -> None:
    # x (102 rows) is split; w (50 rows) is passed whole. x's first piece has 50 rows (102
    # is cut into 50 and 52) and is split again: w, which has 50 too, must still be passed
    # whole.
    seen: list[int] = []

    def shifted(x: Any, w: Any) -> Any:
        seen.append(int(w.shape[0]))
        return x + w.sum()

    x, w = np.arange(102.0), np.arange(50.0)
    with inject_oom("numpy", times=2):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(shifted, x, w)
    np.testing.assert_array_equal(out, shifted(x, w))
    assert set(seen) == {50}


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_split_pyclesperanto_keeps_32_bit_integers_beyond_float32(axis: int) -> None:
    # pyclesperanto's own slicing runs a kernel through float32 (2**31 - 1 -> -2**31).
    x = np.array([[2**31 - 1, 2**24 + 1, 3, 2**30 + 1]] * 4, np.int32)
    x[1:, 0] = [2**24 + 3, 9, 2**29 + 1]
    on_device = ap.convert(x, MemoryType.PYCLESPERANTO)
    fn = Calls(lambda piece: piece)
    with inject_oom(MemoryType.PYCLESPERANTO, times=1):
        out = OOMPolicy(retries=0, split_axis=axis, **NO_RELEASE).run(fn, on_device)
    assert fn.count == 2
    assert ap.detect_memory_type(out) is MemoryType.PYCLESPERANTO
    assert as_np(out).tolist() == x.tolist()


_STORAGE_ONLY = [
    pytest.param(mt, marks=skip_unless_installed(mt))
    for mt in (MemoryType.TENSORFLOW, MemoryType.PYCLESPERANTO)
]


@pytest.mark.parametrize("mt", _STORAGE_ONLY, ids=lambda m: m.value)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_joins_arrays_without_a_namespace_exactly(mt: MemoryType, axis: int) -> None:
    from arrayport._split import concat

    # The backend's own concat (tensorflow), or through the host (pyclesperanto,
    # JOINS_ON_HOST); int32 values beyond 2**24 would change in a float32 kernel.
    a = np.array([[2**31 - 1, 2**24 + 1], [3, -(2**31)]], np.int32)
    b = np.array([[2**24 + 3, 7], [2**30 + 1, 5]], np.int32)
    joined = concat([ap.convert(a, mt), ap.convert(b, mt)], axis, [2, 2])
    assert ap.detect_memory_type(joined) is mt
    assert as_np(joined).dtype == np.int32
    assert as_np(joined).tolist() == np.concatenate([a, b], axis=axis).tolist()


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_pyclesperanto_pieces_numpy_would_promote_are_refused_not_narrowed() -> None:
    from arrayport._split import NotSplittable, concat

    # int32 and uint32 pieces join as int64 on the host, which pyclesperanto would store
    # as int32: refused, as pieces of different dtypes are on every memory type.
    parts = [ap.convert(np.array([1, 2], dt), MemoryType.PYCLESPERANTO) for dt in ("i4", "u4")]
    with pytest.raises(NotSplittable, match=r"different dtypes \(int32, uint32\)"):
        concat(parts, 0, [2, 2])


# The join checks each piece's result against the piece it came from (ADR 0062): every
# array in it runs along the split axis with exactly the piece's length. A function that
# does not map that axis row by row is refused instead of joined into wrong values.

_ROW_BY_ROW = [
    MemoryType.NUMPY,
    pytest.param(MemoryType.TORCH, marks=skip_unless_installed(MemoryType.TORCH)),
]


def _xp_sum(axis: int) -> Any:
    def fn(x: Any) -> Any:
        return ap.namespace(x).sum(x, axis=axis)

    return fn


@pytest.mark.parametrize("mt", _ROW_BY_ROW, ids=lambda m: m.value)
def test_a_reduction_over_the_split_axis_is_refused_not_joined(mt: MemoryType) -> None:
    # Two partial sums of shape (5,) were concatenated into a (10,) result.
    x = make(mt, GRID)
    fn = Calls(_xp_sum(0))
    with inject_oom(mt, times=1), pytest.raises(InvalidOptionError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, x)
    text = str(info.value)
    assert "a piece of 3 rows along axis 0 returned an array of shape (5,)" in text
    assert "which has 5 along that axis, not 3" in text
    assert "reduction over it" in text
    assert "maps axis 0 row by row" in text
    assert "split_axis=None" in text
    from arrayport.backends import get_backend

    assert get_backend(mt).is_oom(info.value.__cause__)  # the error that led to the split
    assert fn.lengths == [3]  # refused before the second piece ran


@pytest.mark.parametrize("mt", _ROW_BY_ROW, ids=lambda m: m.value)
def test_a_reduction_along_another_axis_is_split_and_joined(mt: MemoryType) -> None:
    x = make(mt, GRID)
    fn = _xp_sum(1)  # one value per row: maps axis 0 row by row
    unsplit = as_np(fn(x))
    with inject_oom(mt, times=2):  # the whole call and its first half: two levels
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, x)
    assert ap.detect_memory_type(out) is mt
    np.testing.assert_array_equal(as_np(out), unsplit)


@pytest.mark.parametrize(
    ("fn", "got"),
    [
        pytest.param(lambda x: x[1:], 2, id="drops-a-row"),
        pytest.param(lambda x: np.concatenate([x, x[:1]]), 4, id="adds-a-row"),
        pytest.param(lambda x: x[x[:, 0] > 5], 1, id="selects-rows"),  # 10 of 0, 5, 10
    ],
)
def test_a_result_of_another_length_is_refused(fn: Any, got: int) -> None:
    with inject_oom("numpy", times=1), pytest.raises(InvalidOptionError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID)
    assert "a piece of 3 rows along axis 0" in str(info.value)
    assert f"which has {got} along that axis, not 3" in str(info.value)


def test_a_two_level_split_checks_every_level() -> None:
    # First two rows of each piece: passes for the pieces of 1 and 2 rows the first piece
    # (3 rows) is cut into (their join has its 3 rows), wrong for the second piece of 5
    # rows, which runs uncut. Equal halves (4, then 2 + 2) once returned 6 rows.
    fn = Calls(lambda x: x[:2] * 2)
    with inject_oom("numpy", times=2), pytest.raises(InvalidOptionError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID)
    assert fn.lengths == [1, 2, 5]
    assert "a piece of 5 rows along axis 0 returned an array of shape (2, 5)" in str(info.value)


@pytest.mark.parametrize("mt", _ROW_BY_ROW, ids=lambda m: m.value)
def test_a_two_level_split_of_an_odd_length_is_right(mt: MemoryType) -> None:
    # 7 rows: halves of 3 and 4, the 3 split again into 1 and 2; each checked against its
    # own length.
    x = make(mt, np.arange(7 * 3, dtype=np.float32).reshape(7, 3))
    fn = Calls(lambda a: a * 2 + 1)
    with inject_oom(mt, times=2):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, x)
    assert fn.lengths == [1, 2, 4]
    np.testing.assert_array_equal(as_np(out), as_np(x) * 2 + 1)


@pytest.mark.parametrize("mt", _ROW_BY_ROW, ids=lambda m: m.value)
def test_tuple_results_are_checked_element_by_element(mt: MemoryType) -> None:
    Pair = collections.namedtuple("Pair", "a b")
    x = make(mt, GRID)

    def rows_and_total(a: Any) -> Any:
        xp = ap.namespace(a)
        return a + 1, Pair(a * 2, xp.sum(a, axis=0))

    with inject_oom(mt, times=1), pytest.raises(InvalidOptionError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(rows_and_total, x)
    assert "returned an array of shape (5,) (at result[1][1])" in str(info.value)

    def rows_and_row_totals(a: Any) -> Any:
        xp = ap.namespace(a)
        return a + 1, Pair(a * 2, xp.sum(a, axis=1))

    with inject_oom(mt, times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(rows_and_row_totals, x)
    expected = rows_and_row_totals(x)
    assert isinstance(out[1], Pair)
    for got, want in zip((out[0], *out[1]), (expected[0], *expected[1]), strict=True):
        np.testing.assert_array_equal(as_np(got), as_np(want))


def test_concat_refuses_parts_of_the_wrong_length_and_joins_nothing() -> None:
    from arrayport._split import NotSplittable, check, concat

    rows = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(concat([rows, rows[:1]], 0, [3, 1]), np.vstack([rows, rows[:1]]))
    with pytest.raises(NotSplittable, match="a piece of 1 row along axis 0"):
        concat([rows, rows], 0, [3, 1])
    with pytest.raises(
        NotSplittable, match=r"\(at result\[0\]\), which has 3 along that axis, not 2"
    ):
        concat([(rows.T,), (rows.T,)], -1, [2, 2])  # (2, 3): 3 along axis -1
    check((rows, [rows[:, :1]]), 0, 3)  # every array has the piece's 3 rows
    with pytest.raises(NotSplittable, match=r"builtins.int \(at result\[1\]\[0\]\), not an array"):
        check((rows, [7]), 0, 3)


@skip_unless_installed(MemoryType.DASK)
def test_a_result_of_unknown_length_is_refused() -> None:
    import dask.array as da

    from arrayport._split import NotSplittable, check

    x = da.from_array(np.arange(4))
    kept = x[x > 1]  # shape (nan,): how many rows is unknown until computed
    with pytest.raises(NotSplittable, match="which has an unknown length along that axis"):
        check(kept, 0, 4)


@pytest.mark.parametrize("mt", [MemoryType.NUMPY, MemoryType.JAX])
def test_split_passes_a_lookup_table_whole(mt: MemoryType) -> None:
    # A 256-entry table beside a 256-row image lines up with the image's last axis: cut
    # along axis 0 with the image, it gave wrong values (jax clamps the indices it lacks).
    if mt not in CPU_TYPES:
        pytest.skip(f"{mt.value} is not installed")
    rng = np.random.default_rng(0)
    image = make(mt, rng.integers(0, 256, (256, 256)).astype(np.int32))
    table = make(mt, (np.arange(256) * 10).astype(np.int32))

    def lookup(img: Any, lut: Any) -> Any:
        return lut[img]

    expected = as_np(lookup(image, table))
    with inject_oom(mt, times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(lookup, image, table)
    np.testing.assert_array_equal(as_np(out), expected)


def test_split_refuses_an_argument_it_cannot_tell_about() -> None:
    # A (256, 3) colour table beside a (256, 256) image: rows of the table, or rows of the
    # image's? Either guess can be wrong, so the call is not split.
    image = np.random.default_rng(1).integers(0, 256, (256, 256))
    colours = np.arange(256 * 3).reshape(256, 3)
    runs: list[int] = []

    def paint(img: Any, table: Any) -> Any:
        runs.append(img.shape[0])
        return table[img]

    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(paint, image, colours)
    assert runs == []  # the injected error stopped the only run
    assert "array argument 2 has shape (256, 3)" in str(info.value)
    assert "cannot tell" in str(info.value)


def test_lengths_are_cut_into_pieces_of_different_lengths_where_min_split_allows() -> None:
    from arrayport._split import _cut

    assert [_cut(n, 1) for n in (2, 3, 4, 5, 8, 9, 64)] == [1, 1, 1, 2, 3, 4, 31]
    assert _cut(4, 2) == 2  # 1 + 3 would leave a piece under min_split: equal halves
    assert _cut(6, 2) == 2  # 2 + 4


def test_an_array_with_fewer_dimensions_is_never_cut_along_the_split_axis() -> None:
    # add(lut, img) split along axis 1: the (4,) array has no axis 1, so it does not set
    # the shape (it once made the split give up). Broadcasting lines its 4 up with axis 1,
    # which the image is split along: a table or one value per column? It was cut; now
    # the call is not split, in either order, and the error says how to be clear.
    lut, img = np.arange(4.0), np.ones((2, 4))
    for args, at in (((lut, img), 1), ((img, lut), 2)):
        fn = Calls(lambda a, b: a + b)
        with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
            OOMPolicy(retries=0, split_axis=1, **NO_RELEASE).run(fn, *args)
        assert fn.count == 0
        assert f"array argument {at}, of shape (4,), has fewer dimensions" in str(info.value)
        assert "Give it the shape (1, 4)" in str(info.value)
    # With the image's dimensions, (1, 4), it is cut with the image.
    row = lut[None, :]
    fn = Calls(lambda a, b: a + b)
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=1, **NO_RELEASE).run(fn, img, row)
    np.testing.assert_array_equal(out, img + row)
    assert fn.count == 2
    # Before the image it sets the shape, to which the image does not broadcast: refused.
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=1, **NO_RELEASE).run(Calls(), row, img)
    assert "pass array argument 2 first" in str(info.value)


@pytest.mark.parametrize(
    "mt",
    [
        pytest.param(mt, marks=skip_unless_installed(mt))
        for mt in (MemoryType.NUMPY, MemoryType.JAX)
    ],
)
def test_a_lookup_table_along_the_split_axis_is_refused_not_cut(mt: MemoryType) -> None:
    # A 256-entry table beside a (4, 256) image split along axis -1 (the remedy the docs
    # give for column totals): the table was halved with the image's columns, and each
    # piece indexed half a table: jax clamped (512 of 1024 values wrong), numpy raised
    # IndexError.
    image = make(mt, (np.arange(4 * 256) % 256).astype(np.int32).reshape(4, 256))
    table = make(mt, (255 - np.arange(256)).astype(np.float32))
    runs: list[tuple[int, ...]] = []

    def lut(img: Any, t: Any) -> Any:
        runs.append(tuple(t.shape))
        return t[img]

    with inject_oom(mt, times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=-1, **NO_RELEASE).run(lut, image, table)
    assert runs == []  # no piece ran: no wrong values
    text = str(info.value)
    assert "array argument 2, of shape (256,), has fewer dimensions than array argument 1" in text
    assert "a table is passed whole only with another length than 256" in text
    # Through the decorator (the declared memory type jax), from numpy inputs.
    if mt is MemoryType.JAX:
        decorated = ap.memory_type("jax", oom=OOMPolicy(retries=0, split_axis=-1, **NO_RELEASE))
        host = (np.arange(4 * 256) % 256).astype(np.int32).reshape(4, 256)
        with inject_oom("jax", times=1), pytest.raises(OutOfMemoryError, match=r"shape \(256,\)"):
            decorated(lut)(host, (255 - np.arange(256)).astype(np.float32))
        assert runs == []


def test_a_lower_dimensional_array_is_cut_nowhere_and_passed_whole_off_the_axis() -> None:
    # A (4, 3) mask beside a (3, 4, 3) volume: along axis 1 broadcasting lines it up with
    # the split axis (it was cut): refused, saying (1, 4, 3). Along axis 0 it lines up
    # with axes 1 and 2 only and goes whole to every piece, as before; so does a (4,)
    # array beside a (4, 4) image split along axis 0 (broadcasting puts it on axis 1).
    volume = np.arange(36.0).reshape(3, 4, 3)
    mask = np.arange(12.0).reshape(4, 3)
    seen: list[tuple[int, ...]] = []

    def times(v: Any, m: Any) -> Any:
        seen.append(tuple(m.shape))
        return v * m

    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError, match=r"\(1, 4, 3\)"):
        OOMPolicy(retries=0, split_axis=1, **NO_RELEASE).run(times, volume, mask)
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(times, volume, mask)
    np.testing.assert_array_equal(out, volume * mask)
    assert seen == [(4, 3), (4, 3)]
    square, weights = np.arange(16.0).reshape(4, 4), np.arange(4.0)
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(times, square, weights)
    np.testing.assert_array_equal(out, square * weights)


def test_a_length_one_row_first_does_not_set_the_length() -> None:
    # add(bias, image) with a (1, 5) bias first: it set the length (1), the 8-row image was
    # never cut, and the error said "could not split further" of a call never split.
    runs: list[int] = []

    def add(bias: Any, image: Any) -> Any:
        runs.append(int(image.shape[0]))
        if image.shape[0] > 4:
            np.empty(1 << 60, np.uint8)  # numpy's real out-of-memory error
        return image + bias

    bias = np.ones((1, 5), np.float32)
    out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(add, bias, GRID)
    np.testing.assert_array_equal(out, GRID + bias)
    assert runs == [8, 3, 5, 2, 3]  # the image split: 8 -> 3 + 5, 5 -> 2 + 3
    # Nothing longer than 1 along the axis: nothing to split, and nothing split.
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(add, bias, GRID[:1])
    assert "no array argument is longer than 1 along axis 0" in str(info.value)
    assert "further" not in str(info.value)
    # A row of 1 that does not broadcast to the array that sets the length: refused.
    kernel = np.ones(3, np.float32)
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(add, GRID[:1], kernel)
    assert "array argument 1, of shape (1, 5), has no more than 1 along axis 0" in str(info.value)


def test_a_call_never_split_does_not_say_further() -> None:
    # 3 rows with min_split=2 cannot be cut at all: it said "could not split further".
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=0, min_split=2, **NO_RELEASE).run(Calls(), GRID[:3])
    text = str(info.value)
    assert "could not split along axis 0 (min_split=2; array argument 1, of shape (3, 5)" in text
    assert "further" not in text


def test_a_kernel_first_is_named_when_the_pieces_cannot_be_joined() -> None:
    # smooth_rows(kernel, image): the (3,) kernel sets the length and is cut, the (8, 5)
    # image goes whole; the refusal blamed the function alone for not mapping axis 0 row
    # by row, which it does.
    runs: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

    def smooth_rows(kernel: Any, image: Any) -> Any:
        runs.append((kernel.shape, image.shape))
        return np.stack([np.convolve(r, kernel, mode="same") for r in image])

    kernel = np.array([1.0, 2.0, 1.0], np.float32)
    with inject_oom("numpy", times=1), pytest.raises(InvalidOptionError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(smooth_rows, kernel, GRID)
    assert runs == [((1,), (8, 5))]
    text = str(info.value)
    assert "came from array argument 1, of shape (3,), the first array argument longer" in text
    assert "array argument 2, of shape (8, 5), was passed whole: pass first the array" in text
    # Image first: split and joined.
    fn = Calls(lambda image, k: smooth_rows(k, image))
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, GRID, kernel)
    np.testing.assert_array_equal(out, smooth_rows(kernel, GRID))
    assert fn.lengths == [3, 5]


def test_an_array_with_more_dimensions_after_the_one_setting_the_split_is_named() -> None:
    # (3,) weights before a (6, 4, 3) image, split along axis 0: the image's last axis
    # lines up with the weights' 3, and the refusal said it had "3 along the split axis"
    # (it has 6) and gave no remedy.
    def gray(w: Any, img: Any) -> Any:
        return (img * w).sum(-1)

    weights, image = np.array([0.3, 0.6, 0.1]), np.ones((6, 4, 3))
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(gray, weights, image)
    text = str(info.value)
    assert "array argument 1, of shape (3,), sets the split" in text
    assert "array argument 2, of shape (6, 4, 3), has more dimensions; pass first" in text
    assert "3 along the split axis" not in text
    fn = Calls(lambda img, w: gray(w, img))  # the image first: split and joined
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, image, weights)
    np.testing.assert_allclose(out, gray(weights, image))


def test_a_sliced_call_of_one_slice_is_not_split_by_another_array() -> None:
    # A stack of one slice does not set the length here as a (1, m) row does elsewhere:
    # the (2, 2, 2) volume the slice gets whole would be cut, and the pieces' slices
    # joined into a stack of 2.
    policy = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE)

    @ap.memory_type("numpy", slice_by_slice=True, oom=policy)
    def shifted(plane: Any, volume: Any) -> Any:
        return plane + volume.sum()

    stack, volume = np.ones((1, 2, 2)), np.arange(8.0).reshape(2, 2, 2)
    assert shifted(stack, volume).shape == (1, 2, 2)
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        shifted(stack, volume)
    text = str(info.value)
    assert "the stack of this slice_by_slice call, array argument 1, of shape (1, 2, 2)" in text
    assert "further" not in text


@skip_unless_installed(MemoryType.DASK)
def test_an_unknown_length_is_not_split() -> None:
    import dask.array as da

    from arrayport._split import NotSplittable, halve

    x = da.from_array(np.arange(8.0), chunks=4)
    kept = x[x > 2]  # shape (nan,)
    with pytest.raises(NotSplittable, match=r"unknown length.*compute_chunk_sizes"):
        halve((kept,), {}, 0, 1)
    # Through the policy: OutOfMemoryError saying so (it was "min() arg is an empty
    # sequence").
    with inject_oom("dask", times=1), pytest.raises(OutOfMemoryError, match="compute_chunk_sizes"):
        OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(lambda a: a + 1, kept)


def test_with_a_min_split_the_cut_leaves_no_longer_piece_that_cannot_be_cut() -> None:
    from arrayport._split import _cut

    # 10 rows, min_split=4: 4 + 6 leaves 6, which cannot be cut again; 5 + 5 fit where 6
    # does not. 18 rows are still cut unevenly (8 + 10: both can be cut again).
    assert _cut(10, 4) == 5
    assert _cut(18, 4) == 8
    assert _cut(8, 1) == 3  # min_split 1: every piece of 2 rows or more can be cut

    def fits_five_rows(x: Any) -> Any:
        if x.shape[0] > 5:
            raise MemoryError("Unable to allocate 8 bytes")
        return x * 2

    x = np.arange(36.0).reshape(18, 2)
    out = OOMPolicy(retries=0, split_axis=0, min_split=4, **NO_RELEASE).run(fits_five_rows, x)
    np.testing.assert_array_equal(out, x * 2)


def test_the_first_array_with_the_axis_sets_the_shape_not_a_bigger_table() -> None:
    # points (6, 3) are sampled from a volume (4, 4, 4): the points run along axis 0, the
    # volume is a table. Taking the array with the most dimensions cut the volume.
    rng = np.random.default_rng(1)
    points = rng.integers(0, 4, (6, 3))
    volume = np.arange(64.0).reshape(4, 4, 4)

    def sample(p: Any, v: Any) -> Any:
        return v[p[:, 0], p[:, 1], p[:, 2]]

    fn = Calls(sample)
    with inject_oom("numpy", times=1):
        out = OOMPolicy(retries=0, split_axis=0, **NO_RELEASE).run(fn, points, volume)
    np.testing.assert_array_equal(out, sample(points, volume))
    assert fn.lengths == [2, 4]  # the points' pieces (6 rows: 2 + 4)


@skip_unless_installed(MemoryType.DASK)
def test_an_argument_of_unknown_length_beside_a_known_one_is_not_passed_whole() -> None:
    import dask.array as da

    from arrayport._split import NotSplittable, halve

    x = da.from_array(np.arange(6.0), chunks=3)
    unknown = x[x > -1]  # shape (nan,): 6 really
    with pytest.raises(NotSplittable, match=r"argument 2.*unknown length.*compute_chunk_sizes"):
        halve((x, unknown), {}, 0, 1)


@pytest.mark.parametrize(
    "mt",
    [
        pytest.param(mt, marks=skip_unless_installed(mt))
        for mt in (MemoryType.NUMPY, MemoryType.JAX)
    ],
)
def test_pieces_of_different_dtypes_are_not_joined(mt: MemoryType) -> None:
    # A result dtype that depends on the data: numpy joined int64 and uint64 pieces as
    # float64 (2**63 + 1 rounded), jax without 64-bit mode uint32 and int32 as int32
    # (4_000_000_007 wrapped to -294_967_289).
    big = {MemoryType.NUMPY: (np.uint64, 2**63 + 1), MemoryType.JAX: (np.uint32, 4_000_000_007)}
    dtype, value = big[mt]
    signed = np.int64 if mt is MemoryType.NUMPY else np.int32

    def values(x: Any) -> Any:
        host = as_np(x)
        out = np.full(host.shape, value, dtype) if host[0] == 0 else host.astype(signed)
        return ap.convert(out, mt)

    x = make(mt, np.arange(5, dtype=np.int32))
    with inject_oom(mt, times=1), pytest.raises(InvalidOptionError) as info:
        OOMPolicy(retries=0, release=False, split_axis=0).run(values, x)
    assert "different dtypes" in str(info.value)
    assert f"{np.dtype(dtype).name}" in str(info.value)


# --- pieces that differ off the split axis; lists of one value per row -----------------------


def _gram(x: Any) -> Any:
    return x @ x.T  # (k, k) for a piece of k rows: its other axis depends on the piece


@pytest.mark.parametrize(
    "mt",
    [
        pytest.param(mt, marks=skip_unless_installed(mt))
        for mt in (MemoryType.NUMPY, MemoryType.TORCH)
    ],
)
def test_pieces_that_differ_on_another_axis_are_refused_with_the_split_named(
    mt: MemoryType,
) -> None:
    # Pieces of 3 and 5 rows gave (3, 3) and (5, 5): the framework's concatenation raised
    # its own ValueError (numpy) or RuntimeError (torch), which said nothing of the split,
    # and the call's policy never saw it.
    x = make(mt, np.arange(64.0).reshape(8, 8))
    policy = OOMPolicy(retries=0, split_axis=0, release=False)
    with inject_oom(mt, times=1), pytest.raises(InvalidOptionError) as info:
        policy.run(_gram, x)
    text = str(info.value)
    assert "OOMPolicy(split_axis=0) split the call of _gram" in text
    assert "arrays of shapes (3, 3) and (5, 5), which differ on axes other than" in text
    assert "split_axis=None" in text
    from arrayport.backends import get_backend

    assert get_backend(mt).is_oom(info.value.__cause__)  # the out-of-memory that split it


def test_concat_refuses_parts_of_other_extents_or_dimensions_and_joins_nothing() -> None:
    from arrayport._split import NotSplittable, concat

    a, b = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(NotSplittable, match=r"shapes \(2, 3\) and \(3, 4\), which differ"):
        concat([a, b], 0, [2, 3])
    with pytest.raises(NotSplittable, match=r"shapes \(2, 3\) and \(3, 3, 1\), which differ"):
        concat([a, np.ones((3, 3, 1))], 0, [2, 3])  # axis 0 right in both, not the rest
    with pytest.raises(NotSplittable, match=r"at result\[0\]|which differ"):
        concat([(a,), (b,)], 0, [2, 3])  # inside a tuple too
    # Along the last axis the other axes are the leading ones.
    np.testing.assert_array_equal(
        concat([np.ones((2, 1)), np.zeros((2, 3))], -1, [1, 3]),
        np.hstack([np.ones((2, 1)), np.zeros((2, 3))]),
    )


@skip_unless_installed(MemoryType.DASK)
def test_pieces_of_unknown_extents_on_another_axis_are_refused() -> None:
    # dask joins them lazily; whether they line up is known only once computed.
    import dask.array as da

    from arrayport._split import NotSplittable, concat

    x = da.from_array(np.arange(12.0).reshape(4, 3))
    keep = x[0] > 0  # the columns kept: how many is unknown until computed
    parts = [x[:1][:, keep], x[1:][:, keep]]
    with pytest.raises(NotSplittable, match="whose lengths on the other axes are unknown"):
        concat(parts, 0, [1, 3])


def test_lists_of_one_value_per_row_are_joined_in_order_and_checked() -> None:
    from arrayport._split import NotSplittable, Rows, check, concat, unmarked

    crops = [np.ones((k, 2)) for k in (1, 3, 2)]  # data-dependent sizes: never stacked
    joined = concat(
        [(np.zeros((1, 2)), Rows([0.5])), (np.ones((2, 2)), Rows([1.5, 2.5]))], 0, [1, 2]
    )
    assert isinstance(joined[1], Rows)
    assert joined[1] == [0.5, 1.5, 2.5]
    assert concat([Rows(crops[:1]), Rows(crops[1:])], 0, [1, 2]) == crops
    with pytest.raises(NotSplittable, match=r"a piece of 2 rows returned a list of 3 values"):
        check(Rows(crops), 0, 2)
    with pytest.raises(NotSplittable, match="lists of one value per row and others"):
        concat([Rows([1.0]), [np.ones((2, 2))]], 0, [1, 2])
    # A plain list stays a list of arrays each joined along the axis (a list of stacks).
    assert [a.shape for a in concat([[np.ones((1, 2))], [np.ones((2, 2))]], 0, [1, 2])] == [(3, 2)]
    # The mark comes off at every depth; what holds none is returned as it is.
    out = unmarked((np.ones(1), Rows([Rows([1]), [2]])))
    assert type(out) is tuple
    assert type(out[1]) is list
    assert type(out[1][0]) is list
    untouched = (np.ones(1), [crops])
    assert unmarked(untouched) is untouched


@pytest.mark.parametrize(("rows", "fits", "min_split"), [(8, 4, 2), (8, 3, 2), (12, 5, 3)])
def test_a_shorter_piece_that_cannot_be_cut_again_does_not_make_the_halves_equal(
    rows: int, fits: int, min_split: int
) -> None:
    # 8 rows with min_split=2 were cut into 4 and 4 (3 + 5 would leave 3, which cannot be
    # cut again): the pieces that fitted all had one length, so the call failed where
    # 3 + 5 recovers.
    from arrayport._split import _cut

    assert _cut(8, 2) == 3
    ran: list[int] = []

    def limited(x: Any) -> Any:
        ran.append(x.shape[0])
        if x.shape[0] > fits:
            raise MemoryError("Unable to allocate 8 bytes")
        return x * 2

    x = np.arange(rows * 2.0).reshape(rows, 2)
    policy = OOMPolicy(retries=0, split_axis=0, min_split=min_split, **NO_RELEASE)
    np.testing.assert_array_equal(policy.run(limited, x), x * 2)
    assert len(set(ran[1:])) > 1  # pieces of different lengths, checked and joined
