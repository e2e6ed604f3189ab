"""Where a file too deeply nested to analyse is too deep: the line its finding is on.

Python's parser gives up on an expression nested deeper than its recursion limit
(``x = ------...1``, a 20,000-term ``1 + 1 + ...``) without saying where, and port-check's
walk of a tree Python did parse can run out of recursion the same way.
:func:`too_deep_line` finds the statement: for a source Python cannot parse, the first
statement that it cannot parse alone for its depth; for a parsed tree, the statement
holding its most deeply nested node. Both walk iteratively, so that they do not recurse
themselves; when no statement is found, the line is 1.
"""

from __future__ import annotations

import ast
import io
import textwrap
import tokenize
from collections.abc import Iterator

from arrayport._quiet import quiet

__all__ = ["too_deep_line"]

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
