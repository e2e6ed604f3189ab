"""backends/_triton: triton's library loaded before tensorflow (tensorflow, then triton,
segfaults: tensorflow-cpu 2.20/2.21 with the triton 3.7.1 of torch 2.13's CUDA wheel)."""

from __future__ import annotations

import importlib
import sys

import pytest

from arrayport.backends import _pocl, _triton
from arrayport.backends._util import find_spec
from tests.conftest import python_c


@pytest.fixture
def fake_triton(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An installed-looking triton package whose library is no library at all."""
    package = tmp_path / "triton"
    (package / "_C").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_C" / "libtriton.so").write_bytes(b"not an ELF file")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "triton", raising=False)
    importlib.invalidate_caches()
    return package / "_C" / "libtriton.so"


def test_the_library_is_found_without_importing_triton(fake_triton) -> None:
    assert _triton.triton_library() == str(fake_triton)
    assert "triton" not in sys.modules


def test_a_library_that_does_not_load_is_left_to_triton(fake_triton, monkeypatch) -> None:
    monkeypatch.setattr(_triton, "_preloaded", False)
    _triton.preload_triton()  # ctypes refuses the file: no error, nothing recorded
    assert not _triton._preloaded


def test_the_tensorflow_import_guard_is_installed_for_triton_alone(
    fake_triton, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.setattr(_pocl, "pocl_icd_installed", lambda: False)  # no PoCL to guard
    monkeypatch.setattr(
        sys, "meta_path", [f for f in sys.meta_path if type(f).__name__ != "_TensorflowImportGuard"]
    )
    _pocl.install_tensorflow_import_guard()
    assert any(type(f).__name__ == "_TensorflowImportGuard" for f in sys.meta_path)


@pytest.mark.skipif(
    not (find_spec("triton") and find_spec("tensorflow")), reason="needs triton and tensorflow"
)
def test_triton_imports_after_tensorflow() -> None:
    done = python_c("import arrayport, tensorflow, triton; print('ok')")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ok" in done.stdout
