"""Tests of arrayport._dispatch_callables: what the decorator refuses, and how a
dispatched function of ``__main__`` travels to other processes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import arrayport as ap


def test_functions_whose_body_runs_after_the_call_are_refused() -> None:
    # Were wrapped: a coroutine's result came back on the declared framework with its
    # dtype, a generator yielded the declared framework's arrays, no OOM policy around.
    async def coroutine(x: Any) -> Any:
        return x

    async def agen(x: Any) -> Any:
        yield x

    def gen(x: Any) -> Any:
        yield x

    for fn, kind in [(coroutine, "coroutine"), (agen, "async generator"), (gen, "generator")]:
        with pytest.raises(ap.InvalidOptionError, match=f"it is an? {kind} function"):
            ap.memory_type("numpy")(fn)


@pytest.mark.skipif(importlib.util.find_spec("cloudpickle") is None, reason="needs cloudpickle")
def test_a_main_module_function_travels_by_value_where_main_lacks_it() -> None:
    # A dispatched function of a script or notebook pickled by reference to __main__ even
    # under cloudpickle: a dask worker could not load it and the task hung.
    define = (
        "import sys, pickle, numpy as np, arrayport as ap\n"
        "{pre}"
        "@ap.memory_type('numpy')\n"
        "def f(x):\n"
        "    return x + 1\n"
        "sys.stdout.buffer.write(pickle.dumps(f))\n"
    )
    load = (
        "import pickle, sys, numpy as np\n"
        "print(pickle.loads(sys.stdin.buffer.read())(np.arange(3)))"
    )

    def run(code: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-c", code], input=data, capture_output=True, timeout=120
        )

    with_cloudpickle = run(define.format(pre="import cloudpickle\n"))
    done = run(load, with_cloudpickle.stdout)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "[1 2 3]"
    without = run(define.format(pre=""))
    failed = run(load, without.stdout)
    assert failed.returncode != 0
    assert "is not defined here; define it in a module both can import" in failed.stderr.decode()


@pytest.mark.skipif(importlib.util.find_spec("cloudpickle") is None, reason="needs cloudpickle")
def test_a_main_modules_static_and_class_methods_travel_by_value_as_such() -> None:
    # The payload carried the plain function: on a process without the script's class, an
    # instance's staticmethod was bound to it ("takes 1 positional argument but 2 were
    # given") and a classmethod above memory_type was not bound to the class.
    define = (
        "import sys, cloudpickle, numpy as np, arrayport as ap\n"
        "class Holder:\n"
        "    k = 3\n"
        "    @ap.memory_type('numpy')\n"
        "    @staticmethod\n"
        "    def plus(x):\n"
        "        return x + 1\n"
        "    @ap.memory_type('numpy')\n"
        "    @classmethod\n"
        "    def times(cls, x):\n"
        "        return x * cls.k\n"
        "sys.stdout.buffer.write(cloudpickle.dumps(Holder))\n"
    )
    load = (
        "import pickle, sys, numpy as np\n"
        "holder = pickle.loads(sys.stdin.buffer.read())\n"
        "print(holder().plus(np.arange(3)), holder.times(np.arange(3)), holder().times(np.ones(1)))"
    )
    defined = subprocess.run([sys.executable, "-c", define], capture_output=True, timeout=120)
    assert defined.returncode == 0, defined.stderr.decode()
    loaded = subprocess.run(
        [sys.executable, "-c", load], input=defined.stdout, capture_output=True, timeout=120
    )
    assert loaded.returncode == 0, loaded.stderr.decode()
    assert loaded.stdout.decode().split() == ["[1", "2", "3]", "[0", "3", "6]", "[3.]"]


def test_callable_instances_whose_call_runs_after_the_call_are_refused() -> None:
    # Only fn itself was inspected: an instance with an async or generator __call__ was
    # wrapped, and its arrays were never placed.
    class Async:
        async def __call__(self, x: Any) -> Any:
            return x

    class Gen:
        def __call__(self, x: Any) -> Any:
            yield x

    for instance, kind in ((Async(), "a coroutine function"), (Gen(), "a generator function")):
        with pytest.raises(ap.InvalidOptionError, match=kind):
            ap.memory_type("numpy")(instance)


def test_pickles_of_main_functions_name_the_public_module() -> None:
    from arrayport._dispatch_callables import from_main

    assert from_main.__module__ == "arrayport.dispatch"
    assert ap.dispatch.from_main is from_main  # so the reference a pickle stores resolves


def test_redecorating_copies_none_of_the_inner_functions_state() -> None:
    # update_wrapper copied the inner's __dict__: its slicing ran the plain body slice by
    # slice under an outer contract without slice_by_slice, and an instance's own
    # `options` field hid the method.
    pytest.importorskip("torch")
    seen: list[str] = []

    @ap.memory_type("numpy", slice_by_slice=True)
    def per_slice(p: Any) -> Any:
        seen.append(type(p).__name__)
        return p - p.mean()

    on_torch = ap.memory_type("torch")(per_slice)
    stack = np.arange(8.0).reshape(2, 2, 2)
    out = on_torch(stack)
    np.testing.assert_array_equal(out, stack - stack.mean(axis=(1, 2), keepdims=True))
    assert seen == ["ndarray", "ndarray"]  # the inner's numpy, per slice: its own contract

    class Model:
        def __init__(self) -> None:
            self.options = {"scale": 2}

        def __call__(self, x: Any) -> Any:
            return x * self.options["scale"]

    wrapped = ap.memory_type("numpy")(Model())
    assert wrapped.options(output="declared").contract.output == "declared"
    np.testing.assert_array_equal(wrapped(np.arange(3)), [0, 2, 4])


def test_only_what_python_binds_as_a_method_gets_self() -> None:
    import functools

    class Mul:
        def __call__(self, x: Any) -> Any:
            return x * 2

    def scale(x: Any, k: float = 1.0) -> Any:
        return x * k

    inner = ap.memory_type("numpy")(lambda x: x * 3)

    class Holder:
        mul = ap.memory_type("numpy")(Mul())
        half = ap.memory_type("numpy")(functools.partial(scale, k=0.5))
        triple = ap.memory_type("numpy")(staticmethod(inner))

        @ap.memory_type("numpy")
        def method(self, x: Any) -> Any:
            return x + 1

    h, x = Holder(), np.arange(3.0)
    np.testing.assert_array_equal(h.mul(x), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(h.half(x), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(h.triple(x), [0.0, 3.0, 6.0])
    np.testing.assert_array_equal(h.method(x), [1.0, 2.0, 3.0])


def test_redecorating_keeps_binding_and_attributes_of_the_function_inside() -> None:
    # A static dispatched function decorated again got `self`; attributes of the original
    # function were lost one decoration later.
    def base(x: Any) -> Any:
        return x * 2

    base.tag = "t"  # type: ignore[attr-defined]
    once = ap.memory_type("numpy")(base)
    twice = ap.memory_type("numpy")(once)
    assert twice.tag == "t"  # type: ignore[attr-defined]

    class C:
        f = ap.memory_type("numpy")(ap.memory_type("numpy")(staticmethod(base)))

    np.testing.assert_array_equal(C().f(np.ones(2)), [2.0, 2.0])


def test_callables_marked_as_coroutine_functions_are_refused() -> None:
    from unittest.mock import AsyncMock

    with pytest.raises(ap.InvalidOptionError, match="coroutine"):
        ap.memory_type("numpy")(AsyncMock())


def _logged(fn: Any) -> Any:
    """An ordinary decorator: functools.wraps around a plain wrapper."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def test_wrapped_functions_whose_body_runs_after_the_call_are_refused_when_called() -> None:
    # Under a functools.wraps decorator they were accepted: a coroutine came back, and
    # awaited gave the declared framework's array with its dtype, outside the OOM policy.
    import gc
    import warnings

    async def coroutine(x: Any) -> Any:
        return x / 2

    async def agen(x: Any) -> Any:
        yield x

    def gen(x: Any) -> Any:
        yield x

    kinds = [(coroutine, "coroutine"), (agen, "async generator"), (gen, "generator")]
    for output in ("input", "declared"):
        for fn, kind in kinds:
            f = ap.memory_type("numpy", output=output)(_logged(fn))
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # closed: no "never awaited" warning
                for args in [(np.arange(3),), (1.0,)]:  # with an array argument, without
                    with pytest.raises(ap.InvalidOptionError, match=f"it returned an? {kind},"):
                        f(*args)
                gc.collect()
    # A plain function returning a generator expression: said as what it returned.
    rows = ap.memory_type("numpy")(lambda x: (r * 2 for r in x))
    with pytest.raises(ap.InvalidOptionError, match=r"returned a generator.*list or tuple"):
        rows(np.ones((2, 2)))
    # A decorator that runs what it wraps to the end returns an array: it is dispatched.
    import asyncio

    def run_to_end(fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any) -> Any:
            return asyncio.run(fn(*args))

        return wrapper

    halve = ap.memory_type("numpy")(run_to_end(coroutine))
    assert halve(np.arange(4, dtype=np.uint8)).dtype == np.uint8


