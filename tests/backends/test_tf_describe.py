"""backends/_tf_describe: a tensorflow tensor's dtype, device, description and routing
summary."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError
from tests.conftest import INSTALLED, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TENSORFLOW)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import tensorflow as backend

    backend.load()  # through arrayport: PoCL's library before tensorflow
    return backend


@pytest.fixture(scope="module")
def desc(be):
    from arrayport.backends import _tf_describe

    return _tf_describe


class _OnDevice:
    """Stands in for a tensor: device_of reads only ``x.device``."""

    def __init__(self, device: str) -> None:
        self.device = device


def test_the_backend_exports_the_same_functions(be, desc) -> None:
    # No wrapper: dispatch reads device_of on every call with a tensor.
    assert be.device_of is desc.device_of
    assert be.describe is desc.describe
    assert be.route_key is desc.route_key


def test_device_of_parses_tensorflow_s_device_names(desc) -> None:
    assert desc.device_of(_OnDevice("/job:localhost/replica:0/task:0/device:CPU:0")) is CPU
    assert desc.device_of(_OnDevice("")) is CPU
    gpu = "/job:localhost/replica:0/task:0/device:GPU:1"
    assert desc.device_of(_OnDevice(gpu)) == Device("cuda", 1)
    assert desc._device_names[gpu] == Device("cuda", 1)  # parsed once
    with pytest.raises(DeviceError, match="TPU"):
        desc.device_of(_OnDevice("/job:localhost/replica:0/task:0/device:TPU:0"))


def test_dtype_of_gives_numpy_s_dtype_or_none_with_tensorflow_s_name(desc) -> None:
    import tensorflow as tf

    assert desc.dtype_of(tf.constant([1.0], tf.float32)) == (np.dtype("float32"), "float32")
    assert desc.dtype_of(tf.constant(["a"])) == (None, "string")
    assert "string" not in desc.DTYPES
    assert desc.route_key(tf.constant(["a"]), False) is None


def test_raw_view_shares_the_buffer_bfloat16_as_uint16(desc) -> None:
    import tensorflow as tf

    t = tf.constant(np.arange(8.0, dtype=np.float32))
    view = desc.raw_view(t, "float32")
    np.testing.assert_array_equal(view, np.arange(8.0))
    assert view.ctypes.data == desc.describe(t).pointer
    b = tf.cast(t, tf.bfloat16)
    raw = desc.raw_view(b, "bfloat16")
    assert raw.dtype == np.uint16
    assert raw.ctypes.data == desc.describe(b).pointer


def test_route_key_and_cached_devices(be) -> None:
    import tensorflow as tf

    from arrayport._host import route_key_of

    for t in (tf.constant(np.arange(6.0)), tf.zeros((0, 3)), tf.constant([1 + 2j])):
        for address in (False, True):
            assert be.route_key(t, address) == route_key_of(be.describe(t), address)
    assert be.device_of(tf.constant(1.0)) is CPU
    assert be.resolve_device(None, CPU) == CPU


def test_cpu_tensors_sit_on_64_byte_boundaries(be) -> None:
    """route_key skips the address for targets that do not read it, because tensorflow
    copies host memory off the boundary and shares slices only at aligned offsets."""
    import tensorflow as tf

    from arrayport._host import ALIGNMENT, aligned_empty, route_key_of

    raw = aligned_empty((256,), np.dtype("uint8"))
    y = tf.range(256, dtype=tf.float32)
    i8 = tf.constant(np.arange(256).astype(np.int8))
    tensors = [tf.constant(raw[off : off + 64].view("float32")) for off in (4, 8, 16, 32)]
    tensors += [y[1:], y[3:], tf.reshape(y, (16, 16))[:, 1:], tf.split(y, [1, 255])[1]]
    tensors += [i8[1:], tf.split(i8, [1, 255])[1], tf.bitcast(y[1:], tf.int32)]
    for t in tensors:
        assert np.from_dlpack(t).ctypes.data % ALIGNMENT == 0
        assert be.route_key(t, False) == route_key_of(be.describe(t), False)


def test_tensorflow_with_eager_execution_disabled_is_refused_at_first_use() -> None:
    # convert returned an eager tensor graph code could not use: tensorflow's RuntimeError
    # came only later, where the tensor was used.
    from tests._subprocess import python_words

    script = (
        "import numpy as np, arrayport as ap\n"
        "import tensorflow as tf\n"
        "tf.compat.v1.disable_eager_execution()\n"
        "try:\n"
        "    ap.convert(np.ones(2, np.float32), 'tensorflow')\n"
        "except ap.BackendUnavailableError as exc:\n"
        "    print('refused', 'disable_eager_execution' in str(exc))\n"
    )
    assert python_words(script) == ["refused", "True"]


def test_unstorable_dtypes_are_refused_with_a_remedy_that_works(be) -> None:
    # One message said "cast to a numeric dtype first (tf.cast)" for every kind: tf.cast
    # gives a quantized tensor's raw codes (wrong values) and casts no string or resource.
    import arrayport as ap

    tf = be.load()
    quantized = tf.quantization.quantize(tf.constant([0.25, 0.5, 1.0]), 0.0, 1.0, tf.qint8)[0]
    strings = tf.constant(["1.5", "2"])
    variable = tf.Variable([1.0, 2.0])
    cases = [
        (quantized, "tf.quantization.dequantize", tf.quantization.dequantize(quantized, 0.0, 1.0)),
        (strings, "tf.strings.to_number", tf.strings.to_number(strings, out_type=tf.float32)),
        (variable.handle, "v.read_value()", variable.read_value()),
    ]
    for x, remedy, done in cases:
        with pytest.raises(ap.UnsupportedArrayError, match=f"; .*{remedy.replace('.', '[.]')}"):
            ap.convert(x, "numpy")
        assert ap.convert(done, "numpy").dtype == np.float32
    values = ap.convert(cases[0][2], "numpy")
    np.testing.assert_allclose(values, [0.25, 0.5, 1.0], atol=0.01)


def test_float8_and_int4_tensors_are_refused_by_dtype_with_a_cast_that_works(be) -> None:
    # They hold numbers (jax and torch have float8), yet were refused as arrays that "hold
    # nothing other frameworks can store; it holds no array data": the wrong error class,
    # a false message and no remedy, where jax's and torch's float8 say which dtype.
    import arrayport as ap

    tf = be.load()
    kinds = tf.dtypes.experimental
    cases = [
        (kinds.float8_e4m3fn, tf.float32),
        (kinds.float8_e5m2, tf.float32),
        (kinds.int4, tf.int8),
        (kinds.uint4, tf.uint8),
    ]
    targets = ["numpy"] + (["jax"] if MemoryType.JAX in INSTALLED else [])
    for dtype, holds in cases:
        whole = tf.constant([1, 2, 7], tf.int32 if "int" in dtype.name else tf.float32)
        x = tf.cast(whole, dtype)
        assert be.describe(x).dtype_name == dtype.name  # described: numbers, not refused
        for call in (ap.plan, ap.convert):
            for target in targets:
                with pytest.raises(ap.UnsupportedDtypeError) as info:
                    call(x, target)
                assert info.value.dtype == dtype.name
                assert f"tf.cast(x, tf.{holds.name})" in str(info.value)
        np.testing.assert_array_equal(ap.convert(tf.cast(x, holds), "numpy"), [1, 2, 7])


def test_route_key_of_an_empty_tensor_numpy_cannot_describe_is_none(be) -> None:
    # Its address was read through a numpy view, which numpy refused with a raw
    # ValueError ("array is too big") on convert's hot path, before any plan.
    from arrayport._host import route_key_of

    tf = be.load()
    big = tf.zeros([2**40, 0, 2**40])
    assert be.route_key(big, True) is None  # the full plan refuses it by its shape
    small = tf.zeros([2**20, 0, 2**20])  # numpy describes this one
    assert be.route_key(small, True) == route_key_of(be.describe(small), True)
