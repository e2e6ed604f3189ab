"""Tests of arrayport.dispatch: the memory_type decorator and the dispatched callable.

The contract's validation is tested in test_contract.py; converting arguments, placing
results and the dtype policy in test_placement.py; which arguments are arrays in
test_arguments.py.

Frameworks are imported inside the tests, not at the top: the multiprocessing test starts
fresh interpreters that import this module, and they need only numpy and arrayport.
"""

from __future__ import annotations

import importlib.util
import inspect
import multiprocessing
import pickle
import threading
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import INSTALLED, skip_unless_installed

# --- module-level functions (pickled by reference) -------------------------------------


@ap.memory_type("numpy")
def scale(image: Any, factor: float = 2.0) -> Any:
    """Multiply by ``factor``."""
    return image * factor


@ap.memory_type("numpy", output="declared")
def describe(image: Any, *, label: str = "x") -> tuple[str, int]:
    return label, int(image.size)


def soft_threshold(x: Any, t: float = 0.5) -> Any:
    """Written once against the array API: numpy, torch, jax and cupy alike."""
    SEEN.append(ap.detect_memory_type(x).value)
    xp = ap.namespace(x)
    shrunk = xp.where(xp.abs(x) > t, x - xp.sign(x) * t, xp.zeros_like(x))
    return shrunk / (1.0 + xp.mean(xp.abs(x)))


def seen_type(x: Any) -> Any:
    """Returns its input unchanged; the test reads the type it was given from a list."""
    SEEN.append(type(x).__module__.partition(".")[0])
    return x


SEEN: list[str] = []


def _float_image(shape: tuple[int, ...] = (8, 8), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- options and decorating ------------------------------------------------------------


def test_options_makes_a_new_callable_and_leaves_the_original() -> None:
    declared = scale.options(output="declared", slice_by_slice=True)
    assert declared is not scale
    assert declared.contract.output == "declared"
    assert declared.contract.slice_by_slice is True
    assert scale.contract.output == "input"
    assert declared.__wrapped__ is scale.__wrapped__
    np.testing.assert_array_equal(declared(np.ones(3)), np.full(3, 2.0))


def test_options_rejects_unknown_and_invalid_values() -> None:
    with pytest.raises(ap.InvalidOptionError, match=r"unknown option.*colour"):
        scale.options(colour="red")
    with pytest.raises(ap.InvalidOptionError, match="output"):
        scale.options(output="elsewhere")


def test_bare_decorator_is_an_error_naming_the_fix() -> None:
    with pytest.raises(ap.InvalidOptionError, match=r"memory_type\('torch'\)"):
        ap.memory_type(seen_type)  # type: ignore[arg-type]


def test_decorating_something_that_is_not_callable_fails() -> None:
    with pytest.raises(ap.InvalidOptionError, match="decorates functions"):
        ap.memory_type("numpy")(42)  # type: ignore[arg-type]


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="cupy is installed")
def test_uninstalled_memory_type_decorates_but_calls_raise_naming_the_extra() -> None:
    f = ap.memory_type("cupy")(seen_type)  # importing a module with this must work
    assert f.contract.memory_type is MemoryType.CUPY
    with pytest.raises(ap.BackendUnavailableError, match=r"arrayport\[cupy"):
        f(np.ones(3))


# --- wrapping: signature, methods, pickling ----------------------------------------------


def test_wrapper_keeps_signature_name_doc_and_wrapped() -> None:
    def original(image: Any, sigma: float = 1.0, *, mode: str = "reflect") -> Any:
        """Docs."""
        return image

    f = ap.memory_type("torch")(original)
    assert inspect.signature(f) == inspect.signature(original)
    assert f.__wrapped__ is original
    assert f.__name__ == "original"
    assert f.__doc__ == "Docs."
    assert f.__qualname__ == original.__qualname__


class Filter:
    def __init__(self, offset: float) -> None:
        self.offset = offset

    @ap.memory_type("torch")
    def apply(self, image: Any, gain: float = 1.0) -> Any:
        SEEN.append(type(image).__module__.partition(".")[0])
        return image * gain + self.offset

    @staticmethod
    @ap.memory_type("numpy")
    def static(image: Any) -> Any:
        return image + 1


