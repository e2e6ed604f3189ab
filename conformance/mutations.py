"""Prove that the conformance suite can fail: break each law once, on purpose.

Each mutation (see :mod:`conformance._mutants`) is applied by monkeypatching inside a
subprocess pytest run of the laws that should catch it; the run must fail, and the first
failing law is reported. A control run of the same selection without the mutation must
pass, so the failure is the mutation's doing.

Usage::

    python -m conformance.mutations            # every mutation, with control runs
    python -m conformance.mutations wrong-value --no-control

Exit status 0 when every mutation was caught (and every control passed), else 1.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: mutation -> (test file, -k expression): the laws expected to catch it.
TARGETS: dict[str, tuple[str, str]] = {
    "wrong-value": ("conformance/test_conversion.py", "round_trip and tensorflow"),
    "lying-zero-copy": ("conformance/test_conversion.py", "zero_copy"),
    "wrapping-cast": ("conformance/test_dtypes.py", "test_value_scaling"),
    "retried-non-oom": ("conformance/test_oom.py", "non_oom"),
    "writable-alias": ("conformance/test_conversion.py", "read_only and numpy-torch"),
    "silent-downcast": ("conformance/test_conversion.py", "no_silent_loss and numpy-pyclesperanto"),
    "leaked-attempts": ("conformance/test_oom.py", "no_memory_or_thread_leaked and numpy"),
    "quick-writable-alias": ("conformance/test_dispatch.py", "read_only_input and torch"),
    "torch-copy-short": ("conformance/test_conversion.py", "large_arrays and -torch"),
}


def _pytest(path: str, expr: str, mutation: str | None) -> tuple[int, str, float]:
    env = dict(os.environ, ARRAYPORT_HYPOTHESIS_PROFILE="ci")
    env.pop("ARRAYPORT_MUTATION", None)
    if mutation:
        env["ARRAYPORT_MUTATION"] = mutation
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            path,
            "-k",
            expr,
            "-x",
            "-q",
            "-p",
            "conformance._mutants",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - start


def _first_failure(output: str) -> str:
    found = re.search(r"^FAILED (\S+)", output, re.MULTILINE)
    if not found:
        return "(no FAILED line)"
    message = re.search(r"^E\s+(\S.*)$", output, re.MULTILINE)
    text = message.group(1)[:140] if message else ""
    return f"{found.group(1)}: {text}"


def main(argv: list[str] | None = None) -> int:
    from conformance._mutants import MUTATIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        choices=[[], *MUTATIONS],
        default=[],
        help="mutations to run (default: all)",
    )
    parser.add_argument("--no-control", action="store_true", help="skip the unmutated runs")
    args = parser.parse_args(argv)
    ok = True
    print("| mutation | what it breaks | caught by | control |")
    print("|---|---|---|---|")
    for name in args.names or list(MUTATIONS):
        path, expr = TARGETS[name]
        rc, output, seconds = _pytest(path, expr, name)
        caught = rc == 1 and "FAILED" in output
        control = "not run"
        if not args.no_control:
            crc, _, _ = _pytest(path, expr, None)
            control = "passes" if crc == 0 else f"FAILS (rc {crc})"
            ok = ok and crc == 0
        verdict = _first_failure(output) if caught else f"NOT CAUGHT (rc {rc})"
        ok = ok and caught
        print(
            f"| `{name}` | {MUTATIONS[name][0]} | {verdict} ({seconds:.0f} s) | {control} |",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
