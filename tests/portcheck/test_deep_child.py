"""Tests of arrayport.portcheck._deep_child: the child process that walks a deep file."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from arrayport.portcheck import check_source, standard
from arrayport.portcheck._deep_child import BOOT


def _child(payload: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", BOOT, *sys.path],
        input=payload,
        capture_output=True,
        timeout=600,
        check=False,
    )


def test_the_child_writes_the_findings_as_json() -> None:
    source = "import numpy as np\nx = " + " + ".join(["np.amax(a)"] * 5_000) + "\n"
    done = _child(pickle.dumps((source, "d.py", standard())))
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert (row["path"], row["line"], row["name"], row["replacement"]) == (
        "d.py",
        2,
        "numpy.amax",
        "xp.max",
    )


@pytest.mark.parametrize(
    "source",
    [
        "x = " + " + ".join(["a"] * 30_000) + "\n",  # too deep even at the child's raised limit
        "x = " + "-" * 40_000 + "a\n",  # Python 3.11's parser: MemoryError
    ],
    ids=["sum", "minus"],
)
def test_the_child_writes_nothing_when_the_walk_fails(source: str) -> None:
    done = _child(pickle.dumps((source, "d.py", standard())))
    assert (done.returncode, done.stdout) == (1, b"")
    assert b"RecursionError" in done.stderr or b"MemoryError" in done.stderr


def test_the_child_writes_nothing_when_it_is_not_given_a_file() -> None:
    done = _child(b"not a pickle")
    assert (done.returncode, done.stdout) == (1, b"")


def test_the_child_imports_nothing_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The code checked may have a numpy.py of its own: port-check never runs it, the child
    # looks for modules where the caller does (python -c would put the directory first).
    marker = tmp_path / "ran"
    for name in ("numpy", "arrayport", "json", "ast"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    deep = "import numpy as np\nx = " + " + ".join(["np.amax(a)"] * 900) + "\n"
    assert [(f.line, f.name) for f in check_source(deep)] == [(2, "numpy.amax")]
    assert not marker.exists()
