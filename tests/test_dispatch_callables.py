"""Tests of arrayport._dispatch_callables: what the decorator refuses, and how a
dispatched function of ``__main__`` travels to other processes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import pytest

import arrayport as ap


def test_functions_whose_body_runs_after_the_call_are_refused() -> None:
    # Were wrapped: a coroutine's result came back on the declared framework with its
    # dtype, a generator yielded the declared framework's arrays, no OOM policy around.
    async def coroutine(x: Any) -> Any:
        return x

    async def agen(x: Any) -> Any:
        yield x

    def gen(x: Any) -> Any:
        yield x

    for fn, kind in [(coroutine, "coroutine"), (agen, "async generator"), (gen, "generator")]:
        with pytest.raises(ap.InvalidOptionError, match=f"it is an? {kind} function"):
            ap.memory_type("numpy")(fn)


@pytest.mark.skipif(importlib.util.find_spec("cloudpickle") is None, reason="needs cloudpickle")
def test_a_main_module_function_travels_by_value_where_main_lacks_it() -> None:
    # A dispatched function of a script or notebook pickled by reference to __main__ even
    # under cloudpickle: a dask worker could not load it and the task hung.
    define = (
        "import sys, pickle, numpy as np, arrayport as ap\n"
        "{pre}"
        "@ap.memory_type('numpy')\n"
        "def f(x):\n"
        "    return x + 1\n"
        "sys.stdout.buffer.write(pickle.dumps(f))\n"
    )
    load = (
        "import pickle, sys, numpy as np\n"
        "print(pickle.loads(sys.stdin.buffer.read())(np.arange(3)))"
    )

    def run(code: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-c", code], input=data, capture_output=True, timeout=120
        )

    with_cloudpickle = run(define.format(pre="import cloudpickle\n"))
    done = run(load, with_cloudpickle.stdout)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "[1 2 3]"
    without = run(define.format(pre=""))
    failed = run(load, without.stdout)
    assert failed.returncode != 0
    assert "is not defined here; define it in a module both can import" in failed.stderr.decode()
