"""Tests of arrayport.testing.assertions: assert_equivalent and default_tolerance."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import (
    BackendUnavailableError,
    InvalidOptionError,
    MemoryType,
    UnsupportedArrayError,
)
from arrayport.testing import (
    ARRAY_API_STRICT,
    as_numpy,
    assert_equivalent,
    default_tolerance,
)
from tests.conftest import CPU_TYPES, INSTALLED, python_c, skip_unless_installed

XP_TYPES = [mt for mt in CPU_TYPES if mt in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.JAX)]


def affine(x: Any) -> Any:
    return x * 2.0 + 1.0


@ap.memory_type("numpy")
def declared_affine(x: Any) -> Any:
    return x * 2.0 + 1.0


def _x() -> np.ndarray:
    return np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)


def test_equivalent_function_passes_on_array_api_types() -> None:
    checked = assert_equivalent(affine, _x(), memory_types=XP_TYPES)
    assert checked == tuple(mt.value for mt in XP_TYPES)


def test_declared_function_runs_on_every_cpu_type() -> None:
    checked = assert_equivalent(declared_affine, _x(), memory_types=CPU_TYPES)
    assert checked == tuple(mt.value for mt in CPU_TYPES)


def test_default_memory_types_skip_what_cannot_hold_the_arguments() -> None:
    checked = assert_equivalent(declared_affine, _x().astype(np.float64))
    assert "numpy" in checked
    assert "pyclesperanto" not in checked  # cannot hold float64


def test_explicit_memory_type_that_cannot_hold_the_arguments_fails() -> None:
    if MemoryType.PYCLESPERANTO not in CPU_TYPES:
        pytest.skip("pyclesperanto is not installed")
    with pytest.raises(AssertionError, match="on pyclesperanto: the arguments cannot be converted"):
        assert_equivalent(declared_affine, _x().astype(np.float64), memory_types=["pyclesperanto"])


@skip_unless_installed(MemoryType.TORCH)
def test_wrong_value_is_reported_with_the_memory_type() -> None:
    def off_on_torch(x: Any) -> Any:
        return x + 1 if type(x).__module__.startswith("torch") else x

    with pytest.raises(
        AssertionError, match=r"off_on_torch\(float32\[3, 4\]\) on torch: the result differs"
    ):
        assert_equivalent(off_on_torch, _x(), memory_types=["numpy", "torch"])


@skip_unless_installed(MemoryType.TORCH)
def test_dtype_difference_is_reported() -> None:
    def narrows(x: Any) -> Any:
        return x if isinstance(x, np.ndarray) else x.to(dtype=__import__("torch").float16)

    with pytest.raises(
        AssertionError, match="on torch: the result has dtype float16, numpy gave float32"
    ):
        assert_equivalent(narrows, _x(), memory_types=["torch"])
    assert_equivalent(narrows, _x(), memory_types=["torch"], check_dtype=False, rtol=1e-3)


@skip_unless_installed(MemoryType.TORCH)
def test_memory_type_of_the_result_is_checked() -> None:
    def to_numpy(x: Any) -> Any:
        return as_numpy(x) * 1

    with pytest.raises(AssertionError, match="is a numpy array, expected torch"):
        assert_equivalent(to_numpy, _x(), memory_types=["torch"])
    assert assert_equivalent(to_numpy, _x(), memory_types=["torch"], check_memory_type=False)


def _second_call_differs(change: Any) -> Any:
    """A function that gives ``change(x)`` from its second call on (the first is numpy's)."""
    calls: list[int] = []

    def fn(x: Any) -> Any:
        calls.append(1)
        return change(x) if len(calls) > 1 else x

    return fn


def test_shape_is_checked() -> None:
    with pytest.raises(AssertionError, match=r"has shape \(12,\), numpy gave \(3, 4\)"):
        assert_equivalent(
            _second_call_differs(lambda x: x.reshape(-1)), _x(), memory_types=["numpy"]
        )


def test_zero_d_is_checked() -> None:
    with pytest.raises(AssertionError, match=r"has shape \(1,\), numpy gave \(\)"):
        assert_equivalent(
            _second_call_differs(lambda x: x.reshape(1)),
            np.array(2.0),  # a 0-d array (a numpy scalar is no array: it is not converted)
            memory_types=["numpy"],
        )


def test_tuples_are_compared_element_by_element() -> None:
    def pair(x: Any) -> Any:
        return x + 1, x * 0

    assert_equivalent(pair, _x(), memory_types=XP_TYPES)
    with pytest.raises(AssertionError, match="tuple"):
        assert_equivalent(_second_call_differs(lambda x: (x,)), _x(), memory_types=["numpy"])
    calls: list[int] = []

    def second_element_off(x: Any) -> Any:
        calls.append(1)
        return (x, x + (len(calls) > 1))

    with pytest.raises(AssertionError, match=r"the result\[1\] differs"):
        assert_equivalent(second_element_off, _x(), memory_types=["numpy"])


def test_tolerances() -> None:
    nudge = _second_call_differs(lambda x: x * (1 + 1e-4))
    with pytest.raises(AssertionError, match="differs"):
        assert_equivalent(nudge, _x() + 2, memory_types=["numpy"], rtol=1e-6)
    nudge = _second_call_differs(lambda x: x * (1 + 1e-4))
    assert_equivalent(nudge, _x() + 2, memory_types=["numpy"], rtol=1e-3)
    nudge = _second_call_differs(lambda x: x + 1e-3)
    assert_equivalent(nudge, _x(), memory_types=["numpy"], rtol=0, atol=2e-3)


def test_integers_compare_exactly() -> None:
    with pytest.raises(AssertionError, match="differs"):
        assert_equivalent(
            _second_call_differs(lambda x: x + 1), np.arange(4), memory_types=["numpy"], rtol=1.0
        )


def test_exception_in_fn_names_the_memory_type() -> None:
    def boom(x: Any) -> Any:
        raise ValueError("boom")

    with pytest.raises(AssertionError, match=r"on numpy: raised ValueError: boom"):
        assert_equivalent(_second_call_differs(boom), _x(), memory_types=["numpy"])


def test_keyword_arrays_are_converted() -> None:
    def add(x: Any, *, y: Any) -> Any:
        return x + y

    assert_equivalent(add, _x(), y=_x(), memory_types=XP_TYPES)


def test_default_tolerance() -> None:
    assert default_tolerance(np.dtype("int32")) == 0
    assert 1e-4 < default_tolerance(np.dtype("float32")) < 1e-2
    assert default_tolerance(np.dtype("float64")) < 1e-6


def test_default_tolerance_takes_what_numpy_dtype_takes() -> None:
    assert default_tolerance("float32") == default_tolerance(np.dtype("float32"))
    assert default_tolerance(np.float64) == default_tolerance(np.dtype("float64"))
    assert default_tolerance("int8") == 0
    if importlib.util.find_spec("ml_dtypes") is not None:
        assert default_tolerance("bfloat16") > default_tolerance("float16")
    with pytest.raises(InvalidOptionError, match=r"default_tolerance\(dtype='float7'\)"):
        default_tolerance("float7")


def test_uncallable_fn_is_an_invalid_option() -> None:
    with pytest.raises(
        InvalidOptionError,
        match=r"assert_equivalent\(fn, \.\.\.\): fn must be callable, not 5 \(int\)",
    ):
        assert_equivalent(5, _x(), memory_types=["numpy"])  # type: ignore[arg-type]


def test_single_memory_type_is_a_list_of_one() -> None:
    assert assert_equivalent(affine, _x(), memory_types="numpy") == ("numpy",)
    assert assert_equivalent(affine, _x(), memory_types=MemoryType.NUMPY) == ("numpy",)


@pytest.mark.parametrize("tol", [{"rtol": -1}, {"atol": -1e-3}, {"rtol": float("nan")}])
def test_negative_tolerance_is_an_invalid_option(tol: dict[str, float]) -> None:
    name = next(iter(tol))
    with pytest.raises(InvalidOptionError, match=rf"assert_equivalent\({name}=.*>= 0"):
        assert_equivalent(affine, _x(), memory_types=["numpy"], **tol)


_FLAGS = ("check_dtype", "check_memory_type", "check_inputs_unchanged", "check_signed_zeros")


@pytest.mark.parametrize("flag", _FLAGS)
@pytest.mark.parametrize("value", [None, "no", 0, np.array([True, True])], ids=repr)
def test_a_check_flag_that_is_not_a_bool_is_refused_naming_it(flag: str, value: Any) -> None:
    # None or "no" were read as truth values: check_dtype=None quietly turned the dtype
    # check off (a wrong dtype passed), an array raised numpy's ambiguous-truth ValueError.
    said = rf"^assert_equivalent\({flag}=.*\): {flag} takes True or False, not "
    with pytest.raises(InvalidOptionError, match=said):
        assert_equivalent(affine, _x(), memory_types=["numpy"], **{flag: value})


@pytest.mark.parametrize("flag", _FLAGS)
def test_a_numpy_bool_check_flag_is_taken(flag: str) -> None:
    for value in (np.True_, np.False_):
        assert assert_equivalent(affine, _x(), memory_types="numpy", **{flag: value})


@pytest.mark.parametrize("given", [1, 1.5, b"numpy", bytearray(b"numpy")], ids=repr)
def test_memory_types_neither_a_name_nor_a_list_of_them_is_refused(given: Any) -> None:
    # 1 raised a bare TypeError, b"numpy" was read as the ints 110, 117, ...: now refused as
    # memory_report refuses them.
    said = r"^assert_equivalent\(memory_types=.*\): pass a memory type name such as 'torch'"
    with pytest.raises(InvalidOptionError, match=said):
        assert_equivalent(affine, _x(), memory_types=given)


def test_named_memory_type_not_installed_is_a_setup_error() -> None:
    missing = [mt for mt in MemoryType if mt not in INSTALLED]
    if not missing:
        pytest.skip("every memory type is installed")
    with pytest.raises(BackendUnavailableError, match="install") as info:
        assert_equivalent(affine, _x(), memory_types=[missing[0]])
    assert not isinstance(info.value, AssertionError)


def test_array_api_strict_devices_pass_for_device_keeping_functions() -> None:
    checked = assert_equivalent(affine, _x(), memory_types=[ARRAY_API_STRICT])
    assert checked == tuple(
        f"array_api_strict on {d}" for d in ("CPU_DEVICE", "device1", "device2")
    )


def test_array_api_strict_catches_a_function_that_drops_the_device() -> None:
    import array_api_compat

    def forgets_device(x: Any) -> Any:
        xp = array_api_compat.array_namespace(x)
        return x + xp.asarray(1.0, dtype=x.dtype)  # lands on the default device

    assert_equivalent(forgets_device, _x(), memory_types=["numpy"])
    with pytest.raises(AssertionError, match="device1"):
        assert_equivalent(forgets_device, _x(), memory_types=[ARRAY_API_STRICT])


@skip_unless_installed(MemoryType.TORCH)
def test_a_function_writing_into_its_input_is_caught_on_zero_copy_runs() -> None:
    import torch

    # torch shares the numpy input: the run once wrote into the reference's own input (and
    # result), so a wrong in-place result compared equal to itself.
    def wrong_on_torch(x: Any) -> Any:
        x += 2 if isinstance(x, torch.Tensor) else 1
        return x

    with pytest.raises(AssertionError, match="differs from numpy"):
        assert_equivalent(wrong_on_torch, np.arange(3.0), memory_types=["torch"])

    def zeroes_on_torch(x: Any) -> Any:
        return x.mul_(0) if isinstance(x, torch.Tensor) else x

    with pytest.raises(AssertionError, match="differs from numpy"):
        assert_equivalent(zeroes_on_torch, np.arange(1.0, 4.0), memory_types=["torch"])
    args = np.arange(3.0)
    assert_equivalent(lambda x: x.__iadd__(1), args, memory_types=["numpy", "torch"])
    np.testing.assert_array_equal(args, [0.0, 1.0, 2.0])  # the caller's array untouched


@skip_unless_installed(MemoryType.TORCH)
def test_a_numpy_scalar_is_not_a_result_of_another_memory_type() -> None:
    def sums(x: Any) -> Any:
        return np.float64(x.cpu().numpy().sum()) if not isinstance(x, np.ndarray) else np.sum(x)

    with pytest.raises(AssertionError, match="numpy scalar, expected a torch array"):
        assert_equivalent(sums, np.arange(3.0), memory_types=["torch"])


@skip_unless_installed(MemoryType.TORCH)
def test_bfloat16_results_compare_with_nan_and_a_tolerance() -> None:
    # bfloat16 (ml_dtypes, kind "V") once got exact comparison: NaN never equal to NaN.
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    assert 0.0 < default_tolerance(bf16) < 1.0
    types = [mt.value for mt in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.JAX)]
    types = [t for t in types if MemoryType(t) in INSTALLED]
    x = np.array([np.nan, 1.0, 2.0], bf16)
    # abs, not `a * 1`: ml_dtypes 0.5.1 promotes bfloat16 * int to float32.
    assert assert_equivalent(lambda a: abs(a), x, memory_types=types) == tuple(types)

    def doubles_off_numpy(a: Any) -> Any:
        return a if isinstance(a, np.ndarray) else a * 2

    with pytest.raises(AssertionError, match="differs from numpy"):
        assert_equivalent(doubles_off_numpy, x, memory_types=["torch"])


