"""What ``arrayport doctor`` reports: memory types, devices, memory and the route matrix.

:func:`diagnose` gathers everything into plain data (what ``--json`` prints); the command
line only renders it. A memory type that is installed but cannot be loaded, or a matrix
cell that raises, marks the installation as broken (``report["ok"]`` is false and the
command exits 1), and the error text is shown where the value would have been.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

import arrayport
from arrayport._host import aligned_empty
from arrayport.backends import available_memory_types, get_backend
from arrayport.backends._util import pip_install
from arrayport.convert import convert, plan
from arrayport.errors import ArrayportError
from arrayport.memory_types import MemoryType

__all__ = ["diagnose"]

# Errors a framework can raise while being imported or probed on a broken installation
# (a missing shared library, a driver that refuses, an ABI clash). They are reported, not
# hidden: doctor exists to show them.
_LOAD_ERRORS = (ArrayportError, ImportError, OSError, RuntimeError)


def _load_order(types: tuple[MemoryType, ...]) -> list[MemoryType]:
    # pyclesperanto before tensorflow: tensorflow then PoCL kills the process (arrayport's
    # import guard handles it too; loading in this order does not depend on the guard).
    return sorted(types, key=lambda mt: mt is not MemoryType.PYCLESPERANTO)


def _memory_type_row(mt: MemoryType) -> tuple[dict[str, Any], Any]:
    """The row for one memory type, and a sample array of it (None when it failed)."""
    backend = get_backend(mt)
    row: dict[str, Any] = {"name": mt.value, "version": None, "devices": [], "error": None}
    try:
        backend.load()
        row["version"] = backend.version()
        row["devices"] = [str(d) for d in backend.devices()]
        # An aligned, writable host buffer: the case where the frameworks can share memory,
        # so the matrix shows the best route each pair offers.
        base = aligned_empty((64, 64), np.dtype(np.float32))
        base[...] = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
        sample = convert(base, mt)
    except _LOAD_ERRORS as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row, None
    return row, sample


def _matrix(samples: dict[MemoryType, Any], types: list[MemoryType]) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = []
    for source in types:
        for target in types:
            cell: dict[str, Any] = {
                "source": source.value,
                "target": target.value,
                "method": None,
                "zero_copy": None,
                "error": None,
            }
            if source not in samples or target not in samples:
                cell["error"] = "memory type not usable (see above)"
            else:
                try:
                    route = plan(samples[source], target)
                except ArrayportError as exc:
                    cell["error"] = f"{type(exc).__name__}: {exc}"
                else:
                    cell["method"] = route.method
                    cell["zero_copy"] = route.zero_copy
            cells.append(cell)
    return cells


def _memory_rows() -> list[dict[str, Any]] | None:
    """Rows of :func:`arrayport.memory_report` as plain data, if this version has it."""
    report_fn = getattr(arrayport, "memory_report", None)
    if report_fn is None:
        return None
    rows: list[dict[str, Any]] = report_fn().as_dicts()
    # Enum members become their names so that the rows print and serialise alike.
    return [{k: v.value if isinstance(v, enum.Enum) else v for k, v in r.items()} for r in rows]


def diagnose() -> dict[str, Any]:
    """Probe the installation.

    Returns
    -------
    dict
        ``{"arrayport", "ok", "memory_types": [{"name", "version", "devices", "error"}],
        "matrix": [{"source", "target", "method", "zero_copy", "error"}], "memory",
        "not_installed": [{"name", "install"}]}``; ``memory`` is None when
        :func:`arrayport.memory_report` is not available; ``not_installed`` lists the other
        memory types with the command that installs each.
    """
    installed = available_memory_types()
    rows: dict[MemoryType, dict[str, Any]] = {}
    samples: dict[MemoryType, Any] = {}
    for mt in _load_order(installed):
        rows[mt], sample = _memory_type_row(mt)
        if sample is not None:
            samples[mt] = sample
    ordered = list(installed)
    matrix = _matrix(samples, ordered)
    memory = _memory_rows()
    ok = all(r["error"] is None for r in rows.values()) and all(c["error"] is None for c in matrix)
    return {
        "arrayport": arrayport.__version__,
        "ok": ok,
        "memory_types": [rows[mt] for mt in ordered],
        "matrix": matrix,
        "memory": memory,
        "not_installed": [
            {"name": mt.value, "install": pip_install(get_backend(mt).EXTRA)}
            for mt in MemoryType
            if mt not in installed
        ],
    }
