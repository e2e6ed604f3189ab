"""Freeing memory between the OOM policy's attempts (:mod:`arrayport._oom_recovery`):
releasing the frameworks' cached memory, and dropping the local variables of the frames a
failed attempt's error keeps alive."""

from __future__ import annotations

import contextlib
import sys
import traceback
from types import FrameType

from arrayport._oom_recognition import loaded
from arrayport.backends import get_backend
from arrayport.devices import Device
from arrayport.errors import BackendUnavailableError
from arrayport.memory_types import MemoryType

__all__ = ["drop_frames", "release"]


def drop_frames(exc: BaseException) -> None:
    """Clear the local variables of the frames an error's traceback keeps alive.

    A traceback holds the frames of ``fn``, and so every intermediate array ``fn`` had
    made: kept, they would block the very release we are about to do. The traceback stays
    printable (file and line are kept); only the locals go.

    The chain is followed (``raise ... from``, and errors ``fn`` was handling when it ran
    out) up to the first error that a frame still running handles: that one, and what it
    chains to, belongs to the caller (the dispatched call was made inside its ``except``
    block, or a generator suspended in one), whose locals must survive the call.
    """
    running: set[int] = set()
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        running.add(id(frame))
        frame = frame.f_back
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        if tb is not None:
            if current is not exc and id(tb.tb_frame) in running:
                break  # handled by a frame still running: the caller's
            traceback.clear_frames(tb)
        current = current.__cause__ or current.__context__


def release(mt: MemoryType | None, device: Device | None, *, escalate: bool) -> None:
    """Release ``mt``'s cached memory on ``device``; on a repeated failure on a GPU, also
    every other imported framework's cache on that GPU (their pools block this one).

    A framework this process never imported holds no memory here (an ``OutOfMemoryError``
    raised in a dask worker names the worker's framework): nothing to release, and nothing
    to import."""
    if mt is None:
        return
    if loaded(mt):
        # (BackendUnavailableError: imported but without a usable device here.)
        with contextlib.suppress(BackendUnavailableError):
            get_backend(mt).release_memory(device)
    if not escalate or device is None or device.kind != "cuda":
        return
    for other in MemoryType:
        if other is not mt and other is not MemoryType.NUMPY and loaded(other):
            try:
                get_backend(other).release_memory(device)
            except BackendUnavailableError:  # imported but without a usable GPU here
                continue
