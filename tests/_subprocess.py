"""Run a Python snippet in a fresh interpreter, for what one process cannot undo (a
broken framework on the path, jax's host device count, tensorflow's eager switch)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def python_words(
    script: str, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> list[str]:
    """The words ``script`` prints, run by this interpreter (``cwd`` first on its path, as
    for ``python -c``); a failing script fails the test with its output."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split()
