"""Tests of arrayport.testing._memory_readers: as_numpy, memory_bounds, shares_memory."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport.testing import as_numpy, memory_bounds, shares_memory
from tests.conftest import CPU_TYPES, INSTALLED, skip_unless_installed


def test_public_paths_name_the_readers() -> None:
    from arrayport.testing import _memory_readers, assertions

    for name in ("as_numpy", "memory_bounds", "shares_memory"):
        assert getattr(assertions, name) is getattr(_memory_readers, name)  # the first path
    assert as_numpy is _memory_readers.as_numpy


def test_importing_the_readers_imports_no_framework() -> None:
    code = (
        "import sys, arrayport.testing._memory_readers\n"
        "heavy = {'torch', 'jax', 'tensorflow', 'pyclesperanto', 'cupy', 'dask', 'ml_dtypes'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_as_numpy_returns_a_numpy_array_itself() -> None:
    a = np.arange(3.0)
    assert as_numpy(a) is a


def test_as_numpy_reads_array_api_strict_on_every_device() -> None:
    xps = pytest.importorskip("array_api_strict")
    from arrayport.testing._memory_readers import is_strict

    for name in ("CPU_DEVICE", "device1"):
        x = xps.asarray([1.0, 2.0], device=xps.Device(name))
        assert is_strict(x)
        np.testing.assert_array_equal(as_numpy(x), [1.0, 2.0])
    assert not is_strict(np.zeros(1))


@pytest.mark.parametrize("mt", CPU_TYPES, ids=str)
def test_as_numpy_reads_every_memory_type(mt: MemoryType) -> None:
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert np.array_equal(as_numpy(ap.convert(x, mt)), x)


@pytest.mark.parametrize("mt", [m for m in CPU_TYPES if m is not MemoryType.PYCLESPERANTO])
def test_as_numpy_reads_0d_arrays(mt: MemoryType) -> None:
    """0-d arrays stay 0-d arrays (a computed 0-d dask array is a numpy scalar)."""
    out = as_numpy(ap.convert(np.array(True), mt))
    assert isinstance(out, np.ndarray)
    assert out.shape == ()
    assert out.dtype == np.bool_
    assert bool(out) is True


def test_shares_memory_numpy() -> None:
    a = np.arange(10.0)
    assert shares_memory(a, a[::2])
    assert not shares_memory(a, a.copy())
    assert not shares_memory(a[:5], a[5:])


@skip_unless_installed(MemoryType.TORCH)
def test_shares_memory_torch() -> None:
    import torch

    a = np.arange(10.0)
    t = torch.from_numpy(a)
    assert shares_memory(a, t)
    assert shares_memory(t, a)
    assert not shares_memory(a, t.clone())
    assert shares_memory(a[::-1], torch.from_numpy(a[2:4]))
    lo, hi = memory_bounds(t[::3])  # type: ignore[misc]
    assert hi - lo == 8 * 10 - 8 * 0  # elements 0, 3, 6, 9


@skip_unless_installed(MemoryType.JAX)
def test_shares_memory_jax() -> None:
    import jax.numpy as jnp

    j = jnp.arange(16.0)
    assert shares_memory(j, np.asarray(j))
    assert not shares_memory(j, np.array(j))


@pytest.mark.parametrize("pair", [(None, None), ([1.0], None), (2.0, np.zeros(2))], ids=repr)
def test_shares_memory_refuses_what_is_not_an_array(pair: tuple[object, object]) -> None:
    a, b = pair
    with pytest.raises(ap.UnsupportedArrayError):
        shares_memory(a, b)
    with pytest.raises(ap.UnsupportedArrayError):
        shares_memory(a, a)  # the same object twice was "shared memory", checked or not


@pytest.mark.parametrize("mt", CPU_TYPES, ids=str)
def test_an_empty_array_shares_memory_with_nothing_itself_included(mt: MemoryType) -> None:
    if mt is MemoryType.PYCLESPERANTO:
        pytest.skip("pyclesperanto holds no empty arrays")
    e = ap.convert(np.zeros((2, 0), dtype=np.float32), mt)
    e0 = np.zeros(0)
    assert not np.shares_memory(e0, e0)  # numpy's answer, which shares_memory now gives
    assert not shares_memory(e, e)
    x = ap.convert(np.zeros(3, dtype=np.float32), mt)
    assert shares_memory(x, x)


def test_pyclesperanto_shares_nothing_with_the_host() -> None:
    if MemoryType.PYCLESPERANTO not in INSTALLED:
        pytest.skip("pyclesperanto is not installed")
    a = np.arange(8, dtype=np.float32)
    c = ap.convert(a, "pyclesperanto")
    assert memory_bounds(c) is None
    assert not shares_memory(a, c)
    assert shares_memory(c, c)


@skip_unless_installed(MemoryType.TORCH)
def test_as_numpy_reads_torch_bfloat16() -> None:
    import torch

    ml_dtypes = pytest.importorskip("ml_dtypes")
    got = as_numpy(torch.tensor([1.5, -2.0], dtype=torch.bfloat16))
    assert got.dtype == np.dtype(ml_dtypes.bfloat16)
    assert got.astype(np.float32).tolist() == [1.5, -2.0]


@skip_unless_installed(MemoryType.TENSORFLOW)
def test_memory_bounds_of_a_tensorflow_string_tensor_is_unknown() -> None:
    import tensorflow as tf

    # tensorflow's DLPack export aborts the process for strings: never asked.
    assert memory_bounds(tf.constant(["a", "b"])) is None
