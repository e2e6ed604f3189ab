"""_strides: row-major, compact in another axis order, or neither."""

from __future__ import annotations

import itertools

import numpy as np

from arrayport._strides import c_contiguous, compact


def _really_compact(a: np.ndarray) -> bool:
    """Whether a's elements cover their span exactly once (from the byte offsets), with no
    negative stride on an axis longer than 1 (DLPack importers refuse those)."""
    if a.size == 0:
        return True
    if any(s < 0 for s, n in zip(a.strides, a.shape, strict=True) if n > 1):
        return False
    offsets = sorted(
        sum(i * s for i, s in zip(index, a.strides, strict=True))
        for index in itertools.product(*(range(n) for n in a.shape))
    )
    return offsets == [offsets[0] + k * a.itemsize for k in range(a.size)]


def _views(base: np.ndarray):
    for axes in itertools.permutations(range(base.ndim)):
        t = base.transpose(axes)
        yield t
        yield t[::-1]
        yield t[..., ::2]
        yield t[:1]
        yield t[:, :1] if t.ndim > 1 else t
        yield t[None]
        yield np.broadcast_to(t, (2, *t.shape))


def test_compact_and_c_contiguous_agree_with_the_offsets_of_every_view() -> None:
    checked = 0
    for shape in [(3, 4), (2, 3, 4), (1, 3, 2), (2, 1, 3, 4), (3,), (4, 0), (1, 1)]:
        base = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
        for v in _views(base):
            truth = _really_compact(v)
            got = c_contiguous(v.shape, v.strides, v.itemsize)
            assert compact(v.shape, v.strides, v.itemsize) is truth, (v.shape, v.strides)
            if v.flags.c_contiguous:
                assert got is True
            else:
                assert got is (None if truth else False), (v.shape, v.strides)
            checked += 1
    assert checked > 150


def test_layouts_by_name() -> None:
    a = np.zeros((2, 3, 8, 8), np.float32)
    channels_last = a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)
    assert c_contiguous(a.shape, a.strides, 4) is True
    assert c_contiguous(a.T.shape, a.T.strides, 4) is None  # Fortran order
    assert c_contiguous(channels_last.shape, channels_last.strides, 4) is None
    assert c_contiguous((8, 8), (4, 64), 4) is False  # a gap between columns
    assert c_contiguous((8, 8), (4, 4), 4) is False  # overlapping
    assert c_contiguous((2, 2, 2), (16, 16, 4), 4) is False  # overlapping, three axes
    assert c_contiguous((4, 4), (0, 4), 4) is False  # broadcast
    assert c_contiguous((4, 4), (-4, 16), 4) is False  # negative
    assert not compact((3, 3), (12, 4), 0)  # no item size: never compact


def test_memory_order_and_its_inverse() -> None:
    from arrayport._strides import inverse_order, memory_order

    base = np.zeros((4, 8, 16, 32), np.float64)  # 128 KiB
    for perm in itertools.permutations(range(4)):
        a = base.transpose(perm)
        order = memory_order(a)
        if perm == (0, 1, 2, 3):
            assert order is None  # row-major already
            continue
        assert order is not None
        assert a.transpose(order).flags.c_contiguous
        assert a.transpose(order).transpose(inverse_order(order)).strides == a.strides
    assert memory_order(base.T, min_bytes=base.nbytes + 1) is None  # too small
    assert memory_order(base.T[::2]) is None  # gaps: not compact
    assert memory_order(np.zeros(1 << 16)[::-1]) is None  # one axis
