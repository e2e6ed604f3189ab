"""Every program in examples/ runs to completion (each asserts its own results)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


def test_the_documented_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"quickstart.py", "porting_before_after.py"} <= names


#: Examples that need a framework beyond the test extra (skipped without it).
REQUIRES = {"dask_out_of_core.py": ("dask", "distributed")}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path: Path) -> None:
    missing = [m for m in REQUIRES.get(path.name, ()) if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{path.name} needs {', '.join(missing)}")
    # Example test files (test_*.py) show users' own tests: they run under pytest.
    is_test = path.name.startswith("test_")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
    done = subprocess.run(
        command if is_test else [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=path.parent,
    )
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{path.name} printed nothing"
    if is_test:
        assert " passed" in done.stdout, done.stdout
        assert " failed" not in done.stdout, done.stdout
