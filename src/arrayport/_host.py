"""Host-memory helpers shared by every backend: array descriptions and aligned buffers.

JAX and TensorFlow adopt a host buffer without copying only when it starts on a 64-byte
boundary (TensorFlow even aborts the process on an unaligned DLPack import, see FACTS),
and ordinary numpy allocations of large arrays sit 16 bytes off that boundary. Every host
copy arrayport makes therefore goes into a buffer from :func:`aligned_empty`, so that the
target framework can adopt it as it is: one copy, never two.
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from arrayport._strides import c_contiguous
from arrayport.devices import Device

__all__ = [
    "ALIGNMENT",
    "ArrayInfo",
    "RouteKey",
    "aligned_copy",
    "aligned_empty",
    "c_contiguous",
    "dtype_name",
    "host_info",
    "host_layout",
    "host_route_key",
    "route_key_of",
    "writes_allowed",
]

ALIGNMENT = 64


@dataclasses.dataclass(frozen=True, slots=True)
class ArrayInfo:
    """What routing needs to know about an array, read without moving any data.

    ``dtype`` is the numpy dtype holding the same values (``None`` when numpy has none,
    e.g. torch's bfloat16 without ml_dtypes). ``strides`` are in bytes. ``pointer`` is the
    address of element 0, or ``None`` when the framework does not expose it.
    ``framework_aligned`` says the framework keeps the buffer on a 64-byte boundary by
    construction, so it is aligned without an address (jax and tensorflow GPU buffers:
    their allocators align every buffer to 256 bytes, jax arrays are never offset views
    and tensorflow aliases only aligned slices; reading a jax GPU address would wait for
    the array).
    """

    shape: tuple[int, ...]
    dtype: np.dtype[np.generic] | None
    dtype_name: str
    device: Device
    strides: tuple[int, ...] | None
    pointer: int | None
    writable: bool
    native_order: bool = True
    framework_aligned: bool = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return 0 if self.dtype is None else self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    @property
    def c_contiguous(self) -> bool:
        """Row-major and compact (size-1 dimensions may have any stride)."""
        return self.contiguity is True

    @property
    def contiguity(self) -> bool | None:
        """True for compact row-major memory, None for compact memory in another axis
        order (transposed, Fortran, channels_last: ``_strides.compact``), else False."""
        if self.strides is None:
            return True
        return c_contiguous(self.shape, self.strides, self.itemsize)

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
        if self.size == 0 or self.framework_aligned:
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


def host_info(
    a: np.ndarray, device: Device, *, writable: bool | None = None, name: str | None = None
) -> ArrayInfo:
    """Describe a numpy array (optionally overriding whether it may be written, and the
    dtype's name: ``name`` is taken as it is, without :func:`dtype_name`'s cache)."""
    dtype = a.dtype
    return ArrayInfo(
        shape=a.shape,
        dtype=dtype,
        dtype_name=dtype_name(dtype) if name is None else name,
        device=device,
        strides=a.strides,
        pointer=int(a.__array_interface__["data"][0]),
        writable=writes_allowed(a.flags.num) if writable is None else writable,
        native_order=a.dtype.isnative,
    )


#: Everything routing reads from an :class:`ArrayInfo`, as a hashable tuple:
#: ``(device, dtype, dtype_name, writable, native_order, contiguity, positive_strides,
#: element_aligned, aligned, ndim, empty)`` (contiguity: True, None or False, as
#: :attr:`ArrayInfo.contiguity`); ``aligned`` is ``None`` when the target does not
#: read it (reading an address costs about 1 us in numpy). Two arrays with equal keys get
#: the same route, so :mod:`arrayport.convert` caches routes by it.
_Maybe = bool | None
RouteKey = tuple[
    Device, "np.dtype[Any] | None", str, bool, bool, _Maybe, bool, bool, _Maybe, int, bool
]


def route_key_of(info: ArrayInfo, address: bool) -> RouteKey:
    """The :data:`RouteKey` of a full description (the reference the cheap keys match)."""
    return (
        info.device,
        info.dtype,
        info.dtype_name,
        info.writable,
        info.native_order,
        info.contiguity,
        info.positive_strides,
        info.element_aligned,
        info.aligned if address else None,
        len(info.shape),
        info.size == 0,
    )


# Whether numpy's ALIGNED flag answers "is the address a multiple of the item size" for a
# dtype: it checks the dtype's alignment, which is the item size for every real dtype here
# but half of it for complex ones (their address is then read).
_flag_is_itemsize: dict[np.dtype[Any], bool] = {}
# numpy's C_CONTIGUOUS and ALIGNED flag bits, and WRITEABLE (``ndarray.flags.num``).
_CONTIGUOUS_ALIGNED = 0x0001 | 0x0100
_WRITEABLE = 0x0400
_WARN_ON_WRITE = 1 << 31  # np.broadcast_arrays' views: numpy will make them read-only
_WRITABLE_BITS = _WRITEABLE | _WARN_ON_WRITE
_WRITABLE_CONTIGUOUS = _WRITEABLE | 0x0001  # and C_CONTIGUOUS


def writes_allowed(num: int) -> bool:
    """Whether an array whose ``flags.num`` is ``num`` may be written through an alias.
    From the bits: ``flags.writeable`` of a WARN_ON_WRITE view emits numpy's FutureWarning
    (an error under ``-W error``). Such a view counts as read-only: one write through it
    changes several elements."""
    return num & _WRITABLE_BITS == _WRITEABLE


# Per dtype whose ALIGNED flag means element-aligned: (name, native byte order, whether the
# buffer protocol exports it) for host_route_key's common case; None for the others.
_fast_dtypes: dict[np.dtype[Any], tuple[str, bool, bool] | None] = {}


def _pointer(a: np.ndarray) -> int:
    """The address of element 0.

    ``__array_interface__`` builds a dict (about 1.5 us); the buffer protocol gives the
    same address in 0.2 us, but only for writable C-contiguous arrays of buffer-protocol
    dtypes (numpy refuses bfloat16 there) that are not empty.
    """
    num = a.flags.num
    # writes_allowed(num) and C_CONTIGUOUS, inlined: read on every cached conversion
    if num & (_WRITABLE_BITS | 1) == _WRITABLE_CONTIGUOUS and _bufferable(a.dtype) and a.size:
        return _buffer_address(a)
    return _interface_address(a)


def _bufferable(dtype: np.dtype[Any]) -> bool:
    """Whether numpy exports ``dtype`` through the buffer protocol: its own numeric types,
    not user-defined ones (ml_dtypes' float8_e5m2 has kind "f" but raises there)."""
    return dtype.kind in "biufc" and dtype.isbuiltin != 2


def _interface_address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


# Module-level names for the calls made on every copy (a global lookup, not two).
_addressof = ctypes.addressof
_char_from_buffer: Callable[[Any], ctypes.c_char] = ctypes.c_char.from_buffer
_np_empty = np.empty


def _buffer_address(a: Any) -> int:
    """The start of a writable, contiguous, non-empty buffer (numpy: element 0)."""
    return _addressof(_char_from_buffer(a))


def host_layout(a: np.ndarray, address: bool) -> tuple[bool, bool, bool, bool | None]:
    """``(c_contiguous, positive_strides, element_aligned, aligned)`` of a numpy array,
    equal to :func:`host_info`'s properties but read from numpy's flags where they say the
    same thing (the address is read only when ``address`` or for complex dtypes).
    ``aligned`` is ``None`` unless ``address``.

    numpy keeps C_CONTIGUOUS with the rule :attr:`ArrayInfo.c_contiguous` uses (size-1
    axes may have any stride, empty arrays are contiguous) and ALIGNED as "address and every
    stride of an axis longer than 1 are multiples of the dtype's alignment" (empty arrays
    count as aligned).
    """
    dtype = a.dtype
    shape = a.shape
    if (
        a.flags.num & _CONTIGUOUS_ALIGNED == _CONTIGUOUS_ALIGNED
        and 0 not in shape
        and 1 not in shape
        and _flag_is_itemsize.get(dtype)
    ):
        # The common case, from one flag read: compact row-major with no axis of length 0
        # or 1 means every stride is a positive multiple of the item size, and ALIGNED
        # then means an element-aligned address.
        return True, True, True, _pointer(a) % ALIGNMENT == 0 if address else None
    strides = a.strides
    itemsize = dtype.itemsize
    positive = True
    stride_ok = True
    for s in strides:
        if s < 0:
            positive = False
        if itemsize > 1 and s % itemsize:
            stride_ok = False
    empty = a.size == 0
    pointer: int | None = None
    by_flag = _flag_is_itemsize.get(dtype)
    if by_flag is None:
        by_flag = _flag_is_itemsize[dtype] = dtype.alignment == itemsize
    if itemsize <= 1:
        element = True
    elif not stride_ok:
        element = False
    else:
        if by_flag:
            # ALIGNED also covers the strides (checked above) and is True for empty arrays.
            element = bool(a.flags.aligned)
        else:
            pointer = _pointer(a)
            element = empty or pointer % itemsize == 0
    aligned: bool | None = None
    if address:
        if empty:
            aligned = True
        else:
            if pointer is None:
                pointer = _pointer(a)
            aligned = pointer % ALIGNMENT == 0
    return bool(a.flags.c_contiguous), positive, element, aligned


def host_route_key(
    a: np.ndarray, device: Device, address: bool, *, writable: bool | None = None
) -> RouteKey:
    """The :data:`RouteKey` of a numpy array, read cheaply (equal to
    ``route_key_of(host_info(a, device, writable=writable), address)``)."""
    dtype = a.dtype
    num = a.flags.num
    fast = _fast_dtypes.get(dtype)
    if fast is not None and num & _CONTIGUOUS_ALIGNED == _CONTIGUOUS_ALIGNED:
        shape = a.shape
        if 0 not in shape and 1 not in shape:
            # host_layout's common case, inlined with one flags read for the whole key
            # (this runs on every cached conversion of a numpy array).
            name, native, bufferable = fast
            can_write = num & _WRITABLE_BITS == _WRITEABLE  # writes_allowed(num), inlined
            aligned = None
            if address:
                pointer = _buffer_address(a) if can_write and bufferable else _interface_address(a)
                aligned = pointer % ALIGNMENT == 0
            if writable is None:
                writable = can_write
            return (
                device,
                dtype,
                name,
                writable,
                native,
                True,
                True,
                True,
                aligned,
                len(shape),
                False,
            )
        # (an empty array or a size-1 axis: host_layout reads the strides)
    elif fast is None and dtype not in _fast_dtypes:
        _fast_dtypes[dtype] = (
            (dtype_name(dtype), dtype.isnative, _bufferable(dtype))
            if dtype.alignment == dtype.itemsize
            else None
        )
    contiguous, positive, element, aligned = host_layout(a, address)
    contiguity: bool | None = contiguous
    if not contiguous:  # F_CONTIGUOUS: compact in another order; 2-D has no third order
        unit = dtype.itemsize
        contiguity = None if num & 2 else a.ndim > 2 and c_contiguous(a.shape, a.strides, unit)
    return (
        device,
        dtype,
        dtype_name(dtype),
        writes_allowed(num) if writable is None else writable,
        dtype.isnative,
        contiguity,
        positive,
        element,
        aligned,
        a.ndim,
        a.size == 0,
    )


# Per dtype: how many elements make up ALIGNMENT bytes, where a buffer of that dtype can be
# over-allocated in whole elements and sliced to the boundary, else 0.
_per_alignment: dict[Any, int] = {}


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on a 64-byte boundary."""
    try:
        per = _per_alignment.get(dtype)
        if per is None:
            d = np.dtype(dtype)
            fits = _bufferable(d) and d.itemsize > 0 and ALIGNMENT % d.itemsize == 0
            per = _per_alignment[dtype] = ALIGNMENT // d.itemsize if fits else 0
        if per:
            # Over-allocated by ALIGNMENT bytes in elements and sliced (about 0.6 us less than
            # through bytes and a dtype view, which counts on every copy). numpy's buffers start
            # on 16 bytes at least, so the distance to the boundary is whole elements.
            count = math.prod(shape)
            raw = _np_empty(count + per, dtype)
            gap = -_addressof(_char_from_buffer(raw)) % ALIGNMENT
            itemsize = ALIGNMENT // per
            if gap % itemsize == 0:
                start = gap // itemsize
                flat = raw[start : start + count]
                return flat if len(shape) == 1 else flat.reshape(shape)
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        buffer = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)  # writable, contiguous, not empty
        offset = (-_buffer_address(buffer)) % ALIGNMENT
        # Slice, view and reshape: about 0.5 us less than np.ndarray(buffer=...), which goes
        # through the buffer protocol. The result keeps `buffer` alive as its base.
        return buffer[offset : offset + nbytes].view(dtype).reshape(shape)
    except ValueError as exc:  # numpy's "array is too big": past its index range, padded
        raise MemoryError(f"cannot allocate a host buffer of shape {shape}") from exc


def aligned_copy(a: np.ndarray) -> np.ndarray:
    """Copy ``a`` once into a fresh aligned, C-contiguous, native-byte-order, writable buffer.

    Big-endian input is converted to native order in the same pass (values are unchanged).
    """
    dtype = a.dtype if a.dtype.isnative else a.dtype.newbyteorder("=")
    out = aligned_empty(a.shape, dtype)
    np.copyto(out, a, casting="equiv")
    return out
