"""Tests of the public port-check entry points: files, directories, errors."""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from arrayport import portcheck
from arrayport.errors import ArrayportError
from arrayport.portcheck import (
    PARSE_ERROR,
    UNREADABLE,
    check_paths,
    check_source,
    iter_python_files,
)
from tests.conftest import deny_reads


def test_directories_are_searched_for_python_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("import numpy as np\nnp.amax(x)\n")
    (tmp_path / "pkg" / "notes.txt").write_text("np.amax(x)\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "b.py").write_text("import numpy as np\nnp.amax(x)\n")
    found = check_paths([tmp_path])
    assert [(Path(f.path).name, f.line) for f in found] == [("a.py", 2)]


def test_directories_find_python_scripts_without_a_suffix(tmp_path: Path) -> None:
    # Found when named, but not below a directory: a directory of such scripts was "empty".
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "tool"
    tool.write_text("#!/usr/bin/env python3\nimport numpy as np\nnp.amax(x)\n")
    (tmp_path / "bin" / "run.sh").write_text("#!/usr/bin/env python3\nnp.amax(x)\n")
    (tmp_path / "bin" / "shell").write_text("#!/bin/sh\necho np.amax\n")
    (tmp_path / "bin" / "data").write_bytes(b"\x00\x01python")
    assert list(iter_python_files([tmp_path])) == [tool]


def test_build_and_dist_are_searched_when_they_are_packages(tmp_path: Path) -> None:
    # A subpackage named build/ was skipped silently: exit 0 on code never read.
    for d in ("build", "dist", "site-packages"):
        (tmp_path / "pkg" / d).mkdir(parents=True)
        (tmp_path / "pkg" / d / "__init__.py").write_text("")
        (tmp_path / "pkg" / d / "m.py").write_text("import numpy as np\nnp.amax(x)\n")
    (tmp_path / "build" / "lib").mkdir(parents=True)  # build output: a copy of the sources
    (tmp_path / "build" / "lib" / "m.py").write_text("import numpy as np\nnp.amax(x)\n")
    skipped: list[Path] = []
    found = list(iter_python_files([tmp_path], skipped=skipped))
    pkg = tmp_path / "pkg"
    assert found == [pkg / d / n for d in ("build", "dist") for n in ("__init__.py", "m.py")]
    assert skipped == [tmp_path / "build", pkg / "site-packages"]


def test_explicit_files_must_be_python_source(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("import numpy as np\nnp.amax(x)\n")
    with pytest.raises(ArrayportError, match=r"not a Python source file: .*notes\.txt"):
        list(iter_python_files([notes]))
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env python3\nimport numpy as np\nnp.amax(x)\n")
    assert list(iter_python_files([script])) == [script]
    assert [f.line for f in check_paths([script])] == [3]


def test_device_files_are_not_python_source() -> None:
    devnull = Path(os.devnull)
    if not devnull.exists() or devnull.is_file():
        pytest.skip("no device file here")
    with pytest.raises(ArrayportError, match="not a Python source file"):
        check_paths([devnull])


def test_too_deep_file_is_a_finding_and_the_rest_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / "a_deep.py"
    deep.write_text("import numpy as np\nx = " + " + ".join(["1"] * 20_000) + "\n")
    walk_deep = tmp_path / "b_walk_deep.py"  # parses, but too deep for a walk with no child
    walk_deep.write_text("import numpy as np\nx = " + " + ".join(["np.amax(a)"] * 2_000) + "\n")
    (tmp_path / "c.py").write_text("import numpy as np\nnp.amax(x)\n")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))  # no child starts
    found = check_paths([tmp_path])
    assert [(Path(f.path).name, f.line, f.name) for f in found] == [
        ("a_deep.py", 2, "<file>"),  # the statement nested too deeply
        ("b_walk_deep.py", 2, "<file>"),
        ("c.py", 2, "numpy.amax"),
    ]
    assert "too deeply nested to analyse" in found[0].message
    assert found[0].replacement is None


def _deepest(make: Callable[[int], str]) -> str:
    """``make(n)`` for n 100 below the largest (below 20,000) Python's parser takes here
    (its limit is the recursion left, a little less in check_source: 100 levels less)."""
    low, high = 200, 20_000
    while high - low > 1:
        middle = (low + high) // 2
        try:
            ast.parse(make(middle))
            low = middle
        except (SyntaxError, RecursionError, MemoryError):
            high = middle
    return make(low - 100)


