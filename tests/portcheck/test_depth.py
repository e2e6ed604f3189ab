"""Tests of arrayport.portcheck._depth: deep walks, and the line of a statement nested too
deeply."""

from __future__ import annotations

import ast
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from arrayport.portcheck import _depth
from arrayport.portcheck._depth import too_deep_line, walk_deeply


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


def test_walk_deeply_runs_a_walk_under_a_raised_limit_and_restores_it() -> None:
    limit = sys.getrecursionlimit()

    def depth(n: int) -> int:  # recurses n frames deep
        return 0 if n == 0 else 1 + depth(n - 1)

    def walk() -> tuple[int, int, str]:
        return sys.getrecursionlimit(), depth(5 * limit), threading.current_thread().name

    inside, reached, thread = walk_deeply(walk)
    assert inside == max(limit, _depth._WALK_LIMIT)
    assert reached == 5 * limit
    assert thread != threading.current_thread().name
    assert sys.getrecursionlimit() == limit


def test_walk_deeply_raises_what_the_walk_raises_and_still_restores_the_limit() -> None:
    limit = sys.getrecursionlimit()

    def endless(n: int) -> int:
        return endless(n + 1) + 1

    with pytest.raises(RecursionError):
        walk_deeply(lambda: endless(0))
    with pytest.raises(KeyError, match="k"):
        walk_deeply(lambda: {}["k"])
    assert sys.getrecursionlimit() == limit


def test_walk_deeply_keeps_a_higher_limit_and_one_set_meanwhile() -> None:
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(_depth._WALK_LIMIT + 10)
        assert walk_deeply(sys.getrecursionlimit) == _depth._WALK_LIMIT + 10
        assert sys.getrecursionlimit() == _depth._WALK_LIMIT + 10
        sys.setrecursionlimit(limit)

        def resets() -> None:  # the program sets its own limit while the walk runs
            sys.setrecursionlimit(limit + 7)

        walk_deeply(resets)
        assert sys.getrecursionlimit() == limit + 7  # not undone
    finally:
        sys.setrecursionlimit(limit)


def test_walks_in_several_threads_restore_the_limit_once_all_are_done() -> None:
    limit = sys.getrecursionlimit()
    started = threading.Barrier(4)

    def walk() -> int:
        started.wait(timeout=60)  # all four run at once
        return sys.getrecursionlimit()

    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda _: walk_deeply(walk), range(4)))
    assert seen == [max(limit, _depth._WALK_LIMIT)] * 4
    assert sys.getrecursionlimit() == limit
