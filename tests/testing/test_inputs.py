"""testing/_inputs: the arguments each run of assert_equivalent gets, and the after-run check."""

from __future__ import annotations

import collections
import functools
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import ConversionError, DeviceError, MemoryType, UnsupportedDtypeError
from arrayport.testing import ARRAY_API_STRICT, as_numpy, assert_equivalent
from arrayport.testing._inputs import (
    check_unchanged,
    kept,
    private,
    replica,
    run_arguments,
    snapshot,
)
from arrayport.testing.assertions import _is_refusal
from tests.conftest import INSTALLED, skip_unless_installed


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(12.0).reshape(3, 4).T,  # Fortran order
        lambda: np.arange(12.0)[::-2],  # negative stride
        lambda: np.broadcast_to(np.arange(4.0), (3, 4)),  # zero stride, read-only
        lambda: np.arange(6, dtype=">i4"),  # big-endian
        lambda: np.array(3.5),  # 0-d
        lambda: np.array(["a", None], dtype=object),
    ],
)
def test_a_replica_keeps_layout_byte_order_and_flags(make) -> None:
    a = make()
    r = replica(a)
    assert not np.shares_memory(r, a)
    np.testing.assert_array_equal(r, a)
    assert (r.shape, r.strides, r.dtype, r.flags.writeable) == (
        a.shape,
        a.strides,
        a.dtype,
        a.flags.writeable,
    )


def test_private_copies_every_array_once_and_keeps_aliases() -> None:
    a = np.arange(3.0)
    args = private([a, [a, {"k": a}], 2.0])
    assert args[0] is not a
    assert args[0] is args[1][0] is args[1][1]["k"]
    assert args[2] == 2.0


def test_run_arguments_convert_each_array_once() -> None:
    a = np.arange(4.0)
    args, kwargs, converted = run_arguments([a, a], {"y": a}, MemoryType.NUMPY)
    assert args[0] is args[1] is kwargs["y"]
    assert len(converted) == 1  # one array, converted once
    assert converted[0] is args[0]
    assert not np.shares_memory(args[0], a)  # a numpy run gets a copy it may write


def test_snapshot_and_check_unchanged_name_the_argument() -> None:
    def fn(x, y):
        return x

    given = [np.arange(3.0), [np.ones(2)]]
    before = snapshot(given)
    check_unchanged(fn, given, {}, before, {}, where="fn on numpy")
    given[1][0][1] = -0.0 + 5
    with pytest.raises(AssertionError, match=r"wrote into its argument y \(args\[1\]\)\[0\]"):
        check_unchanged(fn, given, {}, before, {}, where="fn on numpy")


# --- checks that used to pass what they should catch (an audit of the kit, session 11) ---

Pair = collections.namedtuple("Pair", "a b")


# --- dask runs get several blocks ---


@ap.memory_type("numpy", blockwise=True)  # declared wrongly: it looks at the whole array
def _normalise(x: Any) -> Any:
    return x / x.sum()


@ap.memory_type("numpy", whole_array=True)
def _normalise_whole(x: Any) -> Any:
    return x / x.sum()


@skip_unless_installed(MemoryType.DASK)
def test_dask_runs_split_the_arguments_into_blocks() -> None:
    # The dask run got one chunk: a function wrong across blocks passed.
    x = np.arange(1.0, 9.0)
    with pytest.raises(AssertionError, match=r"_normalise\(float64\[8\]\) on dask: the result"):
        assert_equivalent(_normalise, x, memory_types=["numpy", "dask"])
    assert assert_equivalent(_normalise_whole, x, memory_types=["numpy", "dask"])
    undeclared = _normalise.options(blockwise=False)  # refused by arrayport on dask blocks
    with pytest.raises(AssertionError, match=r"on dask: raised BlockRuleError: .* split into"):
        assert_equivalent(undeclared, x, memory_types=["numpy", "dask"])
    assert "dask" not in assert_equivalent(undeclared, x)  # by default: skipped
    # ... wrapped too: the refusal, not the wrapper, says so (a partial failed on dask).
    assert "dask" not in assert_equivalent(functools.partial(undeclared), x)
    assert "dask" not in assert_equivalent(lambda a: undeclared(a), x)
    args, _, _ = run_arguments([np.ones((4, 5, 1)), [np.ones((4, 5, 1))]], {}, MemoryType.DASK)
    assert args[0].chunks == ((2, 2), (3, 2), (1,))
    assert args[1][0].numblocks == (2, 2, 1)


