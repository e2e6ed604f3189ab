"""port-check: find the NumPy uses a module must change to run on the array API standard.

``arrayport port-check PATH...`` runs :func:`check_paths`. Files are parsed, never
imported or executed. The list of standard names is read at run time from
array-api-strict (the standard's reference implementation); see :func:`standard`.

Examples
--------
>>> from arrayport.portcheck import check_source
>>> for f in check_source("import numpy as xnp\\ny = xnp.concatenate([a, b]).astype(int)\\n"):
...     print(f.line, f.name, f.replacement)
2 .astype xp.astype(x, xp.int64) (or the xp integer dtype meant)
2 numpy.concatenate xp.concat
"""

from __future__ import annotations

import ast
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from arrayport.errors import ArrayportError
from arrayport.portcheck._checker import Finding, find_nonstandard
from arrayport.portcheck._standard import Standard, standard

__all__ = [
    "PARSE_ERROR",
    "TOO_DEEP",
    "Finding",
    "Standard",
    "check_paths",
    "check_source",
    "iter_python_files",
    "standard",
]

#: Directories not searched below a directory given: caches, installed packages, and
#: build output (copies of the sources beside them). ``build`` and ``dist`` are searched
#: when they are Python packages themselves (hold an ``__init__.py``).
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist", "site-packages"})
_OUTPUT_DIRS = frozenset({"build", "dist"})
#: The name of the file-level finding for a file too deeply nested to analyse.
TOO_DEEP = "<file>"
_TOO_DEEP = (
    "too deeply nested to analyse (an expression or block nests deeper than Python's "
    "recursion limit); the file was not checked"
)
#: The name of the file-level finding for a file that is not valid Python.
PARSE_ERROR = "<parse error>"


def _is_python_script(path: Path) -> bool:
    """Whether the regular file ``path`` starts with a ``#!`` line naming python."""
    try:
        with path.open("rb") as f:
            first = f.readline(256)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def check_source(source: str | bytes, path: str = "<string>") -> list[Finding]:
    """Report every non-standard NumPy use in Python ``source``.

    Parameters
    ----------
    source : str or bytes
        Python source code (bytes honour an encoding declaration).
    path : str
        The name findings carry.

    Returns
    -------
    list of Finding
        Sorted by line, then name; one per line and name.

        A source nested too deeply for Python to analyse (a chained expression of
        thousands of terms) gives one finding on line 1, named ``"<file>"``, saying so.

    Raises
    ------
    ArrayportError
        If the source is not valid Python (the message gives the line).
    BackendUnavailableError
        If array-api-strict, which defines the standard's names, is not installed.
    """
    try:
        return _check(source, path)
    except _ParseError as exc:
        msg = f"cannot parse {path} as Python: {exc.error}"
        raise ArrayportError(msg) from exc.error


class _ParseError(Exception):
    """``ast.parse`` rejected the source with ``error``."""

    def __init__(self, error: SyntaxError | ValueError) -> None:
        super().__init__(error)
        self.error = error


def _check(source: str | bytes, path: str) -> list[Finding]:
    """:func:`check_source`, raising :class:`_ParseError` for source that is not Python."""
    # RecursionError: a 20,000-term `1 + 1 + ...` is too deep for the parser, a
    # 1,000-term one for the walk; the file is reported as not analysed.
    too_deep = [Finding(path, 1, TOO_DEEP, _TOO_DEEP, None)]
    try:
        with warnings.catch_warnings():  # "\d" in the source: port-check's, not the user's
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
        raise _ParseError(exc) from exc
    except (RecursionError, MemoryError):  # 3.11's parser: MemoryError for 10,000 `-`s
        return too_deep
    std = standard()
    try:
        return find_nonstandard(tree, path, std)
    except RecursionError:
        return too_deep


