"""How the ``arrayport`` command writes: tables, JSON, paths, and a reader that left.

Tables are drawn with rich when the stream is a terminal and rich is installed, as aligned
plain text otherwise (pipes, files, CI logs). JSON is written so that any strict parser
reads it: a file name that is not valid UTF-8 (``b"caf\\xe9.py"``, which Python holds as
the lone surrogate ``"caf\\udce9.py"``) is written with its undecodable bytes escaped
(``caf\\xe9.py``), in JSON as in text (:func:`shown`); in text, control characters are
escaped too (:func:`printable`), so that a file name cannot forge a line or drive the
terminal (JSON escapes them itself). With ``--json``, a usage error
puts JSON on standard output too (:class:`Parser`), and what is printed while the
frameworks are imported, by Python or by native code, goes to standard error
(:func:`quiet_stdout`). A reader of standard output that left is handled by
:func:`silence_stdout`.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from gettext import gettext
from typing import Any, NoReturn, TextIO

__all__ = [
    "Output",
    "Parser",
    "print_json",
    "printable",
    "quiet_stdout",
    "shown",
    "silence_stdout",
]

_Row = Sequence[object]

#: The widest first column kept whole in a rich table (a memory type, a case name).
_FIRST_COLUMN = 24
#: Terminal columns a rich table needs for each of its columns (2 of padding, a border
#: and 4 of text) before it falls back to plain text.
_RICH_COLUMN = 7


def shown(text: str) -> str:
    """``text`` (a path, or a message holding one) as it can be printed and read back as
    UTF-8: bytes a file name holds that are not UTF-8 (surrogate escapes) become ``\\xNN``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no undecodable byte made: escape it
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """``text`` as :func:`shown` gives it, with every character that is not printable
    escaped as Python escapes it in a string (a newline ``\\n``, ESC ``\\x1b``; a backslash
    is left as it is), for text output: a
    file name read from untrusted code cannot split a ``path:line:`` line in two, nor
    move, hide or erase what a terminal shows. JSON escapes such characters itself."""
    text = shown(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


_LINE_BREAK = re.compile(r"\r\n|\n|\r")


def _lines(text: str) -> str:
    """:func:`printable` for each line of ``text``, its line breaks kept: a message of
    several lines (a framework's error) stays so; a file name's newline is escaped by
    :func:`printable` before it gets here. Only ``\\n``, ``\\r\\n`` and ``\\r`` break lines:
    the other characters ``str.splitlines`` breaks at (``\\x0c``, ``\\x85``, ``\\u2028``)
    are escaped."""
    lines = _LINE_BREAK.split(text)
    if len(lines) > 1 and not lines[-1]:  # a final line break ends the last line
        lines.pop()
    return "\n".join(printable(line) for line in lines)


def _plain(data: object) -> object:
    """``data`` with every string passed through :func:`shown`."""
    if isinstance(data, str):
        return shown(data)
    if isinstance(data, dict):
        return {_plain(k): _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data


def print_json(data: object, stream: TextIO) -> None:
    """Write ``data`` to ``stream`` as one indented JSON document (strings as :func:`shown`
    says, so that it is valid UTF-8)."""
    json.dump(_plain(data), stream, indent=2)
    stream.write("\n")


@contextlib.contextmanager
def quiet_stdout(enabled: bool) -> Iterator[None]:
    """While ``enabled`` (``--json``), what is printed to standard output (a framework
    announcing itself on import, a user's own module that shadows one) goes to standard
    error, so that standard output stays one JSON document: Python's ``sys.stdout``, and,
    where standard output is file descriptor 1, that descriptor too, for what native code
    writes (``printf`` in a framework's C library), which is flushed before it is restored.
    """
    if not enabled:
        yield
        return
    with _fd_1_to_stderr(sys.stdout), contextlib.redirect_stdout(sys.stderr):
        yield


def _fileno(stream: object) -> int | None:
    """``stream``'s file descriptor, or None when it has none (a ``StringIO``, a test's
    capture), it is closed, or it is None."""
    try:
        return int(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation included
        return None


def _flush(stream: object) -> None:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        stream.flush()  # type: ignore[attr-defined]


def _flush_c_stdio() -> None:
    """Flush the C library's output buffers (``fflush(NULL)``): what native code printed
    into a buffer then goes where file descriptor 1 points now. Skipped where the C
    library cannot be loaded this way (Windows)."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (AttributeError, OSError, TypeError):
        pass


@contextlib.contextmanager
def _fd_1_to_stderr(stdout: object) -> Iterator[None]:
    """File descriptor 1 pointed at standard error's within the block, when ``stdout`` is
    written to descriptor 1 and standard error has another one; else nothing is done. Always
    restored, whatever the block raises; what was written to ``stdout`` itself is flushed
    before (to the output) and after (to standard error)."""
    err = _fileno(sys.stderr)
    if _fileno(stdout) != 1 or err is None or err == 1:
        yield
        return
    _flush(stdout)
    _flush_c_stdio()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor left to save it in: Python's sys.stdout only, then
        yield
        return
    try:
        os.dup2(err, 1)
        yield
    finally:
        _flush_c_stdio()
        _flush(sys.stderr)
        _flush(stdout)
        os.dup2(saved, 1)
        os.close(saved)


def silence_stdout() -> None:
    """Point standard output's file descriptor at the null device: its reader left, and
    what is still buffered would otherwise fail again when Python flushes it at exit
    ("Exception ignored ... BrokenPipeError"). The recipe of Python's ``signal`` docs."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors, when ``--json`` was given, also put one JSON
    document on standard output (``json_error(message)``), so that a program reading it
    never gets an empty or non-JSON standard output; the usage goes to stderr as always.

    Long options are never abbreviated (``allow_abbrev=False``, for the subcommands' parsers
    too): argparse would take ``--js`` for ``--json``, while the JSON of a usage error is
    printed only for ``--json`` itself. A failed write of ``--help`` or ``--version`` to
    standard output is raised, not ignored as argparse does, so that a reader that left
    exits 141 (:func:`arrayport._cli_exit.parsing`)."""

    json_error: Callable[[str], object] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # On stderr a word given (an unknown option, a path) is shown with its control
        # characters escaped; the JSON holds it as it was (escaped by JSON itself).
        if self.json_error is None:
            super().error(printable(message))
        # The usage and the message first, as argparse writes them: standard output may
        # fail at once (unbuffered, PYTHONUNBUFFERED=1, onto a full disk), and they must
        # not be lost with the JSON.
        self.print_usage(sys.stderr)
        text = gettext("%(prog)s: error: %(message)s\n")  # argparse's, translated alike
        self._print_message(text % {"prog": self.prog, "message": printable(message)}, sys.stderr)
        print_json(self.json_error(message), sys.stdout)
        self.exit(2)

    def _print_message(self, message: str, file: Any = None) -> None:
        if message and file is not None and file is sys.stdout:
            file.write(message)
        else:  # standard error: argparse ignores a failed write there, as before
            super()._print_message(message, file)


def _narrow_encoding(stream: TextIO) -> str | None:
    """``stream``'s encoding where it cannot hold every character (``ascii``, ``latin-1``),
    else None (UTF-8, or a stream with no encoding: a ``StringIO``)."""
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str):
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    return None if name.startswith("utf") else name


class Output:
    """Writes lines and tables to a stream: rich in a terminal, aligned plain text
    elsewhere, and for a table too wide for the terminal to keep every cell in rich (about
    7 characters a column). In plain text a cell of several lines is printed on one, its
    lines joined with spaces. Text is written as :func:`printable` gives each of its lines,
    and with what the stream's encoding cannot hold escaped (``\\xef``) before rich or the
    plain layout measures it, so that the columns stay aligned."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.console: Any = None
        self._encoding = _narrow_encoding(stream)
        if stream.isatty():
            try:
                from rich.console import Console
            except ImportError:  # rich is optional (arrayport[cli]): plain text then
                pass
            else:
                # No emoji: rich would print a path's ":fire:" or ":smile:" as an emoji.
                self.console = Console(file=stream, emoji=False)
                if self.console.width < 1:  # COLUMNS=0: rich would print nothing at all
                    self.console = None

    def _text(self, text: str) -> str:
        text = _lines(text)
        if self._encoding is None:
            return text
        return text.encode(self._encoding, "backslashreplace").decode(self._encoding)

    def line(self, text: str = "") -> None:
        if self.console is not None:
            # soft_wrap: the terminal wraps a long line, as it does plain text; rich
            # would break it at its own idea of the width (one character a line at
            # COLUMNS=1).
            self.console.print(self._text(text), markup=False, highlight=False, soft_wrap=True)
        else:
            print(self._text(text), file=self.stream)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[_Row]) -> None:
        cells = [["" if v is None else self._text(str(v)) for v in row] for row in rows]
        title = self._text(title)
        # Below about 4 characters a column, rich gives some columns no width at all and
        # their cells vanish: plain text then, whose lines the terminal wraps.
        if self.console is not None and self.console.width >= _RICH_COLUMN * len(columns) + 1:
            self.console.print(self._rich_table(title, columns, cells))
            return
        # One line a cell (an error message of several lines), or its continuation lines
        # would read as rows, under the first column.
        header, *body = [[" ".join(v.splitlines()) for v in row] for row in (columns, *cells)]
        widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
        print(" ".join(title.splitlines()), file=self.stream)
        for row in (header, ["-" * w for w in widths], *body):
            text = "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))
            print(text.rstrip(), file=self.stream)
        print(file=self.stream)

    def _rich_table(self, title: str, columns: Sequence[str], cells: list[list[str]]) -> Any:
        """A rich table no wider than the console: every cell folds (a long path breaks
        across lines, none is cut with "…"), and a first column of up to 24 characters,
        which names the row (a memory type), keeps its width while the others give way."""
        from rich.table import Table
        from rich.text import Text

        # Text, not str: rich reads "[bold]" or "[/x]" in a path as markup.
        table = Table(title=Text(title), title_justify="left")
        first = max([len(columns[0]), *(len(r[0]) for r in cells)])
        # Each column takes its text and 2 spaces of padding, and the borders one each more.
        # A fixed width, not min_width: rich reduces every column alike when it must and then
        # widens one below its min_width again, which crops the table's right edge.
        room = self.console.width - 3 * len(columns) - 1
        fixed = first if first <= _FIRST_COLUMN and first + 4 * (len(columns) - 1) <= room else None
        for i, column in enumerate(columns):
            table.add_column(Text(column), width=fixed if i == 0 else None, overflow="fold")
        for row in cells:
            table.add_row(*(Text(c, overflow="fold") for c in row))
        return table