@skip_unless_installed(MemoryType.DASK)
def test_dask_runs_give_arrays_of_another_shape_whole_as_numpy() -> None:
    # A lookup table or per-slice factors beside the image were made dask arrays too,
    # which dispatch refuses ("dask arguments ... must have the same shape"): a correct
    # function failed on dask, where a user passes such an operand as numpy.
    image = np.arange(20, dtype=np.uint8).reshape(4, 5)
    lut = (255 - np.arange(256)).astype(np.uint8)
    args, _, placed = run_arguments([image, lut, [image]], {}, MemoryType.DASK)
    assert type(args[1]) is np.ndarray
    assert np.array_equal(args[1], lut)
    assert args[2][0].numblocks == args[0].numblocks
    assert len(placed) == 1

    @ap.memory_type("numpy", blockwise=True)
    def apply_lut(img: Any, table: Any) -> Any:
        return table[img]

    assert "dask" in assert_equivalent(apply_lut, image, lut, memory_types=["numpy", "dask"])

    # The largest array is the one split, whatever the order: a 0-d threshold first.
    @ap.memory_type("numpy", blockwise=True)
    def below(t: Any, x: Any) -> Any:
        return x < t

    threshold = np.asarray(7, np.uint8)
    assert "dask" in assert_equivalent(below, threshold, image, memory_types=["numpy", "dask"])


# --- the reference result stays the reference ---


@skip_unless_installed(MemoryType.TORCH)
def test_the_reference_result_is_kept_whatever_its_memory_type() -> None:
    # Only a plain numpy result was copied: a torch buffer, or a numpy buffer in a
    # namedtuple, returned again by a later (wrong) run overwrote the reference.
    import torch

    def buffered(make: Any, wrap: Any) -> Any:
        cache: dict[str, Any] = {}

        def f(x: Any) -> Any:
            out = cache.setdefault("out", make())
            values = as_numpy(x) * (2 if isinstance(x, np.ndarray) else 3)  # wrong off numpy
            out[:] = torch.as_tensor(values) if torch.is_tensor(out) else values
            return wrap(out)

        return f

    x = np.arange(3, dtype=np.float32)
    cases = [
        (lambda: torch.zeros(3), lambda out: out),
        (lambda: np.zeros(3, np.float32), lambda out: Pair(out, 1)),
        (lambda: np.zeros(3, np.float32), lambda out: {"out": [out]}),
    ]
    for make, wrap in cases:
        with pytest.raises(AssertionError, match="on torch: the result"):
            assert_equivalent(
                buffered(make, wrap), x, memory_types=["numpy", "torch"], check_memory_type=False
            )
    result = kept(Pair(torch.ones(2), collections.OrderedDict(k=np.ones(1))))
    assert type(result) is Pair
    assert isinstance(result.a, np.ndarray)
    assert type(result.b) is collections.OrderedDict


# --- namedtuple and OrderedDict arguments ---