@skip_unless_installed(MemoryType.TORCH)
def test_decorated_methods_bind_self_and_keep_their_signature() -> None:
    SEEN.clear()
    filt = Filter(10.0)
    out = filt.apply(np.ones(3, np.float32), gain=2.0)
    assert SEEN == ["torch"]
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, np.full(3, 12.0, np.float32))
    assert inspect.signature(filt.apply) == inspect.signature(
        Filter.apply.__wrapped__.__get__(filt)
    )
    assert list(inspect.signature(Filter.apply).parameters) == ["self", "image", "gain"]
    np.testing.assert_array_equal(Filter.apply(filt, np.zeros(2, np.float32)), [10.0, 10.0])
    np.testing.assert_array_equal(Filter.static(np.zeros(2)), [1.0, 1.0])
    assert Filter.apply.contract.memory_type is MemoryType.TORCH


def test_module_level_function_pickles_by_reference() -> None:
    assert pickle.loads(pickle.dumps(scale)) is scale
    variant = scale.options(output="declared")
    back = pickle.loads(pickle.dumps(variant))
    assert back.contract == variant.contract
    assert back.__wrapped__ is scale.__wrapped__
    assert pickle.loads(pickle.dumps(Filter.apply)) is Filter.apply


def test_decorated_function_runs_in_a_multiprocessing_pool() -> None:
    # spawn: fresh interpreters that import this module by name, as on macOS and Windows.
    ctx = multiprocessing.get_context("spawn")
    images = [np.full((4, 4), i, np.float32) for i in range(4)]
    with ctx.Pool(2) as pool:
        results = pool.map(scale, images)
        labels = pool.starmap(describe, [(im,) for im in images])
    for i, r in enumerate(results):
        np.testing.assert_array_equal(r, np.full((4, 4), 2.0 * i, np.float32))
    assert labels == [("x", 16)] * 4


# --- computing where declared ----------------------------------------------------------


@skip_unless_installed(MemoryType.TORCH)
def test_numpy_in_numpy_out_computed_where_declared() -> None:
    import torch

    got: list[Any] = []

    @ap.memory_type("torch")
    def f(image: Any, sigma: float = 1.0) -> Any:
        got.append(image)
        return image * sigma

    a = _float_image()
    out = f(a, sigma=3.0)
    assert isinstance(got[0], torch.Tensor)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, a * 3.0)


def test_no_array_argument_runs_untouched() -> None:
    received: list[Any] = []

    @ap.memory_type("torch")
    def f(*args: Any, **kwargs: Any) -> str:
        received.extend([args, kwargs])
        return "ran"

    payload = [1, 2.5, "text"]
    assert f(payload, None, key=payload) == "ran"
    assert received[0][0] is payload
    assert received[1]["key"] is payload


@skip_unless_installed(MemoryType.TORCH)
def test_same_memory_type_input_is_passed_as_is() -> None:
    import torch

    got: list[Any] = []
    t = torch.ones(3)

    @ap.memory_type("torch")
    def f(x: Any) -> Any:
        got.append(x)
        return x

    assert f(t) is t
    assert got[0] is t


def test_numpy_declared_numpy_input_is_passed_and_returned_as_is() -> None:
    a = np.arange(4.0)
    ident = ap.memory_type("numpy")(lambda x: x)
    assert ident(a) is a


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("declared", ["numpy", "torch"])
@pytest.mark.parametrize("how", ["one argument", "two arguments", "in a list", "by keyword"])
def test_masked_and_matrix_arguments_are_refused_before_the_function_runs(
    declared: str, how: str
) -> None:
    # A numpy-declared function once got a masked array as it was (nothing to convert)
    # and an array-API body dropped its mask; np.matrix turned its x * x into a matrix
    # product there, elementwise on torch. Both are refused on every call, every path.
    if declared == "torch":
        pytest.importorskip("torch")
    ran: list[Any] = []

    @ap.memory_type(declared)
    def f(x: Any, y: Any = None) -> Any:
        ran.append(x)
        return x * x

    masked = np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    matrix = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    plain = np.ones(3)
    for bad, match in ((masked, "mask would be lost"), (matrix, r"np\.asarray\(x\)")):
        calls = {
            "one argument": lambda b=bad: f(b),
            "two arguments": lambda b=bad: f(plain, b),
            "in a list": lambda b=bad: f([plain, b]),
            "by keyword": lambda b=bad: f(plain, y=b),
        }
        for _ in range(2):  # the second call takes the fast paths the first one set up
            with pytest.raises(ap.UnsupportedArrayError, match=match):
                calls[how]()
    assert ran == []
    assert f(np.asarray(matrix)).tolist() == [[1.0, 4.0], [9.0, 16.0]]  # the remedy


def test_memory_maps_are_still_passed_to_numpy_functions(tmp_path: Any) -> None:
    m = np.memmap(tmp_path / "m.bin", dtype="float32", mode="w+", shape=(3,))
    m[:] = [1.0, 2.0, 3.0]
    ident = ap.memory_type("numpy")(lambda x: x)
    assert ident(m) is m


