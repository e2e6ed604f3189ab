"""Host-memory helpers shared by every backend: array descriptions and aligned buffers.

JAX and TensorFlow adopt a host buffer without copying only when it starts on a 64-byte
boundary (TensorFlow even aborts the process on an unaligned DLPack import, see FACTS),
and ordinary numpy allocations of large arrays sit 16 bytes off that boundary. Every host
copy arrayport makes therefore goes into a buffer from :func:`aligned_empty`, so that the
target framework can adopt it as it is: one copy, never two.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from arrayport.devices import Device

__all__ = ["ALIGNMENT", "ArrayInfo", "aligned_copy", "aligned_empty", "dtype_name", "host_info"]

ALIGNMENT = 64


@dataclasses.dataclass(frozen=True, slots=True)
class ArrayInfo:
    """What routing needs to know about an array, read without moving any data.

    ``dtype`` is the numpy dtype holding the same values (``None`` when numpy has none,
    e.g. torch's bfloat16 without ml_dtypes). ``strides`` are in bytes. ``pointer`` is the
    address of element 0, or ``None`` when the framework does not expose it.
    """

    shape: tuple[int, ...]
    dtype: np.dtype[np.generic] | None
    dtype_name: str
    device: Device
    strides: tuple[int, ...] | None
    pointer: int | None
    writable: bool
    native_order: bool = True

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self) -> int:
        return 0 if self.dtype is None else self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    @property
    def c_contiguous(self) -> bool:
        """Row-major and compact (size-1 dimensions may have any stride)."""
        if self.strides is None:
            return True
        expected = self.itemsize
        for extent, stride in zip(reversed(self.shape), reversed(self.strides), strict=True):
            if extent == 0:
                return True
            if extent != 1 and stride != expected:
                return False
            expected *= extent
        return True

    @property
    def positive_strides(self) -> bool:
        """No negative stride (a size-1 axis with one is refused too: rare, and then copied)."""
        return self.strides is None or min(self.strides, default=0) >= 0

    @property
    def element_aligned(self) -> bool:
        """Whether the address and every stride are multiples of the item size (DLPack
        counts strides in elements; numpy views of packed bytes need not be)."""
        size = self.itemsize
        if size <= 1:
            return True
        if self.pointer is not None and self.size and self.pointer % size:
            return False
        return self.strides is None or all(s % size == 0 for s in self.strides)

    @property
    def aligned(self) -> bool:
        """Whether element 0 sits on a 64-byte boundary (empty arrays count as aligned)."""
        if self.size == 0:
            return True
        return self.pointer is not None and self.pointer % ALIGNMENT == 0


# numpy computes dtype.name in Python on every access (about 1 us): cached per dtype.
_dtype_names: dict[np.dtype[Any], str] = {}


def dtype_name(dtype: np.dtype[Any]) -> str:
    """``dtype.name``, cached (big-endian dtypes have the same name as native ones)."""
    name = _dtype_names.get(dtype)
    if name is None:
        name = _dtype_names[dtype] = dtype.name
    return name


def host_info(a: np.ndarray, device: Device, *, writable: bool | None = None) -> ArrayInfo:
    """Describe a numpy array (optionally overriding whether it may be written)."""
    dtype = a.dtype
    return ArrayInfo(
        shape=a.shape,
        dtype=dtype,
        dtype_name=dtype_name(dtype),
        device=device,
        strides=a.strides,
        pointer=int(a.__array_interface__["data"][0]),
        writable=bool(a.flags.writeable) if writable is None else writable,
        native_order=a.dtype.isnative,
    )


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    offset = (-raw.ctypes.data) % ALIGNMENT
    return raw[offset : offset + nbytes].view(dtype).reshape(shape)


def aligned_copy(a: np.ndarray) -> np.ndarray:
    """Copy ``a`` once into a fresh aligned, C-contiguous, native-byte-order, writable buffer.

    Big-endian input is converted to native order in the same pass (values are unchanged).
    """
    dtype = a.dtype.newbyteorder("=") if not a.dtype.isnative else a.dtype
    out = aligned_empty(tuple(a.shape), dtype)
    np.copyto(out, a, casting="equiv")
    return out
