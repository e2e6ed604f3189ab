"""Which memory types and devices the testing kit runs on: read from the environment.

``ARRAYPORT_MEMORY_TYPES`` and ``ARRAYPORT_DEVICE`` decide for the pytest plugin's
``memory_type`` fixture, for :func:`arrayport.testing.assert_equivalent` with
``memory_types=None`` and for the strategies' placement. Kept apart from the plugin (which
needs pytest) and the strategies (which need hypothesis), so that ``assert_equivalent``
runs in a script with neither.
"""

from __future__ import annotations

import os

from arrayport.backends import get_backend, installed_memory_types
from arrayport.backends._util import pip_install
from arrayport.errors import ArrayportError, InvalidOptionError
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["default_device", "device_kind", "selected_memory_types", "unusable_reason"]

#: Memory types whose framework can hold data on a CUDA GPU.
_CUDA_CAPABLE = frozenset(
    {MemoryType.CUPY, MemoryType.TORCH, MemoryType.JAX, MemoryType.TENSORFLOW}
)


def _device_setting() -> str:
    """``ARRAYPORT_DEVICE`` as ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (lower case, stripped;
    unset or empty: ``"cpu"``). Every reader of the variable goes through here.

    Raises
    ------
    InvalidOptionError
        For any other value.
    """
    value = os.environ.get("ARRAYPORT_DEVICE", "cpu").strip().lower() or "cpu"
    kind, colon, index = value.partition(":")
    # Only cuda takes an index ("cpu:3" is no device), in ASCII digits (not "cuda:٣").
    if kind not in ("cpu", "cuda") or (
        colon and (kind == "cpu" or not (index.isascii() and index.isdigit()))
    ):
        msg = f"ARRAYPORT_DEVICE={value!r} is not a device: use 'cpu', 'cuda' or 'cuda:N'"
        raise InvalidOptionError(msg)
    return value


def device_kind() -> str:
    """``"cpu"`` or ``"cuda"``, from ``ARRAYPORT_DEVICE`` (default ``cpu``).

    Raises
    ------
    InvalidOptionError
        For any other value.
    """
    return _device_setting().partition(":")[0]


def selected_memory_types() -> tuple[MemoryType, ...]:
    """The memory types tests run over: ``ARRAYPORT_MEMORY_TYPES``, else the installed ones.

    Raises
    ------
    InvalidOptionError
        If ``ARRAYPORT_MEMORY_TYPES`` names something that is not a memory type.
    """
    text = os.environ.get("ARRAYPORT_MEMORY_TYPES", "").strip()
    if not text:
        return installed_memory_types()
    chosen: list[MemoryType] = []
    for name in text.split(","):
        if name.strip():
            mt = as_memory_type(name.strip())
            if mt not in chosen:
                chosen.append(mt)
    if not chosen:
        msg = (
            f"ARRAYPORT_MEMORY_TYPES={text!r} names no memory type: list some "
            "(e.g. 'numpy,torch'), or unset it to use every installed one"
        )
        raise InvalidOptionError(msg)
    return tuple(chosen)


def unusable_reason(memory_type: MemoryType) -> str | None:
    """Why tests cannot run on ``memory_type`` here (``None`` when they can).

    Not installed; on ``ARRAYPORT_DEVICE=cuda``, not a CUDA framework or no GPU visible to it.
    """
    if memory_type not in installed_memory_types():
        how = pip_install(get_backend(memory_type).EXTRA)
        return f"{memory_type.value} is not installed ({how})"
    if device_kind() != "cuda":
        return None
    if memory_type not in _CUDA_CAPABLE:
        return f"{memory_type.value} cannot hold data on a CUDA GPU (ARRAYPORT_DEVICE=cuda)"
    try:
        backend = get_backend(memory_type)
        backend.load()
        found = any(d.kind == "cuda" for d in backend.devices())
    except ArrayportError as exc:
        return f"{memory_type.value} is not usable: {exc}"
    if not found:
        return f"{memory_type.value} sees no CUDA GPU here (ARRAYPORT_DEVICE=cuda)"
    return None


def default_device(memory_type: MemoryType | str) -> str | None:
    """The device :func:`arrays` places arrays on: ``ARRAYPORT_DEVICE`` decides.

    ``ARRAYPORT_DEVICE=cuda`` (or ``cuda:N``) puts arrays of the CUDA frameworks on the
    current GPU (GPU N); otherwise (``cpu`` or unset) the framework's default placement for
    host data is kept.

    Raises
    ------
    InvalidOptionError
        If ``ARRAYPORT_DEVICE`` is not a device (:func:`device_kind`), whatever the memory
        type.
    """
    wanted = _device_setting()
    mt = as_memory_type(memory_type)
    if wanted.startswith("cuda") and mt in _CUDA_CAPABLE:
        return wanted
    return None
