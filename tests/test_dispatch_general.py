"""Tests of arrayport._dispatch_general: the dispatched calls the fast paths do not take
(arguments to convert, a declared device, slicing, CUDA streams, dask input, running out of
memory while moving the inputs).

Calls go through the decorator, as users make them; call_general and the dask hand-off are
also called directly.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport import _dispatch_general as general
from tests._oom_support import fail_first_move
from tests.conftest import INSTALLED, skip_unless_installed


def _float_image(shape: tuple[int, ...] = (8, 8), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- call_general directly --------------------------------------------------------------


def test_call_general_without_array_arguments_returns_the_functions_own_result() -> None:
    f = ap.memory_type("numpy")(lambda n, *, label: f"{label}{n}")
    assert general.call_general(f, (3,), {"label": "x"}) == (None, None, "x3")


def test_call_general_places_the_result_and_names_the_first_array() -> None:
    f = ap.memory_type("numpy", output="declared")(lambda n, a, *, b: a + b)
    a, b = np.arange(3.0), np.ones(3)
    first, kind, result = general.call_general(f, (5, a), {"b": b})
    assert first is a
    assert kind is MemoryType.NUMPY
    np.testing.assert_array_equal(result, a + 1)


def test_dask_input_without_dask_dispatch_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes the import fail as if the module were not installed.
    monkeypatch.setitem(sys.modules, "arrayport._dask_dispatch", None)
    f = ap.memory_type("numpy")(lambda x: x)
    with pytest.raises(ap.BackendUnavailableError, match=r"arrayport\[dask\]") as info:
        general._run_on_dask(f, (np.ones(2),), {}, None)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


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


def test_slice_by_slice_leaves_arrays_inside_lists_whole() -> None:
    shapes: list[tuple[int, ...]] = []

    @ap.memory_type("numpy", slice_by_slice=True)
    def f(images: Any) -> Any:
        shapes.append(images[0].shape)
        return images[0]

    stack = np.zeros((3, 4, 5), np.float32)
    assert f([stack]).shape == (3, 4, 5)
    assert shapes == [(3, 4, 5)]


# --- CUDA streams ---------------------------------------------------------------------


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

    f = ap.memory_type("numpy", blockwise=True)(lambda x: x * 2)
    d = da.from_array(np.arange(16.0).reshape(4, 4), chunks=2)
    if importlib.util.find_spec("arrayport._dask_dispatch") is None:
        with pytest.raises(ap.BackendUnavailableError, match=r"arrayport\[dask\]"):
            f(d)
        return
    out = f(d)
    assert type(out).__module__.startswith("dask")
    np.testing.assert_array_equal(out.compute(), np.arange(16.0).reshape(4, 4) * 2)


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

    x = np.arange(30, dtype=np.float32)  # 120 bytes: cut into 14 and 16 rows, which fit
    out = brighten(x)
    assert seen == [("pyclesperanto", 14), ("pyclesperanto", 16)]
    assert isinstance(out, np.ndarray)  # joined where the result goes (the input's type)
    np.testing.assert_array_equal(out, x + 1)


@pytest.mark.usefixtures("small_device")
def test_each_pieces_result_leaves_the_device_before_the_next_piece_runs(monkeypatch) -> None:
    # So that the memory that ran out holds one piece's result at a time (seen in the code
    # after jax's pieces ran out of memory while being joined on an H100).
    from arrayport import _results

    events: list[str] = []
    real_convert = _results.convert

    def recording_convert(x: Any, to: Any, **kwargs: Any) -> Any:
        events.append(f"to {ap.MemoryType(to).value}")
        return real_convert(x, to, **kwargs)

    monkeypatch.setattr(_results, "convert", recording_convert)

    @ap.memory_type("pyclesperanto", oom=ap.OOMPolicy(retries=0, split_axis=0, release=False))
    def brighten(a: Any) -> Any:
        events.append(f"run {int(a.shape[0])}")
        return a + 1

    x = np.arange(30, dtype=np.float32)  # 120 bytes: pieces of 14 and 16 rows fit
    np.testing.assert_array_equal(brighten(x), x + 1)
    # Each piece's placement moves it, and the policy's own move of it is then a no-op
    # (numpy to numpy): repeats of one event are one step.
    steps = [e for i, e in enumerate(events) if i == 0 or e != events[i - 1]]
    assert steps == ["run 14", "to numpy", "run 16", "to numpy"]


@pytest.mark.usefixtures("small_device")
def test_inputs_that_do_not_fit_fall_back_and_retries_convert_again() -> None:
    seen: list[str] = []

    @ap.memory_type("pyclesperanto", oom=ap.OOMPolicy(retries=1, fallback="numpy", release=False))
    def brighten(a: Any) -> Any:
        seen.append(ap.detect_memory_type(a).value)
        return a + 2

    x = np.arange(32, dtype=np.float32)
    out = brighten(x)
    assert seen == ["numpy"]  # the conversion failed (not retried: a fixed limit), fallback
    np.testing.assert_array_equal(out, x + 2)
    # Without a remedy in the policy: OutOfMemoryError naming what was tried, not the
    # conversion's error from before the policy; the buffer limit is not retried.
    plain = ap.memory_type("pyclesperanto", oom=ap.OOMPolicy(retries=1, release=False))(lambda a: a)
    expected = r"gave up after 1 attempt, .*maximum buffer"
    with pytest.raises(ap.OutOfMemoryError, match=expected) as info:
        plain(x)
    assert info.value.memory_type is MemoryType.PYCLESPERANTO
    disabled = ap.memory_type("pyclesperanto", oom=ap.OOMPolicy.disabled())(lambda a: a)
    with pytest.raises(ap.OutOfMemoryError, match="maximum buffer size"):
        disabled(x)


@pytest.mark.usefixtures("small_device")
def test_a_slice_by_slice_fallback_after_inputs_did_not_fit_runs_slice_by_slice() -> None:
    # The fallback ran the 2-D function once on the whole 3-D stack: each plane's mean
    # came back -32, 0, 32 instead of 0, with no error (retries and splits kept slicing).
    seen: list[tuple[int, ...]] = []

    @ap.memory_type(
        "pyclesperanto",
        slice_by_slice=True,
        oom=ap.OOMPolicy(retries=0, release=False, fallback="numpy"),
    )
    def centre(plane: Any) -> Any:
        seen.append(tuple(plane.shape))
        return plane - plane.mean()

    x = np.arange(3 * 4 * 8, dtype=np.float32).reshape(3, 4, 8)  # planes of 128 bytes
    out = centre(x)
    assert seen == [(4, 8)] * 3  # on numpy, after the planes did not fit the device
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out, x - x.mean(axis=(1, 2), keepdims=True))


# --- array defaults ---------------------------------------------------------------------

KERNEL = np.array([1.0, 2.0, 3.0], np.float32)


@skip_unless_installed(MemoryType.TORCH)
def test_a_slice_by_slice_split_cuts_the_stack_never_a_slice() -> None:
    # The policy ran on each 2-D slice: an out-of-memory error in the function split the
    # slice itself along split_axis=0 (rows of one plane, each centred on its own mean),
    # while one in the conversion split the stack: 6.0 off the per-slice answer.
    from arrayport.testing import inject_oom

    seen: list[tuple[int, ...]] = []
    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)

    @ap.memory_type("numpy", slice_by_slice=True, oom=policy)
    def centre(plane: Any) -> Any:
        seen.append(plane.shape)
        return plane - plane.mean()

    x = np.arange(5 * 4 * 4, dtype=np.float32).reshape(5, 4, 4)
    with inject_oom("numpy", times=1):
        out = centre(x)
    np.testing.assert_allclose(out, x - x.mean(axis=(1, 2), keepdims=True))
    assert set(seen) == {(4, 4)}  # whole slices only


def test_a_slice_by_slice_call_that_is_not_sliced_is_not_split() -> None:
    # A 2-D input runs once, as one slice: split along axis 0, the function got half a
    # slice (rows centred on their own means). Not split, the policy goes on to raise.
    from arrayport.testing import inject_oom

    @ap.memory_type(
        "numpy", slice_by_slice=True, oom=ap.OOMPolicy(retries=0, release=False, split_axis=0)
    )
    def centre(plane: Any) -> Any:
        assert plane.ndim == 2
        return plane - plane.mean()

    x = np.arange(16.0).reshape(4, 4) ** 2
    with inject_oom("numpy", times=1), pytest.raises(ap.OutOfMemoryError):
        centre(x)
    stack = np.stack([x, x + 1, x * 2])
    with inject_oom("numpy", times=1):  # a stack is split into fewer slices
        np.testing.assert_allclose(centre(stack), stack - stack.mean(axis=(1, 2), keepdims=True))
    minus_3 = centre.options(oom=ap.OOMPolicy(retries=0, release=False, split_axis=-3))
    with inject_oom("numpy", times=1):  # -3: the stack's axis 0 too
        np.testing.assert_allclose(minus_3(stack), stack - stack.mean(axis=(1, 2), keepdims=True))


@skip_unless_installed(MemoryType.JAX)
def test_a_slice_by_slice_fallback_runs_every_slice_there() -> None:
    # With the policy per slice, one slice fell back to numpy (float64 from int32 input)
    # and the others stayed in jax (float32): the restack refused the mix.
    from arrayport.testing import inject_oom

    @ap.memory_type(
        "jax",
        oom=ap.OOMPolicy(retries=0, fallback="numpy"),
        dtype_conversion=ap.DtypeConversion.FLOAT32,
        slice_by_slice=True,
    )
    def halve(p: Any) -> Any:
        xp = ap.namespace(p)
        return xp.divide(p, 2)

    x = np.arange(8, dtype=np.int32).reshape(2, 2, 2)
    with inject_oom("jax", times=1):  # the first run in jax
        out = halve(x)
    assert type(out) is np.ndarray
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x / 2)


def test_array_defaults_are_moved_like_arguments() -> None:
    # A default array reached the function as numpy: torch's own calls refused it
    # (xp.multiply(Tensor, ndarray)), and `x * kernel` quietly computed in numpy.
    torch = pytest.importorskip("torch")

    seen: list[tuple[type, type]] = []

    @ap.memory_type("torch")
    def weigh(x: Any, kernel: Any = KERNEL, /, scale: float = 1.0, *, offset: Any = KERNEL) -> Any:
        seen.append((type(kernel), type(offset)))
        return x * kernel * scale + offset

    x = np.ones(3, np.float32)
    np.testing.assert_array_equal(weigh(x), KERNEL * 2)
    np.testing.assert_array_equal(weigh(x, KERNEL * 0), KERNEL)  # given: not replaced
    np.testing.assert_array_equal(weigh(x, offset=KERNEL * 0), KERNEL)
    assert seen == [(torch.Tensor, torch.Tensor)] * 3
    assert [d[:2] for d in general.array_defaults(weigh.__wrapped__)] == [
        (1, None),
        (None, "offset"),  # keyword-only: never filled by position
    ]


@skip_unless_installed(MemoryType.TORCH)
def test_a_keyword_only_default_after_star_args_is_moved_however_many_are_passed() -> None:
    # Its place in the signature (1) was taken for a position: with two or more positional
    # arguments the default counted as given and reached torch as an ndarray.
    import torch

    seen: list[type] = []

    @ap.memory_type("torch")
    def first_plus(*images: Any, kernel: Any = KERNEL) -> Any:
        seen.append(type(kernel))
        return torch.add(images[0], kernel)

    x = np.zeros(3, np.float32)
    for n in (1, 2, 3):
        np.testing.assert_array_equal(first_plus(*[x] * n), KERNEL)
    assert seen == [torch.Tensor] * 3


@skip_unless_installed(MemoryType.TORCH)
def test_a_list_or_tuple_default_holding_arrays_is_moved_as_that_argument_is() -> None:
    import torch

    seen: list[list[type]] = []

    @ap.memory_type("torch")
    def weigh(x: Any, kernels: Any = (KERNEL, KERNEL * 2), scales: Any = [1.0]) -> Any:  # noqa: B006
        seen.append([type(k) for k in kernels])
        return torch.mul(x, kernels[1]) * scales[0]

    x = np.ones(3, np.float32)
    np.testing.assert_array_equal(weigh(x), KERNEL * 2)
    np.testing.assert_array_equal(weigh(x, (KERNEL, KERNEL)), KERNEL)
    assert seen == [[torch.Tensor, torch.Tensor]] * 2
    # A list of numbers is no array default.
    assert [d[1] for d in general.array_defaults(weigh.__wrapped__)] == ["kernels"]


def test_a_wrapper_that_fixes_a_parameter_is_called_as_it_is() -> None:
    # functools.wraps points inspect.signature at the wrapped function, whose array
    # default was added to a call the wrapper does not take: TypeError on every type.
    import functools

    def smooth(image: Any, kernel: Any = KERNEL) -> Any:
        return image * kernel

    @functools.wraps(smooth)
    def doubled(image: Any) -> Any:
        return smooth(image, kernel=KERNEL * 2)

    @functools.wraps(smooth)
    def passed_on(*args: Any, **kwargs: Any) -> Any:
        return smooth(*args, **kwargs)

    x = np.ones(3, np.float32)
    np.testing.assert_array_equal(ap.memory_type("numpy")(doubled)(x), KERNEL * 2)
    assert general.array_defaults(doubled) == ()
    # A wrapper passing everything on takes the default, and it is moved as before.
    assert [d[1] for d in general.array_defaults(passed_on)] == ["kernel"]
    np.testing.assert_array_equal(ap.memory_type("numpy")(passed_on)(x), KERNEL)


def test_positional_only_defaults_are_filled_in_order() -> None:
    def f(a: Any, b: Any = 5, c: Any = KERNEL, /) -> Any:
        return a, b, c

    defaults = general.array_defaults(f)
    args, kwargs = general.with_array_defaults(defaults, (1,), {})
    assert [a is b for a, b in zip(args, (1, 5, KERNEL), strict=True)] == [True] * 3
    assert kwargs == {}
    args, kwargs = general.with_array_defaults(defaults, (), {})  # `a` missing: Python says
    assert args == ()
    assert general.array_defaults(len) == ()  # no signature: nothing to fill


# --- results that run out of memory on their way back (ADR 0072) ------------------------


def _block_over_two_rows_runs_out(b: np.ndarray) -> np.ndarray:
    if b.shape[0] > 2:
        np.empty(2**60, np.uint8)  # a real MemoryError, asked of the host
    return b * 2


@skip_unless_installed(MemoryType.DASK)
def test_a_lazy_result_computed_on_its_way_back_is_recovered_by_the_policy() -> None:
    # A dask function on numpy input computes when its result goes back to numpy: that
    # computation ran out of memory outside the policy (no retry, no split, attempts=0).
    runs: list[tuple[int, ...]] = []

    def double(x: Any) -> Any:
        runs.append(x.shape)
        return x.map_blocks(_block_over_two_rows_runs_out, dtype=x.dtype)

    x = np.arange(12.0).reshape(4, 3)
    split = ap.memory_type("dask", blockwise=True, oom=ap.OOMPolicy(retries=1, split_axis=0))
    result = split(double)(x)
    assert type(result) is np.ndarray
    np.testing.assert_array_equal(result, x * 2)
    assert runs[:2] == [(4, 3), (4, 3)]  # the call and its retry, then pieces
    assert sum(r[0] for r in runs[2:]) >= 4

    runs.clear()
    no_split = ap.memory_type("dask", blockwise=True, oom=ap.OOMPolicy(retries=1))
    with pytest.raises(ap.OutOfMemoryError, match=r"double \(it asked.*after 2 attempts") as info:
        no_split(double)(x)
    assert info.value.attempts == 2
    assert runs == [(4, 3), (4, 3)]


@skip_unless_installed(MemoryType.DASK)
def test_a_result_of_another_type_on_the_fast_path_is_recovered_too() -> None:
    import dask.array as da

    runs: list[tuple[int, ...]] = []

    @ap.memory_type("numpy", oom=ap.OOMPolicy(retries=0, split_axis=0))
    def lazily_doubled(x: np.ndarray) -> Any:
        runs.append(x.shape)
        return da.from_array(x).map_blocks(_block_over_two_rows_runs_out, dtype=x.dtype)

    x = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(lazily_doubled(x), x * 2)
    assert runs[0] == (4, 2)
    assert len(runs) > 1


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_result_too_large_for_an_opencl_buffer_goes_through_the_policy() -> None:
    # Placed back into pyclesperanto, the result exceeds the device's buffer limit (refused
    # before anything is allocated). The policy's steps now run; they ran none.
    from arrayport.backends import get_backend

    cle = get_backend(MemoryType.PYCLESPERANTO)
    img = ap.convert(np.ones((4, 3), np.float32), "pyclesperanto")
    limit = cle.max_buffer_bytes(cle.device_of(img))
    if limit is None:
        pytest.skip("this OpenCL device does not say its maximum buffer size")
    columns = limit // 8 + 1  # two rows of float32 are just over the limit
    runs: list[tuple[int, ...]] = []

    @ap.memory_type("numpy", oom=ap.OOMPolicy(retries=1, split_axis=0, min_split=2))
    def widen(x: np.ndarray) -> np.ndarray:
        runs.append(x.shape)
        return np.broadcast_to(x[:, :1], (x.shape[0], columns))  # no memory behind it

    with pytest.raises(ap.OutOfMemoryError, match="splitting along axis 0") as info:
        widen(img)
    assert info.value.attempts == 2  # a fixed limit: no retries, the split still runs
    assert runs == [(4, 3), (2, 3)]
    assert "fallback" not in str(info.value)  # the function runs on numpy already
    runs.clear()
    with pytest.raises(ap.OutOfMemoryError, match="maximum buffer size") as raw:
        widen.options(oom=ap.OOMPolicy.disabled())(img)
    assert raw.value.attempts == 0
    assert runs == [(4, 3)]


# --- which argument is the first array -----------------------------------------------------


@skip_unless_installed(MemoryType.TORCH)
def test_keyword_arguments_count_in_signature_order_not_call_order() -> None:
    # The order a call wrote keywords in picked the first array argument: the same call
    # came back as numpy uint8 or as torch float32.
    import torch

    @ap.memory_type("numpy")
    def blend(image: Any, weights: Any, **extra: Any) -> Any:
        seen.append(list(extra))
        return image * weights

    seen: list[list[str]] = []
    image = np.array([10, 20, 30, 250], np.uint8)
    weights = torch.tensor([1.5, 1.5, 1.5, 1.5])
    results = [
        blend(image, weights),
        blend(image=image, weights=weights),
        blend(weights=weights, image=image),
        blend(weights=weights, z=1, image=image, a=2),
    ]
    for r in results:
        assert type(r) is np.ndarray
        assert r.dtype == np.uint8
        assert r.tolist() == [15, 30, 45, 255]
    assert seen[-1] == ["z", "a"]  # **extra keeps the call's order


def test_in_signature_order_leaves_unknown_names_last_and_copes_without_a_signature() -> None:
    def f(a: Any, b: Any, **kw: Any) -> None: ...

    assert list(general.in_signature_order(f, {"x": 1, "b": 2, "a": 3})) == ["a", "b", "x"]
    assert list(general.in_signature_order(max, {"key": 1, "default": 2})) == ["key", "default"]


@skip_unless_installed(MemoryType.TORCH)
@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
def test_a_result_dtype_the_policy_has_no_rule_for_names_native_output() -> None:
    # float128 from a numpy function was refused without "the result of" or a remedy, and
    # torch's complex32 was told output='declared', which refuses it the same way.
    import torch

    longdouble = ap.memory_type("numpy")(lambda x: x.astype(np.longdouble) / 3)
    complex32 = ap.memory_type("torch")(lambda x: x.to(torch.complex32))
    for fn, x in ((longdouble, np.array([1.0, 2.0])), (complex32, np.ones(2, np.float16))):
        with pytest.raises(ap.UnsupportedDtypeError) as info:
            fn(x)
        message = str(info.value)
        assert message.startswith("the result of ")
        assert "<lambda> (output='input'): cannot convert" in message
        assert "DtypeConversion.NATIVE_OUTPUT" in message
        native = fn.options(output="declared", dtype_conversion="native_output")
        assert native(x).dtype in (np.longdouble, torch.complex32)  # the remedy works


@skip_unless_installed(MemoryType.TORCH)
def test_an_array_default_is_the_reference_only_when_the_call_gives_no_array() -> None:
    # A default placed before the caller's keyword in signature order became "the first
    # array argument": a torch uint8 image came back as numpy float64.
    import functools

    import torch

    def blend(weights: Any = None, *, image: Any) -> Any:
        return image * weights

    w = np.array([0.5, 1.0, 1.5])
    image = torch.tensor([10, 10, 10], dtype=torch.uint8)
    for f in (
        ap.memory_type("numpy")(functools.partial(blend, weights=w)),
        ap.memory_type("numpy")(lambda weights=w, *, image: image * weights),
    ):
        out = f(image=image)
        assert isinstance(out, torch.Tensor)
        assert out.dtype == torch.uint8
        assert out.tolist() == [5, 10, 15]  # 15.0 exactly; VALUE keeps it
    only_default = ap.memory_type("torch")(lambda k=w: k * 2)
    assert isinstance(only_default(), np.ndarray)  # no array given: the default's type


def test_keywords_of_star_parameters_keep_the_order_given() -> None:
    # **kwargs entries named like *args, **kw or a positional-only parameter were sorted to
    # their places, reordering what the function sees.
    def f(a: Any, /, *args: Any, b: Any = None, **kw: Any) -> Any:
        return list(kw)

    ordered = general.in_signature_order(f, {"kw": 1, "args": 2, "a": 3, "b": 4})
    assert list(ordered) == ["b", "kw", "args", "a"]


# --- a recovered result gets the dtype policy once, whole (ADR 0068, 0072) ------------------

_BUDGET = {"rows": 100}  # the most rows a dask block may have before it runs out of memory


def _halve_within_budget(b: np.ndarray) -> np.ndarray:
    if b.shape[0] > _BUDGET["rows"]:
        np.empty(2**60, np.uint8)  # a real MemoryError, asked of the host
    return b / 2  # int32 -> float64, which jax without 64-bit mode cannot hold


def _lazily_halved(x: Any) -> Any:
    if isinstance(x, np.ndarray):  # the fallback's run
        return x / 2
    return x.map_blocks(_halve_within_budget, dtype=np.float64)


@pytest.fixture
def policy_shapes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The shapes of the primary outputs the dtype policy converted, in order."""
    from arrayport import dtypes

    shapes: list[tuple[int, ...]] = []
    real = dtypes.apply_dtype_conversion

    def recording(array: Any, *args: Any, **kwargs: Any) -> Any:
        out = real(array, *args, **kwargs)
        shapes.append(tuple(array.shape))  # only those it finished
        return out

    monkeypatch.setattr(dtypes, "apply_dtype_conversion", recording)
    return shapes


