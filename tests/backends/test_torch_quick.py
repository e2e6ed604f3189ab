"""Tests of arrayport.backends._torch_quick: the torch <-> numpy shares dispatch takes
without planning answer exactly what :func:`arrayport.convert` would, or None."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.TORCH)


@pytest.fixture(scope="module")
def quick() -> Any:
    from arrayport.backends import _torch_quick
    from arrayport.backends import torch as backend

    backend.load()  # binds torch into the quick shares
    return _torch_quick


def _shares(a: np.ndarray, t: Any) -> bool:
    return bool(np.shares_memory(a, t.numpy()))


def _numpy_cases() -> dict[str, np.ndarray]:
    base = np.arange(48, dtype=np.float64).reshape(6, 8)
    return {
        "c-order": base.copy(),
        "fortran": np.asfortranarray(base),
        "strided view": base[::2, 1::3],
        "0-d": np.array(3.5),
        "empty": np.empty((0, 4), np.float32),
        "bool": base > 10,
        "uint64": np.arange(5, dtype=np.uint64),
        "float16": np.ones(4, np.float16),
    }


@pytest.mark.parametrize("name", list(_numpy_cases()))
def test_quick_from_numpy_is_convert_s_zero_copy_share(quick: Any, name: str) -> None:
    a = _numpy_cases()[name]
    got = quick.quick_from_numpy(a)
    assert got is not None, name
    want = ap.convert(a, "torch")
    assert ap.plan(a, "torch").zero_copy
    assert got.dtype == want.dtype
    assert tuple(got.shape) == a.shape
    assert got.stride() == want.stride()
    np.testing.assert_array_equal(got.numpy(), a)
    if a.size:
        assert _shares(a, got)


def test_quick_from_numpy_declines_what_the_planner_must_decide(quick: Any) -> None:
    ro = np.ones(4)
    ro.flags.writeable = False
    unaligned = np.zeros(33, np.uint8)[1:].view(np.float64)  # pointer 1 byte off
    declined = {
        "read-only": ro,
        "negative strides": np.arange(6.0)[::-1],
        "big-endian": np.ones(4, ">f4"),
        "masked": np.ma.masked_array([1.0, 2.0], mask=[False, True]),
        "unaligned": unaligned,
        "datetime": np.array(["2026-01-01"], "datetime64[D]"),
        "not an array": [1.0, 2.0],
        # numpy aligns complex64 to 4 bytes, so its ALIGNED flag does not prove the 8-byte
        # element alignment torch needs: the planner checks the address.
        "complex64": np.ones(4, np.complex64),
        # numpy warns on a write through it and will make it read-only (WARN_ON_WRITE).
        "broadcast_arrays view": np.broadcast_arrays(np.arange(3.0), np.zeros((2, 3)))[0],
    }
    for name, a in declined.items():
        assert quick.quick_from_numpy(a) is None, name
    # What the planner then does with them is still right: never a writable alias of the
    # read-only array, values equal for the others it converts.
    t = ap.convert(ro, "torch")
    t[0] = 7
    assert ro[0] == 1
    np.testing.assert_array_equal(
        ap.convert(np.arange(6.0)[::-1], "torch").numpy(), [5, 4, 3, 2, 1, 0]
    )


def test_quick_to_numpy_is_convert_s_zero_copy_share(quick: Any) -> None:
    import torch

    for t in (
        torch.arange(12.0).reshape(3, 4),
        torch.ones(3, dtype=torch.uint16),
        torch.ones(4)[1:],
    ):
        got = quick.quick_to_numpy(t)
        want = ap.convert(t, "numpy")
        assert got is not None
        assert got.dtype == want.dtype
        assert got.shape == want.shape
        assert got.flags.writeable
        np.testing.assert_array_equal(got, want)
        assert np.shares_memory(got, want)


def test_quick_to_numpy_declines_what_the_planner_must_decide(quick: Any) -> None:
    import torch

    declined = {
        "autograd": torch.ones(3, requires_grad=True),
        "parameter": torch.nn.Parameter(torch.ones(3)),
        "conj bit": torch.ones(3, dtype=torch.complex64).conj(),
        "bfloat16": torch.ones(3, dtype=torch.bfloat16),
        "sparse": torch.eye(3).to_sparse(),
        "meta": torch.ones(3, device="meta"),
        "numpy input": np.ones(3),
    }
    for name, t in declined.items():
        assert quick.quick_to_numpy(t) is None, name
    # The planner resolves the conj bit instead of sharing memory that holds other values.
    conj = torch.tensor([1 + 2j], dtype=torch.complex64).conj()
    np.testing.assert_array_equal(ap.convert(conj, "numpy"), [1 - 2j])


def test_numpys_ulonglong_reaches_torch_as_uint64() -> None:
    # 'Q' is uint64 under another type code, which torch.from_numpy refuses with a
    # TypeError: every route into torch raised it while plan() said "host-share".
    import torch

    from arrayport.backends._torch_quick import as_wrapped

    a = np.arange(4, dtype=np.ulonglong)
    assert as_wrapped(a).dtype == np.uint64
    assert as_wrapped(a).ctypes.data == a.ctypes.data
    shared = ap.convert(a, "torch")
    assert shared.dtype == torch.uint64
    assert ap.plan(a, "torch").zero_copy
    shared[0] = 9
    assert a[0] == 9
    copied = ap.convert(np.arange(1 << 17, dtype=np.ulonglong), "torch", copy=True)  # 1 MiB
    assert copied.dtype == torch.uint64
    assert int(copied[-1]) == (1 << 17) - 1
    read_only = np.arange(3, dtype=np.ulonglong)
    read_only.flags.writeable = False
    assert ap.convert(read_only, "torch").tolist() == [0, 1, 2]


def test_numpy_functions_take_parameters_and_expanded_tensors_under_torch_compile() -> None:
    # Marking the numpy view read-only (a parameter; stride 0) failed dynamo's trace:
    # "AssertionError: Expected np.nditer base, got <class 'torch.Tensor'>".
    import torch

    import arrayport as ap

    @ap.memory_type("numpy")
    def double(x):
        return x * 2

    compiled = torch.compile(double, backend="eager")
    weight = torch.nn.Parameter(torch.ones(3))
    torch.testing.assert_close(compiled(weight), torch.full((3,), 2.0))
    torch.testing.assert_close(compiled(torch.ones(3).expand(2, 3)), torch.full((2, 3), 2.0))
    # Outside compile the views stay read-only, as before.
    with pytest.raises(ValueError, match="read-only"):
        ap.memory_type("numpy")(lambda x: x.__iadd__(1))(weight)


def test_parameters_stay_read_only_in_eager_calls_while_another_thread_compiles() -> None:
    # torch.compiler.is_compiling() is one flag for the whole process: while any thread
    # compiled, eager calls elsewhere got writable views of parameters.
    import threading
    import time

    import torch

    @ap.memory_type("numpy")
    def bump(x):
        x += 1
        return x

    weight = torch.nn.Parameter(torch.zeros(4))
    stop = threading.Event()
    compiled: list[int] = []

    def compile_again_and_again() -> None:
        def g(t):
            for _ in range(20):
                t = torch.sin(t) * 2
            return t

        while not stop.is_set():
            torch._dynamo.reset()
            torch.compile(g, backend="eager")(torch.ones(4))
            compiled.append(1)

    thread = threading.Thread(target=compile_again_and_again)
    thread.start()
    written = calls = 0
    try:
        while len(compiled) < 3 and calls < 20000:  # calls all through a few compiles
            calls += 1
            try:
                bump(weight)
                written += 1
            except ValueError:
                pass
            time.sleep(0.0002)
    finally:
        stop.set()
        thread.join()
    assert len(compiled) >= 3
    assert written == 0
    assert weight.detach().tolist() == [0.0] * 4
