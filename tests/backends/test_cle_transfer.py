"""backends/_cle_transfer (slab reads of pyclesperanto arrays, on PoCL here)."""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport.backends import _cle_transfer
from arrayport.devices import Device
from arrayport.errors import OutOfMemoryError
from tests.conftest import skip_unless_installed


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_slab_reads_cover_every_row(monkeypatch) -> None:
    # several rows per slab, partial slabs
    monkeypatch.setattr(_cle_transfer, "MIN_SLAB_BYTES", 64)
    monkeypatch.setattr(_cle_transfer, "MAX_SLAB_BYTES", 64)
    for shape in [(37,), (7, 5), (5, 3, 4), (3, 40, 2)]:
        a = np.arange(int(np.prod(shape)), dtype="int16").reshape(shape)
        c = ap.convert(a, "pyclesperanto")
        back = _cle_transfer.read_to_host(c, pytest.fail)  # typed slab reads, never the pull
        np.testing.assert_array_equal(back, a)
        assert back.ctypes.data % 64 == 0


def test_info_bytes_parses_megabytes() -> None:
    info = "Global Memory Size: 2048 MB\nMaximum Buffer Size: 512 MB\n"
    assert _cle_transfer.info_bytes(info, "Maximum Buffer Size") == 512 * 1024 * 1024
    assert _cle_transfer.info_bytes(info, "Global Memory Size") == 2048 * 1024 * 1024
    assert _cle_transfer.info_bytes(info, "Local Memory Size") is None


def test_oversize_error_names_sizes_and_remedy() -> None:
    err = _cle_transfer.oversize_error(
        104, "float32", 100, MemoryType.PYCLESPERANTO, Device("opencl", 0)
    )
    assert isinstance(err, OutOfMemoryError)
    assert err.requested_bytes == 104
    with pytest.raises(OutOfMemoryError, match=r"104 bytes of float32 .* 100 bytes; split"):
        raise err


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_slabs_are_a_quarter_of_the_array_within_bounds(monkeypatch) -> None:
    """Large arrays are read in few large slabs (each read has a fixed cost)."""
    sizes: list[int] = []
    a = np.arange(64 * 16, dtype="float32").reshape(64, 16)  # 64 rows of 64 bytes
    c = ap.convert(a, "pyclesperanto")
    read = c._read_float32

    def counting(origin, region):  # type: ignore[no-untyped-def]
        sizes.append(region[0])
        return read(origin, region)

    monkeypatch.setattr(_cle_transfer, "MIN_SLAB_BYTES", 128)
    monkeypatch.setattr(_cle_transfer, "MAX_SLAB_BYTES", 512)
    monkeypatch.setattr(type(c), "_read_float32", lambda self, o, r: counting(o, r))
    np.testing.assert_array_equal(_cle_transfer.read_to_host(c, pytest.fail), a)
    assert sizes == [8] * 8  # a quarter (1024 B) capped at 512 B: 8 rows per slab
    sizes.clear()
    small = a[:4].copy()
    c_small = ap.convert(small, "pyclesperanto")
    np.testing.assert_array_equal(_cle_transfer.read_to_host(c_small, pytest.fail), small)
    assert sizes == [2, 2]  # a quarter (64 B) raised to 128 B: 2 rows per slab


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_oom_needs_an_allocation_code_not_only_the_failed_to_allocate_text() -> None:
    """pyclesperanto writes "Failed to allocate buffer memory" before every OpenCL code;
    only the allocation codes (OOM_CODES) make it out-of-memory."""
    import pyclesperanto as cle

    from arrayport.backends import pyclesperanto as backend

    with pytest.raises(RuntimeError, match="CL_INVALID_BUFFER_SIZE") as real:
        cle.create((1 << 20, 1 << 20))  # 4 TiB: refused when created, nothing allocated
    assert backend.is_oom(real.value)
    prefix = "Error: Failed to allocate buffer memory. OpenCL error: "
    for code in _cle_transfer.OOM_CODES:
        assert backend.is_oom(RuntimeError(f"{prefix}{code} (-4)"))
    assert not backend.is_oom(RuntimeError(prefix + "CL_INVALID_VALUE (-30)"))
    assert not backend.is_oom(RuntimeError(prefix + "CL_UNKNOWN_ERROR (-9999)"))
