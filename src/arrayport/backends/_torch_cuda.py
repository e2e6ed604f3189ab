"""CUDA helpers of the torch backend: per-thread streams, cache release, memory figures.

Each function takes the loaded ``torch`` module, so this module imports no framework and
nothing from the torch backend. CUDA paths ran on an H100 (ADR 0057);
CI has no GPU, and ``tests/test_gpu.py`` runs them with ``ARRAYPORT_DEVICE=cuda``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from arrayport.devices import Device, thread_stream


class ThreadStream:
    """Enter the calling thread's own CUDA stream on device ``index`` (for dispatch).

    Parameters
    ----------
    torch : module
        The loaded ``torch`` module.
    index : int
        The CUDA device index.
    """

    def __init__(self, torch: ModuleType, index: int) -> None:
        self.torch = torch
        self.index = index

    def __enter__(self) -> Any:
        torch = self.torch
        index = self.index
        self.stream = thread_stream("torch", index, lambda: torch.cuda.Stream(device=index))
        # Work already queued on the device's current stream (the producers of the
        # arguments) must finish before the function reads them on this stream.
        self.stream.wait_stream(torch.cuda.current_stream(index))
        self.context = torch.cuda.stream(self.stream)
        self.context.__enter__()
        return self.stream

    def __exit__(self, *exc: object) -> None:
        self.context.__exit__(*exc)
        # Results are complete before any other stream (or the caller) touches them.
        self.stream.synchronize()


def move_on_thread_stream(torch: ModuleType, x: Any, target: Any, index: int) -> Any:
    """``x.to(target)`` for a CUDA ``target``, queued on this thread's own stream."""
    factory = lambda: torch.cuda.Stream(device=target)  # noqa: E731
    stream = thread_stream("torch", index, factory)
    # As in ThreadStream: what the target device's current stream still has queued may be
    # reading memory that torch's allocator hands this stream again (the source's own
    # device is ordered by torch's cross-device copy).
    stream.wait_stream(torch.cuda.current_stream(index))
    with torch.cuda.stream(stream):
        out = x.to(target, non_blocking=False)
    # The copy was queued on this thread's own stream; the caller's stream must not
    # read the result (nor free the source) before it is done.
    stream.synchronize()
    return out


# ExternalStream objects of consumers' streams, per (CUDA index, stream pointer): torch's
# own __dlpack__ builds one per call (about 5 us of its 17 us on an H200).
_consumer_streams: dict[tuple[int, int], Any] = {}
_CONSUMER_STREAMS_MAX = 64


def dlpack_for_stream(torch: ModuleType, x: Any, stream: int) -> Any:
    """``x.__dlpack__(stream=stream)`` for a CUDA tensor ``x``, with the consumer's stream
    object kept between calls (ADR 0066).

    As torch does: the capsule comes from torch's own export (its checks: gradient,
    conjugate bit, layout, current device), and unless ``stream`` is torch's current
    stream, the work queued on the current stream is ordered before ``stream`` by an
    event. torch's special stream values (``None``, -1, 0, 1, 2) go to torch as they are.

    A tensor on another GPU than torch's current device is exported with its own device
    entered: torch's export refuses it otherwise (a ``BufferError``), and orders the
    current device's current stream, not the tensor's.
    """
    index = x.device.index
    if index is not None and index != torch.cuda.current_device():
        with torch.cuda.device(index):
            return dlpack_for_stream(torch, x, stream)
    if stream is None or stream in (-1, 0, 1, 2):
        return x.__dlpack__(stream=stream)
    capsule = x.__dlpack__(stream=-1)  # -1: torch's export without its stream handling
    current = torch.cuda.current_stream(index)
    if current.cuda_stream != stream:
        consumer = _consumer_streams.get((index, stream))
        if consumer is None:
            if len(_consumer_streams) >= _CONSUMER_STREAMS_MAX:
                _consumer_streams.clear()
            consumer = torch.cuda.ExternalStream(stream, device=index)
            _consumer_streams[index, stream] = consumer
        event = torch.cuda.Event()
        event.record(current)
        consumer.wait_event(event)
    return capsule


def release_cuda(torch: ModuleType, device: Device | None) -> None:
    """Synchronize and empty torch's CUDA cache on ``device``; for None, on each GPU this
    process has a CUDA context on (ADR 0092: entering a GPU without one creates one)."""
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return
    if device is not None and device.kind != "cuda":
        return
    from arrayport._oom_release import gpus_to_release  # only when memory is released

    # As in memory_rows: asked of the driver without creating a context (where a torch
    # lacked the private call, every GPU would be released, as before ADR 0092).
    has_context = getattr(torch._C, "_cuda_hasPrimaryContext", None)
    index = None if device is None else device.index
    for i in gpus_to_release(torch.cuda.device_count(), index, has_context):
        with torch.cuda.device(i):
            torch.cuda.synchronize()
            torch.cuda.empty_cache()


def memory_rows(torch: ModuleType) -> list[dict[str, Any]]:
    """The rows of ``memory_info``: the CPU (no figures), then each CUDA device this process
    has a context on.

    Asking a device for its free memory creates a context there (hundreds of MiB of that
    GPU) when there is none: devices without one hold nothing of torch's and are left out.
    """
    rows: list[dict[str, Any]] = [{"device": "cpu", "in_use": None, "cached": None, "free": None}]
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        # Private but long-standing (torch's own tests use it): asks the driver without
        # creating a context. Without it, every device is asked, as before torch had it.
        has_context = getattr(torch._C, "_cuda_hasPrimaryContext", lambda i: True)
        for i in range(torch.cuda.device_count()):
            if not has_context(i):
                continue
            free, total = torch.cuda.mem_get_info(i)
            in_use = int(torch.cuda.memory_allocated(i))
            cached = int(torch.cuda.memory_reserved(i)) - in_use
            rows.append(
                {
                    "device": f"cuda:{i}",
                    "in_use": in_use,
                    "cached": cached,
                    "free": int(free),
                    "total": int(total),
                }
            )
    return rows
