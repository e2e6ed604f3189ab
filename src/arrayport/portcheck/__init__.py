"""port-check: find the NumPy uses a module must change to run on the array API standard.

``arrayport port-check PATH...`` runs :func:`check_paths`. Files are parsed, never
imported or executed. The list of standard names is read at run time from
array-api-strict (the standard's reference implementation); see :func:`standard`.

Examples
--------
>>> from arrayport.portcheck import check_source
>>> for f in check_source("import numpy as xnp\\ny = xnp.concatenate([a, b]).astype(int)\\n"):
...     print(f.line, f.name, f.replacement)
2 .astype xp.astype(x, dtype)
2 numpy.concatenate xp.concat
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from arrayport.errors import ArrayportError
from arrayport.portcheck._checker import Finding, find_nonstandard
from arrayport.portcheck._standard import Standard, standard

__all__ = ["Finding", "Standard", "check_paths", "check_source", "iter_python_files", "standard"]

#: Directories never searched when a directory is given.
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist", "site-packages"})


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

    Raises
    ------
    ArrayportError
        If the source is not valid Python (the message gives the line).
    BackendUnavailableError
        If array-api-strict, which defines the standard's names, is not installed.
    """
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
        msg = f"cannot parse {path} as Python: {exc}"
        raise ArrayportError(msg) from exc
    return find_nonstandard(tree, path, standard())


def iter_python_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The files to check: each file given, and every ``*.py`` below each directory given.

    Hidden directories and build or cache directories are skipped.

    Raises
    ------
    ArrayportError
        If a path does not exist.
    """
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                for name in sorted(files):
                    if name.endswith(".py"):
                        yield Path(root) / name
        elif path.is_file():
            yield path
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
        Python files (any name) and directories (searched for ``*.py``).

    Returns
    -------
    list of Finding
        In file order, then by line.

    Raises
    ------
    ArrayportError
        If a path does not exist, cannot be read or is not valid Python.
    """
    findings: list[Finding] = []
    for file in iter_python_files(paths):
        try:
            data = file.read_bytes()
        except OSError as exc:
            msg = f"port-check cannot read {file}: {exc}"
            raise ArrayportError(msg) from exc
        findings.extend(check_source(data, str(file)))
    return findings