def test_a_check_on_no_memory_type_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # With only memory types the arguments do not fit (pyclesperanto holds no float64),
    # assert_equivalent returned () and passed, having checked nothing.
    if MemoryType.PYCLESPERANTO not in INSTALLED:
        pytest.skip("pyclesperanto is not installed")
    monkeypatch.setenv("ARRAYPORT_MEMORY_TYPES", "pyclesperanto")
    with pytest.raises(AssertionError, match=r"checked on no memory type.*pyclesperanto"):
        assert_equivalent(lambda a: a * 2, np.arange(4.0))


def test_dict_results_are_compared_key_by_key() -> None:
    # A dict result raised numpy's bare ValueError, even for a correct function.
    def halves(a: Any) -> Any:
        return {"half": a / 2, "n": a.shape[0]}

    assert "numpy" in assert_equivalent(halves, np.arange(4.0))

    def wrong_on_torch(a: Any) -> Any:
        out = {"half": a / 2}
        if not isinstance(a, np.ndarray):
            out["half"] = out["half"] + 1
        return out

    if MemoryType.TORCH in INSTALLED:
        with pytest.raises(AssertionError, match=r"\['half'\]"):
            assert_equivalent(wrong_on_torch, np.arange(4.0), memory_types=["torch"])
    if len(CPU_TYPES) > 1:  # a dict on numpy against an array elsewhere
        with pytest.raises(AssertionError, match="dict"):
            assert_equivalent(
                lambda a: {"x": a} if isinstance(a, np.ndarray) else a,
                np.arange(2.0, dtype=np.float32),  # float64 skips jax without x64
            )


