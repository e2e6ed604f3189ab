"""Tests of how the ``arrayport`` command ends: Ctrl-C, output it cannot write."""

from __future__ import annotations

import errno
import importlib.util
import io
import os
import signal
import subprocess
import sys
import threading
from argparse import Namespace
from pathlib import Path
from typing import TextIO

import pytest

from arrayport import cli
from arrayport._cli_exit import run_command, stop_if_interrupted

NONSTANDARD = "import numpy as np\ny = np.amax(x)\n"


def _child(script: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def test_an_interrupt_that_python_drops_still_exits_130() -> None:
    # SIGINT while jax's gc callback ran: Python ignored the KeyboardInterrupt raised in
    # the callback ("Exception ignored in: <function _xla_gc_callback ...>" and its
    # traceback), doctor went on and exited 0. Here SIGINT arrives in a __del__, where
    # Python ignores exceptions as in a gc callback; raise_signal runs the handler at once.
    script = (
        "import signal, sys\n"
        "from arrayport import cli\n"
        "class Collected:\n"
        "    def __del__(self):\n"
        "        signal.raise_signal(signal.SIGINT)\n"
        "def doctor(args, out):\n"
        "    Collected()  # freed at once: its __del__ runs here\n"
        "    print('still running', file=out)\n"
        "    return 0\n"
        "cli._doctor = doctor\n"
        "sys.exit(cli.main(['doctor']))\n"
    )
    done = _child(script)
    assert (done.returncode, done.stderr) == (130, "arrayport: interrupted\n")
    assert done.stdout == "still running\n"  # the interrupt was lost: the command went on


def test_a_dropped_interrupt_stops_the_command_at_its_next_step(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What a long command (bench) calls between its steps: the interrupt Python dropped
    # in a __del__ (or a gc callback) is raised there, and the steps after it do not run.
    steps: list[str] = []

    class Collected:
        def __del__(self) -> None:
            signal.raise_signal(signal.SIGINT)  # handled here, and dropped by Python

    def command(out: TextIO) -> int:
        steps.append("first")
        Collected()
        steps.append("after the interrupt")
        stop_if_interrupted()
        steps.append("second")
        return 0

    stop_if_interrupted()  # outside a command: nothing to stop
    assert run_command(command) == 130
    assert steps == ["first", "after the interrupt"]
    assert capsys.readouterr().err == "arrayport: interrupted\n"
    stop_if_interrupted()  # the command's record ended with it


def test_bench_stops_at_an_interrupt_python_dropped_in_a_gc_callback() -> None:
    # SIGINT during bench's timings mostly landed in jax's gc callback, in the gc.collect()
    # between rows: Python dropped the KeyboardInterrupt, and bench timed every other pair
    # and printed them all before exiting 130 (audit a22). Here a gc callback takes the
    # SIGINT once the first source's rows are timed; no row may be timed after it.
    script = (
        "import gc, signal, sys\n"
        "from arrayport import MemoryType, _bench, cli\n"
        "_bench.installed_memory_types = lambda: (MemoryType.NUMPY, MemoryType.TORCH)\n"
        "timed, armed = [], []\n"
        "real = _bench._timed_pair\n"
        "def timed_pair(x, target, base, repeats):\n"
        "    timed.append(target.value)\n"
        "    armed.append(True)\n"
        "    return real(x, target, base, repeats)\n"
        "_bench._timed_pair = timed_pair\n"
        "def callback(phase, info):\n"
        "    if armed and phase == 'start':\n"
        "        armed.clear()\n"
        "        signal.raise_signal(signal.SIGINT)  # its handler runs in this callback\n"
        "gc.callbacks.append(callback)\n"
        "status = cli.main(['bench', '--json', '--size', '0.01'])\n"
        "print(timed, status, file=sys.stderr)\n"
    )
    if importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch: two memory types to time")
    done = _child(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # stopped before its JSON
    assert done.stderr.splitlines()[-2:] == ["arrayport: interrupted", "['torch'] 130"]


def test_sigint_is_arrayport_s_only_while_a_command_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    seen: list[object] = []

    def doctor(args: Namespace, out: TextIO) -> int:
        seen.append(signal.getsignal(signal.SIGINT))
        return 0

    monkeypatch.setattr(cli, "_doctor", doctor)
    assert cli.main(["doctor"]) == 0
    assert seen[0] not in (before, signal.default_int_handler)  # records SIGINT
    assert (signal.getsignal(signal.SIGINT), sys.unraisablehook) == (before, hook)
    # Outside the main thread Python lets no code handle signals: left as it is.
    found: list[int] = []
    worker = threading.Thread(target=lambda: found.append(cli.main(["doctor"])))
    worker.start()
    worker.join()
    assert found == [0]
    assert seen[1] == before
    assert capsys.readouterr().err == ""


def _into_dev_full(
    argv: list[str], *, unbuffered: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m arrayport *argv`` with standard output on /dev/full (a full disk), with
    ``PYTHONUNBUFFERED=1`` where ``unbuffered`` (each write then fails at once)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [sys.executable, "-m", "arrayport", *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )


def test_output_that_cannot_be_written_exits_74(tmp_path: Path) -> None:
    # `arrayport doctor > /dev/full`: a traceback (OSError: [Errno 28] No space left on
    # device) and exit 1, which doctor documents as a broken installation.
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    small = tmp_path / "m.py"
    small.write_text(NONSTANDARD)
    large = tmp_path / "many.py"  # its findings fill the buffer: a write fails, not the flush
    large.write_text("import numpy as np\n" + "np.amax(1)\n" * 2_000)
    for argv in (["port-check", str(small)], ["port-check", "--json", str(large)]):
        done = _into_dev_full(argv)
        reason = os.strerror(errno.ENOSPC)
        assert (done.returncode, done.stderr) == (
            74,
            f"arrayport: cannot write output: {reason}\n",
        ), argv


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_only_errors_writing_the_output_are_reported_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "m.py"
    f.write_text(NONSTANDARD)
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    assert cli.main(["port-check", str(f)]) == 74
    reason = os.strerror(errno.ENOSPC)
    assert capsys.readouterr().err == f"arrayport: cannot write output: {reason}\n"

    # An OSError the command raises itself is not about its output: it propagates.
    def doctor(args: Namespace, out: TextIO) -> int:
        raise PermissionError(errno.EACCES, "denied", "/some/file")

    monkeypatch.setattr(cli, "_doctor", doctor)
    with pytest.raises(PermissionError):
        cli.main(["doctor"])
    assert capsys.readouterr().err == ""


def _closed_run(argv: list[str], fds: tuple[int, ...]) -> subprocess.CompletedProcess[bytes]:
    """``python -m arrayport ARGV`` started with the file descriptors ``fds`` closed (``>&-``,
    ``2>&-``): Python then sets ``sys.stdout`` or ``sys.stderr`` to None. A shell closes
    them (a preexec_fn would fork a process with jax's threads)."""
    closing = " ".join(f"{fd}>&-" for fd in fds)
    return subprocess.run(
        ["/bin/sh", "-c", f'exec "$@" {closing}', "sh", sys.executable, "-m", "arrayport", *argv],
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_closed_stdout_exits_74_with_one_line(tmp_path: Path, json_flag: list[str]) -> None:
    # `arrayport port-check x.py >&-`: AttributeError ('NoneType' object has no attribute
    # 'isatty' / 'write') and exit 1, which port-check documents as findings.
    f = tmp_path / "m.py"
    f.write_text(NONSTANDARD)
    argv = ["port-check", *json_flag, str(f)]
    done = _closed_run(argv, (1,))
    assert (done.returncode, done.stderr) == (
        74,
        b"arrayport: cannot write output: standard output is closed\n",
    )
    done = _closed_run(argv, (1, 2))  # nowhere to say it: the status alone
    assert (done.returncode, done.stdout, done.stderr) == (74, b"", b"")


def test_closed_stderr_keeps_stdout_json(tmp_path: Path) -> None:
    # `2>&-`: print(..., file=sys.stderr) with sys.stderr None writes to standard output,
    # after the JSON: "[]\narrayport port-check: no such file or directory: ...".
    done = _closed_run(["port-check", "--json", str(tmp_path / "missing.py")], (2,))
    assert (done.returncode, done.stdout) == (2, b"[]\n")


def test_help_that_cannot_be_written_exits_74() -> None:
    # --help > /dev/full: argparse ignores the error, Python's flush at exit reports it
    # ("Exception ignored ... OSError: [Errno 28]") and exits 120.
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    for argv in (["--help"], ["bench", "--json", "--size", "abc"]):
        done = _into_dev_full(argv)
        reason = os.strerror(errno.ENOSPC)
        assert done.returncode == 74, argv
        assert done.stderr.endswith(f"arrayport: cannot write output: {reason}\n"), argv
        assert "Exception ignored" not in done.stderr, argv


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_usage_error_is_said_even_where_its_json_cannot_be_written(
    tmp_path: Path, unbuffered: bool
) -> None:
    # With PYTHONUNBUFFERED=1 the JSON, written first, failed at once: only "cannot write
    # output" reached standard error, never why the command refused (audit a22).
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    reason = os.strerror(errno.ENOSPC)
    for argv, said in (
        (["bench", "--json", "--size", "0"], "--size must be a finite positive number of MiB"),
        (["bench", "--json", "--bogus"], "arrayport bench: error: unrecognized arguments"),
        (["port-check", "--json", str(tmp_path / "missing.py")], "missing.py"),
        (["port-check", "--json", str(tmp_path)], "no Python files found under"),
    ):
        done = _into_dev_full(argv, unbuffered=unbuffered)
        assert done.returncode == 74, (argv, done.stderr)
        assert said in done.stderr, argv
        assert done.stderr.endswith(f"arrayport: cannot write output: {reason}\n"), argv
    done = _into_dev_full(["bench", "--json", "--bogus"], unbuffered=unbuffered)
    assert done.stderr.startswith("usage: arrayport bench"), done.stderr


def test_main_called_from_python_leaves_the_callers_streams_as_they_were() -> None:
    # main() escapes what the output encoding cannot hold, and gives a closed standard
    # error the null device, for the command only: a program calling it keeps its own
    # streams (an ascii print still raises) and its None stderr.
    script = """
import io, sys
from arrayport.cli import main
before = (sys.stdout, sys.stdout.errors, sys.stderr.errors)
main(["port-check", "-"])
print(before == (sys.stdout, sys.stdout.errors, sys.stderr.errors))
sys.stderr = None
main(["port-check", "-"])
print(sys.stderr is None)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        input="x = 1\n",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["True", "True"], done.stdout
