"""What ``arrayport doctor`` reports: memory types, devices, memory and the route matrix.

:func:`diagnose` gathers everything into plain data (what ``--json`` prints); the command
line only renders it. A memory type that is installed but cannot be loaded, or a matrix
cell that raises, marks the installation as broken (``report["ok"]`` is false and the
command exits 1), and the error text is shown where the value would have been. Any
exception counts: a broken framework raises what it raises (an ``AttributeError`` from a
user's own ``jax.py`` that shadows jax, say), and doctor exists to show it; where the
module is not the installed framework's, the error names the file it came from, and so
does another framework's error raised in that file (tensorflow imports jax: a user's own
``jax.py`` that raises breaks tensorflow too).

A memory type whose framework is installed but that arrayport does not count as available
here (pyclesperanto without an OpenCL platform, or imported after tensorflow; cupy without
a CUDA driver) is reported as installed but not usable, with the reason its backend gives
(:func:`not_usable`), never as not installed. It does not make ``report["ok"]`` false:
the installation is sound, this machine or process lacks what the framework needs (a
CPU-only CI machine with cupy installed passes).
"""

from __future__ import annotations

import enum
import importlib.metadata
import importlib.util
import traceback
from pathlib import Path
from typing import Any

import numpy as np

import arrayport
from arrayport._host import aligned_empty
from arrayport.backends import get_backend, installed_memory_types
from arrayport.backends._util import find_spec, pip_install
from arrayport.convert import convert, plan
from arrayport.errors import ArrayportError, BackendUnavailableError
from arrayport.memory_types import MemoryType

__all__ = ["describe_error", "diagnose", "foreign_origin", "load_order", "not_usable"]


def foreign_origin(mt: MemoryType) -> str | None:
    """The file ``mt``'s framework module is imported from, when no installed distribution
    of that name holds it (a user's own ``jax.py`` in the working directory, a ``torch``
    directory on ``PYTHONPATH``); None when it is the installed one or cannot be told.

    Decided without importing anything (``importlib.util.find_spec``), so that it also
    names the file of a module whose import failed.
    """
    try:
        name = get_backend(mt).IMPORT_NAME
        spec = importlib.util.find_spec(name)
    except Exception:  # a broken parent package or a bad __spec__: nothing to tell
        return None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    origin = Path(spec.origin).resolve()
    try:
        distributions = importlib.metadata.packages_distributions().get(name, [])
    except Exception:  # unreadable metadata: the path is the best that can be said
        distributions = []
    # Python 3.10 reads only top_level.txt, which numpy (meson-python) and pyclesperanto
    # (scikit-build-core) do not ship: the distribution of the module's own name then.
    distributions = [*distributions, name]
    for dist_name in distributions:
        try:
            dist = importlib.metadata.distribution(dist_name)
            package = Path(str(dist.locate_file(name))).resolve()
            module = Path(str(dist.locate_file(f"{name}.py"))).resolve()
        except Exception:  # a distribution with broken metadata holds nothing
            continue
        if origin == module or origin.is_relative_to(package):
            return None
    return spec.origin


def _innermost(exc: BaseException) -> BaseException:
    """The exception at the bottom of ``exc``'s chain (``raise ... from``, or raised while
    handling another), as Python's traceback would show it: what a framework raised, below
    the ``BackendUnavailableError`` a backend wraps an import failure in."""
    seen = {id(exc)}
    while True:
        below = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if below is None or id(below) in seen:
            return exc
        seen.add(id(below))
        exc = below