# Memory types whose arrays a function can write into (jax and tensorflow are immutable).
MUTABLE = [
    mt.value for mt in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.DASK) if mt in INSTALLED
]


def _framework(x: Any) -> str:
    return type(x).__module__.partition(".")[0]


def test_a_function_writing_into_its_input_leaves_the_caller_and_later_runs_alone() -> None:
    seen: list[tuple[str, list[float]]] = []

    def zeroes(x: Any) -> Any:
        seen.append((_framework(x), as_numpy(x).tolist()))
        x[...] = 0  # numpy and torch write into the array; dask rewrites its graph
        return x

    given = np.arange(1.0, 4.0)
    checked = assert_equivalent(zeroes, given, memory_types=[*MUTABLE, ARRAY_API_STRICT])
    assert len(checked) == len(MUTABLE) + 3
    np.testing.assert_array_equal(given, [1.0, 2.0, 3.0])  # the caller's array
    assert [values for _, values in seen] == [[1.0, 2.0, 3.0]] * (len(checked) + 1)

    def adds(x: Any) -> Any:  # x += 1 writes into numpy and torch arrays, rebinds jax ones
        x += 1
        return x

    given32 = np.arange(3.0, dtype=np.float32)
    assert_equivalent(adds, given32, memory_types=[mt.value for mt in CPU_TYPES])
    np.testing.assert_array_equal(given32, [0.0, 1.0, 2.0])


