"""testing/_inputs: the arguments each run of assert_equivalent gets, and the after-run check."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.testing._inputs import check_unchanged, private, replica, run_arguments, snapshot


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(12.0).reshape(3, 4).T,  # Fortran order
        lambda: np.arange(12.0)[::-2],  # negative stride
        lambda: np.broadcast_to(np.arange(4.0), (3, 4)),  # zero stride, read-only
        lambda: np.arange(6, dtype=">i4"),  # big-endian
        lambda: np.array(3.5),  # 0-d
        lambda: np.array(["a", None], dtype=object),
    ],
)
def test_a_replica_keeps_layout_byte_order_and_flags(make) -> None:
    a = make()
    r = replica(a)
    assert not np.shares_memory(r, a)
    np.testing.assert_array_equal(r, a)
    assert (r.shape, r.strides, r.dtype, r.flags.writeable) == (
        a.shape,
        a.strides,
        a.dtype,
        a.flags.writeable,
    )


def test_private_copies_every_array_once_and_keeps_aliases() -> None:
    a = np.arange(3.0)
    args = private([a, [a, {"k": a}], 2.0])
    assert args[0] is not a
    assert args[0] is args[1][0] is args[1][1]["k"]
    assert args[2] == 2.0


def test_run_arguments_convert_each_array_once() -> None:
    a = np.arange(4.0)
    args, kwargs = run_arguments([a, a], {"y": a}, MemoryType.NUMPY)
    assert args[0] is args[1] is kwargs["y"]
    assert not np.shares_memory(args[0], a)  # a numpy run gets a copy it may write


def test_snapshot_and_check_unchanged_name_the_argument() -> None:
    def fn(x, y):
        return x

    given = [np.arange(3.0), [np.ones(2)]]
    before = snapshot(given)
    check_unchanged(fn, given, {}, before, {}, where="fn on numpy")
    given[1][0][1] = -0.0 + 5
    with pytest.raises(AssertionError, match=r"wrote into its argument y \(args\[1\]\)\[0\]"):
        check_unchanged(fn, given, {}, before, {}, where="fn on numpy")
