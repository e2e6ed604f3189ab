"""The arrayport exception hierarchy.

Every error arrayport raises derives from :class:`ArrayportError`. Where a built-in
exception type describes the failure as well (``TypeError`` for an unsupported array,
``MemoryError`` for out-of-memory), the arrayport error subclasses it too, so that generic
handlers written before arrayport keep working.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

    from arrayport.devices import Device
    from arrayport.memory_types import MemoryType

__all__ = [
    "ArrayportError",
    "BackendUnavailableError",
    "BlockRuleError",
    "ConversionError",
    "CopyRequiredError",
    "DeviceError",
    "DtypeConversionError",
    "InvalidOptionError",
    "NoNamespaceError",
    "OutOfMemoryError",
    "UnsupportedArrayError",
    "UnsupportedDtypeError",
    "WholeArrayWarning",
]


class ArrayportError(Exception):
    """Base class of every error raised by arrayport."""

    # tensorflow's autograph rebuilds an error raised while it traces (inside tf.function)
    # as its own StagingError unless the type says to pass it through: arrayport's
    # refusals of symbolic tensors must stay catchable as what they are.
    ag_pass_through = True


class UnsupportedArrayError(ArrayportError, TypeError):
    """The object is not an array arrayport can handle (or not an array at all)."""


class NoNamespaceError(UnsupportedArrayError):
    """:func:`arrayport.namespace` was asked for the namespace of a framework that has no
    array API namespace (tensorflow, pyclesperanto).

    Attributes
    ----------
    memory_type : str or None
        The memory type asked for (its string value).
    """

    def __init__(self, message: str, *, memory_type: str | None = None) -> None:
        super().__init__(message)
        self.memory_type = memory_type


class ConversionError(ArrayportError):
    """A conversion between memory types failed.

    Attributes
    ----------
    source, target : str or None
        The memory types involved (their string values).
    method : str or None
        The route method that was tried (``"dlpack"``, ``"host-copy"``, ...).
    """

    def __init__(
        self,
        message: str,
        *,
        source: Any = None,
        target: Any = None,
        method: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source: MemoryType | str | None = source
        self.target: MemoryType | str | None = target
        self.method = method


class CopyRequiredError(ConversionError):
    """``copy=False`` was requested but the conversion cannot share memory."""


class UnsupportedDtypeError(ConversionError, TypeError):
    """The target memory type cannot hold the array's dtype without changing values.

    Attributes
    ----------
    dtype : str or None
        The dtype's name (``"int64"``); ``source``, ``target`` and ``method`` as for
        :class:`ConversionError`.
    """

    def __init__(
        self,
        message: str,
        *,
        dtype: Any = None,
        source: Any = None,
        target: Any = None,
        method: str | None = None,
    ) -> None:
        super().__init__(message, source=source, target=target, method=method)
        self.dtype = dtype


class DeviceError(ArrayportError):
    """The requested device does not exist or cannot be used."""


class DtypeConversionError(ArrayportError, ValueError):
    """A dtype conversion was refused (for example complex to real without asking)."""


class InvalidOptionError(ArrayportError, ValueError):
    """An option (memory type name, device, policy setting) has an invalid value."""


class BlockRuleError(InvalidOptionError):
    """A dask array of several blocks reached a function whose contract does not say how
    its blocks relate (``blockwise``, ``depth``, ``whole_array``, ``slice_by_slice``)."""


class OutOfMemoryError(ArrayportError, MemoryError):
    """A framework ran out of memory and the recovery policy could not recover.

    Attributes
    ----------
    memory_type : MemoryType, str or None
        The memory type whose framework ran out of memory (arrayport's errors give a
        :class:`MemoryType`; None: unknown).
    device : object or None
        The device it happened on.
    attempts : int
        How many times the policy ran the function (or a piece of it) before giving up; 0
        where no policy ran (a conversion called directly). A dispatched function called
        inside it runs its own policy's attempts within each of these.
    requested_bytes : int or None
        The allocation size the framework reported, when it reported one.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # MemoryError's own __new__ refuses subclasses when called as tblib (how
        # dask.distributed pickles a worker's exceptions) rebuilds them, with
        # cls.__new__(cls, *args): the client got a bare Exception. Exception's __new__
        # builds the same object.
        return Exception.__new__(cls, *args)

    def __init__(
        self,
        message: str,
        *,
        memory_type: MemoryType | str | None = None,
        device: Device | None = None,
        attempts: int = 0,
        requested_bytes: int | None = None,
    ) -> None:
        super().__init__(message)
        self.memory_type = memory_type
        self.device = device
        self.attempts = attempts
        self.requested_bytes = requested_bytes


class BackendUnavailableError(ArrayportError, ImportError):
    """A memory type was asked for whose framework is not installed or not usable."""


_E = TypeVar("_E", bound=ArrayportError)


class WholeArrayWarning(UserWarning):
    """A dispatched function is about to get dask blocks larger than dask's
    ``array.chunk-size``: the whole array (``whole_array=True``) or blocks of whole slices
    (``slice_by_slice=True``), each of which must fit in one worker's memory. A warning, not
    an error: filter it with ``warnings.filterwarnings("ignore",
    category=ap.WholeArrayWarning)`` where that is meant.
    """


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)``, on Python 3.10 too: it has no ``add_note``, so the note goes
    to ``__notes__`` by hand. 3.10's own tracebacks do not print notes; the ``exceptiongroup``
    backport's do, and it is imported here where it is installed (pytest brings it on
    3.10), only once a note is added."""
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    else:  # Python 3.10
        setattr(exc, "__notes__", [*getattr(exc, "__notes__", ()), note])  # noqa: B010
        with contextlib.suppress(ImportError):
            importlib.import_module("exceptiongroup")  # its import makes tracebacks print notes


def in_context(exc: _E, where: str, hint: str) -> _E:
    """A copy of ``exc`` (same class, same attributes) whose message starts with ``where``
    and ends with ``hint``: for an error raised on behalf of something the caller did not
    call directly."""
    import copy

    placed = copy.copy(exc)
    placed.args = (f"{where}: {exc} ({hint})",)
    return placed
