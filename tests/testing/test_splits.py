"""testing/_splits: the blocks a dask run of assert_equivalent gets, chosen so that arrayport's
dispatch on dask takes the call beside the arguments it hands every block whole (an audit
of the kit, round 5: a (4,) bias beside a (4, 4) array failed on dask)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import arrayport as ap
from arrayport import MemoryType
from arrayport.testing import assert_equivalent
from arrayport.testing._inputs import run_arguments
from arrayport.testing._splits import block_chunks
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)  # real dask: what dispatch refuses


@pytest.mark.parametrize(
    ("shape", "whole", "chunks"),
    [
        ((4, 4), [], ((2, 2), (2, 2))),  # nothing whole: every axis split
        ((4, 4), [(4,)], ((2, 2), (4,))),  # a bias as long as axis 1: axis 1 whole
        ((2, 3), [(3,)], ((1, 1), (3,))),
        ((4, 4), [(4, 1)], ((4,), (2, 2))),  # a column of factors: axis 0 whole
        ((4, 4), [(4, 1), (1, 4)], ((4,), (4,))),  # no axis left: one block
        ((4, 4), [(), (1,), (1, 1)], ((2, 2), (2, 2))),  # broadcast everywhere: no constraint
        ((6, 6), [(3, 3)], ((3, 3), (6,))),  # a kernel: one axis it does not fit stays whole
        ((4, 5), [(256,)], ((2, 2), (3, 2))),  # a lookup table longer than any block
        ((3, 5), [(256,)], ((2, 1), (3, 2))),
        ((8,), [(3,)], ((8,),)),  # a block (with a halo) could be 3 long
        ((2, 3), [(2, 3)], ((2,), (3,))),  # a label array of the same shape (strings)
        ((), [(3,)], ()),
        ((0, 5), [(7,)], ((0,), (3, 2))),
    ],
)
def test_chunks_avoid_what_dispatch_refuses(
    shape: tuple[int, ...], whole: list[tuple[int, ...]], chunks: tuple[tuple[int, ...], ...]
) -> None:
    assert block_chunks(shape, whole) == chunks


def _first(x: Any, *others: Any) -> Any:
    return x


def test_every_chunking_chosen_is_taken_by_dispatch_whatever_the_halo() -> None:
    # Checked by the dispatcher itself: blockwise and with halos of 1 and 2.
    import dask.array as da

    cases = [
        ((4, 4), (4,)),
        ((4, 4), (3, 3)),
        ((6, 6), (3, 3)),
        ((5, 4), (2, 3)),
        ((4, 5), (256,)),
        ((4, 4), (4, 1)),
        ((3, 3), (2,)),
        ((8,), (3,)),
        ((8,), (5,)),
    ]
    for shape, other in cases:
        chunks = block_chunks(shape, [other])
        for rule in ({"blockwise": True}, {"depth": 1}, {"depth": 2}):
            keep = ap.memory_type("numpy", **rule)(_first)
            x = da.from_array(np.zeros(shape, np.float32), chunks=chunks)
            keep(x, np.zeros(other, np.float32))  # refused at the call if ambiguous


@settings(max_examples=40, deadline=None, database=None)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=7),
    data=st.data(),
)
def test_dispatch_takes_every_chunking_chosen(shape: tuple[int, ...], data: Any) -> None:
    import dask.array as da

    # Beside each whole argument: the trailing axes, each 1, the array's or another size.
    def other_shape(ndim: int) -> Any:
        sides = [st.sampled_from([1, shape[-k], 2, 3, 4, 9]) for k in range(ndim, 0, -1)]
        return st.tuples(*sides)

    whole = data.draw(
        st.lists(st.integers(0, len(shape)).flatmap(other_shape), max_size=2), label="whole"
    )
    whole = [w for w in whole if w != shape]  # those of the array's shape would be dask
    chunks = block_chunks(shape, whole)
    x = da.from_array(np.zeros(shape, np.float32), chunks=chunks)
    for rule in ({"blockwise": True}, {"depth": 1}, {"depth": 2}):
        ap.memory_type("numpy", **rule)(_first)(x, *(np.zeros(w, np.float32) for w in whole))


@ap.memory_type("numpy", blockwise=True)
def _add_bias(x: Any, bias: Any) -> Any:
    return x + bias


def test_a_same_length_operand_is_checked_on_dask_not_refused() -> None:
    # assert_equivalent split axis 1 too, and dispatch refused the call as ambiguous:
    # dask failed (named, or by default), where a dask user chunking rows is served.
    x = np.arange(16, dtype=np.float32).reshape(4, 4)
    bias = np.arange(4, dtype=np.float32)
    assert "dask" in assert_equivalent(_add_bias, x, bias, memory_types=["numpy", "dask"])
    assert "dask" in assert_equivalent(_add_bias, x, bias)
    args, _, placed = run_arguments([x, bias], {}, MemoryType.DASK)
    assert args[0].chunks == ((2, 2), (4,))  # still split, along the other axis
    assert placed == [args[0]]
    assert type(args[1]) is np.ndarray

    @ap.memory_type("numpy", blockwise=True)
    def double(x: Any, y: Any) -> Any:  # the audit's hypothesis find: y as a keyword
        return x * 2 + y

    x23, y3 = np.ones((2, 3)), np.arange(3.0)
    assert "dask" in assert_equivalent(double, x23, y=y3, memory_types=["numpy", "dask"])


def test_a_wrong_block_rule_is_still_caught_beside_a_same_length_operand() -> None:
    @ap.memory_type("numpy", blockwise=True)  # declared wrongly: it looks at the whole array
    def normalise(x: Any, bias: Any) -> Any:
        return x / x.sum() + bias

    x = np.arange(1.0, 17.0).reshape(4, 4)
    with pytest.raises(AssertionError, match=r"on dask: the result"):
        assert_equivalent(normalise, x, np.zeros(4), memory_types=["numpy", "dask"])


def test_dask_runs_on_one_block_where_no_axis_can_be_split() -> None:
    @ap.memory_type("numpy", blockwise=True)
    def outer_sum(x: Any, col: Any, row: Any) -> Any:
        return x + col + row

    x = np.zeros((4, 4))
    col, row = np.arange(4.0).reshape(4, 1), np.arange(4.0).reshape(1, 4)
    assert "dask" in assert_equivalent(outer_sum, x, col, row, memory_types=["numpy", "dask"])
    args, _, _ = run_arguments([x, [col, row]], {}, MemoryType.DASK)
    assert args[0].numblocks == (1, 1)


def test_a_kernel_beside_a_filter_with_a_halo_is_checked_on_dask() -> None:
    # Split along both axes, (2, 2) blocks grew to (3, 3) with their halo: the (3, 3)
    # kernel fit a block but not the array, and dispatch refused the call.
    @ap.memory_type("numpy", depth=1)
    def correlate(img: Any, kernel: Any) -> Any:
        padded = np.pad(img, 1)
        out = np.zeros_like(img)
        rows, cols = img.shape
        for i in range(3):
            for j in range(3):
                out += kernel[i, j] * padded[i : i + rows, j : j + cols]
        return out

    image = np.arange(16.0).reshape(4, 4)
    kernel = np.arange(9.0).reshape(3, 3)
    assert "dask" in assert_equivalent(correlate, image, kernel, memory_types=["numpy", "dask"])
    args, _, _ = run_arguments([image, kernel], {}, MemoryType.DASK)
    assert args[0].numblocks == (2, 1)
