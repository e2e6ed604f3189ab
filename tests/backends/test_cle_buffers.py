"""Tests of arrayport.backends._cle_buffers: the OpenCL buffer behind a pyclesperanto array."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from arrayport import MemoryType
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.PYCLESPERANTO)


def test_one_handle_for_every_array_over_a_buffer() -> None:
    import pyclesperanto as cle

    from arrayport.backends._cle_buffers import buffer_handle

    buf = cle.create((2, 3, 4), dtype=np.int32)
    handle = buffer_handle(buf)
    assert isinstance(handle, int)
    assert handle
    assert buffer_handle(buf.reshape((6, 4))) == handle
    assert buffer_handle(buf.ravel()) == handle
    assert buffer_handle(buf.copy()) not in (None, handle)
    assert buffer_handle(cle.create((4, 5), mtype="image")) is None  # no DLPack export
    assert buffer_handle([1.0]) is None  # no DLPack export at all


def test_reading_the_handle_frees_the_capsule_and_keeps_no_buffer_alive() -> None:
    # The capsule is read, not consumed: pyclesperanto's destructor must free it, and the
    # buffer must go with its last array.
    import pyclesperanto as cle

    from arrayport.backends._cle_buffers import buffer_handle

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    small = cle.create((4, 5), dtype=np.float32)
    before = rss()
    for _ in range(20000):
        buffer_handle(small)
    assert rss() - before < 1 << 20  # a leaked DLManagedTensorVersioned is ~100 B each
    big = cle.create((16, 1024, 1024), dtype=np.float32)  # 64 MiB
    big.fill(1.0)
    np.asarray(big[0, 0, 0])  # wait for the fill
    held = rss()
    buffer_handle(big.squeeze())
    del big
    gc.collect()
    if held - before < 32 << 20:
        pytest.skip("the device's memory is not counted in this process's resident set")
    assert rss() < held - (32 << 20)