def describe_error(mt: MemoryType, exc: BaseException) -> str:
    """``exc`` as one row's text: its type and message, and where the framework's module
    came from when it is not the installed framework (see :func:`foreign_origin`), and the
    file of another framework's module imported from elsewhere when ``exc`` was raised in
    it (:func:`_shadowing_frame`). An exception without a message (a bare ``assert``
    failing inside a framework), or one whose innermost cause has none
    (``BackendUnavailableError: jax is installed but importing it failed (AssertionError:
    ); ...``), is named with the file, line and code that raised it."""
    text = f"{type(exc).__name__}: {exc}"
    inner = _innermost(exc)
    if not str(inner):
        frames = traceback.extract_tb(inner.__traceback__)
        if frames:
            last = frames[-1]
            where = f"raised at {last.filename}:{last.lineno} in {last.name}"
            where += f": {last.line}" if last.line else ""
            # The exception itself: "AssertionError: (no message) raised at ...". A cause:
            # after the message that names it, "... (AssertionError (no message) raised at ...)".
            text += (
                f"(no message) {where}"
                if inner is exc
                else f" ({type(inner).__name__} (no message) {where})"
            )
    origin = foreign_origin(mt)
    if origin is not None:
        name = get_backend(mt).IMPORT_NAME
        text += f" ({name} imported from {origin}, not from an installed {name})"
    found = _shadowing_frame(mt, inner)
    if found is not None:
        path, name = found
        text += (
            f" (raised in {path}, imported as {name} but not from an installed {name}: "
            "rename or move that file)"
        )
    return text


def _shadowing_frame(mt: MemoryType, inner: BaseException) -> tuple[str, str] | None:
    """The file and import name of the innermost frame of ``inner``'s traceback that runs
    in another memory type's module imported from elsewhere than its installed
    distribution (:func:`foreign_origin`): a user's own ``jax.py`` that raises breaks
    tensorflow too, which imports jax, and the row must name that file, not only blame
    tensorflow. None when no frame does. ``foreign_origin`` (a tenth of a second or more)
    is asked only of memory types whose import name is in a frame's path."""
    frames = traceback.extract_tb(inner.__traceback__)
    names = {
        other: get_backend(other).IMPORT_NAME
        for other in MemoryType
        # Not numpy: arrayport imports it, so a numpy that raises stops it before this.
        if other is not mt and other is not MemoryType.NUMPY
    }
    origins: dict[MemoryType, Path | None] = {}
    for frame in reversed(frames):
        path = Path(frame.filename)
        for other, name in names.items():
            if name not in path.parts and path.stem != name:
                continue
            if other not in origins:
                found = foreign_origin(other)
                origins[other] = None if found is None else Path(found).resolve()
            origin = origins[other]
            if origin is None:
                continue
            try:
                here = path.resolve()
            except (OSError, RuntimeError):  # a link loop: not the file found above
                continue
            package = origin.parent if origin.name == "__init__.py" else None
            if here == origin or (package is not None and here.is_relative_to(package)):
                return frame.filename, name
    return None


def load_order(types: tuple[MemoryType, ...] | list[MemoryType]) -> list[MemoryType]:
    # pyclesperanto before tensorflow: tensorflow then PoCL kills the process (arrayport's
    # import guard handles it too; loading in this order does not depend on the guard).
    return sorted(types, key=lambda mt: mt is not MemoryType.PYCLESPERANTO)


def not_usable(installed: tuple[MemoryType, ...]) -> dict[MemoryType, str]:
    """The memory types not in ``installed`` (``installed_memory_types()``) whose
    framework is installed nonetheless, each with why arrayport cannot use it here: the
    error its backend's ``load()`` raises, which never imports a framework where that
    would crash (pyclesperanto after tensorflow on PoCL)."""
    found: dict[MemoryType, str] = {}
    for mt in load_order([mt for mt in MemoryType if mt not in installed]):
        backend = get_backend(mt)
        try:
            listed = backend.is_installed()  # what installed_memory_types() asks
        except BackendUnavailableError:
            listed = False
        if listed or not find_spec(backend.IMPORT_NAME):
            continue  # not installed (or left out by the caller)
        try:
            backend.load()
        except Exception as exc:  # what the framework raises, as for a row (see above)
            found[mt] = describe_error(mt, exc)
        else:
            found[mt] = (
                f"{mt.value} imports, but arrayport's availability check for it fails here "
                "(an OpenCL platform for pyclesperanto, a CUDA driver for cupy), so "
                "arrayport does not use it"
            )
    return {mt: found[mt] for mt in MemoryType if mt in found}


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
    # Any exception: a broken framework raises what it raises (an AttributeError from a
    # user's own jax.py, a ValueError from an ABI clash), and doctor exists to show it.
    except Exception as exc:
        row["error"] = describe_error(mt, exc)
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
                # Anything else is a framework failing: shown in the cell, as above.
                except Exception as exc:
                    cell["error"] = describe_error(target, exc)
                else:
                    cell["method"] = route.method
                    cell["zero_copy"] = route.zero_copy
            cells.append(cell)
    return cells


