"""Files nested deeply: walking them, and the line a file too deep to analyse is reported on.

Python's parser gives up on an expression nested deeper than its recursion limit allows
(Python 3.11 and 3.12, at the default limit of 1,000: a sum of about 3,000 terms, a chain
of about 1,500 method calls; 3.13: about 10,000 terms; 3.10's takes deeper sums still)
without saying where. What it parses, port-check's recursive walk follows: a file the walk
runs out of recursion on in the caller is walked again by :func:`walk_in_child`, in a
child Python process that raises its own recursion limit and walks in a thread with a
large stack (:mod:`arrayport.portcheck._deep_child`). The caller's recursion limit is never
changed: lowering it again while another thread is deeper than the lowered limit aborts
Python. A file that child cannot walk (or where no child can run) is reported as too deep.
:func:`too_deep_line` finds the statement of a file too deep: for a source Python cannot
parse, the first statement that it cannot parse alone for its depth; for a parsed tree,
the statement holding its most deeply nested node. Both walk iteratively, so that they do
not recurse themselves; when no statement is found, the line is 1.
"""

from __future__ import annotations

import ast
import io
import sys
import textwrap
import tokenize
from collections.abc import Iterator

from arrayport._quiet import quiet
from arrayport.portcheck._checker import Finding
from arrayport.portcheck._standard import Standard

__all__ = ["too_deep_line", "walk_in_child"]

#: Seconds a child walking a deep file may take before the file is reported as too deep:
#: it starts Python (about a second) and walks the file (well under a second for files of
#: a few thousand lines).
_CHILD_TIMEOUT = 300

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


def walk_in_child(source: str | bytes, path: str, std: Standard) -> list[Finding] | None:
    """The findings of port-check's walk of ``source`` (named ``path``, checked against
    ``std``: the caller's check's own, its array-api-strict version among them), walked in
    a child Python process that can recurse deeper (:mod:`arrayport.portcheck._deep_child`);
    None when the child cannot start, fails (runs out of recursion or memory even so),
    takes longer than :data:`_CHILD_TIMEOUT` or answers something else."""
    import json
    import pickle
    import subprocess

    from arrayport.portcheck._deep_child import BOOT

    if not sys.executable or getattr(sys, "frozen", False):  # no Python to start
        return None
    # The caller's -I, -E and -s: the child sees the modules and settings the caller does.
    isolation = (sys.flags.isolated, sys.flags.ignore_environment, sys.flags.no_user_site)
    flags = [f for f, on in zip(("-I", "-E", "-s"), isolation, strict=True) if on]
    command = [sys.executable, *flags, "-c", BOOT, *(p for p in sys.path if isinstance(p, str))]
    try:
        done = subprocess.run(
            command,
            input=pickle.dumps((source, path, std)),
            capture_output=True,
            timeout=_CHILD_TIMEOUT,
            check=True,
        )
        return [_finding(row) for row in json.loads(done.stdout)]
    except (
        OSError,
        ValueError,
        TypeError,
        KeyError,
        RuntimeError,
        pickle.PickleError,
        subprocess.SubprocessError,
    ):
        return None  # ValueError: not JSON; TypeError, KeyError: not findings


def _finding(row: dict[str, object]) -> Finding:
    """The finding the child wrote as ``row`` (TypeError if it is not one)."""
    path, line, name, message = row["path"], row["line"], row["name"], row["message"]
    replacement = row["replacement"]
    if not (
        isinstance(path, str)
        and type(line) is int
        and isinstance(name, str)
        and isinstance(message, str)
        and (replacement is None or isinstance(replacement, str))
    ):
        raise TypeError(row)
    return Finding(path, line, name, message, replacement)
