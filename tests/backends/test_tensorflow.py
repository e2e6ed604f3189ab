"""backends/tensorflow."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError, UnsupportedArrayError
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TENSORFLOW)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import tensorflow as backend

    backend.load()
    return backend


def test_bfloat16_bridges_by_bitcast(be) -> None:
    import ml_dtypes
    import tensorflow as tf

    a = np.arange(64).astype(ml_dtypes.bfloat16)
    from arrayport._host import aligned_copy

    a = aligned_copy(a)
    t = be.from_numpy(a, CPU)
    assert t.dtype == tf.bfloat16
    assert be.describe(t).pointer == a.ctypes.data
    np.testing.assert_array_equal(be.host_view(t), a)


def test_refuses_strings_variables_and_graph_tensors(be) -> None:
    import tensorflow as tf

    with pytest.raises(UnsupportedArrayError, match=r"tf\.strings\.to_number"):
        be.describe(tf.constant(["a"]))
    assert "convert_to_tensor" in be.non_array_hint(tf.Variable([1.0]))
    assert not be.is_array(tf.Variable([1.0]))


def test_layout_refusals(be) -> None:
    from arrayport._host import aligned_empty, host_info

    a = aligned_empty((4, 16), np.dtype("float32"))
    assert be.share_refusal(host_info(a, CPU)) is None
    assert "aligned" in be.share_refusal(host_info(a.reshape(-1)[1:], CPU))
    assert "row-major" in be.share_refusal(host_info(a.T, CPU))
    ro = a.view()
    ro.flags.writeable = False
    assert "read-only" in be.share_refusal(host_info(ro, CPU))


def test_devices_and_oom(be) -> None:
    import tensorflow as tf

    assert be.devices()[0] == CPU
    with pytest.raises(DeviceError):
        be.resolve_device(Device("cuda", 42), CPU)
    assert be.is_oom(tf.errors.ResourceExhaustedError(None, None, "OOM"))
    assert not be.is_oom(RuntimeError("OOM when allocating tensor"))
    be.release_memory()


def test_memory_report_reads_the_cpu_figure_tensorflow_tracks(be, monkeypatch) -> None:
    # The CPU row's in_use was None although tensorflow reported it.
    import tensorflow as tf

    import arrayport as ap

    info = tf.config.experimental.get_memory_info
    live = tf.zeros((1024, 1024)) + 1.0  # 4 MiB held by a live tensor
    try:
        now = info("CPU:0")["current"]
    except ValueError:
        pytest.skip("this tensorflow build does not track CPU memory")
    row = ap.memory_report("tensorflow").rows[0]
    assert (row.device, row.in_use) == ("cpu", now)
    assert now >= live.shape.num_elements() * 4

    def untracked(device: str) -> dict[str, int]:
        if device.startswith("CPU"):
            raise ValueError("Memory statistics not tracked")
        return info(device)

    monkeypatch.setattr(tf.config.experimental, "get_memory_info", untracked)
    row = ap.memory_report("tensorflow").rows[0]
    assert (row.device, row.in_use, row.note) == ("cpu", None, "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/full is Linux's")
def test_a_full_disk_or_too_many_open_files_is_not_out_of_memory(be) -> None:
    """tensorflow raises ResourceExhaustedError for operating-system errors it maps to
    RESOURCE_EXHAUSTED too ("context; strerror(errno)"); the policy re-ran and split a
    function writing to a full disk as if memory had run out."""
    import tensorflow as tf

    with pytest.raises(tf.errors.ResourceExhaustedError, match="No space left on device") as full:
        tf.io.write_file("/dev/full", tf.constant(b"x" * 4096))
    assert not be.is_oom(full.value)

    def exhausted(message: str) -> BaseException:
        return tf.errors.ResourceExhaustedError(None, None, message)

    # As a real one read here (with every file descriptor taken: not done in the test
    # run, where other threads, a dask cluster's say, need descriptors at any moment).
    assert not be.is_oom(exhausted("/tmp/x.bin; Too many open files [Op:ReadFile]"))

    assert not be.is_oom(exhausted("/data/ckpt.index; Disk quota exceeded [Op:SaveV2]"))
    # Memory failures in tensorflow's other wordings (GPU ones from public reports) and
    # ENOMEM, which tensorflow maps to RESOURCE_EXHAUSTED as well, still count.
    assert be.is_oom(exhausted("failed to allocate memory [Op:AddV2]"))
    assert be.is_oom(exhausted("Out of memory while trying to allocate 4.00PiB. [Op:f]"))
    assert be.is_oom(
        exhausted(
            "OOM when allocating tensor with shape[8,64,256,256] and type float on "
            "/job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc"
        )
    )
    assert be.is_oom(
        exhausted("SameWorkerRecvDone unable to allocate output tensor. Key: /job:localhost")
    )
    assert be.is_oom(exhausted("/dev/shm/x; Cannot allocate memory"))


@pytest.mark.slow  # tensorflow's CPU allocator waits ~10 s before it raises
def test_a_real_out_of_memory_error_counts_and_a_full_disk_does_not(be) -> None:
    import tensorflow as tf

    with pytest.raises(tf.errors.ResourceExhaustedError, match="OOM when allocating") as oom:
        tf.zeros((1 << 20, 1 << 20, 1 << 10), dtype=tf.uint8)  # 1 PiB: fails, nothing touched
    assert be.is_oom(oom.value)
    if os.path.exists("/dev/full"):
        with pytest.raises(tf.errors.ResourceExhaustedError) as full:
            tf.io.write_file("/dev/full", tf.constant(b"x" * 4096))
        assert not be.is_oom(full.value)


def test_release_memory_keeps_the_users_keras_state(be) -> None:
    """Keras' clear_session() would reset the user's models and layer names (tensorflow
    2.21 imports Keras itself, so its presence says nothing about the user's wishes)."""
    keras = pytest.importorskip("keras")
    first = keras.backend.get_uid("arrayport_test")
    be.release_memory()
    assert keras.backend.get_uid("arrayport_test") == first + 1


def test_concat_and_stack_are_tensorflows_own_calls(be) -> None:
    """No array API namespace: the split joins pieces with ``concat``, the slice helpers
    stack with ``stack``; both exact (int64 beyond 2**53) and keep the dtype."""
    import tensorflow as tf

    a = np.array([[2**62 + 1, -3], [7, 2**53 + 1]], np.int64)
    b = np.array([[5, 2**40 + 1], [-(2**62) - 1, 9]], np.int64)
    parts = [tf.constant(a), tf.constant(b)]
    for axis in (0, 1, -1):
        joined = be.concat(parts, axis)
        assert be.is_array(joined)
        assert joined.dtype == tf.int64
        np.testing.assert_array_equal(joined.numpy(), np.concatenate([a, b], axis=axis))
    stacked = be.stack(parts)
    assert be.is_array(stacked)
    assert stacked.dtype == tf.int64
    np.testing.assert_array_equal(stacked.numpy(), np.stack([a, b]))


def test_keras_variables_and_indexed_slices_are_refused_with_a_remedy() -> None:
    # A numpy-declared function given one computed in tensorflow and returned a tf tensor.
    import tensorflow as tf

    import arrayport as ap

    @ap.memory_type("numpy")
    def double(x):
        return x * 2

    sparse_gradient = tf.IndexedSlices(tf.constant([1.0]), tf.constant([0]))
    for call in (lambda: double(sparse_gradient), lambda: ap.convert(sparse_gradient, "numpy")):
        with pytest.raises(UnsupportedArrayError, match=r"tf\.convert_to_tensor\(x\)"):
            call()
    keras = pytest.importorskip("keras")
    variable = keras.Variable(np.array([1.0, 2.0], np.float32))
    for call in (lambda: double(variable), lambda: ap.convert(variable, "numpy")):
        with pytest.raises(UnsupportedArrayError, match=r"keras\.ops\.convert_to_numpy"):
            call()


def test_a_keras_functional_models_placeholder_is_refused_and_lambda_works() -> None:
    # A KerasTensor was passed through as a non-array: a numpy-declared body built Keras
    # ops, and the model computed other values in another dtype (10.5 in float32 for
    # uint8 21 / 2), with no move and no dtype policy.
    import arrayport as ap

    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("keras runs on another backend")

    @ap.memory_type("numpy")
    def halve(x):
        return x / 2

    placeholder = keras.Input(shape=(3,), dtype="uint8")
    for call in (
        lambda: halve(placeholder),
        lambda: ap.convert(placeholder, "numpy"),
        lambda: ap.namespace(placeholder),
    ):
        with pytest.raises(UnsupportedArrayError, match=r"KerasTensor .*keras\.layers\.Lambda"):
            call()

    # Lambda asks inspect.getfullargspec, which found no signature on a dispatched function.
    @ap.memory_type("tensorflow")
    def double(x, k=2):
        return x * k

    inputs = keras.Input(shape=(3,), dtype="float32")
    model = keras.Model(inputs, keras.layers.Lambda(double)(inputs))
    out = model(np.array([[1.0, 2.0, 3.0]], np.float32))
    np.testing.assert_array_equal(np.asarray(out), [[2.0, 4.0, 6.0]])


def test_a_fixed_dtype_the_result_has_is_kept_inside_tf_function() -> None:
    # Any fixed dtype_conversion was refused on a symbolic result, even one of that dtype.
    import tensorflow as tf

    import arrayport as ap

    @ap.memory_type("tensorflow", dtype_conversion=ap.DtypeConversion.FLOAT32)
    def double(x):
        return x * 2

    np.testing.assert_array_equal(tf.function(double)(tf.ones(2)).numpy(), [2.0, 2.0])
    traced = "a traced result .inside tf.function. cannot be converted"
    with pytest.raises(UnsupportedArrayError, match=traced):  # another dtype: refused
        tf.function(double)(tf.ones(2, tf.int32))


# --- symbolic tensors (inside tf.function) ---------------------------------------------


def test_tensorflow_declared_functions_take_symbolic_tensors_as_they_are() -> None:
    import tensorflow as tf

    import arrayport as ap

    seen: list[str] = []

    @ap.memory_type("tensorflow")
    def blur(x: tf.Tensor) -> tf.Tensor:
        seen.append(type(x).__name__)
        return (x + tf.roll(x, 1, axis=0) + tf.roll(x, -1, axis=0)) / 3.0

    @tf.function
    def step(x: tf.Tensor) -> tf.Tensor:
        return blur(x) * 2.0

    x = tf.constant([0.0, 3.0, 6.0])
    np.testing.assert_allclose(step(x).numpy(), [6.0, 6.0, 6.0])
    assert seen == ["SymbolicTensor"]  # traced once, given the graph's tensor
    np.testing.assert_allclose(blur(x).numpy(), [3.0, 3.0, 3.0])  # eager calls as before


def test_symbolic_results_are_not_converted_to_another_dtype() -> None:
    import tensorflow as tf

    import arrayport as ap

    @ap.memory_type("tensorflow")
    def widen(x: tf.Tensor) -> tf.Tensor:
        return tf.cast(x, tf.float64)

    x = tf.constant([1.0, 2.0])
    with pytest.raises(UnsupportedArrayError, match="NATIVE_OUTPUT") as caught:
        tf.function(widen)(x)
    assert str(caught.value).startswith("the result of ")
    assert "returned float64 for float32 input, and dtype_conversion=PRESERVE_INPUT" in (
        str(caught.value)
    )
    assert "a traced result (inside tf.function) cannot be converted" in str(caught.value)
    native = widen.options(dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    assert tf.function(native)(x).dtype == tf.float64


@pytest.mark.parametrize(
    "call",
    [
        "numpy-declared",
        "convert to numpy",
        "convert to tensorflow",
        "plan",
        "convert_dtype",
        "output numpy",
        "slice by slice",
    ],
)
def test_everything_that_reads_or_moves_a_symbolic_tensor_refuses_it(call: str) -> None:
    import tensorflow as tf

    import arrayport as ap

    @ap.memory_type("tensorflow")
    def double(x: tf.Tensor) -> tf.Tensor:
        return x * 2.0

    calls = {
        "numpy-declared": lambda t: ap.memory_type("numpy")(np.negative)(t),
        "convert to numpy": lambda t: ap.convert(t, "numpy"),
        "convert to tensorflow": lambda t: ap.convert(t, "tensorflow"),
        "plan": lambda t: ap.plan(t, "tensorflow") and t,
        "convert_dtype": lambda t: ap.convert_dtype(t, "float64"),
        "output numpy": lambda t: double.options(output="numpy")(t),
        "slice by slice": lambda t: double.options(slice_by_slice=True)(tf.reshape(t, (1, 1, 2))),
    }
    with pytest.raises(UnsupportedArrayError, match="symbolic tensors"):
        tf.function(calls[call])(tf.constant([1.0, 2.0]))


def test_variables_are_still_refused_by_tensorflow_declared_functions() -> None:
    import tensorflow as tf

    import arrayport as ap

    @ap.memory_type("tensorflow")
    def double(x: tf.Tensor) -> tf.Tensor:
        return x * 2.0

    with pytest.raises(UnsupportedArrayError, match=r"tf\.convert_to_tensor"):
        double(tf.Variable([1.0]))


def test_a_sliced_call_on_symbolic_tensors_of_unknown_extents_is_refused_by_name() -> None:
    # int(None) of an unknown dimension: a bare TypeError.
    import tensorflow as tf

    import arrayport as ap

    @ap.memory_type("tensorflow", slice_by_slice=True)
    def double(p: tf.Tensor) -> tf.Tensor:
        return p * 2.0

    traced = tf.function(double, input_signature=[tf.TensorSpec([None, None, None])])
    with pytest.raises(UnsupportedArrayError, match="symbolic tensors"):
        traced(tf.ones((2, 3, 4)))


def test_a_jax_array_in_a_column_major_layout_is_refused_by_name(be) -> None:
    # tensorflow's own InvalidArgumentError ("Invalid strides array from DLPack") escaped.
    # The plan now copies such an array (backends/_jax_layouts describes its strides): the
    # import is asked directly here, as a route that took the layout for row-major would.
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    import arrayport as ap

    try:
        from jax.experimental.layout import Format, Layout
    except ImportError:
        pytest.skip("this jax has no device layouts")
    x = jnp.arange(12, dtype=jnp.float32).reshape(3, 4)
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    try:
        y = jax.device_put(x, Format(Layout(major_to_minor=(1, 0)), sharding))
    except TypeError:  # jax before 0.7 spells layouts otherwise (DeviceLocalLayout)
        pytest.skip("this jax spells device layouts differently")
    with pytest.raises(ap.ConversionError, match="not in row-major order") as info:
        be.from_dlpack(y, CPU)
    assert info.value.target == ap.MemoryType.TENSORFLOW
    assert ap.plan(y, "tensorflow").method == "host-copy"
    assert np.array_equal(ap.convert(y, "tensorflow").numpy(), np.asarray(x))
    assert np.array_equal(ap.convert(jnp.copy(y), "tensorflow").numpy(), np.asarray(x))


def test_copy_of_tensors_numpy_cannot_view_is_made_in_tensorflow(be) -> None:
    # copy=True within tensorflow went through a numpy view: float8 and int4 (no DLPack)
    # and an empty tensor whose extents pass numpy's byte limit raised tensorflow's and
    # numpy's own errors.
    import arrayport as ap

    tf = be.load()
    f8 = tf.cast(tf.constant([1.0, 2.5, -3.0]), tf.dtypes.experimental.float8_e4m3fn)
    i4 = tf.cast(tf.constant([1, -2, 7]), tf.dtypes.experimental.int4)
    big = tf.zeros([2**40, 0, 2**40])
    for x in (f8, i4, big):
        out = ap.convert(x, "tensorflow", copy=True)
        assert out is not x
        assert (out.dtype, tuple(out.shape)) == (x.dtype, tuple(x.shape))
        assert be.device_of(out) == CPU
        if x.shape.num_elements():
            np.testing.assert_array_equal(out.numpy(), x.numpy())
