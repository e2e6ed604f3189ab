"""Tests of the ``arrayport`` command: exit statuses, JSON, plain and rich output."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import arrayport
import arrayport._bench
import arrayport._doctor
from arrayport import MemoryType, cli
from arrayport._cli_args import commands
from tests.conftest import INSTALLED, deny_reads

NONSTANDARD = (
    "import numpy as xnp\nfrom numpy import concatenate\ny = concatenate([a]).astype(int)\n"
)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = cli.main(list(argv))
    return status, capsys.readouterr().out


@pytest.fixture
def small_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Limit doctor to numpy and torch (when installed) to keep the tests quick."""
    types = tuple(mt for mt in (MemoryType.NUMPY, MemoryType.TORCH) if mt in INSTALLED)
    monkeypatch.setattr(arrayport._doctor, "installed_memory_types", lambda: types)


def test_port_check_exit_1_and_plain_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "m.py"
    f.write_text(NONSTANDARD)
    status, out = run(capsys, "port-check", str(f))
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == (
        f"{f}:3: .astype: ndarray.astype is not in the array API standard; "
        "use xp.astype(x, xp.int64) (or the xp integer dtype meant)"
    )
    assert lines[1].startswith(f"{f}:3: numpy.concatenate: ")
    assert lines[1].endswith("; use xp.concat")
    assert lines[-1] == "2 finding(s) in 1 file(s)"


def test_port_check_clean_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.py").write_text("import numpy as np\ny = np.concat([a, b])\n")
    status, out = run(capsys, "port-check", str(tmp_path))
    assert status == 0
    assert out.startswith("No NumPy use outside the array API standard")


def test_port_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "m.py"
    f.write_text(NONSTANDARD)
    status, out = run(capsys, "port-check", "--json", str(f))
    assert status == 1
    data = json.loads(out)
    assert [set(d) for d in data] == [{"path", "line", "name", "message", "replacement"}] * 2
    assert [(d["line"], d["name"], d["replacement"]) for d in data] == [
        (3, ".astype", "xp.astype(x, xp.int64) (or the xp integer dtype meant)"),
        (3, "numpy.concatenate", "xp.concat"),
    ]


def test_port_check_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["port-check", str(tmp_path / "missing.py")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["notes.txt", "hostname"])
def test_port_check_non_python_file_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / name
    f.write_text("import numpy as np\nnp.amax(x)\n")
    assert cli.main(["port-check", str(f)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"arrayport port-check: not a Python source file: {f} ")


def test_port_check_device_file_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path(os.devnull).exists() or Path(os.devnull).is_file():
        pytest.skip("no device file here")
    assert cli.main(["port-check", os.devnull]) == 2
    err = capsys.readouterr().err
    assert "not a Python source file" in err
    assert "no such file" not in err


def test_port_check_too_deep_file_is_reported_and_others_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file too deep to analyse was not checked: like a parse error, it is reported on
    # stderr and the status is 2 (it was a finding on stdout with status 1, as if checked).
    deep = tmp_path / "deep.py"
    deep.write_text("x = " + " + ".join(["1"] * 20_000) + "\n")
    other = tmp_path / "m.py"
    other.write_text(NONSTANDARD)
    assert cli.main(["port-check", str(deep), str(other)]) == 2
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith(f"{other}:3: .astype: ")
    assert lines[-2:] == [
        "2 finding(s) in 1 file(s)",
        "1 file(s) could not be parsed or analysed and were not checked",
    ]
    (err,) = captured.err.splitlines()
    assert err.startswith(f"arrayport port-check: {deep}:1: too deeply nested to analyse")


def test_port_check_says_which_directories_it_did_not_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # build/ and dist/ were skipped without a word: exit 0, "No NumPy use ... found".
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "copy.py").write_text(NONSTANDARD)
    (tmp_path / "m.py").write_text("x = 1\n")
    assert cli.main(["port-check", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "arrayport port-check: not searched (1 build, dist or installed-package "
        f"directories; name one to check it): {tmp_path / 'build'}"
    ]
    assert cli.main(["port-check", str(tmp_path / "build")]) == 1  # named: checked


def test_port_check_positional_hint_reads_as_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "m.py"
    f.write_text("import numpy as np\nm = np.mean(a, 0)\n")
    status, out = run(capsys, "port-check", str(f))
    assert status == 1
    line = out.splitlines()[0]
    assert line.startswith(f"{f}:2: numpy.mean(positional): ")
    assert line.endswith("2 given; use keywords after the first argument (axis=, keepdims=)")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    assert exc.value.code == 2


@pytest.mark.usefixtures("small_install")
def test_doctor_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "doctor", "--json")
    data = json.loads(out)
    assert status == 0, data
    names = [m["name"] for m in data["memory_types"]]
    assert names[0] == "numpy"
    assert all({"name", "version", "devices"} <= set(m) for m in data["memory_types"])
    assert data["memory_types"][0]["devices"] == ["cpu"]
    assert len(data["matrix"]) == len(names) ** 2
    cell = data["matrix"][0]
    assert {"source", "target", "method", "zero_copy"} <= set(cell)
    assert (cell["source"], cell["target"], cell["method"], cell["zero_copy"]) == (
        "numpy",
        "numpy",
        "identity",
        True,
    )