@pytest.mark.parametrize(
    "wrap",
    [lambda w: Pair(w, 0), lambda w: collections.OrderedDict(w=w)],
    ids=["namedtuple", "OrderedDict"],
)
def test_arrays_in_tuple_and_dict_subclasses_are_copied_and_checked(wrap: Any) -> None:
    # Neither copied per run nor looked at by check_inputs_unchanged: the caller's array
    # changed and the write passed.
    def writes(x: Any, params: Any) -> Any:
        w = params[0] if isinstance(params, tuple) else params["w"]
        w[...] = 0
        return x * 2

    w = np.full(3, 2.0, np.float32)
    with pytest.raises(AssertionError, match=r"fn wrote into its argument params \(args\[1\]\)"):
        assert_equivalent(
            writes,
            np.ones(3, np.float32),
            wrap(w),
            memory_types="numpy",
            check_inputs_unchanged=True,
        )
    assert_equivalent(writes, np.ones(3, np.float32), wrap(w), memory_types="numpy")
    np.testing.assert_array_equal(w, 2.0)  # the caller's array
    for copied in (private(wrap(w)), snapshot(wrap(w))):
        assert type(copied) is type(wrap(w))
        inner = copied["w"] if isinstance(copied, dict) else copied[0]
        assert not np.shares_memory(inner, w)


# --- arrays in list and tuple arguments reach each run in its memory type ---


@skip_unless_installed(MemoryType.TORCH)
def test_arrays_one_level_down_are_converted_like_dispatch_converts_them() -> None:
    seen: list[tuple[str, str, str]] = []

    def weighted(x: Any, weights: Any, pair: Any, extra: Any) -> Any:
        def name(a: Any) -> str:
            return type(a).__module__.partition(".")[0]

        seen.append((name(weights[0]), name(pair.a), name(extra["w"])))
        return x * as_numpy(weights[0]).sum()

    w = np.full(3, 2, np.float32)
    assert_equivalent(
        weighted,
        np.arange(3, dtype=np.float32),
        [w],
        Pair(w, None),
        {"w": w},  # dicts are not looked into, by dispatch nor here: numpy copies
        memory_types=["torch"],
        check_memory_type=False,
    )
    assert seen == [("numpy", "numpy", "numpy"), ("torch", "torch", "numpy")]


# --- dask's lazy dtype and shape ---


@skip_unless_installed(MemoryType.DASK)
def test_the_dtype_and_shape_a_dask_result_reports_are_compared() -> None:
    import dask.array as da

    def wrong_dtype(x: Any) -> Any:  # map_blocks told the input's dtype: it reports int32
        if isinstance(x, da.Array):
            return x.map_blocks(lambda b: b / 2, dtype=x.dtype)
        return x / 2

    def wrong_shape(x: Any) -> Any:  # told twice the chunks it makes
        if isinstance(x, da.Array):
            chunks = tuple(tuple(2 * c for c in axis) for axis in x.chunks)
            return x.map_blocks(lambda b: b / 2, dtype=float, chunks=chunks)
        return x / 2

    x = np.arange(4, dtype=np.int32)
    types = ["numpy", "dask"]
    with pytest.raises(AssertionError, match=r"reports dtype int32 \(the dask array's dtype"):
        assert_equivalent(wrong_dtype, x, memory_types=types)
    with pytest.raises(AssertionError, match=r"reports shape \(8,\) \(the dask array's shape"):
        assert_equivalent(wrong_shape, x, memory_types=types)
    # Unknown (NaN) sizes: only the computed shape is compared.
    assert assert_equivalent(lambda a: a[a > 1], x, memory_types=types)


# --- memory_types=None skips only what cannot hold the arguments ---