def _jax_without_x64() -> Any:
    pytest.importorskip("jax")
    import jax

    if jax.config.jax_enable_x64:
        pytest.skip("needs jax without 64-bit mode")
    return jax.numpy


@skip_unless_installed(MemoryType.DASK)
@pytest.mark.parametrize("retries", [0, 1])
def test_minmax_stretches_the_joined_result_not_each_piece(
    retries: int, policy_shapes: list[tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Computing the dask result on its way back into jax ran out of memory (ADR 0072).
    # jax refuses float64, so each piece got the dtype policy before it was placed:
    # MINMAX stretched a piece of 2 rows and one of 4 to the whole int32 range each, and
    # the pieces were joined into values an unfailed run never gives.
    jnp = _jax_without_x64()
    policy = ap.OOMPolicy(retries=retries, split_axis=0, release=False)
    half = ap.memory_type("dask", scaling=ap.Scaling.MINMAX, oom=policy)(_lazily_halved)
    x = jnp.arange(12, dtype=jnp.int32).reshape(6, 2)
    monkeypatch.setitem(_BUDGET, "rows", 100)
    plain = half(x)
    unfailed_shapes = list(policy_shapes)
    policy_shapes.clear()
    monkeypatch.setitem(_BUDGET, "rows", 3)  # 6 rows do not fit; 2, then 1 and 3, do
    with ap.metrics.collecting() as m:
        recovered = half(x)
    assert m.snapshot()["oom_outcomes"] == {"split": 1}
    assert type(recovered) is type(plain)
    assert recovered.dtype == plain.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(recovered), np.asarray(plain))
    # As often as unfailed, and always on the whole result: never on a piece.
    assert policy_shapes == unfailed_shapes
    assert set(policy_shapes) == {(6, 2)}


@skip_unless_installed(MemoryType.DASK)
def test_a_fallbacks_result_after_the_result_ran_out_of_memory_is_placed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fallback's float64 stayed numpy (jax refuses it) for the dtype policy, and the
    # recovery of a result that ran out of memory on its way back (ADR 0072) returned it
    # without placing it: numpy int32, where an unfailed run returns jax.
    jnp = _jax_without_x64()
    policy = ap.OOMPolicy(retries=0, fallback="numpy", release=False)
    half = ap.memory_type("dask", scaling=ap.Scaling.MINMAX, oom=policy)(_lazily_halved)
    x = jnp.arange(12, dtype=jnp.int32).reshape(6, 2)
    plain = half(x)
    monkeypatch.setitem(_BUDGET, "rows", 0)  # nothing computes on dask
    recovered = half(x)
    assert type(recovered) is type(plain)
    assert recovered.dtype == plain.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(recovered), np.asarray(plain))