@skip_unless_installed(MemoryType.TORCH)
def test_a_torch_argument_is_not_written_through_its_shared_numpy_view() -> None:
    import torch

    def zeroes(x: Any) -> Any:
        x *= 0
        return x

    given = torch.arange(1.0, 4.0)
    assert_equivalent(zeroes, given, memory_types=["numpy", "torch"])
    assert given.tolist() == [1.0, 2.0, 3.0]


@skip_unless_installed(MemoryType.TORCH)
def test_each_run_gets_the_callers_layout() -> None:
    # The copies that keep runs apart were C-contiguous: a function was never run on the
    # transposed, strided or reversed arrays the caller (or arrays()) gave it.
    import torch

    strides: list[tuple[int, ...]] = []

    def records(x: Any) -> Any:
        strides.append(tuple(x.stride()) if isinstance(x, torch.Tensor) else x.strides)
        return x * 1

    given = np.arange(12.0).reshape(3, 4).T
    assert_equivalent(records, given, memory_types=["numpy", "torch"])
    assert strides == [(8, 32), (8, 32), (1, 4)]
    strides.clear()
    reversed_ = np.arange(12.0)[::-2]
    assert_equivalent(records, reversed_, memory_types=["numpy"])
    assert strides == [(-16,), (-16,)]


def test_the_same_array_twice_stays_one_array() -> None:
    # Each argument was copied on its own: f(x, x) ran on two arrays, so a write through
    # one no longer showed through the other as it does for the caller.
    results: list[list[float]] = []

    def writes_first_reads_second(a: Any, b: Any) -> Any:
        a[...] = 7
        out = b * 1
        results.append(as_numpy(out).tolist())
        return out

    given = np.zeros(2)
    types = [mt for mt in MUTABLE if mt != "dask"]  # dask's setitem writes no shared memory
    assert_equivalent(writes_first_reads_second, given, given, memory_types=types)
    assert results == [[7.0, 7.0]] * (len(types) + 1)
    np.testing.assert_array_equal(given, 0.0)


def test_a_zero_d_argument_stays_zero_d_on_array_api_strict() -> None:
    zero_d = np.full((), 2.0, np.float32)  # np.ascontiguousarray made it 1-d
    assert len(assert_equivalent(affine, zero_d, memory_types=[ARRAY_API_STRICT])) == 3


def _writes_on_torch(x: Any) -> Any:
    import array_api_compat

    out = x * 2
    if array_api_compat.is_torch_namespace(array_api_compat.array_namespace(x)):
        x[0] = 0  # after the result is computed: the result is right, the input changed
    return out


@skip_unless_installed(MemoryType.TORCH)
def test_inputs_unchanged_catches_a_write_on_one_memory_type() -> None:
    types = [mt.value for mt in XP_TYPES]
    # Off by default: working in place is allowed, and each run has its own copy.
    assert assert_equivalent(_writes_on_torch, _x(), memory_types=types) == tuple(types)
    with pytest.raises(
        AssertionError,
        match=r"_writes_on_torch\(float32\[3, 4\]\) on torch: fn wrote into its argument "
        r"x \(args\[0\]\) \(float32\[3, 4\]\): at index \(0, 0\) it holds 0\.0, it held -1\.0",
    ):
        assert_equivalent(_writes_on_torch, _x(), memory_types=types, check_inputs_unchanged=True)
    assert assert_equivalent(affine, _x(), memory_types=types, check_inputs_unchanged=True)


def test_inputs_unchanged_checks_the_reference_keywords_and_nested_arrays() -> None:
    def adds(x: Any, *, y: Any) -> Any:
        y += 1  # numpy writes into y; jax would rebind it
        return x + y

    with pytest.raises(
        AssertionError, match=r"on numpy \(the reference\): fn wrote into its argument y="
    ):
        assert_equivalent(adds, _x(), y=_x(), memory_types=["numpy"], check_inputs_unchanged=True)

    def clears(pair: Any) -> Any:
        pair[1][...] = np.nan
        return pair[0] + 0

    nan = np.full(2, np.nan)
    with pytest.raises(AssertionError, match=r"argument pair \(args\[0\]\)\[1\] \(float64\[2\]\)"):
        assert_equivalent(
            clears, [nan, np.ones(2)], memory_types=["numpy"], check_inputs_unchanged=True
        )
    assert_equivalent(clears, [nan, nan], memory_types=["numpy"], check_inputs_unchanged=True)