@skip_unless_installed(MemoryType.JAX)
def test_read_only_input_is_not_handed_over_writable() -> None:
    import jax.numpy as jnp

    @ap.memory_type("numpy")
    def write(x: Any) -> Any:
        x[0] = 99.0  # jax memory seen through numpy must not be writable
        return x

    j = jnp.arange(3.0)
    with pytest.raises(ValueError, match="read-only"):
        write(j)
    assert float(j[0]) == 0.0


# --- write once ------------------------------------------------------------------------

_XP_TYPES = [
    pytest.param(mt, marks=skip_unless_installed(mt))
    for mt in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.JAX)
] + [pytest.param(MemoryType.CUPY, marks=[pytest.mark.gpu, skip_unless_installed(MemoryType.CUPY)])]


@pytest.mark.parametrize("mt", _XP_TYPES)
def test_a_function_written_once_runs_on_every_array_api_memory_type(mt: MemoryType) -> None:
    declared = ap.memory_type(mt)(soft_threshold)
    a = _float_image((16, 16), seed=7)
    expected = soft_threshold(a)  # undecorated, on numpy
    SEEN.clear()
    out = declared(a, t=0.5)
    assert [mt.value] == SEEN  # computed where declared
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "mt",
    [
        pytest.param(MemoryType.TENSORFLOW, marks=skip_unless_installed(MemoryType.TENSORFLOW)),
        pytest.param(
            MemoryType.PYCLESPERANTO, marks=skip_unless_installed(MemoryType.PYCLESPERANTO)
        ),
    ],
)
def test_namespace_of_storage_only_frameworks_says_there_is_none(mt: MemoryType) -> None:
    f = ap.memory_type(mt)(soft_threshold)
    with pytest.raises(ap.UnsupportedArrayError, match="no array API namespace"):
        f(_float_image())
    with pytest.raises(ap.UnsupportedArrayError, match="no array API namespace"):
        ap.namespace(mt)


@skip_unless_installed(MemoryType.TENSORFLOW)
def test_a_tensorflow_native_function_works_with_the_decorator() -> None:
    import tensorflow as tf

    @ap.memory_type("tensorflow")
    def square_plus(x: Any, y: Any) -> Any:
        assert isinstance(x, tf.Tensor)
        return tf.math.square(x) + y

    a = _float_image()
    out = square_plus(a, np.float32(1.0))
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, a * a + 1.0, rtol=1e-6)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_pyclesperanto_native_function_works_with_the_decorator() -> None:
    import pyclesperanto as cle

    @ap.memory_type("pyclesperanto")
    def add_one(x: Any) -> Any:
        assert ap.detect_memory_type(x) is MemoryType.PYCLESPERANTO
        return cle.add_image_and_scalar(x, scalar=1.0)

    a = _float_image()
    out = add_one(a)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, a + 1.0, rtol=1e-6)


# --- slice by slice --------------------------------------------------------------------


def _row_cumsum_2d(image: Any, weights: Any = None) -> Any:
    assert len(image.shape) == 2, "a 2-D function"
    xp = ap.namespace(image)
    out = xp.cumulative_sum(image, axis=1)
    return out if weights is None else out * weights


