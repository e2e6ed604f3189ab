"""What each framework's memory holds: :func:`memory_report`.

The figures come from the backends (``memory_info``), which read what the frameworks
expose: torch's and cupy's pool statistics and free device memory, jax's device memory
stats, tensorflow's memory info (its GPUs, and its CPU where its allocator tracks it), the
OpenCL device's global memory, the host's available memory. A figure a framework does not
expose is ``None``, never a guess. Only runtimes already started are asked: asking jax,
tensorflow or a CUDA device starts its runtime there, which takes GPU memory and fixes
settings that must come first (ADR 0079); one not started gets a row whose note says so.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable, Iterator
from typing import Any

from arrayport._oom_recognition import loaded
from arrayport.backends import get_backend
from arrayport.errors import BackendUnavailableError, InvalidOptionError
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = ["MemoryReport", "MemoryRow", "memory_report"]


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryRow:
    """Memory of one framework on one device, in bytes (``None``: not exposed).

    Attributes
    ----------
    memory_type : MemoryType
    device : str
        ``"cpu"``, ``"cuda:N"`` or ``"opencl:N"``; for dask, ``"dask-worker ADDRESS"``
        (one row per worker of the default client; workers of a ``processes=False`` client
        share one process); ``"-"`` when the framework could not be asked (see ``note``).
    in_use : int or None
        Bytes held by live arrays, as the framework counts them (a dask worker: the bytes
        of the chunks it holds). tensorflow's CPU figure is its allocator's: tensors over
        memory it did not allocate (imported from numpy, as arrayport's conversions make
        them) are not in it, which the row's note says.
    cached : int or None
        Bytes the framework keeps for reuse (freed by ``OOMPolicy``'s release step).
    free : int or None
        Bytes still available on the device.
    total : int or None
        The device's capacity, where the framework reports it.
    note : str
        Why figures are missing (framework unusable, query failed, runtime not started)
        or what a figure leaves out, else empty. ``str()`` of a report shows it on one
        line; ``as_dict()`` keeps it as it is.
    """

    memory_type: MemoryType
    device: str
    in_use: int | None
    cached: int | None
    free: int | None
    total: int | None = None
    note: str = ""

    def __post_init__(self) -> None:
        # A memory type given by name ("numpy") is stored as the MemoryType.
        object.__setattr__(self, "memory_type", as_memory_type(self.memory_type))

    def as_dict(self) -> dict[str, Any]:
        """The row as a plain dictionary (memory type as its string value)."""
        d = dataclasses.asdict(self)
        d["memory_type"] = self.memory_type.value
        return d


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryReport:
    """Rows of :class:`MemoryRow`, one per framework and device; ``str()`` is a table."""

    rows: tuple[MemoryRow, ...]

    def __post_init__(self) -> None:
        # Rows given as a list are stored as a tuple: the report is frozen, and hashable.
        object.__setattr__(self, "rows", tuple(self.rows))

    def __iter__(self) -> Iterator[MemoryRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as plain dictionaries (for JSON output)."""
        return [row.as_dict() for row in self.rows]

    def __str__(self) -> str:
        header = ("memory type", "device", "in use", "cached", "free", "total", "note")
        table = [header] + [
            (
                r.memory_type.value,
                r.device,
                _human(r.in_use),
                _human(r.cached),
                _human(r.free),
                _human(r.total),
                " ".join(r.note.split()),  # a multi-line error would break the table
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
        lines = []
        for line in table:
            cells = [c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)]
            lines.append("  ".join([*cells, line[-1]]).rstrip())
        return "\n".join(lines)


def _human(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _as_int(value: object) -> int | None:
    """A byte count as an int (numpy integers too); None for missing or non-integral."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def memory_report(
    memory_types: Iterable[MemoryType | str] | MemoryType | str | None = None,
) -> MemoryReport:
    """Bytes in use, cached and free per framework and device.

    Parameters
    ----------
    memory_types : MemoryType or str, or an iterable of them, optional
        The frameworks to report. By default numpy and every framework already imported
        in this process (none is imported just to report on it). Naming a framework
        imports it. Neither way starts a runtime: jax and tensorflow are asked only once
        they have started (made an array, listed their devices), CUDA devices only where
        the process has a context; until then their row's note says so.

    Returns
    -------
    MemoryReport
        Frozen rows; ``str(report)`` is a readable table, ``report.as_dicts()`` plain data.
        A framework that cannot be used here, or has not started, gets one row whose
        ``note`` says why.

    Examples
    --------
    >>> import arrayport as ap
    >>> report = ap.memory_report(["numpy"])
    >>> report.rows[0].device
    'cpu'
    """
    if memory_types is None:
        chosen = [mt for mt in MemoryType if mt is MemoryType.NUMPY or loaded(mt)]
    else:
        if isinstance(memory_types, (str, MemoryType)):  # one name, not its letters
            memory_types = [memory_types]
        elif isinstance(memory_types, (bytes, bytearray)) or not isinstance(memory_types, Iterable):
            msg = (
                f"memory_report(memory_types={memory_types!r}): pass a memory type name such "
                "as 'torch', a list of them, or None"
            )
            raise InvalidOptionError(msg)
        chosen = list(dict.fromkeys(as_memory_type(m) for m in memory_types))
    rows: list[MemoryRow] = []
    for mt in chosen:
        rows.extend(_rows(mt))
    return MemoryReport(tuple(rows))


def _rows(mt: MemoryType) -> list[MemoryRow]:
    try:
        backend = get_backend(mt)
        backend.load()
        info = backend.memory_info()
    except BackendUnavailableError as exc:
        return [MemoryRow(mt, "-", None, None, None, note=f"unavailable: {exc}")]
    except Exception as exc:  # a driver query failed: reported in the row, not hidden
        note = f"memory query failed: {type(exc).__name__}: {exc}"
        return [MemoryRow(mt, "-", None, None, None, note=note)]
    if not info:  # dask without a distributed client: nothing to ask, said so
        return [MemoryRow(mt, "-", None, None, None, note="no devices to report here")]
    return [
        MemoryRow(
            mt,
            str(d.get("device", "-")),
            _as_int(d.get("in_use")),
            _as_int(d.get("cached")),
            _as_int(d.get("free")),
            _as_int(d.get("total")),
            str(d.get("note", "")),
        )
        for d in info
    ]