def test_every_file_python_parses_is_walked_whatever_its_depth() -> None:
    # A 500-term sum or a 170-call method chain ran the walk out of recursion (Python's
    # default limit, 1,000): the file was reported as too deep and not checked.
    head, tail = "import numpy as np\n", "\nz = np.amax(y)\n"
    sources = {
        "sum": lambda n: f"{head}y = {' + '.join(['np.amax(a)'] * n)}{tail}",
        "chain": lambda n: f"{head}q = np.amax(b){'.where(c)' * n}{tail}",
        "attributes": lambda n: f"{head}q = np.amax(b){'.c' * n}{tail}",
        "index": lambda n: f"{head}q = np.amax(b){'[0]' * n}{tail}",
        "elif": lambda n: head + "if np.amax(a): pass\n" + "elif a: pass\n" * n + tail,
    }
    limit = sys.getrecursionlimit()
    for name, make in sources.items():
        source = _deepest(make)
        found = {(f.line, f.name) for f in check_source(source, name)}
        last = source.count("\n")
        assert (2, "numpy.amax") in found, name
        assert (last, "numpy.amax") in found, name
        assert sys.getrecursionlimit() == limit  # never changed


def test_a_file_the_walk_follows_is_walked_in_the_callers_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(*args: object) -> None:
        raise AssertionError("walked in a child process")

    monkeypatch.setattr(portcheck, "walk_in_child", refused)
    source = "import numpy as np\ny = " + " + ".join(["np.amax(a)"] * 200) + "\n"
    assert [(f.line, f.name) for f in check_source(source)] == [(2, "numpy.amax")]


def test_deep_files_are_checked_from_several_threads_at_once() -> None:
    limit = sys.getrecursionlimit()
    sources = [
        "import numpy as np\n" + f"y = {' + '.join(['a'] * (600 + 50 * i))}\nz = np.amax(y)\n"
        for i in range(6)
    ]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(check_source, sources))
    assert [[(f.line, f.name) for f in found] for found in results] == [[(3, "numpy.amax")]] * 6
    assert sys.getrecursionlimit() == limit


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(ArrayportError, match="no such file or directory"):
        check_paths([tmp_path / "nope.py"])


def test_syntax_error_names_the_file() -> None:
    with pytest.raises(ArrayportError, match=r"cannot parse bad\.py"):
        check_source("def (:\n", "bad.py")


def test_source_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "m.py").write_text(f"open({str(marker)!r}, 'w')\nimport numpy as np\nnp.amax(x)\n")
    assert len(check_paths([tmp_path / "m.py"])) == 1
    assert not marker.exists()


def test_finding_as_dict_has_the_json_keys() -> None:
    (finding,) = check_source("import numpy as np\nnp.amax(x)\n", "f.py")
    assert finding.as_dict() == {
        "path": "f.py",
        "line": 2,
        "name": "numpy.amax",
        "message": finding.message,
        "replacement": "xp.max",
    }


def test_nesting_the_parser_runs_out_of_memory_on_is_too_deep_too(tmp_path: Path) -> None:
    # Python 3.11's parser raises MemoryError (not RecursionError) for 10,000 unary minuses.
    deep = tmp_path / "unary.py"
    deep.write_text("x = " + "-" * 10_000 + "1\n" + "y = " + "not " * 10_000 + "True\n")
    found = check_paths([deep])
    assert [(f.line, f.name) for f in found] == [(1, "<file>")]
    assert "too deeply nested to analyse" in found[0].message