@skip_unless_installed(MemoryType.DASK)
def test_inputs_unchanged_sees_a_dask_setitem() -> None:
    def sets_on_dask(x: Any) -> Any:
        if _framework(x) == "dask":
            x[0] = -0.0  # dask rewrites x's graph in place; -0.0 is a change from 0.0
        return x + 1

    with pytest.raises(AssertionError, match=r"on dask: fn wrote into its argument x .* -0\.0"):
        assert_equivalent(
            sets_on_dask, np.zeros(3), memory_types=["numpy", "dask"], check_inputs_unchanged=True
        )


@skip_unless_installed(MemoryType.TORCH)
def test_signed_zeros_are_checked_when_asked() -> None:
    import torch

    def negates_on_torch(x: Any) -> Any:
        return -x if isinstance(x, torch.Tensor) else x * 1

    zeros = np.zeros((2, 2), np.float32)
    assert assert_equivalent(negates_on_torch, zeros, memory_types=["numpy", "torch"])
    with pytest.raises(
        AssertionError,
        match=r"negates_on_torch\(float32\[2, 2\]\) on torch: the result has -0\.0 at index "
        r"\(0, 0\), numpy gave 0\.0 \(the sign of a zero differs",
    ):
        assert_equivalent(
            negates_on_torch, zeros, memory_types=["numpy", "torch"], check_signed_zeros=True
        )
    types = [mt.value for mt in CPU_TYPES if mt is not MemoryType.PYCLESPERANTO]
    types += [ARRAY_API_STRICT] + ["dask"] * (MemoryType.DASK in INSTALLED)
    checked = assert_equivalent(lambda x: -x, zeros, memory_types=types, check_signed_zeros=True)
    assert len(checked) == len(types) + 2  # array_api_strict on three devices


# --- from a review of the input copies (session 10) ---

_OBJECT_ARGUMENTS = """
import numpy as np
from arrayport.testing import assert_equivalent
labels = np.array(["a", None, "c"], dtype=object)
for _ in range(5):
    assert_equivalent(
        lambda x, meta: x * len(meta[0]), np.arange(3.0), [labels], memory_types=["numpy"]
    )
from arrayport.testing._inputs import private
kept = private([labels])[0]
assert kept is not labels and list(kept) == ["a", None, "c"]
print("ok")
"""


def test_object_arrays_among_the_arguments_do_not_crash() -> None:
    # The layout-keeping copy wrote into uninitialised bytes, which numpy released as
    # object pointers: a segfault, hence a child interpreter.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _OBJECT_ARGUMENTS], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_inputs_unchanged_is_judged_on_what_each_run_was_given() -> None:
    # pyclesperanto holds bool as uint8 and float16 as float32: a widened argument that the
    # function leaves alone is not a write.
    from tests.conftest import INSTALLED

    if MemoryType.PYCLESPERANTO not in INSTALLED:
        pytest.skip("pyclesperanto is not installed")
    mask = np.array([[True, False], [False, True]])
    assert_equivalent(
        lambda x: x,
        mask,
        memory_types=["numpy", "pyclesperanto"],
        check_dtype=False,
        check_inputs_unchanged=True,
    )
    half = np.arange(4, dtype=np.float16).reshape(2, 2)
    assert_equivalent(
        lambda x: x + 1,
        half,
        memory_types=["numpy", "pyclesperanto"],
        check_dtype=False,
        check_inputs_unchanged=True,
    )


def _bump_first(x, y):
    x[...] = x + 1
    return y * 1


def _bump_keyword(x, *, y):
    x[...] = x + 1
    return y * 1


def test_the_same_array_twice_is_one_array_on_every_run() -> None:
    # Positionally and as a keyword; and on targets that copy (dask, pyclesperanto), where
    # each occurrence used to be converted on its own.
    a = np.arange(4.0)
    assert_equivalent(_bump_keyword, a, y=a, memory_types=["numpy"])
    b = np.arange(4, dtype=np.float32)
    for mt in (MemoryType.DASK, MemoryType.PYCLESPERANTO):
        if mt in INSTALLED:
            assert_equivalent(_bump_first, b, b, memory_types=["numpy", mt])


def test_runs_in_a_script_without_hypothesis_or_pytest() -> None:
    # The kit's docstring example raised ModuleNotFoundError for hypothesis (and, with
    # memory_types=None, for pytest): helpers it needs lived beside modules that import them.
    code = (
        "import sys; sys.modules['hypothesis'] = None; sys.modules['pytest'] = None\n"
        "import numpy as np\n"
        "from arrayport.testing import assert_equivalent\n"
        "print(assert_equivalent(np.negative, np.arange(3.0), memory_types=['numpy']))\n"
        "print(assert_equivalent(np.negative, np.arange(3.0)))\n"
    )
    env = {**os.environ, "ARRAYPORT_MEMORY_TYPES": "numpy"}
    done = python_c(code, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["('numpy',)", "('numpy',)"]


def test_a_missing_array_api_strict_is_named_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "array_api_strict", None)
    with pytest.raises(BackendUnavailableError, match="pip install array-api-strict"):
        assert_equivalent(affine, _x(), memory_types=["numpy", ARRAY_API_STRICT])


