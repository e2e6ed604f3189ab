"""Device values, their parsing, and the thread's current accelerator.

A :class:`Device` is a small frozen value: a kind (``"cpu"``, ``"cuda"`` or ``"opencl"``)
and an index. Users pass devices as ``None``, ``"cpu"``, an ``int`` GPU index, ``"cuda:N"``,
a :class:`Device` or a ``torch.device``; :func:`parse_device` turns all of them into a
``Device`` (or ``None``, meaning "decide from the source array").

Each thread (and asyncio task) has its own current accelerator index (default 0), set
with :func:`use_device`; each thread has its own per-device stream cache for the CUDA
frameworks.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import operator
import threading
from collections.abc import Iterator
from typing import Any, Literal, Protocol, SupportsIndex

import numpy as np

from arrayport.errors import DeviceError

__all__ = [
    "CPU",
    "Device",
    "DeviceLike",
    "DeviceObject",
    "cuda_device",
    "current_device_index",
    "is_device_object",
    "parse_device",
    "thread_stream",
    "use_device",
]

DeviceKind = Literal["cpu", "cuda", "opencl"]


@dataclasses.dataclass(frozen=True, slots=True)
class Device:
    """A physical device: ``Device("cpu")``, ``Device("cuda", 1)``, ``Device("opencl", 0)``."""

    kind: DeviceKind
    index: int = 0

    def __post_init__(self) -> None:
        # Checked once here, so that no framework sees a device it would misread (a
        # negative index counts from the end in Python lists).
        if self.kind not in ("cpu", "cuda", "opencl"):
            msg = f"Device kind must be 'cpu', 'cuda' or 'opencl', not {self.kind!r}"
            raise DeviceError(msg)
        index = self.index if type(self.index) is int else as_index(self.index)
        if index is None or index < 0:
            msg = f"Device index must be an int >= 0, not {self.index!r}"
            raise DeviceError(msg)
        if index is not self.index:  # np.int64(1) as parse_device takes it: a Python int
            object.__setattr__(self, "index", index)
        if self.kind == "cpu" and index != 0:
            msg = f"the CPU is one device: Device('cpu') (index 0), not index {index}"
            raise DeviceError(msg)

    def __str__(self) -> str:
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}"

    @property
    def is_cpu(self) -> bool:
        """Whether the device is host memory."""
        return self.kind == "cpu"


CPU = Device("cpu", 0)


@functools.lru_cache(maxsize=None, typed=True)  # typed: True is not index 1
def cuda_device(index: int) -> Device:
    """``Device("cuda", index)``, one instance per index: the backends name the device of
    every GPU array they route, and building a Device runs its checks in Python (torch's
    ``device_of`` of a CUDA tensor: 1.89 us building one, 1.27 us with this, on an H100
    machine)."""
    return Device("cuda", index)


class DeviceObject(Protocol):
    """Another framework's device value with a string ``type`` whose ``str()`` is a device
    string arrayport reads (``torch.device``: ``"cpu"``, ``"cuda"``, ``"cuda:1"``)."""

    @property
    def type(self) -> str: ...


# SupportsIndex: numpy integers too (np.int64(1) from np.arange), as as_index reads them.
DeviceLike = Device | str | SupportsIndex | DeviceObject | None


def is_device_object(value: object) -> bool:
    # torch.device, read without importing torch: a str type (numpy dtypes' is a class).
    return not isinstance(value, str) and isinstance(getattr(value, "type", None), str)


def as_index(value: object) -> int | None:
    """``value`` as a Python int when it is an integer of any kind (``np.int64(1)`` from
    ``np.arange`` too: anything with ``__index__``), else None; bools are not integers
    here (True is not device 1), nor are a framework's bool scalars (``torch.tensor(True)``
    has ``__index__``)."""
    if type(value) is int:
        return value
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        index = operator.index(value)  # type: ignore[arg-type]
    except (TypeError, AttributeError):  # tensorflow's bool and float tensors: the latter
        return None
    return None if str(getattr(value, "dtype", "")) in _BOOL_DTYPES else index


# A bool scalar's dtype as str() gives it: numpy's, jax's and cupy's; torch's.
_BOOL_DTYPES = frozenset({"bool", "torch.bool"})


def parse_device(value: DeviceLike) -> Device | None:
    """Turn a user's device argument into a :class:`Device`, or ``None`` for "same as source".

    Accepted: ``None``, ``"cpu"``, a non-negative ``int`` (a CUDA index), ``"cuda"`` (the
    thread's current accelerator), ``"cuda:N"``, ``"gpu"``/``"gpu:N"`` (aliases of cuda),
    ``"opencl:N"``, a :class:`Device`, a ``torch.device`` (read by its ``str()``, one of
    those strings, without importing torch), a jax ``Device`` (by its platform and index;
    every host device is the CPU), a tensorflow
    device name of this process (``"/job:localhost/replica:0/task:0/device:GPU:1"``,
    ``"/device:CPU:0"``: a tensor's ``.device``; ``"/GPU:1"``, ``"/CPU:0"``: the short
    form ``tf.device`` takes), or pyclesperanto's device object (an array's ``.device``).

    Raises
    ------
    DeviceError
        For anything else; the message lists the accepted forms.
    """
    if value is None or isinstance(value, Device):
        return value
    number = as_index(value)
    found = None
    if number is not None:
        if number >= 0:
            return Device("cuda", number)
    elif isinstance(value, str):
        found = _parse_text(value)
    elif is_device_object(value):
        found = _parse_text(str(value))  # torch's prints as "cpu", "cuda:N"
    elif type(value).__module__.startswith("jaxlib"):
        found = _jax_device_object(value)  # every host device ("cpu:1" too) is the CPU
    elif type(value).__module__.startswith("pyclesperanto"):
        found = _opencl_device_object(value)  # it prints as an address
    if found is not None:
        return found
    msg = (
        f"invalid device {_shown(value)}: use None (same device as the input), 'cpu', a GPU "
        "index such as 0, 'cuda:N' or 'opencl:N' (N = 0, 1, ...), or a device object of "
        "torch, jax, tensorflow (its name) or pyclesperanto (an array's .device)"
    )
    raise DeviceError(msg)


def _shown(value: object) -> str:
    """``value`` for a message: its repr's first line, 80 characters at most
    (pyclesperanto's device prints about a dozen lines)."""
    lines = [line.strip() for line in repr(value).splitlines() if line.strip()]
    shown = lines[0] if lines else type(value).__name__
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _jax_device_object(value: object) -> Device | None:
    """jax's device object (``jax.devices()[i]``, an array's ``.device``)."""
    if not hasattr(value, "platform"):
        return None
    from arrayport.backends._jax_devices import from_jax_device

    try:
        return from_jax_device(value)
    except DeviceError:
        return None  # another platform (tpu): refused below with the accepted forms


def _opencl_device_object(value: object) -> Device:
    """pyclesperanto's device object (an array's ``.device``)."""
    from arrayport.backends._cle_devices import device_of_object

    return device_of_object(value)


def _parse_text(value: str) -> Device | None:
    text = value.strip().lower()
    if text.startswith("/"):  # tensorflow's name: "/job:localhost/replica:0/task:0/device:CPU:0"
        # Only this process's devices: another job's or task's would be another machine's.
        head, found, rest = text.rpartition("/device:")
        if found and head in ("", "/job:localhost/replica:0/task:0"):
            text = rest
        elif not found and text.count("/") == 1 and text[1:4] in ("cpu", "gpu"):
            text = text[1:]  # its short form, as tf.device takes it: "/GPU:0", "/CPU:0"
        else:
            return None
    if text in ("cpu", "cpu:0"):
        return CPU
    kind, _, index = text.partition(":")
    if kind == "gpu":
        kind = "cuda"
    if kind in ("cuda", "opencl"):
        if not text.endswith(":") and not index:  # "cuda", not "cuda:"
            return Device(kind, current_device_index())  # type: ignore[arg-type]
        if index.isascii() and index.isdigit():  # not "²" or other Unicode digits
            return Device(kind, int(index))  # type: ignore[arg-type]
    return None


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.streams: dict[tuple[str, int], Any] = {}


_state = _ThreadState()
# A context variable, not thread state: asyncio tasks each run in their own copy of the
# context, so one task's use_device block is not seen by another task of the same thread.
# A new thread starts from the default, 0.
_device_index: contextvars.ContextVar[int] = contextvars.ContextVar(
    "arrayport_device_index", default=0
)


def current_device_index() -> int:
    """The current accelerator index of the calling thread (or asyncio task): 0 unless
    :func:`use_device` set it."""
    return _device_index.get()


@contextlib.contextmanager
def use_device(index: SupportsIndex | str | Device | DeviceObject) -> Iterator[int]:
    """Make accelerator ``index`` the current device of the calling thread (or asyncio
    task: each has its own) inside the block.

    ``index`` is a GPU index, or a CUDA device whose index is taken: any device value
    :func:`parse_device` reads as one (``Device("cuda", 1)``, ``"cuda:1"``,
    ``torch.device("cuda:1")``, a jax GPU device); the block yields the index. Another
    device (the CPU, an OpenCL device) is refused with the ``device=`` to pass instead.

    It is read only where arrayport must choose an accelerator itself: a bare ``"cuda"``
    (``"gpu"``, ``"opencl"``) device argument, and a conversion or dispatched call with
    ``device=None`` whose target cannot hold the data where it is (numpy to cupy, say, or
    data on an OpenCL device into a CUDA framework). A target that can hold the data where
    it is keeps it there (numpy to torch stays on the CPU), and pyclesperanto with
    ``device=None`` uses its own selected device (``pyclesperanto.select_device``), not
    this one. Other threads are unaffected.
    A generator that keeps the block open across ``yield`` shares it with its caller (as
    with any context manager); close such blocks in the order they were opened. A
    generator finished in another thread or task than the one it started in (an ``async
    for`` left by ``break``, closed later by asyncio) ends the block without an error,
    leaving the device where it ends as it was; the thread or task it started in keeps the
    generator's device until it leaves its own blocks.

    Examples
    --------
    >>> import arrayport as ap
    >>> with ap.use_device(0):
    ...     pass
    """
    given = as_index(index)
    if given is None and index is not None:  # a device value, read as parse_device reads it
        given = _cuda_index(index)
    if given is None or given < 0:
        msg = (
            f"use_device takes a non-negative GPU index or a CUDA device, got "
            f"{_shown(index)}: pass the index, e.g. use_device(1) for cuda:1"
        )
        raise DeviceError(msg)
    token = _device_index.set(given)
    try:
        yield given
    finally:
        # A generator closed in another thread or task than the one it opened the block
        # in ends it there: that context never saw the set, and keeps its own device.
        with contextlib.suppress(ValueError):
            _device_index.reset(token)


def _cuda_index(value: SupportsIndex | str | Device | DeviceObject) -> int | None:
    """The index of ``value``, a CUDA device; DeviceError for another kind; None when it
    names no device (use_device's own message follows)."""
    try:
        device = parse_device(value)
    except DeviceError:
        return None
    if device is None:
        return None
    if device.kind == "cuda":
        return device.index
    what = "the host, not an accelerator" if device.is_cpu else "not a CUDA device"
    msg = (
        f"use_device takes a GPU index or a CUDA device, got {_shown(value)}, {what}: pass "
        f"device={str(device)!r} to the call instead"
    )
    raise DeviceError(msg)


def thread_stream(framework: str, index: int, factory: Any) -> Any:
    """The calling thread's own stream for ``framework`` on device ``index``.

    ``factory()`` creates the stream the first time a thread asks; CUDA frameworks use it
    so that concurrent threads never serialise on, or race through, the default stream.
    """
    key = (framework, index)
    stream = _state.streams.get(key)
    if stream is None:
        stream = factory()
        _state.streams[key] = stream
    return stream
