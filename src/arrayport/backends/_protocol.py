"""The Protocol every backend module satisfies.

A backend says *how* things are done with one framework: how to recognise its arrays, how
to expose them as host memory or DLPack, which exceptions mean out-of-memory and how to
release cached memory. It never decides *what* to do: routes are chosen in
:mod:`arrayport.convert`, dtype policy in :mod:`arrayport.dtypes`, OOM policy in
:mod:`arrayport.oom`.

Functions taking an array ``x`` are only called after :func:`load` succeeded and
``is_array(x)`` returned true.

Optional members (read with ``getattr``, by :mod:`arrayport.convert` unless said; absent
means the default in brackets, ADR 0045):

* ``route_key(x, address) -> RouteKey | None`` [None: always plan in full]: a cheap
  summary of everything routing reads from :func:`describe` (see
  :data:`arrayport._host.RouteKey`); it must equal ``route_key_of(describe(x), address)``
  or be None. Refusal functions (``check_dtype``, ``shape_refusal``, ``share_refusal``,
  ``dlpack_refusal``, ``dlpack_export_refusal``) may therefore read only the dtype, its
  name, the device, ``writable``, ``native_order``, ``c_contiguous``,
  ``positive_strides``, ``element_aligned``, ``aligned``, the number of dimensions and
  whether the array is empty (messages that raise may say more), and :func:`host_view`
  must report the layout :func:`describe` does.
* ``SHARE_ALIGNMENT`` [0]: the byte boundary host memory must start on for the target to
  share it (64 for jax and tensorflow); only then do its refusals read ``aligned``.
* ``route_state() -> Hashable`` [no state]: the global settings this target's dtype checks
  read (jax: the x64 flag), part of the cache key.
* ``HOST_MEMORY`` [False]: the arrays are host memory (numpy); CPU routes to or from it try
  the host share before DLPack.
* ``quick_from_numpy(a)`` / ``quick_to_numpy(x)`` [None]: the zero-copy host share
  between this framework and numpy that :func:`arrayport.convert` would choose, answered
  from a few flag reads without planning, or None (then the planner decides). Dispatch
  asks them first (ADR 0048); they return CPU arrays only.
* ``adopt_copy(view, device)`` [``from_numpy(aligned_copy(view), device)``]: the
  host-copy route's one copy of a host view, adopted without the layout checks a
  caller's array needs (the copy is private, writable, native, C-contiguous, 64-byte
  aligned); torch makes large ones with its own multi-threaded copy (ADR 0052).
* ``cpu_view(x) -> numpy.ndarray | None`` [``host_view``]: :func:`host_view` of an array
  a route was planned for as CPU memory, without asking for its device again.
* ``strided_view(x) -> numpy.ndarray`` [``cpu_view``]: what a host copy of a CPU array
  described with strides that are not row-major reads (jax's custom layouts: its buffer in
  place, not ``np.asarray``'s cached row-major copy).
* ``to_numpy_any(x) -> numpy.ndarray`` [``to_numpy``]: a fresh host copy with no 64-byte
  alignment promise, for targets that do not need one (numpy, torch), where that is
  cheaper than :func:`to_numpy` (pyclesperanto: its own pull, not the aligned slab reader).
* ``export_dtype_refusal(info) -> str | None`` [None]: why an array of this framework's
  own dtype cannot leave it, with the remedy (jax's typed PRNG keys: ``key_data``);
  asked before the common dtype list when the target is another framework.
* ``take(x, index)`` [``x[index]``]: indexing, read by the OOM policy's split and the
  slice helpers (:mod:`arrayport.stack`), where the framework's own indexing is unfit
  (pyclesperanto's runs a float32 kernel and can return a Python number).
* ``concat(parts, axis)`` [the namespace's ``concat``, else ``concatenate``]: joining
  arrays of this framework along an existing axis, read by the OOM policy's split
  (:mod:`arrayport._split`), for a framework without an array API namespace
  (tensorflow: ``tf.concat``).
* ``stack(arrays)`` [the namespace's ``stack(arrays, axis=0)``]: stacking arrays of this
  framework, of one shape and dtype on one device, along a new first axis, read by
  :mod:`arrayport.stack` (tensorflow: ``tf.stack``).
* ``JOINS_ON_HOST`` [False]: the framework cannot join its own arrays (pyclesperanto):
  the split and :mod:`arrayport.stack` join them with numpy and convert the result back,
  so convert's refusals apply to it (a dtype numpy promoted to, a 4-D stack); asked
  before ``concat`` and ``stack``.
* ``stack_planes(planes, like, count, device)`` [convert each slice, then stack]: a
  stack of ``count`` 2-D slices built on ``device`` by the backend, read by
  :mod:`arrayport.stack` once every slice was planned to this memory type (before
  ``JOINS_ON_HOST``). ``planes`` yields each plane, in order, as an array of this
  framework on ``device`` or as a numpy array made as it is needed; ``like`` is one of
  the former and gives the dtype and the device handle (pyclesperanto: one buffer, each
  plane copied in once, never through its float32 kernels).
* ``argument_refusal(t) -> str | None`` [None]: why arrays of type ``t`` (a subclass of
  this framework's array) must not be handed to a dispatched function at all, even one
  declaring this memory type (numpy's masked arrays and ``np.matrix``); read once per
  type by :mod:`arrayport._arguments`.
* ``placement_device(x) -> Device | None`` [``device_of``]: the device of one of this
  framework's arrays, or None where the framework places it itself (jax: a tracer inside
  ``jit``/``grad``/``vmap``, an array sharded over devices); a dispatched call then leaves
  it as it is and converts the other arguments to the framework's default (ADR 0075).
* ``array_like_refusal(x) -> str | None`` [None]: for an object of this framework that is
  not one of its arrays, why it cannot be given to a dispatched function when it holds
  array data all the same (tensorflow's variables, ragged, sparse and symbolic tensors;
  jax's float0 gradients), with the remedy; None lets anything else (dtypes, devices,
  models) pass as an ordinary argument. Read by :mod:`arrayport._arguments`.
* ``CLAIMS_MEMORY_ERROR`` [False]: ``is_oom`` calls any ``MemoryError`` this framework's
  (numpy, dask, pyclesperanto): :mod:`arrayport._oom_recognition` asks such backends
  after those with error types of their own (cupy's ``OutOfMemoryError`` is a
  ``MemoryError``).
* ``check_size(info, device)`` [no limit]: raise for an array this target cannot hold at
  its size on ``device`` (pyclesperanto: the device's maximum buffer, ``OutOfMemoryError``);
  ``convert`` meets the limit when it allocates, :func:`arrayport.plan` asks this.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from arrayport._host import ArrayInfo
from arrayport.devices import Device
from arrayport.memory_types import MemoryType

__all__ = ["Backend"]


class Backend(Protocol):
    """The interface of one framework's backend module."""

    MEMORY_TYPE: MemoryType
    #: Roots of ``type(x).__module__`` for this framework's array types.
    MODULE_ROOTS: tuple[str, ...]
    #: The module imported by :func:`load` (also what ``find_spec`` looks for).
    IMPORT_NAME: str
    #: The ``pip install arrayport[EXTRA]`` extra that installs the framework.
    EXTRA: str
    #: Whether the framework's arrays can never be written in place (jax, tensorflow).
    IMMUTABLE: bool
    #: Whether its arrays export DLPack that other frameworks can import.
    HAS_DLPACK: bool
    #: Whether it has no read-only arrays (torch, cupy): an immutable or read-only source
    #: is then copied, never wrapped.
    WRITABLE_ONLY: bool
    #: Whether it always copies host memory into memory of its own (pyclesperanto, cupy):
    #: a host copy made for it need not be aligned, and reading it out is a copy.
    COPIES_HOST: bool
    #: Dtypes it cannot hold but holds exactly in a wider one (``{"bool": "uint8"}``);
    #: convert treats a backend without it as having none.
    WIDENINGS: Mapping[str, str]

    def is_installed(self) -> bool:
        """Whether the framework is installed and usable here, decided without importing it."""
        ...

    def load(self) -> ModuleType:
        """Import the framework (raising BackendUnavailableError with the extra to install)."""
        ...

    def version(self) -> str:
        """The framework's version string."""
        ...

    def is_array(self, x: object) -> bool:
        """Whether ``x`` is one of this framework's arrays (the framework is already imported)."""
        ...

    def non_array_hint(self, x: object) -> str | None:
        """For an object of this framework that is not an array: what to pass instead."""
        ...

    def is_plain(self, x: Any) -> bool:
        """Whether ``x`` may be returned as it is by an identity conversion without
        :func:`describe` (a cheap check; False sends it through the full plan)."""
        ...

    def namespace(self) -> Any:
        """The array API namespace, or None for storage-only frameworks (tensorflow,
        pyclesperanto), for which :func:`arrayport.namespace` raises."""
        ...

    def devices(self) -> tuple[Device, ...]:
        """The devices this framework can place arrays on here."""
        ...

    def device_of(self, x: Any) -> Device:
        """The device holding ``x``."""
        ...

    def resolve_device(self, requested: Device | None, source: Device) -> Device:
        """The device a conversion into this framework lands on (DeviceError if impossible)."""
        ...

    def describe(self, x: Any) -> ArrayInfo:
        """Shape, dtype, layout and device of ``x`` without moving data."""
        ...

    def check_dtype(self, dtype: np.dtype[Any] | None, dtype_name: str) -> str | None:
        """``None`` when this framework can hold the dtype exactly, else why not and the remedy."""
        ...

    def shape_refusal(self, info: ArrayInfo) -> str | None:
        """``None`` when this framework can hold an array of that shape, else why not."""
        ...

    def host_view(self, x: Any) -> np.ndarray | None:
        """A numpy array sharing ``x``'s memory (read-only if ``x`` is), or ``None``."""
        ...

    def to_numpy(self, x: Any) -> np.ndarray:
        """``x`` as a numpy array on the host: a view when possible, else one copy."""
        ...

    def share_refusal(self, info: ArrayInfo) -> str | None:
        """``None`` when :func:`from_numpy` can import such a host array without copying."""
        ...

    def dlpack_refusal(self, info: ArrayInfo, source_immutable: bool) -> str | None:
        """``None`` when :func:`from_dlpack` imports such an array without copying.

        Only dtype, layout and alignment count here; ``source_immutable`` is for the
        message: whether an immutable source may be aliased is decided by
        :mod:`arrayport.convert` from :data:`WRITABLE_ONLY`.
        """
        ...

    def dlpack_export_refusal(self, info: ArrayInfo) -> str | None:
        """``None`` when :func:`dlpack_source` can export such an array (only called when
        :data:`HAS_DLPACK`)."""
        ...

    def dlpack_source(self, x: Any) -> Any:
        """The object to hand to another framework's ``from_dlpack`` (None: cannot export)."""
        ...

    def from_dlpack(self, x: Any, device: Device, *, read_only: bool = False) -> Any:
        """Import another framework's array (``read_only``: the source is immutable)."""
        ...

    def from_numpy(self, a: np.ndarray, device: Device) -> Any:
        """Wrap the host array ``a``: zero-copy when share_refusal(a) is None, else a copy."""
        ...

    def copy(self, x: Any) -> Any:
        """A fresh buffer with the same values, on the same device."""
        ...

    def move(self, x: Any, device: Device) -> Any:
        """``x`` on another device of the same framework."""
        ...

    def oom_error_types(self) -> tuple[type[BaseException], ...]:
        """Exception types that may signal out-of-memory (``is_oom`` has the last word)."""
        ...

    def is_oom(self, exc: BaseException) -> bool:
        """Whether ``exc`` is this framework's out-of-memory error."""
        ...

    def release_memory(self, device: Device | None = None) -> None:
        """Free memory the framework caches on ``device`` (every device when ``None``)."""
        ...

    def memory_info(self) -> list[dict[str, Any]]:
        """Per device: ``{"device", "in_use", "cached", "free"}`` in bytes (``None`` unknown)."""
        ...
