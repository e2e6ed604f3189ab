"""Files nested deeply: walking them, and the line a file too deep to analyse is reported on.

Python's parser gives up on an expression nested deeper than its recursion limit allows
(Python 3.11 and 3.12, at the default limit of 1,000: a sum of about 3,000 terms, a chain
of about 1,500 method calls; 3.13: about 10,000 terms; 3.10's takes deeper sums still)
without saying where. What it parses, :func:`walk_deeply` lets port-check's recursive walk
follow (a file too deep even at its raised limit is reported): the walk is run again,
where the first run ran out of recursion, in a thread with a large stack under a raised
recursion limit. :func:`too_deep_line` finds the statement of a file too deep even so: for
a source Python cannot parse, the first statement that it cannot parse alone for its
depth; for a parsed tree, the statement holding its most deeply nested node. Both walk
iteratively, so that they do not recurse themselves; when no statement is found, the
line is 1.
"""

from __future__ import annotations

import ast
import io
import sys
import textwrap
import threading
import tokenize
from collections.abc import Callable, Iterator
from typing import TypeVar

from arrayport._quiet import quiet

__all__ = ["too_deep_line", "walk_deeply"]

_T = TypeVar("_T")

#: The recursion limit of a deep walk: it takes two or three frames per level of nesting
#: (a method chain, six per call), 9,000 for the deepest file Python 3.11 parses at its
#: default limit and about 30,000 for Python 3.13's.
_WALK_LIMIT = 60_000
#: The stack of the thread a deep walk runs in (reserved, not used unless needed): Python
#: 3.10 keeps each Python call on the C stack, at about 2 KiB a call.
_WALK_STACK = 256 << 20
_lock = threading.Lock()  # guards the two below, and threading.stack_size
_walks = 0  # deep walks running
_limits: tuple[int, int] = (0, 0)  # (the recursion limit they replaced, the one they set)

_SKIPPED = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)


def _statements(source: str | bytes) -> Iterator[tuple[int, int]]:
    """The first and last line of each logical line of ``source`` (a statement, or the
    header of a compound one), as the tokenizer finds them."""
    if isinstance(source, bytes):
        tokens = tokenize.tokenize(io.BytesIO(source).readline)
    else:
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    start = 0
    for token in tokens:
        if token.type in _SKIPPED or token.type == tokenize.ENDMARKER:
            continue
        if not start:
            start = token.start[0]
        if token.type == tokenize.NEWLINE:
            yield start, token.end[0]
            start = 0


def _too_deep_alone(text: str) -> bool:
    """Whether Python cannot parse the logical line ``text`` alone for its depth (a
    compound statement's header is given ``pass`` for a body)."""
    text = textwrap.dedent(text)
    for attempt in (text, text.rstrip() + " pass\n"):
        try:
            with quiet():  # "\\d" in the source: the file's, already known
                ast.parse(attempt)
        except (RecursionError, MemoryError):
            return True
        except (SyntaxError, ValueError):
            continue
        return False
    return False


def _unparsed_line(source: str | bytes) -> int:
    text = source
    if isinstance(text, bytes):
        text = text.decode(tokenize.detect_encoding(io.BytesIO(text).readline)[0])
    lines = text.splitlines(keepends=True)
    for first, last in _statements(source):
        if _too_deep_alone("".join(lines[first - 1 : last])):
            return first
    return 1


def _deepest_statement(tree: ast.AST) -> int:
    deepest, line = -1, 1
    stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 1)]
    while stack:
        node, depth, statement = stack.pop()
        if isinstance(node, ast.stmt):
            statement = node.lineno
        if depth > deepest:
            deepest, line = depth, statement
        stack.extend((child, depth + 1, statement) for child in ast.iter_child_nodes(node))
    return line


def too_deep_line(source: str | bytes, tree: ast.AST | None) -> int:
    """The first line of the statement of ``source`` nested too deeply to analyse: the
    first Python cannot parse for its depth when ``tree`` is None (the parser gave up),
    else the statement of ``tree`` holding its most deeply nested node; 1 if none is."""
    try:
        return _unparsed_line(source) if tree is None else _deepest_statement(tree)
    except (SyntaxError, UnicodeDecodeError, tokenize.TokenError, RecursionError, MemoryError):
        return 1


def _raise_limit() -> None:
    """Raise the recursion limit for a deep walk (the first of those running raises it)."""
    global _walks, _limits
    with _lock:
        if not _walks:
            old = sys.getrecursionlimit()
            _limits = (old, max(old, _WALK_LIMIT))
            sys.setrecursionlimit(_limits[1])
        _walks += 1


def _restore_limit() -> None:
    """Undo :func:`_raise_limit` (the last deep walk running restores the caller's limit,
    unless something else changed it meanwhile)."""
    global _walks
    with _lock:
        _walks -= 1
        if not _walks and sys.getrecursionlimit() == _limits[1]:
            sys.setrecursionlimit(_limits[0])


def walk_deeply(walk: Callable[[], _T]) -> _T:
    """``walk()`` run in a thread of a large stack under a raised recursion limit, so that
    a recursive walk of any tree Python parses does not run out of recursion; what it
    raises is raised here. The limit is process-wide: it is raised while deep walks run
    (in any thread) and restored when the last ends."""
    done: list[_T] = []
    failed: list[BaseException] = []

    def run() -> None:
        _raise_limit()
        try:
            done.append(walk())
        except BaseException as exc:  # raised in the caller's thread
            failed.append(exc)
        finally:
            _restore_limit()

    worker = threading.Thread(target=run, name="arrayport-port-check", daemon=True)
    with _lock:
        try:
            old = threading.stack_size(_WALK_STACK)
        except (ValueError, RuntimeError):  # not settable here: the default stack
            old = None
        try:
            worker.start()  # the thread's stack is sized when it starts
        finally:
            if old is not None:
                threading.stack_size(old)
    worker.join()
    if failed:
        raise failed[0]
    return done[0]
