"""Prove that the conformance suite can fail: break each law once, on purpose.

Each mutation (see :mod:`conformance._mutants`) is applied by monkeypatching inside a
subprocess pytest run of the laws that should catch it; the run must fail with the law's
own message (:data:`TARGETS`: a mutant that merely raises is not caught), and the first
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

#: mutation -> (test file, -k expression, what the law must say): the laws expected to
#: catch it, and a pattern of the failure message they give for it. A run that fails in
#: another way (the mutant raising, say, after a signature drifted) is not a catch.
TARGETS: dict[str, tuple[str, str, str]] = {
    "wrong-value": ("conformance/test_conversion.py", "round_trip and tensorflow", "values differ"),
    "lying-zero-copy": (
        "conformance/test_conversion.py",
        "zero_copy",
        "plan says zero_copy=True",
    ),
    "wrapping-cast": (
        "conformance/test_dtypes.py",
        "test_value_scaling",
        r"-> u?int\d+: -?\d+",
    ),
    "retried-non-oom": (
        "conformance/test_oom.py",
        "non_oom",
        "came back as OutOfMemoryError",
    ),
    "writable-alias": (
        "conformance/test_conversion.py",
        "read_only and numpy-torch",
        "writable alias of read-only memory",
    ),
    "silent-downcast": (
        "conformance/test_conversion.py",
        "no_silent_loss and numpy-pyclesperanto",
        "without a declared widening",
    ),
    "leaked-attempts": (
        "conformance/test_oom.py",
        "no_memory_or_thread_leaked and numpy",
        "temporaries of failed attempts still alive",
    ),
    "quick-writable-alias": (
        "conformance/test_dispatch.py",
        "read_only_input and torch",
        "(planned|quick) call on torch wrote into read-only input",
    ),
    "quick-alias-strided": (
        "conformance/test_dispatch.py",
        "read_only_input and torch",
        "(planned|quick) call on torch wrote into read-only input",
    ),
    "torch-copy-short": (
        "conformance/test_conversion.py",
        "large_arrays and -torch",
        "values differ",
    ),
    "needless-copy": (
        "conformance/test_conversion.py",
        "copy_false and numpy-torch",
        "yet the default route copies",
    ),
    "complex-nan-part": (
        "conformance/test_conversion.py",
        "one_nan_part and numpy-tensorflow",
        r"values differ",
    ),
    "integer-policy-off-by-one": (
        "conformance/test_dispatch.py",
        "preserve_input and numpy-torch",
        "Arrays are not equal",
    ),
    "unit-float-wraps": (
        "conformance/test_dtypes.py",
        "unit_from_float and numpy",
        r"UNIT float\d+ \S+ -> u?int\d+: -?\d+",
    ),
    "nan-scaled-to-max": (
        "conformance/test_dtypes.py",
        "(unit_from_float or minmax_non_finite) and numpy",
        r"UNIT float\d+ nan -> u?int\d+: -?\d+|NaN became -?\d+, not 0",
    ),
    "complex-drops-imag": (
        "conformance/test_dtypes.py",
        "complex_to_complex and numpy",
        r"\(imaginary part\)",
    ),
    "decorator-ignores-scaling": (
        "conformance/test_dispatch.py",
        "fixed_dtype and numpy",
        r"(UNIT|MINMAX), declared on \w+: float32 \S+ became",
    ),
    "fixed-conversion-ignored": (
        "conformance/test_dispatch.py",
        "fixed_dtype and numpy",
        r"the result is float(32|64), not (u?int\d+|float64)",
    ),
    "read-only-among-several": (
        "conformance/test_dispatch.py",
        "read_only_input and torch",
        r"(planned|quick) call on torch wrote into read-only input \((first|second) of two\)",
    ),
    "no-split": ("conformance/test_oom.py", "policy_steps", "no split was tried"),
    "fallback-before-split": (
        "conformance/test_oom.py",
        "policy_steps",
        r"no split was tried .* \(the fallback ran first\)",
    ),
    "no-release": (
        "conformance/test_oom.py",
        "policy_steps",
        "no memory was released before the run",
    ),
    "oom-device-dropped": (
        "conformance/test_oom.py",
        "policy_steps",
        "OutOfMemoryError.device is None",
    ),
    "tuple-primary-unconverted": (
        "conformance/test_dispatch.py",
        "(preserve_input and numpy-torch) or (fixed_dtype and numpy)",
        r"\(tuple result\): .*(came back|the result is) float32",
    ),
    "unit-as-value": (
        "conformance/test_dtypes.py",
        "unit_between_integer and numpy",
        r"UNIT u?int\d+ -?\d+ -> u?int\d+: -?\d+",
    ),
    "minmax-no-range-raises": (
        "conformance/test_dtypes.py",
        "(minmax_without_a_range or minmax_of_constant) and numpy",
        r"\(no range\) -> \w+ refused",
    ),
    "minmax-constant-to-zero": (
        "conformance/test_dtypes.py",
        "(minmax_without_a_range or minmax_of_constant) and numpy",
        r"\(no range\) -> \w+: .* not VALUE",
    ),
    "refusal-type": (
        "conformance/test_conversion.py",
        "no_silent_loss and numpy-pyclesperanto",
        "not UnsupportedDtypeError",
    ),
    "mask-dropped": (
        "conformance/test_conversion.py",
        "masked and torch",
        "the mask was dropped",
    ),
    "mask-dropped-dask": (
        "conformance/test_conversion.py",
        "masked and torch",
        "of a dask array with masked chunks to torch gave .*: the mask was dropped",
    ),
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


def _errors(output: str) -> list[str]:
    """The error lines of a pytest run: its ``E`` lines, and the exception lines of a
    hypothesis ExceptionGroup (several distinct failures of one test, each traceback's
    lines prefixed with ``|``; only a line naming an exception is a law's message there,
    not the source lines the tracebacks quote)."""
    errors = re.findall(r"^E\s+(\S.*)$", output, re.MULTILINE)
    errors += re.findall(r"^\s+\|\s+(\w*(?:Error|Exception)\b.*)$", output, re.MULTILINE)
    return errors


def _first_failure(output: str, expected: str) -> str | None:
    """The first failing law and the line of its message that matches ``expected``;
    None when no law failed with such a message."""
    found = re.search(r"^FAILED (\S+)", output, re.MULTILINE)
    if not found:
        return None
    said = next((line for line in _errors(output) if re.search(expected, line)), None)
    return None if said is None else f"{found.group(1)}: {said[:140]}"


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
        path, expr, expected = TARGETS[name]
        rc, output, seconds = _pytest(path, expr, name)
        failure = _first_failure(output, expected) if rc == 1 else None
        caught = failure is not None
        control = "not run"
        if not args.no_control:
            crc, _, _ = _pytest(path, expr, None)
            control = "passes" if crc == 0 else f"FAILS (rc {crc})"
            ok = ok and crc == 0
        if failure is not None:
            verdict = failure
        elif rc == 1:
            errors = _errors(output)
            verdict = f"NOT CAUGHT: failed otherwise ({(errors or ['no E line'])[0][:100]})"
        else:
            verdict = f"NOT CAUGHT (rc {rc})"
        ok = ok and caught
        print(
            f"| `{name}` | {MUTATIONS[name][0]} | {verdict} ({seconds:.0f} s) | {control} |",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
