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
import errno
import io
import os
import stat
import sys
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

from arrayport._quiet import quiet
from arrayport.errors import ArrayportError
from arrayport.portcheck._checker import Finding, find_nonstandard
from arrayport.portcheck._depth import too_deep_line, walk_in_child
from arrayport.portcheck._standard import Standard, standard

__all__ = [
    "PARSE_ERROR",
    "TOO_DEEP",
    "UNREADABLE",
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
    "parser, or port-check's walk, can follow); the file was not checked"
)
#: The name of the file-level finding for a file that is not valid Python.
PARSE_ERROR = "<parse error>"
#: The name of the finding for a file or directory that could not be read.
UNREADABLE = "<unreadable>"


def _is_python_script(path: Path) -> bool:
    """Whether the regular file ``path`` starts with a ``#!`` line naming python (False when
    it cannot be read: nothing says it is Python)."""
    try:
        return _names_python(path)
    except OSError:
        return False


def _names_python(path: Path) -> bool:
    """Whether ``path`` starts with a ``#!`` line naming python; OSError if unreadable."""
    with path.open("rb") as f:
        first = f.readline(256)
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
        Sorted by line, then name; the same finding twice on a line is given once (two
        receivers of one method, ``a.copy(), b.copy()``, are two: each hint names its own).

        A source deeper than port-check's walk follows is walked in a child Python process
        (the caller's recursion limit is never changed). One nested too deeply for
        Python's parser (at its default recursion limit, Python 3.11's takes a sum of
        about 3,000 terms, a chain of about 1,500 method calls), or for that child, or
        where no child can run, gives one finding named ``"<file>"``, saying so, on the
        line of the statement nested too deeply (line 1 where port-check cannot tell).

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
    # RecursionError: a 3,000-term `1 + 1 + ...` is too deep for Python 3.11's parser (the
    # file is reported as not analysed); a walk deeper than the limit is rerun in a child.
    if isinstance(source, bytes):
        undecodable = _undecodable(source, path)
        if undecodable is not None:
            raise _ParseError(undecodable)
    try:
        with quiet():  # "\d" in the source: port-check's, not the user's
            tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
        nul = source.find(b"\0") if isinstance(source, bytes) else source.find("\0")
        if nul >= 0 and not getattr(exc, "lineno", None):  # no line given: the NUL's
            line = _line_at(source, nul)
            raise _ParseError(SyntaxError(str(exc), (path, line, None, None))) from exc
        raise _ParseError(exc) from exc
    except (RecursionError, MemoryError):  # 3.11's parser: MemoryError for 10,000 `-`s
        return [Finding(path, too_deep_line(source, None), TOO_DEEP, _TOO_DEEP, None)]
    std = standard()
    try:
        return find_nonstandard(tree, path, std)
    except RecursionError:  # a 500-term sum: again, in a process that can recurse deeper
        pass
    found = walk_in_child(source, path, std)
    if found is None:  # too deep for that too, or no child could walk it
        return [Finding(path, too_deep_line(source, tree), TOO_DEEP, _TOO_DEEP, None)]
    return found


def _line_at(source: str | bytes, index: int) -> int:
    """The 1-based line of ``source[index]``, lines ended by LF, CRLF or CR (as Python's)."""
    before = source[:index]
    if isinstance(before, bytes):
        return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
    return before.count("\n") + before.count("\r") - before.count("\r\n") + 1


def _undecodable(source: bytes, path: str) -> SyntaxError | None:
    """Why Python would refuse to run ``source`` for its bytes, or None. ``ast.parse`` of
    bytes accepts bytes that do not decode in a comment; Python refuses to run such a file
    ("Non-UTF-8 code ... but no encoding declared"), and so does port-check."""
    declared: SyntaxError | None = None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError as exc:  # an unknown encoding declared, or a first line not UTF-8
        declared, encoding = exc, "utf-8"
    try:
        source.decode(encoding)
    except UnicodeDecodeError as exc:
        line = _line_at(source, exc.start)
        msg = (
            f"{encoding!r} codec can't decode byte 0x{source[exc.start]:02x} on line {line}: "
            f"{exc.reason} (declare the file's encoding in a coding line, PEP 263, or save it "
            f"as {encoding})"
        )
        return SyntaxError(msg, (path, line, None, None))
    return declared


