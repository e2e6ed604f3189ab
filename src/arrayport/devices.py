"""Device values, their parsing, and the thread's current accelerator.

A :class:`Device` is a small frozen value: a kind (``"cpu"``, ``"cuda"`` or ``"opencl"``)
and an index. Users pass devices as ``None``, ``"cpu"``, an ``int`` GPU index, ``"cuda:N"``
or a :class:`Device`; :func:`parse_device` turns all of them into a ``Device`` (or ``None``,
meaning "decide from the source array").

Each thread has its own current accelerator index (default 0), set with
:func:`use_device`, and its own per-device stream cache for the CUDA frameworks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from typing import Any, Literal

from arrayport.errors import DeviceError

__all__ = [
    "CPU",
    "Device",
    "DeviceLike",
    "current_device_index",
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

    def __str__(self) -> str:
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}"

    @property
    def is_cpu(self) -> bool:
        """Whether the device is host memory."""
        return self.kind == "cpu"


CPU = Device("cpu", 0)

DeviceLike = Device | str | int | None


def parse_device(value: DeviceLike) -> Device | None:
    """Turn a user's device argument into a :class:`Device`, or ``None`` for "same as source".

    Accepted: ``None``, ``"cpu"``, a non-negative ``int`` (a CUDA index), ``"cuda"`` (the
    thread's current accelerator), ``"cuda:N"``, ``"gpu"``/``"gpu:N"`` (aliases of cuda),
    ``"opencl:N"``, or a :class:`Device`.

    Raises
    ------
    DeviceError
        For anything else; the message lists the accepted forms.
    """
    if value is None or isinstance(value, Device):
        return value
    if isinstance(value, bool):  # bool is an int subclass: True is not device 1
        pass
    elif isinstance(value, int):
        if value >= 0:
            return Device("cuda", value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text == "cpu":
            return CPU
        kind, _, index = text.partition(":")
        if kind == "gpu":
            kind = "cuda"
        if kind in ("cuda", "opencl"):
            if not index:
                return Device(kind, current_device_index())  # type: ignore[arg-type]
            if index.isdigit():
                return Device(kind, int(index))  # type: ignore[arg-type]
    msg = (
        f"invalid device {value!r}: use None (same device as the input), 'cpu', a GPU "
        "index such as 0, 'cuda:N' or 'opencl:N'"
    )
    raise DeviceError(msg)


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.device_index = 0
        self.streams: dict[tuple[str, int], Any] = {}


_state = _ThreadState()


def current_device_index() -> int:
    """The calling thread's current accelerator index (0 unless :func:`use_device` set it)."""
    return _state.device_index


@contextlib.contextmanager
def use_device(index: int) -> Iterator[int]:
    """Make accelerator ``index`` the calling thread's current device inside the block.

    Conversions with ``device=None`` that need an accelerator (numpy to cupy, say) and
    dispatched calls without an explicit ``device`` use it. Other threads are unaffected.

    Examples
    --------
    >>> import arrayport as ap
    >>> with ap.use_device(0):
    ...     pass
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        msg = f"use_device takes a non-negative GPU index, got {index!r}"
        raise DeviceError(msg)
    previous = _state.device_index
    _state.device_index = index
    try:
        yield index
    finally:
        _state.device_index = previous


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
