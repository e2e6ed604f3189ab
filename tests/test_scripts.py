"""The GPU scripts keep working where no GPU is: their own self-checks run on the CPU."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_gpu_oom_check_selftest_runs_every_scenario(tmp_path: Path) -> None:
    if importlib.util.find_spec("torch") is None and importlib.util.find_spec("jax") is None:
        pytest.skip("needs torch or jax")
    out = tmp_path / "oom.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gpu_oom_check.py"),
            "--selftest",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(out.read_text())
    assert found["gpu"] is False
    rows = {(r["framework"], r["scenario"]): r for r in found["results"]}
    for fw in {name for name, _ in rows}:
        for scenario in ("release", "split", "input", "raise"):
            assert (fw, scenario) in rows, (fw, scenario)
        assert rows[fw, "split"]["outcome"] == "split"
        assert rows[fw, "raise"]["outcome"] == "raised"
        assert rows[fw, "input"]["outcome"] == "skipped"  # GPU only
    assert all(r["ok"] for r in found["results"])


def test_gpu_check_script_parses_and_selects_steps(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash")
    # A copy in a folder of its own: no wheels beside it to install, nothing else to run.
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "gpu_check.sh"
    shutil.copy(ROOT / "scripts" / "gpu_check.sh", script)
    assert subprocess.run([bash, "-n", str(script)], check=False).returncode == 0
    # A step name that matches nothing runs nothing: no output, no logs.
    out = tmp_path / "out"
    done = subprocess.run(
        [bash, str(script), "no_such_step"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"OUT": str(out), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "==" not in done.stdout
    assert list(out.iterdir()) == []


def test_bench_convert_refuses_a_cpu_device() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_convert.py"), "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "--device wants a GPU" in done.stderr
