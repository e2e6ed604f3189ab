"""Tests of arrayport.memory: memory_report()."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport.memory import MemoryReport, MemoryRow
from tests.conftest import CPU_TYPES, INSTALLED, skip_unless_installed


def test_numpy_row_reports_the_host() -> None:
    report = ap.memory_report(["numpy"])
    assert isinstance(report, MemoryReport)
    (row,) = report.rows
    assert row.memory_type is MemoryType.NUMPY
    assert row.device == "cpu"
    assert row.cached == 0  # numpy caches nothing
    assert row.free is None or row.free > 0


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_every_installed_framework_has_rows(mt: MemoryType) -> None:
    held = ap.convert(np.ones(4, np.float32), mt)  # its runtime started, as in use
    report = ap.memory_report([mt])
    assert report.rows, f"no rows for {mt.value}"
    first = report.rows[0].device
    assert first.startswith("opencl:") if mt is MemoryType.PYCLESPERANTO else first == "cpu"
    for row in report:
        assert row.memory_type is mt
        if mt is MemoryType.TENSORFLOW and row.device == "cpu" and row.in_use is not None:
            from arrayport.backends._tf_memory import CPU_NOTE

            assert row.note == CPU_NOTE  # what its figure leaves out
        else:
            assert row.note == ""
        for value in (row.in_use, row.cached, row.free, row.total):
            assert value is None or (isinstance(value, int) and value >= 0)
    del held


def test_the_default_report_starts_no_framework_s_runtime() -> None:
    # jax's devices and tensorflow's runtime were started just to report on them: on a GPU
    # that takes most of its memory, and tensorflow's settings then raise.
    wanted = [mt.value for mt in (MemoryType.JAX, MemoryType.TENSORFLOW) if mt in INSTALLED]
    if not wanted:
        pytest.skip("neither jax nor tensorflow is installed")
    code = (
        "import sys, arrayport as ap\n"
        f"for name in {wanted!r}: __import__(name)\n"
        "report = ap.memory_report()\n"
        "for row in report:\n"
        "    if row.memory_type.value in ('jax', 'tensorflow'):\n"
        "        print(row.memory_type.value, row.device, repr(row.note.split(':')[0]))\n"
        "if 'jax' in sys.modules:\n"
        "    from jax._src import xla_bridge\n"
        "    print('jax-started', xla_bridge.backends_are_initialized())\n"
        "if 'tensorflow' in sys.modules:\n"
        "    import tensorflow as tf\n"
        "    tf.config.threading.set_intra_op_parallelism_threads(1)  # raises once started\n"
        "    print('tensorflow-settings ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    if MemoryType.JAX in INSTALLED:
        assert "jax - 'jax has not started its devices (no jax array made yet)'" in lines
        assert "jax-started False" in lines
    if MemoryType.TENSORFLOW in INSTALLED:
        assert "tensorflow - 'tensorflow has not started its runtime (no tensor made yet)'" in lines
        assert "tensorflow-settings ok" in lines


def test_a_framework_started_after_a_report_is_reported_then() -> None:
    if MemoryType.JAX not in INSTALLED:
        pytest.skip("jax is not installed")
    code = (
        "import jax, numpy as np, arrayport as ap\n"
        "print(*(r.device for r in ap.memory_report('jax')))\n"
        "x = ap.convert(np.ones(3, np.float32), 'jax')\n"
        "print(*(r.device + '|' + r.note for r in ap.memory_report('jax')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    before, after = done.stdout.splitlines()
    assert before == "-"
    assert after.split()[0] == "cpu|"  # the CPU row, with no note


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_opencl_device_reports_its_size() -> None:
    (row, *_) = ap.memory_report(["pyclesperanto"]).rows
    assert row.device.startswith("opencl:")
    assert row.total is not None
    assert row.total > 0


def test_default_reports_numpy_and_imported_frameworks_only() -> None:
    code = (
        "import sys, arrayport as ap; r = ap.memory_report(); "
        "print(sorted({row.memory_type.value for row in r})); "
        "print(sorted(m for m in ('torch', 'jax', 'tensorflow', 'pyclesperanto') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == ["['numpy']", "[]"]  # nothing imported just to report on it


def test_table_and_plain_data() -> None:
    report = MemoryReport(
        (
            MemoryRow(MemoryType.TORCH, "cuda:0", 3 << 30, 1 << 20, None, 80 << 30),
            MemoryRow(MemoryType.CUPY, "-", None, None, None, note="unavailable: no GPU"),
        )
    )
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split() == [
        "memory",
        "type",
        "device",
        "in",
        "use",
        "cached",
        "free",
        "total",
        "note",
    ]
    assert "3.0 GiB" in lines[1]
    assert "1.0 MiB" in lines[1]
    assert "80.0 GiB" in lines[1]
    assert lines[2].endswith("unavailable: no GPU")
    assert report.as_dicts()[0] == {
        "memory_type": "torch",
        "device": "cuda:0",
        "in_use": 3 << 30,
        "cached": 1 << 20,
        "free": None,
        "total": 80 << 30,
        "note": "",
    }
    assert len(report) == 2
    assert list(report)[1].memory_type is MemoryType.CUPY


def test_a_note_of_several_lines_is_one_line_in_the_table() -> None:
    # numpy's import error ("...(\n\nIMPORTANT: PLEASE READ THIS...") broke the table.
    note = "unavailable: torch cannot be imported (\n\nIMPORTANT: PLEASE READ\n\tmore)"
    report = MemoryReport(
        (
            MemoryRow(MemoryType.TORCH, "-", None, None, None, note=note),
            MemoryRow(MemoryType.NUMPY, "cpu", None, 0, 5),
        )
    )
    lines = str(report).splitlines()
    assert len(lines) == 3
    assert lines[1].endswith("unavailable: torch cannot be imported ( IMPORTANT: PLEASE READ more)")
    assert lines[2].split() == ["numpy", "cpu", "-", "0", "B", "5", "B", "-"]
    assert report.as_dicts()[0]["note"] == note  # the data keeps it as it is


def test_unknown_memory_type_is_refused() -> None:
    with pytest.raises(ap.InvalidOptionError):
        ap.memory_report(["numpyy"])


def test_unusable_framework_gets_a_note() -> None:
    try:
        import cupy  # noqa: F401
    except ImportError:
        (row,) = ap.memory_report(["cupy"]).rows
        assert row.note.startswith("unavailable:")
        assert "cupy" in row.note
    else:
        pytest.skip("cupy is installed here")


def test_rows_are_frozen() -> None:
    row = ap.memory_report(["numpy"]).rows[0]
    with pytest.raises(AttributeError):
        row.free = 0  # type: ignore[misc]
    assert np.isscalar(row.device) or isinstance(row.device, str)


def test_a_framework_with_nothing_to_report_gets_a_row_that_says_so() -> None:
    import subprocess
    import sys

    # dask without a distributed client has no devices of its own to report.
    code = (
        "import arrayport as ap; r = ap.memory_report(['dask']);"
        "assert len(r.rows) == 1, r; assert 'no devices' in r.rows[0].note, r; print('ok')"
    )
    if MemoryType.DASK not in INSTALLED:
        pytest.skip("dask is not installed")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_one_memory_type_may_be_named_without_a_list() -> None:
    # A bare string was once read letter by letter: "'n' is not a memory type".
    by_name = ap.memory_report("numpy")
    assert [r.memory_type for r in by_name.rows] == [MemoryType.NUMPY]
    assert [r.memory_type for r in ap.memory_report(MemoryType.NUMPY).rows] == [MemoryType.NUMPY]


def test_memory_report_refuses_what_is_not_memory_types() -> None:
    with pytest.raises(ap.InvalidOptionError, match=r"^memory_report\(memory_types=5\): pass a"):
        ap.memory_report(5)  # type: ignore[arg-type]


def test_memory_report_refuses_bytes_as_a_whole() -> None:
    # b"numpy" was iterated byte by byte: "110 is not a memory type".
    with pytest.raises(ap.InvalidOptionError, match=r"^memory_report\(memory_types=b'numpy'\)"):
        ap.memory_report(b"numpy")  # type: ignore[arg-type]


def test_a_blocked_framework_is_not_reported_by_default() -> None:
    code = (
        "import sys; sys.modules['tensorflow'] = None; import arrayport as ap; "
        "print(sorted({row.memory_type.value for row in ap.memory_report()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == ["['numpy']"]  # was: a tensorflow row saying it is not installed


def test_rows_and_reports_built_by_hand_are_normalised() -> None:
    # MemoryRow("numpy", ...) failed in as_dict() and str(); a report of a list of rows
    # was not hashable though frozen.
    row = MemoryRow("numpy", "cpu", 1, 0, None)  # type: ignore[arg-type]
    assert row.memory_type is MemoryType.NUMPY
    assert row.as_dict()["memory_type"] == "numpy"
    report = MemoryReport([row])  # type: ignore[arg-type]
    assert report.rows == (row,)
    assert hash(report) == hash(MemoryReport((row,)))
    assert "numpy" in str(report)
    with pytest.raises(ap.InvalidOptionError, match="not a memory type"):
        MemoryRow("nump", "cpu", 1, 0, None)  # type: ignore[arg-type]