def iter_python_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    skipped: list[Path] | None = None,
    unreadable: list[tuple[Path, OSError]] | None = None,
) -> Iterator[Path]:
    """The files to check: each file given, and the Python files below each directory given.

    A file given by name must be a regular file named ``*.py`` or a script whose ``#!``
    line names python. Below a directory, the same files are found: ``*.py`` files, and
    files without a suffix whose ``#!`` line names python (``bin/tool``). Hidden
    directories, ``__pycache__``, ``node_modules`` and ``site-packages`` are not searched,
    nor are ``build`` and ``dist`` unless they are Python packages (hold an
    ``__init__.py``): build output copies the sources beside it. Links to directories
    are not followed (unless the directory they name is searched anyway, they are left out
    as ``skipped`` says). Entries of a directory that are not regular files (a dangling
    link, a FIFO, which would block the read) are skipped, and so are links to files found
    under their own path in the same directory tree (checked, and reported, there).

    Parameters
    ----------
    paths : str or path, or iterable of them
        Files and directories (one str or path: one of them).
    skipped : list of Path, optional
        When given, each directory left out by name (all but hidden ones and
        ``__pycache__``) and each link to a directory not searched is appended to it, so
        that a caller can say so.
    unreadable : list of (Path, OSError), optional
        When given, each directory below a directory given (or given itself) that cannot
        be listed is appended to it with the error, and the walk goes on; when not given,
        such a directory raises :class:`ArrayportError`.

    Raises
    ------
    ArrayportError
        If a path does not exist (a dangling link or a symlink loop is named as such),
        cannot be read, or is a file that is not Python source (``/dev/null``,
        ``notes.txt``); and for a directory that cannot be listed, unless ``unreadable``
        is given.
    """
    if isinstance(paths, (str, os.PathLike)):  # one path, not its characters
        paths = [paths]
    for item in paths:
        path = Path(item)
        try:
            mode = os.stat(path).st_mode
            if stat.S_ISREG(mode) and path.suffix != ".py" and not _names_python(path):
                mode = 0  # a regular file, but not Python source
        except OSError as exc:
            raise ArrayportError(_not_found(path, exc)) from exc
        if stat.S_ISDIR(mode):
            yield from _walk(path, skipped, unreadable)
        elif stat.S_ISREG(mode):
            yield path
        else:
            msg = (
                f"not a Python source file: {path} (port-check takes *.py files, scripts "
                "with a python #! line, and directories)"
            )
            raise ArrayportError(msg)


def _not_found(path: Path, exc: OSError) -> str:
    """Why ``path`` (given by name) cannot be checked, from the error reading it."""
    if exc.errno == errno.ELOOP:
        return f"cannot follow the link {path}: a symlink loop (it leads back to itself)"
    if os.path.islink(path):
        return f"cannot follow the link {path}: what it names does not exist (a dangling link)"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"no such file or directory: {path} (port-check takes Python files and directories)"
    return f"cannot read {path}: {exc.strerror or exc}"


def _walk(
    top: Path, skipped: list[Path] | None, unreadable: list[tuple[Path, OSError]] | None
) -> Iterator[Path]:
    """The Python files below the directory ``top`` (see :func:`iter_python_files`)."""

    def failed(exc: OSError) -> None:  # a directory os.walk cannot list
        where = Path(exc.filename) if exc.filename else top
        if unreadable is None:
            msg = f"cannot read the directory {where}: {exc.strerror or exc}"
            raise ArrayportError(msg) from exc
        unreadable.append((where, exc))

    real_top = Path(os.path.realpath(top))
    walked: set[Path] = set()  # real paths of the directories searched
    found: set[Path] = set()  # real paths of the files yielded
    links: list[Path] = []  # links to files of this tree: decided once the walk is done
    dir_links: list[Path] = []
    for root, dirs, files in os.walk(top, onerror=failed):
        real_root = Path(os.path.realpath(root))
        walked.add(real_root)
        kept = []
        for d in sorted(dirs):
            if d.startswith(".") or d == "__pycache__":
                continue
            below = Path(root) / d
            if os.path.islink(below):  # not followed by os.walk
                dir_links.append(below)
            elif d in _SKIP_DIRS and not (
                d in _OUTPUT_DIRS and os.path.isfile(below / "__init__.py")
            ):
                if skipped is not None:
                    skipped.append(below)
            else:
                kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            file = Path(root) / name
            if not _is_candidate(file):
                continue
            if not os.path.islink(file):
                found.add(real_root / name)
            elif Path(os.path.realpath(file)).is_relative_to(real_top):
                links.append(file)  # yielded below unless found under its own path
                continue
            yield file
    yield from (f for f in links if Path(os.path.realpath(f)) not in found)
    if skipped is not None:  # a link to a directory searched anyway is not worth a word
        skipped.extend(d for d in dir_links if Path(os.path.realpath(d)) not in walked)


