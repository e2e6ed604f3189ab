"""Tests of how the ``arrayport`` command writes: rich tables, JSON, paths, usage errors."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from arrayport._cli_output import Output, Parser, print_json, printable, shown


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _rich_lines(monkeypatch: pytest.MonkeyPatch, columns: int, title: str, header, rows):
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", str(columns))
    term = _Terminal()
    Output(term).table(title, header, rows)
    return re.sub(r"\x1b\[[0-9;]*m", "", term.getvalue()).splitlines()


def _columns(lines: list[str]) -> list[str]:
    """The text of each column of a one-row rich table, its folded lines joined, spaces
    dropped (where rich folds is its own business)."""
    body = [line for line in lines if line.startswith("│")]
    cells = [""] * (body[0].count("│") - 1)
    for line in body:
        for i, part in enumerate(line.strip("│").split("│")):
            cells[i] += part
    return ["".join(c.split()) for c in cells]


def test_rich_tables_never_cut_the_first_column(monkeypatch: pytest.MonkeyPatch) -> None:
    # In an 80-column terminal the doctor's memory table showed "pyclespera…".
    lines = _rich_lines(
        monkeypatch,
        80,
        "Memory (MiB; blank: the framework does not say)",
        ["memory_type", "device", "in_use", "cached", "free", "total", "note"],
        [
            ("numpy", "cpu", "", "0.0", "22,978.0", "", ""),
            ("pyclesperanto", "opencl:0", "", "", "", "13,274.0", ""),
            ("dask", "-", "", "", "", "", "no devices to report here"),
        ],
    )
    text = "\n".join(lines)
    assert "│ pyclesperanto │" in text
    assert "│ dask          │" in text
    assert _columns(lines)[-1] == "nodevicestoreporthere"  # the last column folds instead
    assert max(len(line) for line in lines) <= 80


@pytest.mark.parametrize("columns", [80, 60])
def test_rich_tables_fit_the_terminal_and_show_every_character(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 80 columns the port-check table showed "src/mypackage/filters.p…" (":5" lost),
    # and was wider than the terminal: rich cropped its right border and words of "why".
    why = "numpy.pad is not in the array API standard 2025.12"
    replacement = (
        "xpx.pad(x, pad_width) (an int, a (before, after) pair or a pair per axis; "
        "constant_values= a scalar) (array-api-extra)"
    )
    lines = _rich_lines(
        monkeypatch,
        columns,
        "NumPy outside the array API standard 2025.12",
        ["file:line", "what", "replacement", "why"],
        [("src/mypackage/filters.py:5", "numpy.pad", replacement, why)],
    )
    body = [line for line in lines[1:] if line.strip()]
    assert all(len(line) == len(body[0]) <= columns for line in body)  # nothing cropped
    assert (body[0][0], body[0][-1], body[-1][0], body[-1][-1]) == ("┏", "┓", "└", "┘")
    # Every cell's text is there, folded across lines but never cut with "…".
    expected = ["src/mypackage/filters.py:5", "numpy.pad", replacement, why]
    assert _columns(lines) == ["".join(v.split()) for v in expected]
    assert "…" not in "\n".join(lines)


def test_a_wide_terminal_leaves_paths_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    path = "src/some/deeply/nested/package/module_name.py:123"
    lines = _rich_lines(monkeypatch, 200, "t", ["file:line", "what"], [(path, "numpy.amax")])
    assert any(f"│ {path} │" in line for line in lines)


def test_undecodable_file_name_bytes_are_escaped() -> None:
    name = os.fsdecode(b"caf\xe9.py")  # a Latin-1 name: Python holds "caf\udce9.py"
    assert name == "caf\udce9.py"
    assert shown(name) == "caf\\xe9.py"
    assert shown("café.py") == "café.py"  # valid UTF-8 stays as it is
    assert shown("\ud800") == "\\ud800"  # a surrogate no byte made is escaped too


def test_json_is_valid_utf8_whatever_the_file_names() -> None:
    stream = io.StringIO()
    print_json([{"path": os.fsdecode(b"pc/caf\xe9.py"), "line": 2}], stream)
    text = stream.getvalue()
    text.encode("utf-8")  # strict: lone surrogates raised here
    assert json.loads(text) == [{"path": "pc/caf\\xe9.py", "line": 2}]


def test_plain_output_escapes_undecodable_file_names_too() -> None:
    stream = io.StringIO()
    out = Output(stream)
    out.line(os.fsdecode(b"caf\xe9.py:2: numpy.amax"))
    out.table("t", ["file"], [(os.fsdecode(b"caf\xe9.py"),)])
    assert stream.getvalue() == "caf\\xe9.py:2: numpy.amax\nt\nfile\n----------\ncaf\\xe9.py\n\n"


def test_a_usage_error_puts_json_on_stdout_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Parser(prog="tool")
    parser.json_error = lambda message: {"error": message}
    with pytest.raises(SystemExit) as exit_info:
        parser.error("argument --size: invalid float value: 'abc'")
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"error": "argument --size: invalid float value: 'abc'"}
    assert "usage: tool" in captured.err
    parser.json_error = None
    with pytest.raises(SystemExit):
        parser.error("bad")
    assert capsys.readouterr().out == ""


def test_a_usage_error_is_said_before_its_json_is_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The JSON went first: where standard output fails at once (unbuffered, a full disk)
    # the usage and the message were never written.
    class FullDisk(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    parser = Parser(prog="tool")
    parser.json_error = lambda message: {"error": message}
    monkeypatch.setattr(sys, "stdout", FullDisk())
    with pytest.raises(OSError, match="No space left"):
        parser.error("argument --size: invalid float value: 'abc'")
    assert capsys.readouterr().err == (
        "usage: tool [-h]\ntool: error: argument --size: invalid float value: 'abc'\n"
    )


def test_rich_prints_emoji_codes_in_paths_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    # "/tmp/x:fire:y/torch.py" was printed as "/tmp/x🔥y/torch.py" in a terminal.
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "200")
    term = _Terminal()
    text = "torch not usable: torch imported from /tmp/x:fire:y/torch.py (:smile:)"
    Output(term).line(text)
    assert re.sub(r"\x1b\[[0-9;]*m", "", term.getvalue()) == text + "\n"


def test_a_terminal_too_narrow_for_a_rich_table_loses_no_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Below about 30 columns rich gave doctor's memory table's columns no width: its cells
    # vanished and it printed empty boxes.
    header = ["memory_type", "device", "in_use", "cached", "free", "total", "note"]
    rows = [
        ("numpy", "cpu", "", "0.0", "22,978.0", "", ""),
        ("pyclesperanto", "opencl:0", "", "", "", "13,274.0", ""),
        ("dask", "-", "", "", "", "", "no devices to report here"),
    ]
    title = "Memory (MiB; blank: the framework does not say)"
    given = "".join([title, *header, *(v for row in rows for v in row)])
    for columns in range(8, 81):  # plain text below 50 columns here, rich from 50
        shown_text = "".join(_rich_lines(monkeypatch, columns, title, header, rows))
        # Every letter, digit and sign of the title, headers and cells is shown, however
        # folded.
        for char in set(given) - {" "}:
            assert shown_text.count(char) >= given.count(char), (columns, char, shown_text)
        assert ("┃" in shown_text) == (columns >= 50), columns


def test_plain_tables_print_a_cell_of_several_lines_on_one() -> None:
    # numpy's ABI message, 3 lines: its continuation lines fell under "memory type".
    error = "ImportError: A module compiled\nusing NumPy 1.x cannot be run in\nNumPy 2.4.6."
    stream = io.StringIO()
    Output(stream).table(
        "Memory types", ["memory type", "problem"], [("numpy", ""), ("torch", error)]
    )
    problem = "ImportError: A module compiled using NumPy 1.x cannot be run in NumPy 2.4.6."
    assert stream.getvalue().splitlines() == [
        "Memory types",
        "memory type  problem",
        "-----------  " + "-" * len(problem),
        "numpy",
        f"torch        {problem}",
        "",
    ]


def test_text_the_output_encoding_cannot_hold_is_escaped_not_a_traceback(tmp_path: Path) -> None:
    # PYTHONIOENCODING=ascii and a finding in café.py: a
    # UnicodeEncodeError traceback and exit 1 (findings), where one unparseable file
    # beside it makes the status 2.
    (tmp_path / "caf\u00e9.py").write_text("import numpy as np\nx = np.concatenate([a, b])\n")
    (tmp_path / "bad.py").write_text("def f(:\n")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "arrayport", "port-check", str(tmp_path)],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert b"Traceback" not in done.stderr
    assert f"{tmp_path}{os.sep}caf\\xe9.py:2: numpy.concatenate".encode() in done.stdout


@contextlib.contextmanager
def _real_standard_streams(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` on file descriptors 1 and 2, as in the command,
    within the block (capfd points those descriptors at its files). Entered in the test
    itself: pytest sets its own ``sys.stdout`` again once the fixtures are set up."""
    with (
        open(1, "w", closefd=False) as out,
        open(2, "w", closefd=False) as err,
        monkeypatch.context() as patch,
    ):
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        yield