def iter_python_files(
    paths: Iterable[str | os.PathLike[str]], *, skipped: list[Path] | None = None
) -> Iterator[Path]:
    """The files to check: each file given, and the Python files below each directory given.

    A file given by name must be a regular file named ``*.py`` or a script whose ``#!``
    line names python. Below a directory, the same files are found: ``*.py`` files, and
    files without a suffix whose ``#!`` line names python (``bin/tool``). Hidden
    directories, ``__pycache__``, ``node_modules`` and ``site-packages`` are not searched,
    nor are ``build`` and ``dist`` unless they are Python packages (hold an
    ``__init__.py``): build output copies the sources beside it. Entries of a directory
    that are not regular files (a dangling link, a FIFO, which would block the read) are
    skipped, and so are links to files inside the same directory tree (checked, and
    reported, under their own path).

    Parameters
    ----------
    paths : iterable of str or path
        Files and directories.
    skipped : list of Path, optional
        When given, each directory left out by name (all but hidden ones and
        ``__pycache__``) is appended to it, so that a caller can say so.

    Raises
    ------
    ArrayportError
        If a path does not exist, or is a file that is not Python source (``/dev/null``,
        ``notes.txt``).
    """
    for item in paths:
        path = Path(item)
        if path.is_dir():
            top = Path(os.path.realpath(path))
            for root, dirs, files in os.walk(path):
                kept = []
                for d in sorted(dirs):
                    if d.startswith(".") or d == "__pycache__":
                        continue
                    below = Path(root) / d
                    if d in _SKIP_DIRS and not (
                        d in _OUTPUT_DIRS and (below / "__init__.py").is_file()
                    ):
                        if skipped is not None:
                            skipped.append(below)
                        continue
                    kept.append(d)
                dirs[:] = kept
                for name in sorted(files):
                    file = Path(root) / name
                    if not file.is_file():
                        continue
                    if not name.endswith(".py") and (file.suffix or not _is_python_script(file)):
                        continue
                    if file.is_symlink() and Path(os.path.realpath(file)).is_relative_to(top):
                        continue  # found under its own path in this tree
                    yield file
        elif path.is_file() and (path.suffix == ".py" or _is_python_script(path)):
            yield path
        elif path.exists():
            msg = (
                f"not a Python source file: {path} (port-check takes *.py files, scripts "
                "with a python #! line, and directories)"
            )
            raise ArrayportError(msg)
        else:
            msg = (
                f"no such file or directory: {path} (port-check takes Python files and directories)"
            )
            raise ArrayportError(msg)


def check_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Finding]:
    """Report every non-standard NumPy use in the given files and directories.

    Parameters
    ----------
    paths : iterable of str or path
        Python files (``*.py``, or scripts with a python ``#!`` line) and directories
        (searched as :func:`iter_python_files` says).

    Returns
    -------
    list of Finding
        In file order, then by line. A file that is not valid Python (a syntax error, a
        Python 2 script, bytes that do not decode) gives one finding named
        :data:`PARSE_ERROR` (``"<parse error>"``) on the error's line, and a file too
        deeply nested to analyse one named :data:`TOO_DEEP` (``"<file>"``) on line 1;
        neither file was checked; the other files are still
        checked. Empty when no Python file was found (``arrayport port-check`` reports
        that as an error).

    Raises
    ------
    ArrayportError
        If a path does not exist, is not Python source or cannot be read.
    """
    return _scan(paths)[0]


def _unparseable(path: str, exc: SyntaxError | ValueError) -> Finding:
    """The finding for a file ``ast.parse`` rejects."""
    why = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    line = exc.lineno if isinstance(exc, SyntaxError) and exc.lineno else 1
    version = ".".join(map(str, sys.version_info[:2]))
    message = (
        f"cannot parse as Python {version} (the Python running port-check): {why}; the file "
        "was not checked"
    )
    return Finding(path, line, PARSE_ERROR, message, None)


def _scan(
    paths: Iterable[str | os.PathLike[str]], skipped: list[Path] | None = None
) -> tuple[list[Finding], int]:
    """:func:`check_paths`'s findings, and the number of files checked or found unparseable;
    directories left out by name are appended to ``skipped`` when it is given."""
    findings: list[Finding] = []
    seen: set[Path] = set()
    for file in iter_python_files(paths, skipped=skipped):
        real = Path(os.path.realpath(file))
        if real in seen:  # `a.py ./a.py`, or a file inside a directory also given: once
            continue
        seen.add(real)
        try:
            data = file.read_bytes()
        except OSError as exc:
            msg = f"port-check cannot read {file}: {exc}"
            raise ArrayportError(msg) from exc
        try:
            findings.extend(_check(data, str(file)))
        except _ParseError as exc:  # reported; the other files are still checked
            findings.append(_unparseable(str(file), exc.error))
    return findings, len(seen)
