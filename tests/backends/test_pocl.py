"""backends/_pocl (PoCL preload and the tensorflow import guard)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from arrayport.backends import _pocl
from arrayport.backends._util import find_spec

POCL = _pocl.pocl_icd_installed() and find_spec("pyclesperanto")
TENSORFLOW = find_spec("tensorflow")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_icd_checks_follow_ocl_icd_vendors(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("OCL_ICD_VENDORS", str(tmp_path))
    assert not _pocl.opencl_icd_installed()
    assert not _pocl.pocl_icd_installed()
    (tmp_path / "other.icd").write_text("libOther.so\n")
    assert _pocl.opencl_icd_installed()
    assert not _pocl.pocl_icd_installed()
    (tmp_path / "pocl.icd").write_text("libpocl.so.2\n")
    assert _pocl.pocl_icd_installed()


def test_guard_not_installed_once_tensorflow_is_imported(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", sys)  # any module object stands in
    before = list(sys.meta_path)
    _pocl.install_tensorflow_import_guard()
    assert sys.meta_path == before


@pytest.mark.skipif(not POCL, reason="needs pyclesperanto on PoCL")
def test_preload_maps_pocl_and_guard_steps_aside() -> None:
    proc = _run(
        """
        import sys
        from arrayport.backends import _pocl
        guards = [f for f in sys.meta_path if type(f).__name__ == "_TensorflowImportGuard"]
        assert len(guards) == 1, sys.meta_path
        _pocl.install_tensorflow_import_guard()  # a second call adds no second guard
        assert sum(type(f).__name__ == "_TensorflowImportGuard" for f in sys.meta_path) == 1
        assert not _pocl.pocl_mapped()
        before = list(sys.meta_path)
        assert guards[0].find_spec("tensorflow") is None  # preloads, then is inert
        assert _pocl.pocl_mapped()
        assert guards[0].done
        assert sys.meta_path == before  # never changed under another thread's import
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ok" in proc.stdout


@pytest.mark.skipif(not POCL, reason="needs pyclesperanto on PoCL")
@pytest.mark.skipif(not find_spec("tensorflow"), reason="needs tensorflow")
def test_tensorflow_loaded_while_pyclesperanto_starts_pocl_does_not_crash() -> None:
    # Thread A is held inside pyclesperanto's import, just before it starts its OpenCL
    # backend; thread B converts to tensorflow meanwhile. B's preload saw pyclesperanto in
    # sys.modules, skipped loading PoCL, and imported tensorflow: A then started PoCL after
    # tensorflow's LLVM and the process segfaulted (3 runs of 3). Found by a thread audit.
    proc = _run(
        """
        import sys, threading, time
        import numpy as np
        import arrayport as ap

        held = threading.Event()

        def tracer(frame, event, arg):
            code = frame.f_code
            in_cle = "pyclesperanto" in code.co_filename
            if event == "call" and code.co_name == "_lazy_init" and in_cle:
                held.set()
                time.sleep(1.5)
            return None

        def a():
            sys.settrace(tracer)
            ap.convert(np.ones((4, 4), np.float32), "pyclesperanto")

        def b():
            assert held.wait(60), "pyclesperanto's import was not reached"
            ap.convert(np.ones((4, 4), np.float32), "tensorflow")

        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert "tensorflow" in sys.modules and "pyclesperanto" in sys.modules
        print("ok")
        """
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "ok" in proc.stdout


@pytest.mark.skipif(not POCL, reason="needs pyclesperanto on PoCL")
@pytest.mark.skipif(not find_spec("tensorflow"), reason="needs tensorflow")
def test_a_plain_tensorflow_import_while_arrayport_loads_pyclesperanto_does_not_hang() -> None:
    # The import guard's find_spec (run by Python under its global import lock) waited for
    # the lock arrayport holds while importing pyclesperanto, whose import needed the global
    # import lock: both threads hung (found by a review; 1a228b6 finished).
    proc = _run(
        """
        import threading, time
        import arrayport
        from arrayport.backends import pyclesperanto as cle_backend

        x = threading.Thread(target=cle_backend.load, daemon=True)
        x.start()
        time.sleep(0.05)

        def plain_import():
            import tensorflow  # noqa: F401

        y = threading.Thread(target=plain_import, daemon=True)
        y.start()
        x.join(60)
        y.join(30)
        assert not x.is_alive() and not y.is_alive(), "deadlocked"
        print("ok")
        """
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "ok" in proc.stdout


@pytest.mark.skipif(not POCL, reason="needs pyclesperanto on PoCL")
def test_arrayports_own_probe_for_tensorflow_leaves_the_guard_armed() -> None:
    # available_memory_types() asked find_spec("tensorflow"), which the guard took for an
    # import: PoCL's library was loaded (+60 MiB) and the guard stood down.
    proc = _run(
        f"""
        import sys
        import arrayport as ap
        from arrayport.backends import _pocl
        guard = next(f for f in sys.meta_path if type(f).__name__ == "_TensorflowImportGuard")
        ap.available_memory_types()
        assert not _pocl.pocl_mapped()
        assert not guard.done
        if {TENSORFLOW}:  # the real import, where tensorflow is installed: PoCL first
            import tensorflow
            assert _pocl.pocl_mapped()
            assert guard.done
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ok" in proc.stdout