def test_partials_of_instances_whose_call_runs_after_the_call_are_refused() -> None:
    # Only the partial and its callable were asked, not the callable's class's __call__.
    import functools

    class Async:
        async def __call__(self, x: Any) -> Any:
            return x

    class Gen:
        def __call__(self, x: Any) -> Any:
            yield x

    for fn, kind in [(Async(), "a coroutine function"), (Gen(), "a generator function")]:
        for partial in (functools.partial(fn), functools.partial(functools.partial(fn))):
            with pytest.raises(ap.InvalidOptionError, match=kind):
                ap.memory_type("numpy")(partial)


def test_a_dispatched_function_has_its_originals_signature_for_getfullargspec() -> None:
    # inspect.getfullargspec (Keras's Lambda asks it) does not follow __wrapped__, and found
    # no signature: "no signature found for builtin <dispatched ...>".
    import inspect

    from arrayport.dispatch import DispatchedFunction

    @ap.memory_type("numpy")
    def double(x: Any, k: int = 2) -> Any:
        return x * k

    class Holder:
        @ap.memory_type("numpy")
        def method(self, x: Any, k: int = 1) -> Any:
            return x * k

    assert inspect.getfullargspec(double).args == ["x", "k"]
    assert inspect.getfullargspec(double).defaults == (2,)
    assert inspect.getfullargspec(Holder.method).args == ["self", "x", "k"]
    assert inspect.getfullargspec(Holder().method).args == ["x", "k"]
    # The class itself still has its own signature (Sphinx documents it).
    assert list(inspect.signature(DispatchedFunction).parameters) == ["fn", "contract"]