@pytest.mark.usefixtures("small_install")
def test_doctor_plain_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "doctor")
    assert status == 0
    assert "Conversion routes" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["numpy", "numpy", "identity", "yes"] in rows
    # No rich boxes or colours in a pipe.
    assert "┃" not in out
    assert "\x1b[" not in out
    assert out.rstrip().endswith("OK")


@pytest.mark.usefixtures("small_install")
def test_doctor_rich_in_a_terminal() -> None:
    pytest.importorskip("rich")
    term = _Terminal()
    from argparse import Namespace

    assert cli._doctor(Namespace(json=False), term) == 0
    assert "┃" in term.getvalue() or "│" in term.getvalue()


def test_doctor_broken_install_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # cupy cannot load on this machine (no CUDA): listing it as installed is a broken install.
    pytest.importorskip("torch")
    if MemoryType.CUPY in INSTALLED:
        pytest.skip("cupy works here")
    monkeypatch.setattr(
        arrayport._doctor, "installed_memory_types", lambda: (MemoryType.NUMPY, MemoryType.CUPY)
    )
    status, out = run(capsys, "doctor", "--json")
    assert status == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["memory_types"][1]["error"].startswith("BackendUnavailableError")
    assert data["matrix"][0]["method"] == "identity"
    assert data["matrix"][1]["error"] is not None
    status, out = run(capsys, "doctor")
    assert status == 1
    assert "BROKEN" in out


def test_bench_json_small(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "bench", "--json", "--size", "1")
    assert status == 0
    data = json.loads(out)
    assert data["versions"]["arrayport"] == arrayport.__version__
    assert set(data["versions"]) == {"arrayport", *(mt.value for mt in INSTALLED)}
    assert data["size_mib"] == 1
    assert data["memcpy_ms"] > 0
    assert all(
        {"source", "target", "method", "zero_copy", "ratio"} <= set(c) for c in data["conversions"]
    )


