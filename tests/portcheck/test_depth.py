"""Tests of arrayport.portcheck._depth: deep walks, and the line of a statement nested too
deeply."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from arrayport import portcheck
from arrayport.portcheck import _depth, check_source
from arrayport.portcheck._checker import Finding, find_nonstandard
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


#: A file port-check's walk runs out of recursion on at Python's default limit (1,000).
DEEP = "import numpy as np\nx = " + " + ".join(["np.float_(1)"] * 900) + "\n"


def _run(script: str) -> subprocess.CompletedProcess[str]:
    """``script`` run by a Python of its own: a Fatal Python error fails the test, not
    the test run."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_another_thread_deeper_than_the_limit_survives_a_deep_check() -> None:
    # The deep walk raised the process's recursion limit to 60,000 while it ran and lowered
    # it after: another thread that had gone 3,000 deep meanwhile then aborted Python
    # ("Fatal Python error: _Py_CheckRecursiveCall: Cannot recover from stack overflow").
    # Each time port-check's walk starts (in this process), the other thread reads the limit
    # and recurses as deep as it lets it go, 3,000 at most, staying there until the check
    # is done; between walks it keeps reading the limit.
    done = _run(
        f"""
        import sys, threading
        import arrayport.portcheck as pc

        limit = sys.getrecursionlimit()
        seen = set()
        look, looked, finished = threading.Semaphore(0), threading.Semaphore(0), threading.Event()

        def deeply(n):
            if n == 0:
                looked.release()
                finished.wait()  # 3,000 frames deep until the check is done
                return len(str(n))
            return deeply(n - 1)

        def other():
            while not finished.is_set():
                seen.add(sys.getrecursionlimit())
                if look.acquire(timeout=0.001):
                    seen.add(sys.getrecursionlimit())
                    try:
                        deeply(3000)
                    except RecursionError:  # as deep as the caller's limit lets it go
                        looked.release()

        find = pc.find_nonstandard

        def find_while_the_other_thread_looks(*args):
            look.release()
            looked.acquire()
            return find(*args)

        pc.find_nonstandard = find_while_the_other_thread_looks
        thread = threading.Thread(target=other)
        thread.start()
        found = [(f.line, f.name) for f in pc.check_source({DEEP!r})]
        finished.set()
        thread.join()
        print(found, sorted(seen) == [limit], sys.getrecursionlimit() == limit)
        """
    )
    assert (done.returncode, done.stdout) == (0, "[(2, 'numpy.float_')] True True\n"), done.stderr


def test_deep_checks_in_a_thread_pool_leave_the_limit_alone() -> None:
    # Four threads, eight deep checks: the process aborted in 2 runs of 5, when one walk
    # lowered the limit while another thread's first try was deeper than 1,000.
    done = _run(
        f"""
        import sys
        from concurrent.futures import ThreadPoolExecutor
        import arrayport.portcheck as pc

        limit = sys.getrecursionlimit()
        seen = set()
        find = pc.find_nonstandard

        def find_and_note_the_limit(*args):
            seen.add(sys.getrecursionlimit())
            return find(*args)

        pc.find_nonstandard = find_and_note_the_limit
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: pc.check_source({DEEP!r}), range(8)))
        found = {{tuple((f.line, f.name) for f in r) for r in results}}
        print(found, sorted(seen) == [limit], sys.getrecursionlimit() == limit)
        """
    )
    assert (done.returncode, done.stdout) == (0, "{((2, 'numpy.float_'),)} True True\n"), (
        done.stderr
    )


def test_a_deep_file_gets_its_findings_and_the_callers_limit_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = sys.getrecursionlimit()
    seen: list[int] = []

    def find_and_note_the_limit(*args: object) -> list[Finding]:
        seen.append(sys.getrecursionlimit())
        return find_nonstandard(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(portcheck, "find_nonstandard", find_and_note_the_limit)
    found = check_source(DEEP.replace("x = ", "x = np.amax(y) + "), "deep.py")
    assert [(f.path, f.line, f.name) for f in found] == [
        ("deep.py", 2, "numpy.amax"),
        ("deep.py", 2, "numpy.float_"),
    ]
    assert found[0].replacement == "xp.max"
    assert seen == [limit]  # the first try, here; the deep walk ran in a child process
    assert sys.getrecursionlimit() == limit


def test_a_deep_file_is_checked_where_no_thread_can_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A deep file raised RuntimeError("can't start new thread") (ulimit -v, a pids limit):
    # a traceback, and the CLI's status 1, the one for findings.
    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refused)
    assert [(f.line, f.name) for f in check_source(DEEP)] == [(2, "numpy.float_")]


def _too_deep(found: list[Finding]) -> list[tuple[str, int, str]]:
    assert all("too deeply nested to analyse" in f.message for f in found)
    return [(f.path, f.line, f.name) for f in found]


def test_a_deep_file_is_too_deep_where_no_child_can_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    assert _too_deep(check_source("x = 1\n" + DEEP, "d.py")) == [("d.py", 3, "<file>")]
    monkeypatch.setattr(sys, "executable", "")
    assert _too_deep(check_source(DEEP, "d.py")) == [("d.py", 2, "<file>")]


@pytest.mark.parametrize("program", ["false", "echo"])
def test_a_deep_file_is_too_deep_where_the_child_fails_or_answers_nonsense(
    program: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = shutil.which(program)  # exits 1; prints its arguments, not JSON
    if found is None:
        pytest.skip(f"no {program} program here")
    monkeypatch.setattr(sys, "executable", found)
    assert _too_deep(check_source(DEEP, "d.py")) == [("d.py", 2, "<file>")]


def test_a_deep_file_is_too_deep_where_the_child_takes_too_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_depth, "_CHILD_TIMEOUT", 1e-6)  # no Python starts in a microsecond
    assert _too_deep(check_source(DEEP, "d.py")) == [("d.py", 2, "<file>")]
