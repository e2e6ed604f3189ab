"""Tests of arrayport.dispatch: the memory_type decorator and the dispatched callable.

The decorator's own module is tested in test_dispatch_decorator.py, what a type checker
sees of both in test_typing.py; the contract's validation in test_contract.py; the general
call path (slicing, streams, the dask hand-off, running out of memory while moving the
inputs) in test_dispatch_general.py; converting arguments, placing results and the dtype
policy in test_placement.py; which arguments are arrays in test_arguments.py.

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
from tests.conftest import skip_unless_installed

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


def test_decorating_something_that_is_not_callable_fails() -> None:
    # The message asked for @memory_type below @classmethod: the order whose
    # Cls.method.options() Python 3.13 no longer binds (above works on every Python).
    for given in (42, staticmethod(42), classmethod(42)):
        with pytest.raises(ap.InvalidOptionError) as info:
            ap.memory_type("numpy")(given)  # type: ignore[arg-type]
        assert str(info.value) == (
            "memory_type decorates functions and methods, not 42; with @staticmethod or "
            "@classmethod, put @memory_type(...) above it"
        )


def test_above_staticmethod_it_is_not_bound() -> None:
    # C().plus(x) passed the instance as x ("takes 1 positional argument but 2 were given").
    class C:
        @ap.memory_type("numpy")
        @staticmethod
        def plus(x: Any) -> Any:
            return x + 1

        variant = plus.options(output="declared")

    for f in (C.plus, C().plus, C().variant):
        np.testing.assert_array_equal(f(np.arange(3)), [1, 2, 3])


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


# --- out of memory on the fast paths -------------------------------------------------


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


def _add(x, k):
    return x + k


def test_a_dispatched_partial_has_a_repr_and_pickles_by_value() -> None:
    # functools.partial (and callable instances) have no __qualname__ to copy.
    import functools

    add3 = ap.memory_type("numpy")(functools.partial(_add, k=3))
    assert "functools.partial" in repr(add3)
    back = pickle.loads(pickle.dumps(add3))
    assert back.contract == add3.contract
    np.testing.assert_array_equal(back(np.arange(3)), [3, 4, 5])


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize("output", ["input", "pyclesperanto"])
def test_a_result_that_cannot_be_placed_is_named_as_the_function_s_result(output) -> None:
    # A reduction's 0-d result cannot go into pyclesperanto: the error says it is the
    # function's result, under which output, and how to keep it as it is.
    import pyclesperanto as cle

    @ap.memory_type("numpy", output=output)
    def total(x):
        return x.sum()

    image = cle.push(np.ones((4, 4), np.float32))
    with pytest.raises(ap.ConversionError) as info:
        total(image)
    message = str(info.value)
    assert message.startswith(f"the result of {total.__qualname__} (output='{output}'): ")
    assert "0-d" in message
    assert message.endswith("(output='declared' returns results as the function makes them)")
    assert (info.value.source, info.value.target) == ("numpy", "pyclesperanto")
    assert float(total.options(output="declared")(image)) == 16.0


@skip_unless_installed(MemoryType.TORCH)
def test_a_result_no_framework_can_hold_is_named_as_the_function_s_result() -> None:
    # A masked or object-dtype result raised UnsupportedArrayError without naming the
    # function, though its input was fine.
    import torch

    @ap.memory_type("numpy")
    def masked(x):
        return np.ma.masked_array(x, mask=[0, 1, 0])

    for output in ("input", "declared"):  # placing it, or the dtype policy after
        with pytest.raises(ap.UnsupportedArrayError) as info:
            masked.options(output=output)(torch.arange(3))
        message = str(info.value)
        assert message.startswith(f"the result of {masked.__qualname__} (output='{output}'): ")
        assert "the mask would be lost" in message
        assert message.endswith("returns results as the function makes them)")
    kept = masked.options(output="declared", dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    assert isinstance(kept(torch.arange(3)), np.ma.MaskedArray)


def test_a_dtype_policy_refusal_names_the_function_and_the_option_that_keeps_its_dtype() -> None:
    # complex128 parts beyond complex64, raised by the policy for complex64 input, named
    # neither the function nor NATIVE_OUTPUT.
    @ap.memory_type("numpy")
    def huge(x: Any) -> Any:
        return x.astype(np.complex128) * 1e300

    with pytest.raises(ap.DtypeConversionError, match="would become inf") as info:
        huge(np.ones(3, np.complex64))
    assert "the result of" in str(info.value)
    assert "huge" in str(info.value)
    assert "NATIVE_OUTPUT" in str(info.value)
    out = huge.options(dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)(np.ones(3, np.complex64))
    assert out.dtype == np.complex128


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_dtype_policy_refusal_while_placing_names_the_function() -> None:
    # Raised inside the result's placement (pyclesperanto input), it came out bare.
    import pyclesperanto as cle

    @ap.memory_type("numpy")
    def to_complex(x: Any) -> Any:
        return x.astype(np.complex64) * 1j

    with pytest.raises(ap.DtypeConversionError) as info:
        to_complex(cle.push(np.ones((2, 2), np.float32)))
    assert "the result of" in str(info.value)
    assert "to_complex" in str(info.value)
    assert "NATIVE_OUTPUT" in str(info.value)
