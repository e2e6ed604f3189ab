"""Freeing memory between the OOM policy's attempts (:mod:`arrayport._oom_recovery`):
releasing the frameworks' cached memory, and dropping the local variables of the frames a
failed attempt's error keeps alive."""

from __future__ import annotations

import sys
import traceback
import warnings
from collections.abc import Callable
from types import FrameType

from arrayport._oom_recognition import loaded
from arrayport.backends import get_backend
from arrayport.devices import Device
from arrayport.errors import BackendUnavailableError
from arrayport.memory_types import MemoryType

__all__ = ["drop_frames", "gpus_to_release", "release"]


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


def release(
    mt: MemoryType | None,
    device: Device | None,
    *,
    escalate: bool,
    note: Callable[[str], None] | None = None,
) -> None:
    """Release ``mt``'s cached memory on ``device``; on a repeated failure on a GPU, also
    every other imported framework's cache on that GPU (their pools block this one).

    A framework this process never imported holds no memory here (an ``OutOfMemoryError``
    raised in a dask worker names the worker's framework): nothing to release, and nothing
    to import.

    A release that fails (a CUDA error from a GPU another process holds, say) does not
    replace the out-of-memory handling: the policy goes on, and the failure is handed to
    ``note`` (what the final error says was tried), or warned about without one."""
    if mt is None:
        return
    if loaded(mt):
        _release_one(mt, device, note)
    if not escalate or device is None or device.kind != "cuda":
        return
    for other in MemoryType:
        if other is not mt and other is not MemoryType.NUMPY and loaded(other):
            _release_one(other, device, note)


def _release_one(mt: MemoryType, device: Device | None, note: Callable[[str], None] | None) -> None:
    try:
        get_backend(mt).release_memory(device)
    except BackendUnavailableError:  # imported but without a usable device here
        return
    except Exception as exc:
        where = "" if device is None else f" on {device}"
        text = (
            f"arrayport: releasing {mt.value}'s cached memory{where} failed, and was "
            f"skipped: {type(exc).__name__}: {exc}"
        )
        if note is not None:
            note(text)
        else:
            warnings.warn(text, RuntimeWarning, stacklevel=3)


def gpus_to_release(
    count: int, index: int | None, has_context: Callable[[int], bool | None] | None
) -> list[int]:
    """The CUDA devices (of ``count``) whose cached memory a release goes through: GPU
    ``index`` where one is known, else each GPU with a CUDA context (ADR 0092).

    Entering a GPU without a context creates one there (hundreds of MiB, or a CUDA error
    on a GPU another process holds in exclusive mode), and such a GPU holds nothing of
    this process's to release. ``has_context(i)`` says, asked without creating one; where
    it cannot tell (None), or there is no such call, the GPU is released, as before."""
    if index is not None:
        return [index]
    if has_context is None:
        return list(range(count))
    return [i for i in range(count) if has_context(i) is not False]
