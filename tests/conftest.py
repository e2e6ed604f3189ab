"""Shared test set-up.

arrayport is imported first on purpose: its import guard loads PoCL before anything can
import tensorflow (tensorflow then pyclesperanto kills the process on PoCL).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import arrayport  # noqa: F401  (must precede any framework import)
from arrayport import MemoryType, available_memory_types

INSTALLED = tuple(available_memory_types())
CPU_TYPES = tuple(mt for mt in INSTALLED if mt not in (MemoryType.CUPY, MemoryType.DASK))
ON_GPU = os.environ.get("ARRAYPORT_DEVICE", "cpu").lower().startswith("cuda")

if MemoryType.JAX in INSTALLED:
    import jax

    # The CPU tests build jax arrays with jax's own calls (jnp.asarray), which place them on
    # jax's default device: the GPU, where jax has one. They keep to the CPU; the GPU tests
    # name their device.
    jax.config.update("jax_default_device", jax.devices("cpu")[0])


def python_c(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``code`` run by this interpreter in a fresh process (``python -c``), its output
    captured as text; the exit status is the caller's to check."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def skip_unless_installed(mt: MemoryType) -> pytest.MarkDecorator:
    """A skip mark for tests that need memory type ``mt``."""
    return pytest.mark.skipif(mt not in INSTALLED, reason=f"{mt.value} is not installed")


def forbid_pyclesperanto_joins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make pyclesperanto's pairwise concatenation and its float32-kernel slice copy fail:
    stacks must be one buffer written once per plane (ADR 0017)."""
    import pyclesperanto as cle

    def refused(*args: object, **kwargs: object) -> None:
        msg = "pairwise concatenation or a float32 kernel copy"
        raise AssertionError(msg)

    for name in ("concatenate", "concatenate_along_z", "copy_slice"):
        monkeypatch.setattr(cle, name, refused)


def skip_unless_jaxlib_imports_dlpack_directly() -> None:
    """Skip when this jaxlib lacks the private DLPack import that
    ``backends._jax_dlpack.cpu_importer`` looks for (``_jax.dlpack_managed_tensor_to_buffer``
    at extension version 467 or later; older releases, jax 0.4.34 among them, have none):
    arrayport then uses the public ``jax.dlpack.from_dlpack``, which other tests cover.
    Where the call exists the tests still require the importer to be found and verified."""
    from jax._src import lib

    call = getattr(getattr(lib, "_jax", None), "dlpack_managed_tensor_to_buffer", None)
    if call is None or getattr(lib, "jaxlib_extension_version", 0) < 467:
        pytest.skip("this jaxlib has no direct DLPack import; the public from_dlpack is used")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_GPU:
        return
    skip = pytest.mark.skip(reason="needs ARRAYPORT_DEVICE=cuda and an NVIDIA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def torch_oom_type(torch: Any) -> type[BaseException]:
    """torch's out-of-memory error type: ``torch.OutOfMemoryError`` from torch 2.5, the same
    class as ``torch.cuda.OutOfMemoryError`` before (arrayport declares torch >= 2.3)."""
    found: type[BaseException] = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    return found


def deny_reads(monkeypatch: pytest.MonkeyPatch, *locked: Path) -> None:
    """Make ``locked`` unreadable as mode 000 does for a user (the tests may run as root,
    whose reads no file mode stops): listing a directory, or reading a file, raises."""

    def denied(path: object) -> PermissionError:
        return PermissionError(errno.EACCES, "Permission denied", os.fspath(path))  # type: ignore[arg-type]

    real_scandir, real_read = os.scandir, Path.read_bytes

    def scandir(path: object = ".") -> object:
        if Path(os.fspath(path)) in locked:  # type: ignore[arg-type]
            raise denied(path)
        return real_scandir(path)  # type: ignore[arg-type]

    def read_bytes(self: Path) -> bytes:
        if self in locked:
            raise denied(self)
        return real_read(self)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