def test_minmax_stretches_pieces_joined_after_the_inputs_ran_out_of_memory(
    policy_shapes: list[tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same per-piece stretch when moving the inputs ran out of memory (ADR 0055).
    jnp = _jax_without_x64()

    @ap.memory_type("numpy", scaling=ap.Scaling.MINMAX, oom=ap.OOMPolicy(retries=0, split_axis=0))
    def half(a: Any) -> Any:
        return a / 2

    x = jnp.arange(12, dtype=jnp.int32).reshape(6, 2)
    plain = half(x)
    unfailed_shapes = list(policy_shapes)
    policy_shapes.clear()
    failing = fail_first_move(monkeypatch)
    recovered = half(x)
    assert not failing  # the forced error happened
    assert type(recovered) is type(plain)
    np.testing.assert_array_equal(np.asarray(recovered), np.asarray(plain))
    assert policy_shapes == unfailed_shapes
    assert set(policy_shapes) == {(6, 2)}


@skip_unless_installed(MemoryType.TORCH)
def test_a_split_recovery_places_results_as_an_unfailed_run_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Placement moves the arrays at the top level of a result; the recovery moved every
    # array at any depth, so the inner tuple's array came back torch, not numpy.
    import torch

    @ap.memory_type("numpy", oom=ap.OOMPolicy(retries=0, split_axis=0, release=False))
    def nested(a: Any) -> Any:
        return (a * 2,), a + 1

    x = torch.arange(12.0).reshape(6, 2)
    plain = nested(a=x)  # by keyword: moved by convert_arguments, not a quick share
    failing = fail_first_move(monkeypatch)
    recovered = nested(a=x)
    assert not failing
    assert (type(recovered[0][0]), type(recovered[1])) == (np.ndarray, torch.Tensor)
    assert (type(plain[0][0]), type(plain[1])) == (np.ndarray, torch.Tensor)
    np.testing.assert_array_equal(recovered[0][0], plain[0][0])
    np.testing.assert_array_equal(recovered[1].numpy(), plain[1].numpy())


@skip_unless_installed(MemoryType.TORCH)
def test_a_result_on_a_device_arrayport_cannot_read_is_said_of_the_result() -> None:
    # The DeviceError came bare, where other refusals of a result name the function.
    import torch

    def meta(x: Any) -> Any:
        return torch.empty(3, device="meta")

    with pytest.raises(ap.DeviceError, match=r"^the result of .*meta \(output='input'\): .*meta"):
        ap.memory_type("torch")(meta)(np.arange(3.0))


@skip_unless_installed(MemoryType.JAX)
def test_an_input_move_that_runs_out_under_jax_grad_recovers(monkeypatch: Any) -> None:
    # The recovery asked the first argument, a tracer, for its device: jax's
    # ConcretizationTypeError, the out-of-memory error lost.
    import jax
    import jax.numpy as jnp

    @ap.memory_type("jax")
    def loss(w: Any, data: Any) -> Any:
        return jnp.sum((data @ w) ** 2)

    w, data = jnp.ones(3, jnp.float32), np.arange(12, dtype=np.float32).reshape(4, 3)
    want = np.asarray(jax.grad(loss)(w, data))
    failing = fail_first_move(monkeypatch)
    got = np.asarray(jax.grad(loss)(w, data))
    assert not failing  # the move did run out once
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want, [864.0, 996.0, 1128.0])


def test_a_declared_dtype_the_callers_framework_cannot_hold_names_the_call_remedies() -> None:
    # The advice named only arrayport.convert_dtype(arrayport.convert(x, ...)) of a result
    # the caller never holds; the dispatched call's own remedies were missing.
    jnp = pytest.importorskip("jax.numpy")
    import jax

    if jax.config.jax_enable_x64:
        pytest.skip("jax holds float64 in 64-bit mode")

    @ap.memory_type("numpy", dtype_conversion=ap.DtypeConversion.FLOAT64)
    def centred(x: Any) -> Any:
        return x - x.mean()

    with pytest.raises(ap.UnsupportedDtypeError) as info:
        centred(jnp.arange(4.0))
    assert "declare a dtype jax holds (.options(dtype_conversion=...))" in str(info.value)
    assert "output='numpy' for float64 in host memory" in str(info.value)
    out = centred.options(output="numpy")(jnp.arange(4.0))
    assert out.dtype == np.float64