@pytest.mark.parametrize(
    "mt",
    [
        pytest.param(mt, marks=skip_unless_installed(mt))
        for mt in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.JAX)
    ],
)
def test_slice_by_slice_runs_a_2d_function_on_each_slice(mt: MemoryType) -> None:
    f = ap.memory_type(mt, slice_by_slice=True)(_row_cumsum_2d)
    stack = _float_image((3, 4, 5))
    weights = _float_image((3, 4, 5), seed=9)  # same shape: sliced along with the image
    expected = np.stack([np.cumsum(s, axis=1) * w for s, w in zip(stack, weights, strict=True)])
    out = f(stack, weights=weights)
    assert isinstance(out, np.ndarray)
    assert out.shape == (3, 4, 5)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    # 2-D input runs once.
    np.testing.assert_allclose(f(stack[0]), np.cumsum(stack[0], axis=1), rtol=1e-5)
    with pytest.raises(AssertionError, match="a 2-D function"):
        f.options(slice_by_slice=False)(stack)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_slice_by_slice_on_pyclesperanto() -> None:
    import pyclesperanto as cle

    calls: list[tuple[int, ...]] = []

    @ap.memory_type("pyclesperanto", slice_by_slice=True)
    def blur(x: Any) -> Any:
        calls.append(tuple(x.shape))
        return cle.gaussian_blur(x, sigma_x=1.0, sigma_y=1.0, sigma_z=0.0)

    stack = _float_image((3, 6, 7))
    out = blur(stack)
    assert calls == [(6, 7)] * 3
    expected = np.stack(
        [
            np.asarray(cle.pull(cle.gaussian_blur(cle.push(s), sigma_x=1.0, sigma_y=1.0)))
            for s in stack
        ]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


# --- threads and devices ---------------------------------------------------------------


@skip_unless_installed(MemoryType.TORCH)
def test_dispatch_is_thread_safe_8_threads_500_calls() -> None:
    f = ap.memory_type("torch")(soft_threshold)
    inputs = [_float_image((8, 8), seed=i) for i in range(8)]
    expected = [f(a) for a in inputs]
    failures: list[str] = []
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        barrier.wait()
        for n in range(500):
            out = f(inputs[i])
            if not (isinstance(out, np.ndarray) and np.array_equal(out, expected[i])):
                failures.append(f"thread {i} call {n}")
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


@pytest.mark.gpu
@skip_unless_installed(MemoryType.TORCH)
def test_torch_calls_run_on_a_per_thread_cuda_stream() -> None:
    import torch

    streams: dict[int, Any] = {}

    @ap.memory_type("torch", device="cuda")
    def f(x: Any) -> Any:
        assert x.is_cuda
        streams[threading.get_ident()] = torch.cuda.current_stream()
        return x * 2

    results: list[Any] = []

    def work() -> None:
        with ap.use_device(0):
            results.append(f(np.ones(4, np.float32)))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(streams) == 2
    a, b = streams.values()
    assert a != b
    assert torch.cuda.default_stream(0) not in (a, b)
    for r in results:
        np.testing.assert_array_equal(r, np.full(4, 2.0, np.float32))


@pytest.mark.gpu
@skip_unless_installed(MemoryType.CUPY)
def test_cupy_calls_run_on_a_per_thread_stream_on_the_current_device() -> None:
    import cupy as cp

    streams: list[Any] = []

    @ap.memory_type("cupy")
    def f(x: Any) -> Any:
        streams.append(cp.cuda.get_current_stream())
        assert x.device.id == 0
        return x + 1

    with ap.use_device(0):
        out = f(np.zeros(3, np.float32))
    np.testing.assert_array_equal(out, np.ones(3, np.float32))
    assert streams[0] != cp.cuda.Stream.null


# --- dask ------------------------------------------------------------------------------


@skip_unless_installed(MemoryType.DASK)
def test_dask_input_is_handed_to_the_dask_helper_not_converted() -> None:
    import dask.array as da

    f = ap.memory_type("numpy")(lambda x: x * 2)
    d = da.from_array(np.arange(16.0).reshape(4, 4), chunks=2)
    if importlib.util.find_spec("arrayport._dask_dispatch") is None:
        with pytest.raises(ap.BackendUnavailableError, match=r"arrayport\[dask\]"):
            f(d)
        return
    out = f(d)
    assert type(out).__module__.startswith("dask")
    np.testing.assert_array_equal(out.compute(), np.arange(16.0).reshape(4, 4) * 2)


# --- slice by slice with arrays inside lists ------------------------------------------


def test_slice_by_slice_leaves_arrays_inside_lists_whole() -> None:
    shapes: list[tuple[int, ...]] = []

    @ap.memory_type("numpy", slice_by_slice=True)
    def f(images: Any) -> Any:
        shapes.append(images[0].shape)
        return images[0]

    stack = np.zeros((3, 4, 5), np.float32)
    assert f([stack]).shape == (3, 4, 5)
    assert shapes == [(3, 4, 5)]


def _fails_once(error: BaseException) -> Any:
    calls: list[int] = []

    def f(x: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the first call warms the function up; the second fails once
            raise error
        return x * 2

    return f, calls


def test_fast_paths_still_recover_from_out_of_memory_and_pass_other_errors() -> None:
    f, calls = _fails_once(MemoryError("numpy could not allocate"))
    g = ap.memory_type("numpy")(f)
    a = np.arange(3.0)
    g(a)
    np.testing.assert_array_equal(g(a), [0, 2, 4])  # released and retried
    assert len(calls) == 3
    h, _ = _fails_once(ValueError("not memory"))
    k = ap.memory_type("numpy")(h)
    k(a)
    with pytest.raises(ValueError, match="not memory"):  # untouched, not retried
        k(a)


@skip_unless_installed(MemoryType.TORCH)
def test_quick_round_trip_still_recovers_from_out_of_memory() -> None:
    f, calls = _fails_once(RuntimeError("DefaultCPUAllocator: can't allocate memory"))
    g = ap.memory_type("torch")(f)
    a = np.arange(3.0)
    for _ in range(2):  # the planned call, then the quick one that remembers the round trip
        calls.clear()
        g(a)
    calls.clear()
    calls.append(1)  # the next call is the failing one
    np.testing.assert_array_equal(g(a), [0, 2, 4])
    assert g._round_trip is not None
    assert len(calls) == 3


# --- out of memory while moving the inputs -------------------------------------------------


@pytest.fixture
def small_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pyclesperanto device that holds at most 64 bytes per buffer: moving a larger
    input there raises OutOfMemoryError before the function runs."""
    if MemoryType.PYCLESPERANTO not in INSTALLED:
        pytest.skip("pyclesperanto is not installed")
    from arrayport.backends import pyclesperanto as be

    monkeypatch.setattr(be, "max_buffer_bytes", lambda device: 64)


@pytest.mark.usefixtures("small_device")
def test_inputs_that_do_not_fit_are_split_before_moving() -> None:
    import pyclesperanto as cle

    seen: list[tuple[str, int]] = []

    @ap.memory_type("pyclesperanto", oom=ap.OOMPolicy(retries=0, split_axis=0, release=False))
    def brighten(a: Any) -> Any:
        seen.append((ap.detect_memory_type(a).value, int(a.shape[0])))
        return cle.add_image_and_scalar(a, scalar=1)

    x = np.arange(32, dtype=np.float32)  # 128 bytes: two 64-byte pieces fit
    out = brighten(x)
    assert seen == [("pyclesperanto", 16), ("pyclesperanto", 16)]
    assert isinstance(out, np.ndarray)  # joined where the result goes (the input's type)
    np.testing.assert_array_equal(out, x + 1)


@pytest.mark.usefixtures("small_device")
def test_each_pieces_result_leaves_the_device_before_the_next_piece_runs(monkeypatch) -> None:
    # So that the memory that ran out holds one piece's result at a time (seen in the code
    # after jax's pieces ran out of memory while being joined on an H100).
    from arrayport import _oom_recovery

    events: list[str] = []
    real_convert = _oom_recovery.convert

    def recording_convert(x: Any, to: Any, **kwargs: Any) -> Any:
        events.append(f"to {ap.MemoryType(to).value}")
        return real_convert(x, to, **kwargs)

    monkeypatch.setattr(_oom_recovery, "convert", recording_convert)

    @ap.memory_type("pyclesperanto", oom=ap.OOMPolicy(retries=0, split_axis=0, release=False))
    def brighten(a: Any) -> Any:
        events.append(f"run {int(a.shape[0])}")
        return a + 1

    x = np.arange(32, dtype=np.float32)  # 128 bytes: two 64-byte pieces fit
    np.testing.assert_array_equal(brighten(x), x + 1)
    assert events == ["run 16", "to numpy", "run 16", "to numpy"]


@pytest.mark.usefixtures("small_device")
def test_inputs_that_do_not_fit_fall_back_and_retries_convert_again() -> None:
    seen: list[str] = []

    @ap.memory_type("pyclesperanto", oom=ap.OOMPolicy(retries=1, fallback="numpy", release=False))
    def brighten(a: Any) -> Any:
        seen.append(ap.detect_memory_type(a).value)
        return a + 2

    x = np.arange(32, dtype=np.float32)
    out = brighten(x)
    assert seen == ["numpy"]  # two conversions failed (a retry), then the fallback ran
    np.testing.assert_array_equal(out, x + 2)
    # Without a remedy in the policy: OutOfMemoryError naming what was tried, not the
    # conversion's error from before the policy.
    plain = ap.memory_type("pyclesperanto", oom=ap.OOMPolicy(retries=1, release=False))(lambda a: a)
    with pytest.raises(ap.OutOfMemoryError, match="gave up after 2 attempts") as info:
        plain(x)
    assert info.value.memory_type is MemoryType.PYCLESPERANTO
    disabled = ap.memory_type("pyclesperanto", oom=ap.OOMPolicy.disabled())(lambda a: a)
    with pytest.raises(ap.OutOfMemoryError, match="maximum buffer size"):
        disabled(x)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize("scaling", ["value", "unit", "minmax"])
def test_bool_input_comes_back_bool_from_pyclesperanto_whatever_the_scaling(scaling: str) -> None:
    # pyclesperanto holds bool as uint8 0 and 1: PRESERVE_INPUT read that uint8 at the
    # declared scaling, and UNIT turned every 1 into False (1/255).
    mask = np.array([[True, False, True, True]])
    same = ap.memory_type("pyclesperanto", scaling=scaling)(lambda x: x)
    got = same(mask)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, mask)