# --- from an audit of the testing helpers (session 14) ---


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize(("dtype", "held"), [("bool", "uint8"), ("float16", "float32")])
def test_a_type_that_holds_the_arguments_only_widened_is_skipped_by_default(
    monkeypatch: pytest.MonkeyPatch, dtype: str, held: str
) -> None:
    # pyclesperanto got bool as uint8 (float16 as float32) and the default check failed
    # on the result's dtype, although the docs promise to skip what cannot hold the dtype.
    monkeypatch.setenv("ARRAYPORT_MEMORY_TYPES", "numpy,pyclesperanto")
    x = np.ones(3, dtype)
    assert assert_equivalent(lambda a: a, x) == ("numpy",)
    with pytest.raises(
        AssertionError,
        match=rf"on pyclesperanto: the arguments cannot be converted: pyclesperanto holds "
        rf"{dtype} only widened to {held}",
    ):
        assert_equivalent(lambda a: a, x, memory_types=["pyclesperanto"])
    # Named, with dtypes not checked, it runs on the widened values.
    assert assert_equivalent(lambda a: a, x, memory_types=["pyclesperanto"], check_dtype=False) == (
        "pyclesperanto",
    )


@ap.memory_type("numpy", blockwise=True)
def _needs_four_rows(x: Any) -> Any:
    if x.shape[0] < 4:
        raise ValueError("needs at least 4 rows")
    return x * 2


@ap.memory_type("numpy", blockwise=True)
def _total(x: Any) -> Any:
    return float(x.sum())  # a float, not an array: dask's blocks cannot be reassembled


@skip_unless_installed(MemoryType.DASK)
def test_an_error_computing_a_dask_result_is_reported_like_an_error_in_fn() -> None:
    # dask runs fn when the result is computed, inside the comparison: the ValueError came
    # out bare, not naming dask, and a scalar result tripped the lazy dtype check instead.
    x = np.ones((4, 4), np.float32)
    with pytest.raises(
        AssertionError,
        match=r"_needs_four_rows\(float32\[4, 4\]\) on dask: raised ValueError computing the "
        r"result .*: needs at least 4 rows",
    ) as caught:
        assert_equivalent(_needs_four_rows, x, memory_types=["numpy", "dask"])
    assert isinstance(caught.value.__cause__, ValueError)
    with pytest.raises(
        AssertionError,
        match=r"on dask: raised ArrayportError computing the result .*returned float on a "
        r"dask block",
    ):
        assert_equivalent(_total, x, memory_types=["numpy", "dask"])


@ap.memory_type("numpy")
def _doubles_the_entry(d: Any) -> Any:
    return d["x"] * 2


def test_a_type_no_array_was_converted_to_is_not_counted_as_checked() -> None:
    # Arrays in dicts reach every run as numpy copies, and a function without array
    # arguments gets none: each memory type was still reported as checked.
    d = {"x": np.ones(3, np.float32)}
    for call in (
        lambda: assert_equivalent(_doubles_the_entry, d, memory_types=XP_TYPES),
        lambda: assert_equivalent(lambda: 1.0, memory_types=["numpy"]),
        lambda: assert_equivalent(lambda n: n + 1, 2),
    ):
        with pytest.raises(
            AssertionError,
            match=r"checked on no memory type.*numpy \(no array argument was converted to it",
        ):
            call()
    # One converted array is enough; the dict beside it stays numpy.
    checked = assert_equivalent(lambda a, d: a * d["x"], np.arange(3.0), d, memory_types=["numpy"])
    assert checked == ("numpy",)


