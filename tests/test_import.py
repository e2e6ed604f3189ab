"""Import-time behaviour, each in a fresh interpreter.

* ``import arrayport`` imports no framework (numpy at most).
* The tensorflow-then-PoCL crash: importing tensorflow and then pyclesperanto kills the
  process on PoCL. arrayport's import guard, the tensorflow backend's preload and the
  pyclesperanto backend's refusal are each checked in a subprocess, because a failure here
  is a dead interpreter, not an exception.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from arrayport import MemoryType
from tests.conftest import INSTALLED

FRAMEWORKS = ("torch", "jax", "jaxlib", "tensorflow", "pyclesperanto", "cupy", "dask", "ml_dtypes")
BOTH = MemoryType.TENSORFLOW in INSTALLED and MemoryType.PYCLESPERANTO in INSTALLED


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_arrayport_imports_no_framework() -> None:
    proc = run(
        f"""
        import sys
        import arrayport as ap
        import numpy as np
        ap.available_memory_types()
        ap.detect_memory_type(np.zeros(2))
        ap.convert(np.zeros(2), "numpy", copy=True)
        loaded = [m for m in {FRAMEWORKS!r} if m in sys.modules]
        assert not loaded, loaded
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_importing_any_arrayport_module_imports_no_framework() -> None:
    # Every module, the private per-backend helpers included (they get the framework from
    # their backend's load() only when called), in one fresh interpreter.
    proc = run(
        f"""
        import importlib, pkgutil, sys
        import arrayport
        names = [m.name for m in pkgutil.walk_packages(arrayport.__path__, "arrayport.")]
        skipped = ("arrayport.__main__", "arrayport.testing.plugin")
        for name in names:
            if name not in skipped:
                importlib.import_module(name)
        loaded = [m for m in {FRAMEWORKS!r} if m in sys.modules]
        assert not loaded, loaded
        assert len(names) > 60, names
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.skipif(not BOTH, reason="needs tensorflow and pyclesperanto")
def test_import_guard_makes_tensorflow_then_pyclesperanto_safe() -> None:
    proc = run(
        """
        import arrayport as ap
        import tensorflow as tf          # the guard loads PoCL first
        import pyclesperanto as cle
        import numpy as np
        a = np.arange(6, dtype="float32")
        c = ap.convert(tf.constant(a), "pyclesperanto")
        np.testing.assert_array_equal(cle.pull(c), a)
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ok" in proc.stdout


@pytest.mark.skipif(not BOTH, reason="needs tensorflow and pyclesperanto")
def test_tensorflow_backend_preloads_pocl() -> None:
    proc = run(
        """
        import sys
        import arrayport as ap
        import numpy as np
        guard = "_TensorflowImportGuard"
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != guard]
        t = ap.convert(np.arange(3, dtype="float32"), "tensorflow")   # imports tensorflow
        c = ap.convert(t, "pyclesperanto")
        np.testing.assert_array_equal(ap.convert(c, "numpy"), [0, 1, 2])
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ok" in proc.stdout


@pytest.mark.skipif(not BOTH, reason="needs tensorflow and pyclesperanto")
def test_tensorflow_imported_before_arrayport_refuses_pyclesperanto() -> None:
    proc = run(
        """
        import tensorflow
        import arrayport as ap
        import numpy as np
        # Not offered as available (it would be refused), and refused with the reason.
        assert ap.MemoryType.PYCLESPERANTO not in ap.available_memory_types()
        try:
            ap.convert(np.zeros(3, "float32"), "pyclesperanto")
        except ap.BackendUnavailableError as e:
            assert "before tensorflow" in str(e), e
            print("refused")
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused" in proc.stdout


@pytest.mark.skipif(MemoryType.TENSORFLOW not in INSTALLED, reason="needs tensorflow")
def test_import_arrayport_then_tensorflow_does_not_crash() -> None:
    # Loading PoCL with RTLD_GLOBAL made this very import segfault; RTLD_LOCAL does not.
    proc = run("import arrayport, tensorflow as tf; print(int(tf.reduce_sum(tf.ones(3))))")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("3")
