"""The memory types arrayport knows: one per array framework."""

from __future__ import annotations

import difflib
import enum

from arrayport.errors import InvalidOptionError

__all__ = ["MemoryType", "as_memory_type"]


class MemoryType(str, enum.Enum):
    """A framework whose arrays arrayport can convert to and dispatch on.

    The members compare equal to their string values, so ``MemoryType.TORCH == "torch"``.
    """

    NUMPY = "numpy"
    CUPY = "cupy"
    TORCH = "torch"
    JAX = "jax"
    TENSORFLOW = "tensorflow"
    PYCLESPERANTO = "pyclesperanto"
    DASK = "dask"

    def __str__(self) -> str:
        return self.value


def as_memory_type(value: MemoryType | str) -> MemoryType:
    """Return ``value`` as a :class:`MemoryType`.

    Raises
    ------
    InvalidOptionError
        If ``value`` names no memory type; the message lists the valid names.
    """
    if isinstance(value, MemoryType):
        return value
    if isinstance(value, str):
        try:
            return MemoryType(value.lower())
        except ValueError:
            pass
    values = [m.value for m in MemoryType]
    names = ", ".join(repr(v) for v in values)
    device = _device_hint(value) if isinstance(value, str) else None
    if device is not None:
        msg = f"{value!r} is a device, not a memory type{device}; use one of {names}"
        raise InvalidOptionError(msg)
    guess = _likely_meant(value.lower()) if isinstance(value, str) else None
    hint = f" (did you mean {guess!r}?)" if guess else ""
    msg = f"{value!r} is not a memory type{hint}; use one of {names}"
    raise InvalidOptionError(msg)


# Device names users write where a memory type goes (torch's .to("cuda")), and the memory
# type an example names for each kind.
_DEVICE_WORDS = {
    "cpu": "torch",
    "cuda": "torch",
    "gpu": "torch",
    "opencl": "pyclesperanto",
    "mps": "",
    "xpu": "",
    "tpu": "",
}


def _device_hint(text: str) -> str | None:
    """For a device name given as a memory type (``"cuda"``, ``"cuda:0"``, ``"gpu"``,
    ``"cpu"``, ``"opencl"``, ``"mps"``): how to pass a device. None for any other text."""
    kind, colon, index = text.strip().lower().partition(":")
    if kind not in _DEVICE_WORDS or (colon and not index.isdigit()):
        return None
    example = _DEVICE_WORDS[kind]
    if not example:  # a device arrayport does not run on
        return " (and not one arrayport runs on: its devices are 'cpu', 'cuda:N' and 'opencl:N')"
    device = ("cuda" if kind == "gpu" else kind) + colon + index  # "gpu" is cuda's alias
    return (
        f": name a memory type and pass the device apart, e.g. ap.convert(x, {example!r}, "
        f"device={device!r}) or @ap.memory_type({example!r}, device={device!r})"
    )


# The import names users write for the frameworks, which are not memory type names.
_IMPORT_NAMES = {
    "np": "numpy",
    "cp": "cupy",
    "pytorch": "torch",
    "jnp": "jax",
    "tf": "tensorflow",
    "cle": "pyclesperanto",
    "da": "dask",
}


def _likely_meant(text: str) -> str | None:
    """The memory type a misspelled or abbreviated name most likely meant, if any."""
    if text in _IMPORT_NAMES:
        return _IMPORT_NAMES[text]
    close = difflib.get_close_matches(text, [m.value for m in MemoryType], n=1, cutoff=0.6)
    return close[0] if close else None