def _is_candidate(file: Path) -> bool:
    """Whether the directory entry ``file`` is to be checked: a regular file named *.py,
    or without a suffix and with a python #! line; a *.py entry that cannot even be
    looked at (no permission) is, so that reading it fails and says so."""
    try:
        regular = stat.S_ISREG(os.stat(file).st_mode)
    except OSError as exc:  # a dangling link or a loop is not a file; no permission may be
        return file.name.endswith(".py") and exc.errno not in (errno.ENOENT, errno.ELOOP)
    if not regular:
        return False
    return file.name.endswith(".py") or (not file.suffix and _is_python_script(file))


def check_paths(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Finding]:
    """Report every non-standard NumPy use in the given files and directories.

    Parameters
    ----------
    paths : str or path, or iterable of them
        Python files (``*.py``, or scripts with a python ``#!`` line) and directories
        (searched as :func:`iter_python_files` says); one str or path is one of them.

    Returns
    -------
    list of Finding
        In file order, then by line. A file that is not valid Python (a syntax error, a
        Python 2 script, bytes that do not decode) gives one finding named
        :data:`PARSE_ERROR` (``"<parse error>"``) on the error's line, and a file too
        deeply nested to analyse one named :data:`TOO_DEEP` (``"<file>"``) on the line of
        that statement (or line 1), and a file or directory that cannot be read one named
        :data:`UNREADABLE` (``"<unreadable>"``) on line 1; none of them was checked; the
        other files are still checked. Empty when no Python file was found (``arrayport
        port-check`` reports that as an error).

    Raises
    ------
    ArrayportError
        If a path given does not exist, is not Python source or cannot be read.
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


def _unreadable(path: Path, exc: OSError, what: str) -> Finding:
    """The finding for a file or directory (``what``) that could not be read."""
    done = "searched" if what == "directory" else "checked"
    message = f"cannot be read: {exc.strerror or exc}; the {what} was not {done}"
    return Finding(str(path), 1, UNREADABLE, message, None)


def _scan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    skipped: list[Path] | None = None,
) -> tuple[list[Finding], int]:
    """:func:`check_paths`'s findings, and the number of files checked or found unparseable
    or unreadable; directories left out are appended to ``skipped`` when it is given."""
    findings: list[Finding] = []
    seen: set[Path] = set()
    unlisted: list[tuple[Path, OSError]] = []  # directories that could not be listed

    def report_unlisted() -> None:  # in walk order, before the files found after them
        findings.extend(_unreadable(d, exc, "directory") for d, exc in unlisted)
        unlisted.clear()

    for file in iter_python_files(paths, skipped=skipped, unreadable=unlisted):
        report_unlisted()
        real = Path(os.path.realpath(file))
        if real in seen:  # `a.py ./a.py`, or a file inside a directory also given: once
            continue
        seen.add(real)
        try:
            data = file.read_bytes()
        except OSError as exc:  # reported; the other files are still checked
            findings.append(_unreadable(file, exc, "file"))
            continue
        try:
            findings.extend(_check(data, str(file)))
        except _ParseError as exc:  # reported; the other files are still checked
            findings.append(_unparseable(str(file), exc.error))
    report_unlisted()
    return findings, len(seen)