def test_a_dispatched_callable_without_a_signature_has_no_signature_attribute() -> None:
    # Reading __signature__ raised ValueError ("no signature found for builtin"): hasattr
    # and unittest.mock.create_autospec crashed on a dispatched builtin (audit a20).
    import inspect
    from unittest import mock

    largest = ap.memory_type("numpy")(max)
    assert not hasattr(largest, "__signature__")
    with pytest.raises(ValueError, match="no signature found"):
        inspect.signature(largest)  # as for the builtin itself
    assert mock.create_autospec(largest) is not None
    assert largest(np.array([1, 3, 2])) == 3
    added = ap.memory_type("numpy")(np.add)
    try:
        own = inspect.signature(np.add)
    except ValueError:  # an older numpy (2.2, the newest for Python 3.10): ufuncs have none
        assert not hasattr(added, "__signature__")
        with pytest.raises(ValueError, match="is not supported by signature"):
            inspect.signature(added)
    else:
        assert inspect.signature(added) == own
        assert list(own.parameters)[:2] == ["x1", "x2"]
    # A method whose function takes no self keeps inspect's own error for such a method:
    # hidden as "no signature", inspect fell back to the function's, "()".

    class Holder:
        @ap.memory_type("numpy")
        def no_self() -> Any:
            return np.zeros(1)

    with pytest.raises(ValueError, match="invalid method signature"):
        inspect.signature(Holder().no_self)
