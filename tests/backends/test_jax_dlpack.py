"""jaxlib's direct DLPack import (arrayport.backends._jax_dlpack): found, shares, verified."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport._host import aligned_copy
from tests.conftest import skip_unless_installed, skip_unless_jaxlib_imports_dlpack_directly

pytestmark = skip_unless_installed(MemoryType.JAX)


def test_cpu_importer_shares_memory_with_the_source() -> None:
    import jax

    from arrayport.backends import _jax_dlpack

    skip_unless_jaxlib_imports_dlpack_directly()
    importer = _jax_dlpack.cpu_importer(jax, jax.devices("cpu")[0])
    assert importer is not None, "jaxlib's DLPack import was not found on this jax"
    a = aligned_copy(np.arange(12, dtype=np.float32).reshape(3, 4))
    y = importer(a.__dlpack__())
    y.block_until_ready()
    assert int(y.unsafe_buffer_pointer()) == a.ctypes.data
    assert (y.dtype, y.shape, y.weak_type) == (np.float32, (3, 4), False)


def test_cpu_importer_is_refused_when_the_probe_does_not_match() -> None:
    # A "jax" whose Array type the probe result is not: the importer must not be handed out.
    import jax

    from arrayport.backends import _jax_dlpack

    class NotJax:
        Array = tuple

    assert _jax_dlpack.cpu_importer(NotJax, jax.devices("cpu")[0]) is None  # type: ignore[arg-type]


def test_dl_cpu_is_dlpacks_cpu_device_type() -> None:
    from arrayport.backends import _jax_dlpack

    assert np.empty(1).__dlpack_device__()[0] == _jax_dlpack.DL_CPU


def test_gpu_importer_needs_a_gpu_stream() -> None:
    # A device without jax's stream for external ready events (the CPU device, where jax
    # says UNIMPLEMENTED) gets no GPU importer.
    import jax

    from arrayport.backends import _jax_dlpack

    assert _jax_dlpack.gpu_importer(jax, jax.devices("cpu")[0]) is None


def test_private_call_is_refused_on_an_old_jaxlib(monkeypatch) -> None:
    from jax._src import lib

    from arrayport.backends import _jax_dlpack

    monkeypatch.setattr(
        lib, "jaxlib_extension_version", 466, raising=False
    )  # jaxlib 0.4.34 lacks it
    assert _jax_dlpack._private_call() is None


def test_no_gpu_importer_without_that_gpu() -> None:
    import jax

    from arrayport.backends import _jax_dlpack

    if jax.devices()[0].platform != "cpu":
        pytest.skip("this jax has a GPU")
    assert _jax_dlpack.gpu_importer_on(0) is None


def test_uncommitter_leaves_the_same_buffer_uncommitted() -> None:
    # jax has no public call for it: jax.Array's own constructor, after a probe.
    import jax

    from arrayport.backends import _jax_dlpack

    cpu = jax.devices("cpu")[0]
    uncommit = _jax_dlpack.uncommitter(jax, cpu)
    assert uncommit is not None, "jax.Array's constructor failed the probe on this jax"
    x = jax.device_put(np.arange(6, dtype=np.int32).reshape(2, 3), cpu)
    y = uncommit(x)
    y.block_until_ready()
    assert (x.committed, y.committed) == (True, False)
    assert y.devices() == {cpu}
    assert int(y.unsafe_buffer_pointer()) == int(x.unsafe_buffer_pointer())
    assert (y.dtype, y.shape, y.weak_type) == (x.dtype, x.shape, x.weak_type)
    assert np.asarray(y).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_uncommitter_is_refused_when_the_probe_fails() -> None:
    import jax

    from arrayport.backends import _jax_dlpack

    class NotJax:
        Array = tuple

        @staticmethod
        def device_put(x: object, device: object) -> object:
            raise TypeError("no such call")

    assert _jax_dlpack.uncommitter(NotJax, jax.devices("cpu")[0]) is None  # type: ignore[arg-type]