def test_a_file_named_twice_is_checked_once(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a.py").write_text("import numpy as np\nnp.amax(x)\n")
    monkeypatch.chdir(tmp_path)
    found = check_paths(["a.py", "./a.py", tmp_path / "a.py", tmp_path])
    assert [(Path(f.path).name, f.line) for f in found] == [("a.py", 2)]


def test_one_path_given_alone_is_that_path_not_its_characters(tmp_path: Path, monkeypatch) -> None:
    # check_paths("m.py") took each character for a path: "no such file or directory: m".
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.py").write_text("import numpy as np\nnp.amax(x)\n")
    monkeypatch.chdir(tmp_path)  # relative paths only: "/" would be a path of its own
    for given in ("sub/m.py", Path("sub/m.py"), "sub", Path("sub")):
        found = check_paths(given)
        assert [(f.path, f.line) for f in found] == [(str(Path("sub/m.py")), 2)], given
        assert found == check_paths([given])
        assert list(iter_python_files(given)) == [Path("sub/m.py")]


def test_directory_entries_that_are_not_regular_files_are_skipped(tmp_path: Path) -> None:
    # A dangling link named *.py stopped the whole scan ("cannot read", exit 2), a FIFO
    # blocked it; a link to a file of the same tree was reported under the link's name.
    (tmp_path / "sub").mkdir()
    real = tmp_path / "sub" / "a.py"
    real.write_text("import numpy as np\nnp.hstack([1])\n")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    (tmp_path / "link.py").symlink_to(real)
    os.mkfifo(tmp_path / "fifo.py")
    assert list(iter_python_files([tmp_path])) == [real]
    assert [(f.path, f.line) for f in check_paths([tmp_path])] == [(str(real), 2)]


def test_unparseable_files_are_findings_and_the_rest_is_checked(tmp_path: Path) -> None:
    # One syntax error used to abort the whole scan ("cannot parse", nothing else reported).
    (tmp_path / "a_bad.py").write_text("import numpy as np\n\ndef f(:\n")
    (tmp_path / "b_py2.py").write_text('print "hello"\n')
    (tmp_path / "c_undecodable.py").write_bytes(b'x = "\xff"\n')
    (tmp_path / "d.py").write_text("import numpy as np\nnp.amax(x)\n")
    found = check_paths([tmp_path])
    assert [(Path(f.path).name, f.line, f.name) for f in found] == [
        ("a_bad.py", 3, PARSE_ERROR),
        ("b_py2.py", 1, PARSE_ERROR),
        ("c_undecodable.py", 1, PARSE_ERROR),
        ("d.py", 2, "numpy.amax"),
    ]
    version = ".".join(map(str, sys.version_info[:2]))
    assert found[0].message == (
        f"cannot parse as Python {version} (the Python running port-check): invalid syntax; "
        "the file was not checked"
    )
    assert "codec can't decode" in found[2].message
    assert all(f.replacement is None for f in found[:3])


def test_an_unparseable_file_named_explicitly_is_a_finding_too(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n")
    assert [(f.path, f.line, f.name) for f in check_paths([bad])] == [(str(bad), 1, PARSE_ERROR)]


# -- what a walk cannot read or does not follow ---------------------------------------------


def test_unreadable_files_and_directories_are_findings_and_the_rest_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unreadable file raised ("cannot read", nothing else reported); an unreadable
    # directory was skipped without a word.
    amax = "import numpy as np\nnp.amax(x)\n"
    (tmp_path / "a.py").write_text(amax)
    (tmp_path / "b_locked.py").write_text(amax)
    (tmp_path / "c_private").mkdir()
    (tmp_path / "c_private" / "bad.py").write_text(amax)
    (tmp_path / "d.py").write_text(amax)
    deny_reads(monkeypatch, tmp_path / "b_locked.py", tmp_path / "c_private")
    found = check_paths([tmp_path])
    # In walk order: a directory's files, then what is below it.
    assert [(Path(f.path).name, f.line, f.name, f.message) for f in found] == [
        ("a.py", 2, "numpy.amax", found[0].message),
        (
            "b_locked.py",
            1,
            UNREADABLE,
            "cannot be read: Permission denied; the file was not checked",
        ),
        ("d.py", 2, "numpy.amax", found[0].message),
        (
            "c_private",
            1,
            UNREADABLE,
            "cannot be read: Permission denied; the directory was not searched",
        ),
    ]
    assert found[1].replacement is None
    unreadable: list[tuple[Path, OSError]] = []
    files = list(iter_python_files([tmp_path], unreadable=unreadable))
    assert [f.name for f in files] == ["a.py", "b_locked.py", "d.py"]
    assert [(p, type(e)) for p, e in unreadable] == [(tmp_path / "c_private", PermissionError)]
    # Without a list to report it in, an unreadable directory is an error, not a gap.
    with pytest.raises(ArrayportError, match=r"cannot read the directory .*c_private: Permission"):
        list(iter_python_files([tmp_path]))


def test_links_to_directories_are_named_as_not_searched(tmp_path: Path) -> None:
    # os.walk does not follow them: their files were never read, and nothing said so.
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "bad.py").write_text("import numpy as np\nnp.amax(x)\n")
    pkg = tmp_path / "pkg"
    (pkg / "real").mkdir(parents=True)
    (pkg / "real" / "m.py").write_text("x = 1\n")
    (pkg / "sub").symlink_to(tmp_path / "vendor")
    (pkg / "alias").symlink_to(pkg / "real")  # searched anyway: not worth a word
    skipped: list[Path] = []
    assert list(iter_python_files([pkg], skipped=skipped)) == [pkg / "real" / "m.py"]
    assert skipped == [pkg / "sub"]


def test_a_link_to_a_file_in_a_directory_not_searched_is_checked(tmp_path: Path) -> None:
    # `pkg/core.py -> ../.impl/core.py`: dropped as "found under its own path in this tree",
    # but .impl/ is hidden, so it was checked nowhere.
    (tmp_path / ".impl").mkdir()
    (tmp_path / ".impl" / "core.py").write_text("import numpy as np\nnp.amax(x)\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "core.py").symlink_to(tmp_path / ".impl" / "core.py")
    found = check_paths([tmp_path])
    assert [(f.path, f.line, f.name) for f in found] == [
        (str(tmp_path / "pkg" / "core.py"), 2, "numpy.amax")
    ]


def test_a_symlink_loop_or_dangling_link_given_is_named_as_such(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(ArrayportError, match=r"cannot follow the link .*loop: a symlink loop"):
        check_paths([loop])
    dangling = tmp_path / "gone.py"
    dangling.symlink_to(tmp_path / "nowhere.py")
    with pytest.raises(ArrayportError, match=r"gone\.py: what it names does not exist"):
        check_paths([dangling])


def test_undecodable_bytes_in_a_comment_are_a_parse_error(tmp_path: Path) -> None:
    # ast.parse accepts them; Python refuses to run the file ("Non-UTF-8 code ... but no
    # encoding declared"); docs/cli.md says such a file is reported as unparseable.
    latin = tmp_path / "l1.py"
    latin.write_bytes(b"import numpy as np\n# caf\xe9\nx = np.amax(1)\n")
    declared = tmp_path / "l2.py"
    declared.write_bytes(b"# -*- coding: latin-1 -*-\nimport numpy as np\n# caf\xe9\nnp.amax(x)\n")
    found = check_paths([latin, declared])
    assert [(Path(f.path).name, f.line, f.name) for f in found] == [
        ("l1.py", 2, PARSE_ERROR),
        ("l2.py", 4, "numpy.amax"),
    ]
    assert "'utf-8' codec can't decode byte 0xe9 on line 2" in found[0].message
    assert "PEP 263" in found[0].message
    with pytest.raises(ArrayportError, match=r"cannot parse l1\.py"):
        check_source(latin.read_bytes(), "l1.py")


def test_parse_errors_are_on_their_line_with_cr_endings_and_nul_bytes(tmp_path: Path) -> None:
    # Lines were counted by b"\n" only (a CR-only file's bad byte was on line 1), and a NUL
    # byte was always reported on line 1.
    (tmp_path / "cr.py").write_bytes(b"import numpy as np\r# caf\xe9\rb = 1\r")
    (tmp_path / "crlf.py").write_bytes(b"import numpy as np\r\n\r\n# caf\xe9\r\n")
    (tmp_path / "nul.py").write_bytes(b"import numpy as np\na = np.amax(x)\0\n")
    (tmp_path / "nul_cr.py").write_bytes(b"import numpy as np\r\ra = 1\0\r")
    found = check_paths(sorted(tmp_path.iterdir()))
    assert [(Path(f.path).name, f.line, f.name) for f in found] == [
        ("cr.py", 2, PARSE_ERROR),
        ("crlf.py", 3, PARSE_ERROR),
        ("nul.py", 2, PARSE_ERROR),
        ("nul_cr.py", 3, PARSE_ERROR),
    ]
    assert "on line 2" in found[0].message
    assert "on line 3" in found[1].message
    with pytest.raises(ArrayportError, match="null bytes"):
        check_source("x = 1\n\0\n")


def test_too_deep_finding_is_on_the_line_of_the_statement_nested_too_deeply() -> None:
    # It was on line 1 whatever the line (5,000 unary minuses on line 2: "deep2.py:1").
    unary = "import numpy as np\nx = " + "-" * 5_000 + "1\n"
    assert [(f.line, f.name) for f in check_source(unary)] == [(2, "<file>")]
    inside = (
        "import numpy as np\n\ndef f(a):\n    b = 1\n    if a:\n"
        "        return (" + " + ".join(["1"] * 20_000) + ")\n"
    )
    assert [f.line for f in check_source(inside.encode())] == [6]
    header = "x = 1\nif " + " + ".join(["a"] * 20_000) + ":\n    pass\n"
    assert [f.line for f in check_source(header)] == [2]
    walked = "import numpy as np\n\nx = 1\ny = " + " + ".join(["np.amax(a)"] * 2_000) + "\n"
    assert [f.line for f in check_source(walked)] == [4]
