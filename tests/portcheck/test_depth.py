"""Tests of arrayport.portcheck._depth: the line of a statement nested too deeply."""

from __future__ import annotations

import ast

from arrayport.portcheck._depth import too_deep_line


def test_the_line_of_the_statement_python_cannot_parse_for_its_depth() -> None:
    deep = " + ".join(["1"] * 20_000)  # a chain the parser recurses into
    source = f"x = 1\ny = {deep}\nz = 2\n"
    try:
        tree: ast.AST | None = ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError):
        tree = None  # the parser gave up: the line is found from the text
    assert too_deep_line(source, tree) == 2


def test_the_statement_holding_the_deepest_node_of_a_parsed_tree() -> None:
    source = "a = 1\nif a:\n    b = [[[[[[1]]]]]]\nc = (1)\n"
    assert too_deep_line(source, ast.parse(source)) == 3


def test_source_that_cannot_be_read_at_all_gives_line_one() -> None:
    assert too_deep_line(b"\xff\xfe(", None) == 1
