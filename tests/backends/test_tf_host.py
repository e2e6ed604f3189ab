"""backends/_tf_host: a tensorflow tensor's values on the host for numpy."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TENSORFLOW)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import tensorflow as backend

    backend.load()  # through arrayport: PoCL's library before tensorflow
    return backend


@pytest.fixture(scope="module")
def host(be):
    from arrayport.backends import _tf_host

    return _tf_host


def test_the_backend_exports_the_same_functions(be, host) -> None:
    assert be.host_view is host.host_view
    assert be.to_numpy is host.to_numpy


def test_to_numpy_of_a_cpu_tensor_is_its_read_only_view(host) -> None:
    import tensorflow as tf

    t = tf.constant(np.arange(6.0).reshape(2, 3))
    out = host.to_numpy(t)
    assert not out.flags.writeable
    assert out.ctypes.data == host.host_view(t).ctypes.data
    np.testing.assert_array_equal(out, np.arange(6.0).reshape(2, 3))


def test_bfloat16_reaches_numpy_as_ml_dtypes_bfloat16(host) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    import tensorflow as tf

    t = tf.cast(tf.constant([1.0, 2.5, -3.0]), tf.bfloat16)
    view = host.host_view(t)
    assert view.dtype == np.dtype(ml_dtypes.bfloat16)
    assert not view.flags.writeable
    np.testing.assert_array_equal(host.to_numpy(t).astype(np.float32), [1.0, 2.5, -3.0])


def test_host_view_is_read_only_and_shared(be) -> None:
    import tensorflow as tf

    t = tf.constant(np.arange(6.0))
    v = be.host_view(t)
    assert not v.flags.writeable
    assert v.ctypes.data == be.describe(t).pointer