def _memory_rows(
    types: list[MemoryType], broken: dict[MemoryType, str]
) -> list[dict[str, Any]] | None:
    """Rows of :func:`arrayport.memory_report` for ``types`` as plain data, if this version
    has it; a memory type in ``broken`` (type -> its load error) gets one row whose note
    is that error, in its place (asking it again would only raise again)."""
    report_fn = getattr(arrayport, "memory_report", None)
    if report_fn is None:
        return None
    usable = [mt for mt in types if mt not in broken]
    try:
        found: list[dict[str, Any]] = report_fn(usable).as_dicts()
    # memory_report reports each framework's failure in its row; this is for the rest.
    except Exception as exc:
        found = [
            {"memory_type": mt.value, "device": "-", "note": f"{type(exc).__name__}: {exc}"}
            for mt in usable
        ]
    # Enum members become their names so that the rows print and serialise alike.
    plain = [{k: v.value if isinstance(v, enum.Enum) else v for k, v in r.items()} for r in found]
    keys = list(dict.fromkeys(k for r in plain for k in r)) or [
        "memory_type",
        "device",
        "in_use",
        "cached",
        "free",
        "total",
        "note",
    ]
    rows: list[dict[str, Any]] = []
    for mt in types:
        if mt in broken:
            row = dict.fromkeys(keys)
            row.update(memory_type=mt.value, device="-", note=f"not usable: {broken[mt]}")
            rows.append(row)
        else:
            rows.extend(r for r in plain if r.get("memory_type") == mt.value)
    return rows


def diagnose() -> dict[str, Any]:
    """Probe the installation.

    Returns
    -------
    dict
        ``{"arrayport", "ok", "memory_types": [{"name", "version", "devices", "error"}],
        "matrix": [{"source", "target", "method", "zero_copy", "error"}], "memory",
        "not_usable": [{"name", "error"}], "not_installed": [{"name", "install"}]}``;
        ``memory`` is None when
        :func:`arrayport.memory_report` is not available, else the report's rows for
        every installed memory type (one that cannot be loaded gets one row whose
        ``note`` is its error); ``not_usable`` lists the memory types whose framework is
        installed but cannot be used here, with why (:func:`not_usable`: they do not make
        ``ok`` false); ``not_installed`` lists the others with the command that installs
        each.
    """
    installed = installed_memory_types()
    # Before the others load: pyclesperanto, if probed, is imported before tensorflow.
    unusable = not_usable(installed)
    rows: dict[MemoryType, dict[str, Any]] = {}
    samples: dict[MemoryType, Any] = {}
    for mt in load_order(installed):
        rows[mt], sample = _memory_type_row(mt)
        if sample is not None:
            samples[mt] = sample
    ordered = list(installed)
    matrix = _matrix(samples, ordered)
    broken = {mt: row["error"] for mt, row in rows.items() if row["error"] is not None}
    memory = _memory_rows(ordered, broken)
    ok = all(r["error"] is None for r in rows.values()) and all(c["error"] is None for c in matrix)
    return {
        "arrayport": arrayport.__version__,
        "ok": ok,
        "memory_types": [rows[mt] for mt in ordered],
        "matrix": matrix,
        "memory": memory,
        "not_usable": [{"name": mt.value, "error": error} for mt, error in unusable.items()],
        "not_installed": [
            {"name": mt.value, "install": pip_install(get_backend(mt).EXTRA)}
            for mt in MemoryType
            if mt not in installed and mt not in unusable
        ],
    }