def test_default_selection_follows_the_fixture_and_never_skips_a_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Under ARRAYPORT_DEVICE=cuda without a GPU the numpy run still ran (and passed) although
    # the fixture skips numpy there, and DeviceErrors were skipped as if the dtype did not fit.
    def buggy(x: Any) -> Any:
        return x if isinstance(x, np.ndarray) else x * 0

    monkeypatch.setenv("ARRAYPORT_DEVICE", "cuda")
    monkeypatch.setenv("ARRAYPORT_MEMORY_TYPES", "numpy")
    with pytest.raises(AssertionError, match=r"checked on no memory type.*cannot hold data on a"):
        assert_equivalent(buggy, np.ones(3, np.float32))
    monkeypatch.delenv("ARRAYPORT_DEVICE")
    if MemoryType.CUPY not in INSTALLED:  # named but missing: left out, not silently
        monkeypatch.setenv("ARRAYPORT_MEMORY_TYPES", "numpy,cupy")
        with pytest.warns(UserWarning, match="names cupy, left out: cupy is not installed"):
            assert assert_equivalent(buggy, np.ones(3, np.float32)) == ("numpy",)
    assert _is_refusal(UnsupportedDtypeError("no float64"))
    assert _is_refusal(ConversionError("no 0-d arrays"))
    assert not _is_refusal(DeviceError("no GPU"))
    wrapped = ConversionError("cannot place it")
    wrapped.__cause__ = DeviceError("no GPU")
    assert not _is_refusal(wrapped)


# --- array-api-strict: native byte order, a clear refusal of float16 ---


def test_array_api_strict_gets_native_byte_order_and_refuses_float16_clearly() -> None:
    big = np.arange(3, dtype=">f4")
    assert len(assert_equivalent(lambda a: -a, big, memory_types=[ARRAY_API_STRICT])) == 3
    with pytest.raises(AssertionError, match="array_api_strict has no float16 dtype"):
        assert_equivalent(lambda a: -a, np.ones(3, np.float16), memory_types=[ARRAY_API_STRICT])


# --- from an audit of the testing helpers (session 14) ---


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize(("dtype", "held"), [("bool", "uint8"), ("float16", "float32")])
def test_a_widening_conversion_is_a_refusal_unless_allowed(dtype: str, held: str) -> None:
    # pyclesperanto holds bool as uint8 and float16 as float32: the run got another dtype
    # than numpy's reference, and assert_equivalent(memory_types=None) failed on it.
    x = np.ones(3, dtype)
    with pytest.raises(
        UnsupportedDtypeError, match=rf"pyclesperanto holds {dtype} only widened to {held}"
    ) as caught:
        run_arguments([x], {}, MemoryType.PYCLESPERANTO)
    assert _is_refusal(caught.value)
    args, _, converted = run_arguments([x], {}, MemoryType.PYCLESPERANTO, widen=True)
    assert as_numpy(args[0]).dtype.name == held
    assert converted == [args[0]]


def test_run_arguments_count_only_the_arrays_they_convert() -> None:
    a = np.arange(3.0)
    labels = np.array(["a", "b"])  # one level down and holding no numbers: stays numpy
    _, _, converted = run_arguments([{"x": a}, 2.0, [labels]], {"k": {"y": a}}, MemoryType.NUMPY)
    assert converted == []
    args, kwargs, converted = run_arguments([[labels, a]], {"y": np.ones(2)}, MemoryType.NUMPY)
    assert len(converted) == 2
    assert converted[0] is args[0][1]  # the labels stayed as given: not among them
    assert converted[1] is kwargs["y"]


def test_the_device_is_that_of_an_array_converted_to_the_memory_type() -> None:
    # The device check took the first array argument, converted or not: labels of strings
    # left as numpy (on the CPU) failed every device but array-api-strict's CPU_DEVICE:
    # "the result is on array_api_strict.Device('device1'), the inputs on cpu".
    def second(pair: Any) -> Any:
        return pair[1] * 2

    pair = [np.array(["a", "b", "c"]), np.arange(3, dtype=np.float32)]
    checked = assert_equivalent(second, pair, memory_types=[ARRAY_API_STRICT])
    assert checked == tuple(
        f"array_api_strict on {d}" for d in ("CPU_DEVICE", "device1", "device2")
    )
    # Every usable memory type, on ARRAYPORT_DEVICE: with cuda, the labels stay on the CPU.
    assert len(assert_equivalent(second, pair)) >= 1
