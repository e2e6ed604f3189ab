"""backends/cupy: detection without a GPU here; the CUDA paths run in tests/test_gpu.py."""

from __future__ import annotations

import sys

import pytest

from arrayport.backends import cupy as be
from arrayport.errors import BackendUnavailableError
from tests.conftest import ON_GPU


def test_constants() -> None:
    assert be.HAS_DLPACK
    assert be.WRITABLE_ONLY
    assert be.COPIES_HOST
    assert not be.IMMUTABLE


def test_is_installed_does_not_import_cupy() -> None:
    was = "cupy" in sys.modules
    be.is_installed()
    assert ("cupy" in sys.modules) == was


@pytest.mark.skipif(ON_GPU, reason="checks the no-GPU behaviour")
def test_load_without_gpu_says_why() -> None:
    if be.is_installed():
        pytest.skip("cupy and a CUDA driver are present")
    with pytest.raises(BackendUnavailableError):
        be.load()