def test_quiet_stdout_sends_what_native_code_writes_to_fd_1_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # Only sys.stdout was redirected: a framework's C library printing a banner to file
    # descriptor 1 while imported made `doctor --json`'s standard output invalid JSON.
    from arrayport._cli_output import quiet_stdout

    with _real_standard_streams(monkeypatch):
        with quiet_stdout(True):
            print("python banner")
            os.write(1, b"native banner\n")
        print_json({"ok": True}, sys.stdout)
        sys.stdout.flush()
        os.write(1, b"fd 1 is back\n")
    captured = capfd.readouterr()
    assert captured.out == '{\n  "ok": true\n}\nfd 1 is back\n'
    assert sorted(captured.err.splitlines()) == ["native banner", "python banner"]


def test_quiet_stdout_flushes_what_the_c_library_buffered_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # printf into a pipe or a file is buffered by the C library: flushed at exit, it would
    # land after the JSON once file descriptor 1 is restored.
    import ctypes

    from arrayport._cli_output import quiet_stdout

    try:
        libc = ctypes.CDLL(None)
        libc.printf  # noqa: B018
    except (AttributeError, OSError, TypeError):
        pytest.skip("no C library to load with ctypes.CDLL(None) here")
    libc.fflush(None)
    with _real_standard_streams(monkeypatch), quiet_stdout(True):
        libc.printf(b"buffered banner\n")
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "buffered banner\n")