@pytest.mark.parametrize("value", ["gpu", "cudax", "cuda:"], ids=repr)  # not "gpu": a GPU mark
def test_an_invalid_device_setting_is_refused_with_named_memory_types(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # With memory_types named, ARRAYPORT_DEVICE=gpu ran silently on the CPU.
    monkeypatch.setenv("ARRAYPORT_DEVICE", value)
    with pytest.raises(InvalidOptionError, match=rf"ARRAYPORT_DEVICE='{value}' is not a device"):
        assert_equivalent(affine, _x(), memory_types=["numpy"])


# --- from an audit of the testing helpers (2026-11-28) ---


def test_an_option_named_like_a_parameter_of_fn_warns_with_the_remedy() -> None:
    # assert_equivalent(close, a, b, rtol=0.1) took rtol for itself: close ran with its own
    # rtol=1e-5 every time, silently.
    import functools
    import warnings

    seen: list[tuple[float, float]] = []

    def close(a: Any, b: Any, rtol: float = 1e-5, *, check_dtype: bool = True) -> Any:
        seen.append((rtol, check_dtype))
        return abs(a - b) <= rtol * abs(b)

    a, b = np.float64([1.0, 2.0]), np.float64([1.05, 2.0])
    with pytest.warns(UserWarning, match="configured the check, not close") as caught:
        assert_equivalent(close, a, b, rtol=0.1, check_dtype=False, memory_types=["numpy"])
    assert len(caught) == 1
    assert str(caught[0].message) == (
        "assert_equivalent(rtol=0.1, check_dtype=False): rtol, check_dtype configured the "
        "check, not close, which has a parameter of that name and ran with its own default. "
        "To pass it to close, bind it: assert_equivalent(functools.partial(close, rtol=0.1, "
        "check_dtype=False), ...)"
    )
    assert caught[0].filename == __file__  # it points at the caller's line
    assert seen == [(1e-5, True), (1e-5, True)]
    # The remedy reaches fn; options left at their defaults, or named like no parameter of
    # fn (atol here), do not warn.
    seen.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_equivalent(functools.partial(close, rtol=0.1), a, b, atol=1.0)
        assert_equivalent(close, a, b, memory_types=["numpy"], atol=0.5)
    assert seen[0] == (0.1, True)
    assert {s[0] for s in seen} == {0.1, 1e-5}


@skip_unless_installed(MemoryType.TORCH)
def test_an_integer_result_is_compared_exactly_with_a_float_one() -> None:
    import torch

    def f(x: Any) -> Any:  # numpy: int64 2**53 + 1; torch: the float64 2**53 (one off)
        if isinstance(x, torch.Tensor):
            return torch.tensor([2.0**53], dtype=torch.float64)
        return np.array([2**53 + 1], dtype=np.int64)

    with pytest.raises(
        AssertionError,
        match=r"\.f\(float32\[1\]\) on torch: the result has 9007199254740992\.0 at index "
        r"\(0,\), numpy gave 9007199254740993 \(numpy's result is int64",
    ):
        assert_equivalent(f, np.zeros(1, np.float32), memory_types=["torch"], check_dtype=False)


@skip_unless_installed(MemoryType.TORCH)
def test_a_python_scalar_for_numpy_scalar_passes_only_without_check_dtype() -> None:
    def total(x: Any) -> Any:
        return x.sum() if isinstance(x, np.ndarray) else float(x.sum())

    x = np.arange(4.0)
    with pytest.raises(
        AssertionError, match=r"on torch: the result is a Python float 6\.0, numpy gave a numpy"
    ):
        assert_equivalent(total, x, memory_types=["torch"])
    assert assert_equivalent(total, x, memory_types=["torch"], check_dtype=False) == ("torch",)


def test_a_keyword_named_fn_reaches_the_function_under_test() -> None:
    def apply(x: Any, fn: Any = None) -> Any:
        return fn(x)

    assert_equivalent(apply, np.arange(3.0), fn=np.negative, memory_types=["numpy"])


# --- from audits of the testing kit and the docs (a21_kit finding 3, a21_docs finding 8) ---


@ap.memory_type("numpy", blockwise=True)
def _magnitude_and_sign(x: Any) -> Any:
    return np.abs(x), np.sign(x)


@skip_unless_installed(MemoryType.DASK)
def test_a_tuple_result_on_dask_reports_dispatchs_own_error() -> None:
    # It said "the result is Array, numpy gave a tuple of 2", as if a conversion were wrong.
    x = np.arange(-8, 8, dtype=np.float32).reshape(4, 4)
    with pytest.raises(
        AssertionError,
        match=r"_magnitude_and_sign\(float32\[4, 4\]\) on dask: raised ArrayportError computing "
        r"the result .*returned a tuple on a dask block: on dask input a function must return "
        r"one array",
    ):
        assert_equivalent(_magnitude_and_sign, x, memory_types=["numpy", "dask"])


def _normalise(image: Any) -> Any:
    xp = ap.namespace(image)
    lo, hi = xp.min(image), xp.max(image)
    return (image - lo) / (hi - lo)


@pytest.mark.parametrize("mt", [MemoryType.TENSORFLOW, MemoryType.PYCLESPERANTO])
def test_an_undecorated_function_on_a_type_without_a_namespace_gets_a_hint(
    mt: MemoryType,
) -> None:
    if mt not in INSTALLED:
        pytest.skip(f"{mt.value} is not installed")
    image = np.linspace(0, 100, 24, dtype=np.float32).reshape(4, 6)
    with pytest.raises(
        AssertionError,
        match=rf"on {mt.value}: raised NoNamespaceError: {mt.value} has no array API "
        r"namespace .*In a test, leave out the memory types without a namespace: "
        r"assert_equivalent\(\.\.\., memory_types=\['numpy', 'torch'\]\); or declare fn with "
        r"@ap\.memory_type\(\.\.\.\)",
    ):
        assert_equivalent(_normalise, image, memory_types=["numpy", mt, "torch"])
    # A function that fails there for another reason gets no such hint.

    def broken(x: Any) -> Any:
        if not isinstance(x, np.ndarray):
            raise UnsupportedArrayError("not this")
        return x

    with pytest.raises(AssertionError) as caught:
        assert_equivalent(broken, image, memory_types=[mt])
    assert "leave out" not in str(caught.value)


def test_an_error_in_the_numpy_reference_run_is_noted_as_that() -> None:
    # A bare ValueError came out, not saying which run raised or on what arguments.
    with pytest.raises(ValueError, match="zero-size array") as caught:
        assert_equivalent(_normalise, np.zeros((0, 3), np.float32), memory_types=["numpy"])
    (note,) = caught.value.__notes__
    assert note.startswith(
        "assert_equivalent: raised by the numpy reference run, _normalise(float32[0, 3]), "
        "before any other memory type ran: fn fails on these arguments in numpy itself; "
        "args[0] is empty or 0-d: arrays() draws empty and 0-d shapes unless given shape= "
    )
    assert "array_shapes(min_dims=1, min_side=1)" in note

    def fails(x: Any, *, w: Any) -> Any:
        raise KeyError("k")

    with pytest.raises(KeyError) as caught_k:
        assert_equivalent(fails, np.ones(2), w=np.float64(3.0), memory_types=["numpy"])
    (note,) = caught_k.value.__notes__
    assert note.startswith("assert_equivalent: raised by the numpy reference run, test_an")
    assert note.endswith(
        ".fails(float64[2], "
        "w=np.float64(3.0)), before any other memory type ran: fn fails on these arguments "
        "in numpy itself"
    )


# --- from an audit of the testing kit (a21_kit, finding 2) ---


def test_the_default_tolerance_of_16_bit_floats_is_8_eps() -> None:
    # 4 * sqrt(eps) was 0.125 for float16 and 0.354 for bfloat16: wrong formulas passed.
    assert default_tolerance("float16") == 8 * 2.0**-10
    assert default_tolerance("float32") == 4 * float(np.finfo(np.float32).eps) ** 0.5
    assert default_tolerance("complex64") == default_tolerance("float32")
    if importlib.util.find_spec("ml_dtypes") is not None:
        assert default_tolerance("bfloat16") == 8 * 2.0**-7


def _variance(x: Any) -> Any:  # divides by n - 1 on torch: wrong by n / (n - 1)
    xp = ap.namespace(x)
    n = x.shape[0] - (1 if _framework(x) == "torch" else 0)
    return xp.sum((x - xp.mean(x)) ** 2) / n


def _gain(x: Any) -> Any:  # 30% too bright on torch
    return x * 1.3 if _framework(x) == "torch" else x


@skip_unless_installed(MemoryType.TORCH)
def test_wrong_formulas_fail_in_half_precision() -> None:
    with pytest.raises(AssertionError, match=r"_variance\(float16\[10\]\) on torch: the result"):
        assert_equivalent(_variance, np.arange(10, dtype=np.float16), memory_types=["torch"])
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.array([1, 2, 3, 100], ml_dtypes.bfloat16)
    with pytest.raises(AssertionError, match=r"_gain\(bfloat16\[4\]\) on torch: the result"):
        assert_equivalent(_gain, x, memory_types=["torch"])


def _half_mean(x: Any) -> Any:
    return ap.namespace(x).mean(x, axis=0)


def _half_var(x: Any) -> Any:
    return ap.namespace(x).var(x)


def _half_box(x: Any) -> Any:  # a 3x3 box filter, the valid part
    h, w = x.shape
    total = x[0 : h - 2, 0 : w - 2]
    for i, j in [(i, j) for i in range(3) for j in range(3)][1:]:
        total = total + x[i : h - 2 + i, j : w - 2 + j]
    return total / 9


def _half_normalise(x: Any) -> Any:
    xp = ap.namespace(x)
    lo, hi = xp.min(x), xp.max(x)
    return (x - lo) / (hi - lo)


_HALF_TYPES = [mt for mt in (MemoryType.TORCH, MemoryType.JAX) if mt in INSTALLED]


@pytest.mark.skipif(not _HALF_TYPES, reason="neither torch nor jax is installed")
@pytest.mark.parametrize("fn", [_half_mean, _half_var, _half_box, _half_normalise])
def test_correct_functions_pass_in_float16_on_other_frameworks(fn: Any) -> None:
    # numpy rounds every float16 operation, torch and jax compute in float32 and round once:
    # 8 eps leaves room for that (an audit ran 300 hypothesis draws of each: 1 eps at most).
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    # Intensities in [0, 1]: numpy's float16 var of [0, 255] overflows to inf (a sum of
    # squares over 65504), where torch's, computed in float32, does not.
    values = st.floats(0, 1, width=16, allow_subnormal=False)
    filtered = [hypothesis.HealthCheck.filter_too_much, hypothesis.HealthCheck.too_slow]

    @hypothesis.settings(
        max_examples=15, deadline=None, database=None, suppress_health_check=filtered
    )
    @hypothesis.given(st.integers(3, 16), st.integers(3, 16), st.data())
    def check(h: int, w: int, data: Any) -> None:
        x = np.array(data.draw(st.lists(values, min_size=h * w, max_size=h * w)), np.float16)
        x = x.reshape(h, w)
        wide = x.astype(np.float64)
        hypothesis.assume(wide.std() > 0.1 * wide.max())  # well-conditioned: not near-constant
        assert_equivalent(fn, x, memory_types=_HALF_TYPES)

    check()


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_bool_result_on_pyclesperanto_fails_only_under_native_output_saying_what_to_do() -> None:
    # The guide said every dispatched bool result fails on pyclesperanto; under the default
    # PRESERVE_INPUT a float input's x > 2 is float32 on every run. Under NATIVE_OUTPUT it
    # fails, and the failure now names the widening and the remedy (audit a22 #6).
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    both = ["numpy", "pyclesperanto"]
    preserved = ap.memory_type("numpy")(lambda x: x > 2)
    assert assert_equivalent(preserved, x, memory_types=both) == ("numpy", "pyclesperanto")

    @ap.memory_type("numpy", dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    def gt(x: Any) -> Any:
        return x > 2

    with pytest.raises(AssertionError) as info:
        assert_equivalent(gt, x, memory_types=both)
    assert str(info.value).endswith(
        ".gt(float32[2, 3]) on pyclesperanto: the result has dtype uint8, numpy gave bool "
        "(pyclesperanto holds bool as uint8: pass check_dtype=False or leave pyclesperanto "
        "out of memory_types)"
    )
    assert assert_equivalent(gt, x, memory_types=both, check_dtype=False) == tuple(both)
