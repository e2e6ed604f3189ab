"""Tests of ``arrayport bench``'s measurements (structure and sanity, never speed)."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import arrayport._bench
from arrayport import MemoryType
from arrayport._bench import check_size, max_size_mib, run_bench
from arrayport.errors import InvalidOptionError
from tests.conftest import CPU_TYPES, INSTALLED, python_c
from tests.test_doctor import _run_with


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return run_bench(size_mib=1, repeats=1, calls=20)


def test_every_ordered_pair_of_timed_types(result: dict[str, Any]) -> None:
    types = [mt.value for mt in CPU_TYPES]
    pairs = [(c["source"], c["target"]) for c in result["conversions"]]
    assert pairs == [(s, t) for s in types for t in types if s != t]
    for c in result["conversions"]:
        assert c["error"] is None, c
        assert c["ratio"] > 0
        assert c["ms"] == pytest.approx(c["ratio"] * c["copy_ms"])
        assert c["copy_ms"] >= result["memcpy_ms"]  # the run's best copy


def test_size_and_reference(result: dict[str, Any]) -> None:
    assert result["size_mib"] == 1
    assert result["memcpy_ms"] > 0


def test_zero_copy_routes_are_reported_as_such(result: dict[str, Any]) -> None:
    cells = {(c["source"], c["target"]): c for c in result["conversions"]}
    if ("numpy", "torch") in cells:
        assert cells["numpy", "torch"]["method"] in ("dlpack", "host-share")
        assert cells["numpy", "torch"]["zero_copy"] is True


def test_dispatch_overhead_rows(result: dict[str, Any]) -> None:
    pytest.importorskip("arrayport.dispatch")
    cases = [d["case"] for d in result["dispatch"]]
    assert cases[0] == "numpy function, numpy input"
    for d in result["dispatch"]:
        assert d["us"] > 0
        assert d["ratio"] >= 1 or d["us"] < 1  # a wrapper cannot be faster than no wrapper


@pytest.mark.parametrize("size", [float("nan"), float("inf"), float("-inf"), 0.0, -1.0])
def test_sizes_that_are_not_finite_and_positive_are_refused(size: float) -> None:
    with pytest.raises(InvalidOptionError, match="must be a finite positive number of MiB"):
        check_size(size)
    with pytest.raises(InvalidOptionError):
        run_bench(size_mib=size, repeats=1, calls=20)


def test_sizes_beyond_physical_memory_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrayport._bench, "_physical_memory", lambda: 8 * 2**30)
    held = arrayport._bench._arrays_held()
    timed = list(CPU_TYPES)
    # numpy's source is the test array itself; a result and its values read back at most
    assert held == max(2, len(timed) + 2)
    limit = max_size_mib()
    assert limit is not None
    assert limit == pytest.approx(8 * 2**10 / held)
    check_size(limit)
    with pytest.raises(
        InvalidOptionError, match=r"--size 1e\+09 MiB does not fit in memory"
    ) as exc:
        check_size(1e9, "--size")
    assert f"the most is {int(limit):,} MiB" in str(exc.value)
    with pytest.raises(InvalidOptionError, match="does not fit"):
        run_bench(size_mib=1e9)  # refused before anything is allocated


def test_limit_follows_the_machine() -> None:
    limit = max_size_mib()
    if limit is None:
        pytest.skip("this system does not report its physical memory")
    assert 1 <= limit < 2**40
    check_size(1.0)


def test_no_limit_where_memory_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrayport._bench, "_physical_memory", lambda: None)
    assert max_size_mib() is None
    check_size(1e9)  # only finiteness and sign are checked then


def test_the_result_names_versions_and_what_was_timed(result: dict[str, Any]) -> None:
    import arrayport

    assert result["versions"]["arrayport"] == arrayport.__version__
    unusable = [k for k, why in result["skipped"].items() if why.startswith("installed but not")]
    assert list(result["versions"])[1:] == [mt.value for mt in INSTALLED] + unusable
    assert result["versions"]["numpy"] == np.__version__
    assert result["timed"] == [mt.value for mt in CPU_TYPES]
    assert set(result["skipped"]) == {"cupy", "dask"} & {mt.value for mt in INSTALLED}
    assert result["broken"] == {}
    assert all(d["error"] is None for d in result["dispatch"])


def test_a_framework_that_fails_to_import_is_reported_and_the_rest_timed(
    tmp_path: Path,
) -> None:
    # A torch package whose import fails: bench died in its dispatch timings with a
    # traceback, and --json printed nothing.
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text('raise ImportError("libc10.so: missing")\n')
    argv = ["bench", "--json", "--size", "0.01"]
    done = _run_with(tmp_path, "arrayport._bench", ("numpy", "torch"), argv)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert "libc10.so: missing" in data["broken"]["torch"]
    assert data["versions"]["torch"] is None
    assert [c["error"] for c in data["conversions"]] == ["torch not usable (see above)"] * 2
    cases = {d["case"].split()[0]: d for d in data["dispatch"]}
    assert cases["numpy"]["error"] is None
    assert cases["numpy"]["us"] > 0
    assert cases["torch"]["error"] == "torch not usable (see above)"
    text = _run_with(tmp_path, "arrayport._bench", ("numpy", "torch"), ["bench", "--size", "0.01"])
    assert text.returncode == 1, text.stderr
    assert "torch not usable: BackendUnavailableError" in text.stdout
    assert "BROKEN" in text.stdout


def test_a_users_module_that_shadows_a_framework_is_reported(tmp_path: Path) -> None:
    # A user's own jax.py: bench died with an AttributeError (it caught only arrayport's
    # errors); what the module prints goes to stderr under --json.
    (tmp_path / "jax.py").write_text('print("my own jax.py")\n')
    argv = ["bench", "--json", "--size", "0.01"]
    done = _run_with(tmp_path, "arrayport._bench", ("numpy", "jax"), argv)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert f"jax imported from {tmp_path / 'jax.py'}" in data["broken"]["jax"]
    assert "my own jax.py" in done.stderr


def test_a_framework_installed_but_not_usable_is_said_not_timed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pyclesperanto without an OpenCL platform was dropped without its "not timed" line.
    from tests.test_doctor import _no_driver_cupy

    _no_driver_cupy(monkeypatch)
    monkeypatch.setattr(arrayport._bench, "installed_memory_types", lambda: (MemoryType.NUMPY,))
    found = run_bench(size_mib=0.01, repeats=1, calls=20)
    assert found["skipped"] == {
        "cupy": "installed but not usable here: BackendUnavailableError: cupy is installed "
        "but cannot reach a CUDA device"
    }
    assert found["broken"] == {}
    assert found["timed"] == ["numpy"]


def test_a_framework_installed_but_not_usable_has_its_version(tmp_path: Path) -> None:
    # versions, said to cover "each installed memory type", left out pyclesperanto when it
    # had no OpenCL platform, though skipped named it installed (audit a22).
    if importlib.util.find_spec("pyclesperanto") is None:
        pytest.skip("pyclesperanto is not installed")
    vendors = tmp_path / "vendors"  # no ICD file: no OpenCL platform
    vendors.mkdir()
    script = (
        "import json, sys\n"
        "from arrayport import MemoryType, _bench\n"
        "_bench.installed_memory_types = lambda: (MemoryType.NUMPY,)\n"
        "found = _bench.run_bench(size_mib=0.01, repeats=1, calls=20)\n"
        "print(json.dumps([found['versions'], found['skipped']]), file=sys.stderr)\n"
    )
    done = python_c(script, env={**os.environ, "OCL_ICD_VENDORS": str(vendors)}, timeout=120)
    assert done.returncode == 0, done.stderr
    versions, skipped = json.loads(done.stderr.splitlines()[-1])
    assert skipped["pyclesperanto"].startswith("installed but not usable here: ")
    assert versions == {
        "arrayport": arrayport.__version__,
        "numpy": np.__version__,
        "pyclesperanto": importlib.metadata.version("pyclesperanto"),
    }


def test_an_interrupt_stops_the_timings_at_the_next_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C during the timings mostly landed in jax's gc callback and was dropped: bench
    # timed every other pair and printed them all (audit a22). It now asks, after each row
    # and each gc.collect(), whether the command was interrupted.
    if MemoryType.TORCH not in INSTALLED:
        pytest.skip("needs torch: two memory types to time")
    types = (MemoryType.NUMPY, MemoryType.TORCH)
    monkeypatch.setattr(arrayport._bench, "installed_memory_types", lambda: types)
    timed: list[str] = []
    real = arrayport._bench._timed_pair

    def timed_pair(x: Any, target: MemoryType, base: np.ndarray, repeats: int) -> Any:
        timed.append(target.value)
        return real(x, target, base, repeats)

    def interrupted() -> None:  # as when SIGINT was seen during the first row
        if timed:
            raise KeyboardInterrupt

    monkeypatch.setattr(arrayport._bench, "_timed_pair", timed_pair)
    monkeypatch.setattr(arrayport._bench, "stop_if_interrupted", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_bench(size_mib=0.01, repeats=1, calls=20)
    assert timed == ["torch"]


def test_cupy_is_not_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The command times CPU memory types: cupy was timed with the rest (its conversions
    # moving the test array to a GPU), or, without a GPU, reported broken.
    monkeypatch.setattr(
        arrayport._bench, "installed_memory_types", lambda: (MemoryType.NUMPY, MemoryType.CUPY)
    )
    found = run_bench(size_mib=0.01, repeats=1, calls=20)
    assert found["timed"] == ["numpy"]
    assert found["conversions"] == []
    assert found["broken"] == {}
    assert found["skipped"] == {
        "cupy": "its arrays live on a GPU (benchmarks/bench_convert.py --device times them)"
    }


def test_a_wrong_zero_copy_claim_fails_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # The zero-copy column was plan()'s claim, never checked against a result.
    if not {MemoryType.TORCH, MemoryType.JAX} <= set(INSTALLED):
        pytest.skip("needs torch and jax")
    real_plan = arrayport._bench.plan
    lies = {("jax", "torch"): True, ("numpy", "torch"): False}  # a copy, a share

    def lying_plan(x: Any, to: Any, **kw: Any) -> Any:
        route = real_plan(x, to, **kw)
        pair = (arrayport.detect_memory_type(x).value, MemoryType(to).value)
        return dataclasses.replace(route, zero_copy=lies.get(pair, route.zero_copy))

    monkeypatch.setattr(arrayport._bench, "plan", lying_plan)
    types = (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.JAX)
    monkeypatch.setattr(arrayport._bench, "installed_memory_types", lambda: types)
    found = run_bench(size_mib=0.01, repeats=1, calls=20)
    rows = {(c["source"], c["target"]): c for c in found["conversions"]}
    assert rows["jax", "torch"]["error"] == (
        "plan() says host-copy is zero-copy, but the result is a copy"
    )
    assert rows["numpy", "torch"]["error"] == (
        "plan() says host-share is a copy, but the result shares the source's memory"
    )
    for pair in lies:
        assert rows[pair]["ms"] is None  # not timed
    assert all(c["error"] is None for pair, c in rows.items() if pair not in lies)


def test_overhead_loops_are_sized_from_a_second_call_and_timed_in_turn() -> None:
    # The loop was sized from the first call, which pays one-off costs: a slow first call
    # left it at 20 calls. The plain reference was timed once, before every decorated one.
    log: list[str] = []

    def decorated(x: Any) -> None:
        log.append("d")
        if len(log) == 1:
            time.sleep(0.06)  # a cold first call

    def plain(x: Any) -> None:
        log.append("p")

    arrayport._bench._per_call_in_turn(decorated, plain, None, 100)
    assert log.count("d") == 2 + 3 * 100  # two to size the loop, then 3 rounds of 100
    assert log[:4] == ["d", "d", "p", "p"]
    assert [k for k, _ in itertools.groupby(log[4:])] == ["d", "p"] * 3


def test_a_framework_that_cannot_be_loaded_is_not_said_timed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `timed` named torch although it could not be loaded and none of its pairs was timed.
    types = (MemoryType.NUMPY, MemoryType.TORCH)
    monkeypatch.setattr(arrayport._bench, "installed_memory_types", lambda: types)
    monkeypatch.setattr(arrayport._bench, "not_usable", lambda installed: {})
    convert = arrayport._bench.convert

    def broken_torch(x: Any, target: MemoryType) -> Any:
        if target is MemoryType.TORCH:
            raise ImportError("libc10.so: missing")
        return convert(x, target)

    monkeypatch.setattr(arrayport._bench, "convert", broken_torch)
    found = run_bench(size_mib=0.01, repeats=1, calls=20)
    assert list(found["broken"]) == ["torch"]
    assert found["timed"] == ["numpy"]


def test_a_size_that_cannot_be_allocated_is_refused_as_a_size(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Less memory free than the machine has (ulimit -v, a container): the test array's
    # MemoryError escaped as a traceback, and `bench --json` printed nothing (audit a20).
    from arrayport import cli

    def exhausted(a: Any) -> Any:
        raise MemoryError(f"Unable to allocate {a.nbytes} bytes")

    monkeypatch.setattr(arrayport._bench, "aligned_copy", exhausted)
    with pytest.raises(InvalidOptionError, match=r"0.01 MiB arrays cannot be allocated here"):
        run_bench(size_mib=0.01, repeats=1, calls=20)
    assert cli.main(["bench", "--json", "--size", "0.01"]) == 2
    captured = capsys.readouterr()
    assert "try a smaller size" in json.loads(captured.out)["error"]
    assert captured.err.startswith("arrayport bench: 0.01 MiB arrays cannot be allocated")


def test_a_failed_overhead_row_leaves_its_timed_conversions_standing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A torch failure in the decorator-overhead table marked torch broken: "torch not
    # usable" printed above a table of torch ratios, and torch left out of `timed`.
    types = (MemoryType.NUMPY, MemoryType.TORCH)
    if MemoryType.TORCH not in INSTALLED:
        pytest.skip("torch is not installed")
    monkeypatch.setattr(arrayport._bench, "installed_memory_types", lambda: types)
    monkeypatch.setattr(arrayport._bench, "not_usable", lambda installed: {})
    timed = arrayport._bench._per_call_in_turn

    def failing_for_torch(decorated: Any, plain: Any, x: Any, calls: int) -> Any:
        if decorated.contract.memory_type is MemoryType.TORCH:
            raise RuntimeError("torch dispatch failed")
        return timed(decorated, plain, x, calls)

    monkeypatch.setattr(arrayport._bench, "_per_call_in_turn", failing_for_torch)
    found = run_bench(size_mib=0.01, repeats=1, calls=20)
    assert found["broken"] == {}
    assert found["timed"] == ["numpy", "torch"]
    torch_rows = [r for r in found["dispatch"] if r["case"].startswith("torch")]
    assert "torch dispatch failed" in torch_rows[0]["error"]
    assert any(
        c["error"] is None and "torch" in (c["source"], c["target"]) for c in found["conversions"]
    )


def test_a_type_that_cannot_hold_the_test_array_is_not_called_unusable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A MemoryError converting the test array into jax marked jax "not usable" (broken):
    # the size's fault, not the framework's. It is left out of `timed`, with why.
    if MemoryType.JAX not in INSTALLED:
        pytest.skip("jax is not installed")
    types = (MemoryType.NUMPY, MemoryType.JAX)
    monkeypatch.setattr(arrayport._bench, "installed_memory_types", lambda: types)
    monkeypatch.setattr(arrayport._bench, "not_usable", lambda installed: {})
    convert = arrayport._bench.convert

    def full_for_jax(x: Any, target: MemoryType) -> Any:
        if target is MemoryType.JAX and x.size > 16:  # the test array, not the overhead rows
            raise MemoryError("Unable to allocate 64 MiB")
        return convert(x, target)

    monkeypatch.setattr(arrayport._bench, "convert", full_for_jax)
    found = run_bench(size_mib=0.01, repeats=1, calls=20)
    assert found["broken"] == {}
    assert found["timed"] == ["numpy"]
    assert "out of memory holding the test array" in found["skipped"]["jax"]
    assert all(c["error"] == "jax not timed (see above)" for c in found["conversions"])


@pytest.mark.parametrize(
    ("wrong", "error"),
    [
        ("values", "host-copy gave values that differ from the source's"),
        ("order", "host-copy gave values that differ from the source's"),
        ("type", "host-copy gave a numpy result, not torch float32"),
        ("dtype", "host-copy gave a float64 (262144,) result, not torch float32"),
    ],
)
def test_a_wrong_result_fails_its_row(
    monkeypatch: pytest.MonkeyPatch, wrong: str, error: str
) -> None:
    # Only the zero-copy claim was checked: a copying route that returned wrong values
    # (or another type) was timed and reported (audit a24).
    if not {MemoryType.TORCH, MemoryType.JAX} <= set(INSTALLED):
        pytest.skip("needs torch and jax")
    import torch

    real = arrayport._bench.convert

    def lying_convert(x: Any, target: MemoryType) -> Any:
        out = real(x, target)
        if arrayport.detect_memory_type(x) is not MemoryType.JAX or target is not MemoryType.TORCH:
            return out
        host = np.asarray(x)  # the same values, read by jax
        return {
            "values": lambda: torch.zeros_like(out),
            "order": lambda: torch.from_numpy(host[::-1].copy()),  # the same sum, misplaced
            "type": lambda: host.copy(),
            "dtype": lambda: torch.from_numpy(host.astype(np.float64)),
        }[wrong]()

    monkeypatch.setattr(arrayport._bench, "convert", lying_convert)
    types = (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.JAX)
    monkeypatch.setattr(arrayport._bench, "installed_memory_types", lambda: types)
    found = run_bench(size_mib=1, repeats=1, calls=20)
    rows = {(c["source"], c["target"]): c for c in found["conversions"]}
    assert rows["jax", "torch"]["error"] == error
    assert rows["jax", "torch"]["ms"] is None  # not timed
    assert all(c["error"] is None for pair, c in rows.items() if pair != ("jax", "torch"))