def test_quiet_stdout_restores_fd_1_when_the_block_raises(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from arrayport._cli_output import quiet_stdout

    def interrupted() -> None:
        with quiet_stdout(True):
            os.write(1, b"during\n")
            raise KeyboardInterrupt

    with _real_standard_streams(monkeypatch):
        with pytest.raises(KeyboardInterrupt):
            interrupted()
        os.write(1, b"after\n")
    assert capfd.readouterr() == ("after\n", "during\n")


def test_quiet_stdout_without_file_descriptors_redirects_sys_stdout_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A StringIO (a caller's, a test's capture) has no descriptor: no fd trick, no error.
    from arrayport._cli_output import quiet_stdout

    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    with quiet_stdout(True):
        print("banner")
    with quiet_stdout(False):
        print("result")
    assert (out.getvalue(), err.getvalue()) == ("result\n", "banner\n")


@pytest.mark.parametrize("command", ["doctor", "bench"])
def test_json_stays_json_when_native_code_prints_while_working(command: str) -> None:
    # The command itself, in a fresh process whose standard output is a pipe.
    script = (
        "import ctypes, os, sys\n"
        "import arrayport._bench, arrayport._doctor\n"
        "from arrayport import cli\n"
        "def work(**kwargs):\n"
        "    os.write(1, b'native write\\n')\n"
        "    try:\n"
        "        ctypes.CDLL(None).printf(b'native printf\\n')\n"
        "    except (AttributeError, OSError, TypeError):\n"
        "        pass\n"
        "    print('python print')\n"
        "    return {'ok': True, 'broken': {}, 'conversions': [], 'dispatch': []}\n"
        "arrayport._doctor.diagnose = arrayport._bench.run_bench = work\n"
        f"sys.exit(cli.main([{command!r}, '--json']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["conversions"] == []
    assert "native write\n" in done.stderr
    assert "python print\n" in done.stderr


def test_printable_escapes_control_characters() -> None:
    # A file name's newline or ESC reached the terminal raw (audit a24).
    assert printable("x.py\nfake.py:9: forged") == "x.py\\nfake.py:9: forged"
    assert printable("a\x1b]0;pwned\x07\x1b[2J.py") == "a\\x1b]0;pwned\\x07\\x1b[2J.py"
    assert printable("tab\there\u2028\x85") == "tab\\there\\u2028\\x85"
    assert printable(os.fsdecode(b"caf\xe9.py")) == "caf\\xe9.py"  # as shown() gives it
    assert printable("café [bold] :fire: ü.py") == "café [bold] :fire: ü.py"  # printable


def test_output_escapes_control_characters_but_keeps_a_message_s_lines() -> None:
    stream = io.StringIO()
    out = Output(stream)
    out.line("torch not usable: from /tmp/a\x1b[8mhidden/torch.py\x07")
    out.table("t", ["name", "problem"], [("a\x1b[1A\x1b[2K", "first line\nsecond\tline")])
    text = stream.getvalue()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\t" not in text
    name, problem = "a\\x1b[1A\\x1b[2K", "first line second\\tline"  # one line each
    assert text.splitlines() == [
        "torch not usable: from /tmp/a\\x1b[8mhidden/torch.py\\x07",
        "t",
        f"{'name'.ljust(len(name))}  problem",
        f"{'-' * len(name)}  {'-' * len(problem)}",
        f"{name}  {problem}",
        "",
    ]


def test_only_newlines_and_carriage_returns_break_an_output_line() -> None:
    # str.splitlines also broke at form feeds, \x85 and \u2028: unescaped line breaks
    # in an error message that was not escaped first.
    stream = io.StringIO()
    out = Output(stream)
    out.line("a\x0cb\x85c\u2028d\r\ne\rf\n")
    out.line("")
    assert stream.getvalue() == "a\\x0cb\\x85c\\u2028d\ne\nf\n\n"


def test_rich_output_escapes_control_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    # rich kept ESC sequences (an OSC title, a screen clear) from a file name.
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "200")
    term = _Terminal()
    name = "a\x1b]0;pwned\x07\x1b[2J.py:2"
    Output(term).line(name)
    Output(term).table("t", ["file:line", "what"], [(name, "numpy.concatenate")])
    raw = term.getvalue()
    assert "\x1b]" not in raw
    assert "\x07" not in raw
    assert "\x1b[2J" not in raw
    text = re.sub(r"\x1b\[[0-9;]*m", "", raw)  # rich's own styles
    assert text.count("a\\x1b]0;pwned\\x07\\x1b[2J.py:2") == 2


@pytest.mark.parametrize("columns", ["0", "1", "3"])
def test_a_terminal_of_almost_no_columns_still_gets_every_line_whole(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # COLUMNS=0: rich printed nothing, the verdict included; COLUMNS=1: a character a line.
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", columns)
    term = _Terminal()
    out = Output(term)
    out.line("2 finding(s) in 1 file(s)")
    out.table("Memory types", ["memory type", "problem"], [("numpy", "")])
    lines = re.sub(r"\x1b\[[0-9;]*m", "", term.getvalue()).splitlines()
    assert lines[0] == "2 finding(s) in 1 file(s)"
    assert lines[1:4] == ["Memory types", "memory type  problem", "-----------  -------"]


class _AsciiTerminal(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


def test_rich_tables_stay_aligned_where_the_encoding_cannot_hold_a_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PYTHONIOENCODING=ascii: "naïve.py" was escaped after rich measured it, so its row
    # stuck out by 3 characters.
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "80")
    raw = io.BytesIO()
    term = _AsciiTerminal(raw, encoding="ascii", errors="backslashreplace")
    Output(term).table(
        "t",
        ["file:line", "what"],
        [("na\u00efve.py:2", "numpy.concatenate"), ("plain.py:2", "numpy.concatenate")],
    )
    term.flush()
    text = re.sub(r"\x1b\[[0-9;]*m", "", raw.getvalue().decode("ascii"))
    rows = [line for line in text.splitlines()[1:] if line.strip()]
    assert "na\\xefve.py:2" in text
    assert len({len(line) for line in rows}) == 1, rows


def test_a_usage_error_escapes_control_characters_on_stderr_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = Parser(prog="tool")
    parser.json_error = lambda message: {"error": message}
    with pytest.raises(SystemExit):
        parser.error("unrecognized arguments: --x\x1b[2J")
    captured = capsys.readouterr()
    assert captured.err.endswith("tool: error: unrecognized arguments: --x\\x1b[2J\n")
    assert json.loads(captured.out) == {"error": "unrecognized arguments: --x\x1b[2J"}
    parser.json_error = None
    with pytest.raises(SystemExit):
        parser.error("unrecognized arguments: x\ny")
    assert capsys.readouterr().err.endswith("tool: error: unrecognized arguments: x\\ny\n")