def test_bench_with_numpy_alone_says_there_is_nothing_to_convert(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Printed an empty "Conversions" table, headers and no rows.
    from arrayport import MemoryType, _bench

    monkeypatch.setattr(_bench, "installed_memory_types", lambda: (MemoryType.NUMPY,))
    status, out = run(capsys, "bench", "--size", "1")
    assert status == 0
    assert "Conversions: none to time (it takes two memory types whose conversions" in out
    assert "numpy is the only one here; see arrayport doctor)" in out
    assert "x memcpy" not in out


def test_bench_with_numpy_and_dask_says_dask_is_installed_but_not_timed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Said "one CPU memory type installed" while dask was installed too.
    from arrayport import MemoryType, _bench

    types = (MemoryType.NUMPY, MemoryType.DASK)
    monkeypatch.setattr(_bench, "installed_memory_types", lambda: types)
    status, out = run(capsys, "bench", "--size", "1")
    assert status == 0
    assert "one CPU memory type installed" not in out
    assert "numpy is the only one here; dask not timed: its conversions are lazy" in out


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("size", ["0", "-3", "nan", "inf", "-inf", "1e9"])
def test_bench_rejects_a_bad_size(
    size: str, as_json: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 8 GiB whatever the machine, so 1e9 MiB is refused even where memory is not reported.
    monkeypatch.setattr(arrayport._bench, "_physical_memory", lambda: 8 * 2**30)
    assert cli.main(["bench", f"--size={size}", *(["--json"] if as_json else [])]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith("arrayport bench: --size ")
    if as_json:  # stdout stays valid JSON (it was empty): an object naming the error
        assert json.loads(captured.out) == {"error": line.removeprefix("arrayport bench: ")}
    else:
        assert captured.out == ""
    if size == "1e9":
        assert "does not fit in memory" in line
        assert "the most is" in line
    else:
        assert "must be a finite positive number of MiB" in line


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(NONSTANDARD)
    done = subprocess.run(
        [sys.executable, "-m", "arrayport", "port-check", "--json", str(f)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert len(json.loads(done.stdout)) == 2
    version = subprocess.run(
        [sys.executable, "-m", "arrayport", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"arrayport {arrayport.__version__}"


def test_rich_port_check_table(tmp_path: Path) -> None:
    pytest.importorskip("rich")
    f = tmp_path / "m.py"
    f.write_text(NONSTANDARD)
    from argparse import Namespace

    term = _Terminal()
    assert cli._port_check(Namespace(paths=[str(f)], json=False), term) == 1
    text = term.getvalue()
    assert "xp.concat" in text
    assert "file:line" in text


def test_rich_tables_print_paths_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("rich")
    from argparse import Namespace

    monkeypatch.chdir(tmp_path)  # short relative paths: the table does not wrap them
    for name in ("br[/x]", "t[bold]"):  # rich markup: a MarkupError, or bold text
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "m.py").write_text(NONSTANDARD)
        term = _Terminal()
        assert cli._port_check(Namespace(paths=[f"{name}/m.py"], json=False), term) == 1
        assert f"{name}/m.py" in term.getvalue()


def test_a_reader_that_leaves_early_never_gets_exit_status_0(tmp_path: Path) -> None:
    f = tmp_path / "many.py"
    f.write_text("import numpy as np\n" + "np.amax(1)\n" * 20_000)
    # `port-check many.py | head -2` with pipefail: the findings were not all delivered.
    reader = subprocess.Popen(["head", "-2"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run(
        [sys.executable, "-m", "arrayport", "port-check", str(f)], stdout=reader.stdin
    )
    reader.stdin.close()  # type: ignore[union-attr]
    reader.wait()
    assert writer.returncode == 141  # 128 + SIGPIPE, as for a process killed by it


def test_port_check_unparseable_file_is_reported_others_checked_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One syntax error used to abort the scan: only the parse error, exit 2, no JSON.
    good = tmp_path / "good.py"
    good.write_text(NONSTANDARD)
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n")
    assert cli.main(["port-check", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith(f"{good}:3: .astype: ")
    assert lines[1].startswith(f"{good}:3: numpy.concatenate: ")
    assert lines[2:] == [
        "2 finding(s) in 1 file(s)",
        "1 file(s) could not be parsed or analysed and were not checked",
    ]
    version = ".".join(map(str, sys.version_info[:2]))
    assert captured.err.splitlines() == [
        f"arrayport port-check: {bad}:1: cannot parse as Python {version} (the Python running "
        "port-check): invalid syntax; the file was not checked"
    ]


def test_port_check_unparseable_file_json_is_valid_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good.py").write_text(NONSTANDARD)
    (tmp_path / "bad.py").write_text("def f(:\n")
    status, out = run(capsys, "port-check", "--json", str(tmp_path))
    assert status == 2
    data = json.loads(out)
    assert [(Path(d["path"]).name, d["line"], d["name"]) for d in data] == [
        ("bad.py", 1, "<parse error>"),
        ("good.py", 3, ".astype"),
        ("good.py", 3, "numpy.concatenate"),
    ]
    assert data[0]["message"].startswith("cannot parse as Python 3.")
    assert "running port-check): invalid syntax" in data[0]["message"]
    assert data[0]["replacement"] is None


def test_port_check_only_unparseable_files_is_not_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from arrayport.portcheck import standard

    (tmp_path / "ok.py").write_text("import numpy as np\ny = np.concat([a, b])\n")
    (tmp_path / "py2.py").write_text('print "hello"\n')
    status, out = run(capsys, "port-check", str(tmp_path))
    assert status == 2
    assert out.splitlines() == [
        "No NumPy use outside the array API standard "
        f"{standard().version} found in the files that could be checked.",
        "1 file(s) could not be parsed or analysed and were not checked",
    ]


@pytest.mark.parametrize("notebook", [False, True])
@pytest.mark.parametrize("as_json", [False, True])
def test_port_check_no_python_files_exit_2(
    notebook: bool, as_json: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An empty directory, or one of notebooks only, was reported clean (exit 0).
    nb = tmp_path / "nb"
    nb.mkdir()
    if notebook:
        (nb / "analysis.ipynb").write_text('{"cells": []}\n')
    assert cli.main(["port-check", *(["--json"] if as_json else []), str(nb)]) == 2
    captured = capsys.readouterr()
    # With --json, stdout stays valid JSON (nothing checked, nothing found); the exit
    # status and stderr say why.
    assert (json.loads(captured.out) == []) if as_json else (captured.out == "")
    (line,) = captured.err.splitlines()
    assert line.startswith(f"arrayport port-check: no Python files found under {nb} ")
    assert "notebooks (.ipynb) are not read" in line
    assert "jupyter nbconvert --to script" in line


@pytest.mark.parametrize(
    ("argv", "usage", "named"),
    [
        (["--verison"], "usage: arrayport [-h]", "--verison"),
        (["--device", "cuda"], "usage: arrayport [-h]", "--device"),  # not COMMAND 'cuda'
        (["--json", "doctr"], "usage: arrayport [-h]", "--json"),
        (["doctor", "--jsn"], "usage: arrayport doctor", "--jsn"),
        (["--json", "port-check", "x.py"], "usage: arrayport port-check", "--json (--json goes"),
        (["port-check", "--bogus", "x.py"], "usage: arrayport port-check", "--bogus"),
    ],
)
def test_an_unknown_option_is_named_with_its_command_s_usage(argv, usage, named, capsys) -> None:
    from arrayport.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert usage in err
    assert f"unrecognized arguments: {named}" in err


@pytest.mark.parametrize("argv", [["doctr", "--json"], ["doctr"]])
def test_a_mistyped_command_is_named_not_the_options_beside_it(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # `arrayport doctr --json` said "unrecognized arguments: --json".
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    message = "argument COMMAND: invalid choice: 'doctr'"
    assert message in captured.err
    assert "unrecognized arguments" not in captured.err + captured.out
    if "--json" in argv:
        assert message in json.loads(captured.out)["error"]


def test_port_check_json_stays_json_when_a_path_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["port-check", "--json", str(tmp_path / "missing.py")]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "missing.py" in captured.err


# -- audit of the command (third round) ----------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True])
def test_port_check_unreadable_files_and_directories_are_reported_others_checked(
    as_json: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An unreadable file stopped the whole scan ("cannot read", --json printed []); an
    # unreadable directory was skipped without a word: exit 0, "No NumPy use ... found".
    (tmp_path / "a_found.py").write_text("import numpy as np\nnp.amax(x)\n")
    (tmp_path / "b_locked.py").write_text("import numpy as np\nnp.amax(x)\n")
    (tmp_path / "c_syntax.py").write_text("def (:\n")
    (tmp_path / "d_private").mkdir()
    (tmp_path / "d_private" / "bad.py").write_text("import numpy as np\nnp.amax(x)\n")
    deny_reads(monkeypatch, tmp_path / "b_locked.py", tmp_path / "d_private")
    from arrayport.portcheck import standard

    status = cli.main(["port-check", *(["--json"] if as_json else []), str(tmp_path)])
    assert status == 2
    captured = capsys.readouterr()
    if as_json:
        found = [(Path(d["path"]).name, d["line"], d["name"]) for d in json.loads(captured.out)]
        assert found == [
            ("a_found.py", 2, "numpy.amax"),
            ("b_locked.py", 1, "<unreadable>"),
            ("c_syntax.py", 1, "<parse error>"),
            ("d_private", 1, "<unreadable>"),
        ]
        return
    assert captured.out.splitlines() == [
        f"{tmp_path / 'a_found.py'}:2: numpy.amax: numpy.amax is not in the array API "
        f"standard {standard().version}; use xp.max",
        "1 finding(s) in 1 file(s)",
        "1 file(s) could not be parsed or analysed and were not checked",
        "2 file(s) or directories could not be read and were not checked",
    ]
    err = captured.err.splitlines()
    assert err[0] == (
        f"arrayport port-check: {tmp_path / 'b_locked.py'}: cannot be read: Permission denied; "
        "the file was not checked"
    )
    assert err[1].startswith(f"arrayport port-check: {tmp_path / 'c_syntax.py'}:1: cannot parse")
    assert err[2] == (
        f"arrayport port-check: {tmp_path / 'd_private'}: cannot be read: Permission denied; "
        "the directory was not searched"
    )


def test_port_check_names_the_links_to_directories_it_did_not_follow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `pkg/sub -> ../vendor`: never searched, exit 0, nothing said.
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "bad.py").write_text(NONSTANDARD)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "clean.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "sub").symlink_to(tmp_path / "vendor")
    (tmp_path / "pkg" / "build").mkdir()
    assert cli.main(["port-check", str(tmp_path / "pkg")]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "arrayport port-check: not searched (1 build, dist or installed-package directories "
        "and 1 links to directories, not followed; name one to check it): "
        f"{tmp_path / 'pkg' / 'build'}, {tmp_path / 'pkg' / 'sub'}"
    ]
    assert cli.main(["port-check", str(tmp_path / "pkg" / "sub")]) == 1  # named: checked


def test_port_check_a_symlink_loop_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert cli.main(["port-check", str(loop)]) == 2
    assert capsys.readouterr().err == (
        f"arrayport port-check: cannot follow the link {loop}: a symlink loop (it leads back "
        "to itself)\n"
    )


def test_port_check_file_names_that_are_not_utf8_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --json gave "caf\udce9.py", a lone surrogate that strict JSON readers refuse.
    (tmp_path / os.fsdecode(b"caf\xe9.py")).write_text("import numpy as np\nnp.amax(x)\n")
    status, out = run(capsys, "port-check", "--json", str(tmp_path))
    assert status == 1
    out.encode("utf-8")
    assert [d["path"] for d in json.loads(out)] == [f"{tmp_path}/caf\\xe9.py"]
    status, out = run(capsys, "port-check", str(tmp_path))
    assert out.splitlines()[0].startswith(f"{tmp_path}/caf\\xe9.py:2: numpy.amax: ")


def test_port_check_json_stays_json_when_an_import_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # array-api-strict and array-api-extra are imported during the scan, which was not
    # redirected: a module that prints on import broke --json's standard output.
    import arrayport.portcheck

    real = arrayport.portcheck._scan

    def noisy_scan(*args: object) -> object:
        print("array_api_extra: loading")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(arrayport.portcheck, "_scan", noisy_scan)
    (tmp_path / "m.py").write_text(NONSTANDARD)
    assert cli.main(["port-check", "--json", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 2
    assert captured.err == "array_api_extra: loading\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["bench", "--json", "--size", "abc"],
            {"error": "argument --size: invalid float value: 'abc'"},
        ),
        (["bench", "--json", "--size"], {"error": "argument --size: expected one argument"}),
        (["doctor", "--json", "--jsno"], {"error": "unrecognized arguments: --jsno"}),
        (["port-check", "--json"], []),
        (["port-check", "--json", "--jsno", "x.py"], []),
    ],
)
def test_usage_errors_with_json_keep_stdout_json(
    argv: list[str], expected: object, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == expected
    assert "usage: arrayport " in captured.err


def test_bench_times_below_a_millisecond_in_microseconds() -> None:
    # `bench --size 0.01` said the copy "takes 0.00 ms at best".
    assert cli._duration(0.00123) == "1.23 us"
    assert cli._duration(0.25) == "250 us"
    assert cli._duration(12.345) == "12.35 ms"
    assert cli._duration(0.9995) == "1.00 ms"  # it printed "1e+03 us"
    assert cli._duration(0.9994999999999999) == "1.00 ms"
    assert cli._duration(0.9994) == "999 us"


def test_doctor_names_a_framework_installed_but_not_usable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(arrayport._doctor, "installed_memory_types", lambda: (MemoryType.NUMPY,))
    why = "BackendUnavailableError: pyclesperanto found no OpenCL platform"
    unusable = {MemoryType.PYCLESPERANTO: why}
    monkeypatch.setattr(arrayport._doctor, "not_usable", lambda installed: unusable)
    status, out = run(capsys, "doctor")
    assert status == 0
    assert f"installed but not usable here: pyclesperanto ({why})" in out.splitlines()
    assert "not installed: pyclesperanto" not in out


def _stdout_reader_gone_run(
    argv: list[str], unbuffered: bool = False
) -> subprocess.CompletedProcess[str]:
    """``arrayport ARGV`` with buffered standard output (PYTHONUNBUFFERED unset, unless
    ``unbuffered``) into a pipe whose reader has already left."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "arrayport", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def test_a_reader_gone_before_a_small_output_gets_141_and_no_traceback(tmp_path: Path) -> None:
    # Output under the buffer was flushed at exit, outside main: exit 120 and
    # "Exception ignored ... BrokenPipeError".
    f = tmp_path / "m.py"
    f.write_text(NONSTANDARD)
    for argv in (["port-check", str(f)], ["port-check", "--json", str(f)]):
        done = _stdout_reader_gone_run(argv)
        assert (done.returncode, done.stderr) == (141, ""), argv


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], ["bench", "--help"], ["bench", "--json", "--size", "abc"]],
)
def test_a_reader_gone_during_argument_parsing_gets_141_and_no_traceback(
    argv: list[str], unbuffered: bool
) -> None:
    # argparse prints --help, --version and a usage error's JSON while it parses, outside
    # the command: exit 120 and "Exception ignored ... BrokenPipeError" at exit, or with
    # PYTHONUNBUFFERED=1 a traceback and exit 1.
    done = _stdout_reader_gone_run(argv, unbuffered=unbuffered)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "unknown"),
    [
        (["bench", "--js", "--size", "0"], "--js"),  # printed {"error"} for an abbreviation
        (["bench", "--si", "0"], "--si 0"),
        (["port-check", "--js", "x.py"], "--js"),
    ],
)
def test_long_options_are_never_abbreviated(
    argv: list[str], unknown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # argparse took `--js` for `--json`, while a usage error printed JSON only for the
    # literal `--json`: `bench --js --size 0` gave {"error"}, `bench --js --size abc` none.
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"error: unrecognized arguments: {unknown}" in captured.err
    parser = cli._parser()
    assert [p.allow_abbrev for p in (parser, *commands(parser).values())] == [False] * 4


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    script = (
        "import sys\n"
        "from arrayport import cli\n"
        "def interrupted(args, out):\n"
        "    raise KeyboardInterrupt\n"
        "cli._doctor = interrupted\n"
        "sys.exit(cli.main(['doctor']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stderr, done.stdout) == (130, "arrayport: interrupted\n", "")


def test_port_check_with_a_broken_array_api_strict_exits_2_with_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A RuntimeError while importing array-api-strict ended port-check with a traceback,
    # exit 1 (which reads as findings) and an empty standard output under --json.
    from arrayport.portcheck import _standard

    (tmp_path / "array_api_strict").mkdir()
    (tmp_path / "array_api_strict" / "__init__.py").write_text("raise RuntimeError('broken')")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "array_api_strict", raising=False)
    (tmp_path / "m.py").write_text(NONSTANDARD)
    _standard.standard.cache_clear()
    try:
        assert cli.main(["port-check", "--json", str(tmp_path / "m.py")]) == 2
    finally:
        _standard.standard.cache_clear()
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "array_api_strict, which is installed but importing it from" in captured.err
    assert "failed (RuntimeError: broken)" in captured.err


_CONCATENATE = "import numpy as np\nx = np.concatenate([a, b])\n"


def test_port_check_file_names_cannot_forge_findings_or_drive_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A name's newline made one finding read as several `path:line:` lines, and its ESC
    # sequences reached the terminal raw (audit a24).
    forged = "x.py\nfake.py:99: numpy.fake: forged finding; use nothing\ny.py"
    (tmp_path / forged).write_text(_CONCATENATE)
    (tmp_path / "a\x1b]0;pwned\x07\x1b[2J.py").write_text(_CONCATENATE)
    status, out = run(capsys, "port-check", str(tmp_path))
    assert status == 1
    assert "\x1b" not in out
    assert "\x07" not in out
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{tmp_path}/a\\x1b]0;pwned\\x07\\x1b[2J.py:2: numpy.concatenate")
    assert lines[1].startswith(f"{tmp_path}/x.py\\nfake.py:99: numpy.fake: forged finding; use")
    assert lines[1].endswith(
        "\\ny.py:2: numpy.concatenate: numpy.concatenate is not in the "
        "array API standard 2025.12; use xp.concat"
    )
    # JSON keeps the names as they are (its own escapes), for a program to read back.
    status, out = run(capsys, "port-check", "--json", str(tmp_path))
    paths = {d["path"] for d in json.loads(out)}
    assert paths == {f"{tmp_path}/{forged}", f"{tmp_path}/a\x1b]0;pwned\x07\x1b[2J.py"}
    # In a terminal (rich), neither.
    pytest.importorskip("rich")
    from argparse import Namespace

    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.chdir(tmp_path)  # short relative paths: the table does not fold them
    term = _Terminal()
    assert cli._port_check(Namespace(paths=["."], json=False), term) == 1
    raw = term.getvalue()
    assert "\x1b]" not in raw
    assert "\x07" not in raw
    assert "\x1b[2J" not in raw
    assert "x.py\\nfake.py:99: numpy.fake: forged finding; use nothing\\ny.py:2" in raw


def test_port_check_stderr_lines_escape_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Parse errors, "not searched" and a missing path printed a name's ESC and newline raw.
    (tmp_path / "bad\x1b[2J.py").write_text("def f(:\n")
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "link\x1b[8m").symlink_to(tmp_path.parent)  # not followed: named
    assert cli.main(["port-check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert f"arrayport port-check: {tmp_path}/bad\\x1b[2J.py:1: cannot parse" in err
    assert f"not followed; name one to check it): {tmp_path}/link\\x1b[8m\n" in err
    missing = str(tmp_path / "gone\n.py")
    assert cli.main(["port-check", str(tmp_path / "ok.py"), missing]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"{tmp_path}/gone\\n.py" in line


def test_port_check_prints_its_verdict_in_a_terminal_of_0_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # COLUMNS=0: rich printed nothing at all, "No NumPy use ... found." included.
    pytest.importorskip("rich")
    from argparse import Namespace

    (tmp_path / "clean.py").write_text("import numpy as np\nx = np.concat([a, b])\n")
    monkeypatch.setenv("COLUMNS", "0")
    term = _Terminal()
    assert cli._port_check(Namespace(paths=[str(tmp_path)], json=False), term) == 0
    assert term.getvalue().startswith("No NumPy use outside the array API standard ")
