"""Tests of arrayport.testing.strategies: the arrays() strategy and its tables."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from arrayport import InvalidOptionError, MemoryType, detect_memory_type
from arrayport.testing import as_numpy
from arrayport.testing.strategies import (
    ALL_DTYPES,
    arrays,
    dtypes_for,
    shapes_for,
)
from tests.conftest import CPU_TYPES, python_c, skip_unless_installed

FEW = settings(max_examples=15, deadline=None)


@pytest.mark.parametrize("mt", CPU_TYPES, ids=str)
@FEW
@given(data=st.data())
def test_arrays_have_the_memory_type_and_a_held_dtype(mt: MemoryType, data: st.DataObject) -> None:
    x = data.draw(arrays(mt))
    assert detect_memory_type(x) is mt
    host = as_numpy(x)
    assert host.dtype.newbyteorder("=").name in dtypes_for(mt)


@FEW
@given(x=arrays("numpy", dtype="int16", shape=(2, 3), layout=()))
def test_fixed_dtype_shape_and_layout(x: np.ndarray) -> None:
    assert x.dtype == np.int16
    assert x.shape == (2, 3)
    assert x.flags.c_contiguous


@FEW
@given(x=arrays("numpy", dtype=["uint8", "float16"], shape=4, layout="readonly"))
def test_dtype_list_and_int_shape(x: np.ndarray) -> None:
    assert x.dtype.name in ("uint8", "float16")
    assert x.shape == (4,)
    assert not x.flags.writeable


@FEW
@given(x=arrays("numpy", dtype="float32", allow_nan=False, allow_infinity=False))
def test_finite_only(x: np.ndarray) -> None:
    assert np.all(np.isfinite(x))


def test_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        arrays("numpy", layout="diagonal")


def test_unknown_layout_is_an_invalid_option_naming_the_argument() -> None:
    with pytest.raises(InvalidOptionError, match=r"arrays\(layout='weird'\): unknown layout"):
        arrays("numpy", layout="weird")


def test_unknown_dtype_is_an_invalid_option_listing_the_dtypes() -> None:
    with pytest.raises(InvalidOptionError, match=r"arrays\(dtype='uint7'\).*float32"):
        arrays("numpy", dtype="uint7")


def test_negative_size_is_an_invalid_option() -> None:
    with pytest.raises(
        InvalidOptionError, match=r"arrays\(shape=\(-1,\)\): sizes must be ints >= 0"
    ):
        arrays("numpy", shape=(-1,))


@FEW
@given(shape=shapes_for("pyclesperanto"))
def test_pyclesperanto_shapes(shape: tuple[int, ...]) -> None:
    assert 1 <= len(shape) <= 3
    assert all(n >= 1 for n in shape)


def test_dtype_tables() -> None:
    assert dtypes_for("numpy") == ALL_DTYPES
    assert set(dtypes_for("pyclesperanto")) == {
        "int8",
        "uint8",
        "int16",
        "uint16",
        "int32",
        "uint32",
        "float32",
    }
    if "jax" not in __import__("sys").modules:
        assert "int64" not in dtypes_for("jax")
        assert "float64" not in dtypes_for("jax")


def test_a_missing_hypothesis_is_named_with_the_install_command() -> None:
    # Was a bare ModuleNotFoundError from deep inside the kit.
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import arrayport.testing as t\n"
        "try:\n"
        "    t.arrays\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, '|', e)\n"
    )
    done = python_c(code)
    assert done.returncode == 0, done.stderr
    name, _, message = done.stdout.partition(" | ")
    assert name == "BackendUnavailableError"
    assert "need hypothesis" in message
    assert "pip install hypothesis" in message


@skip_unless_installed(MemoryType.TORCH)
@FEW
@given(x=arrays("torch", dtype="float32", shape=(3, 4), layout="transposed"))
def test_torch_keeps_non_contiguous_layouts(x: object) -> None:
    assert not x.is_contiguous()  # type: ignore[attr-defined]


def test_a_dtype_asked_for_keeps_its_byte_order() -> None:
    # Dtypes were resolved by name: ">f8" drew little-endian arrays.
    seen: set[str] = set()

    @settings(max_examples=25, deadline=None, database=None)
    @given(
        x=arrays("numpy", dtype=">f8", shape=(3,), layout=()),
        y=arrays("numpy", dtype=[">i4", ">f4"], shape=(3,), layout=()),
    )
    def draw(x: np.ndarray, y: np.ndarray) -> None:
        assert x.dtype.str == ">f8"
        seen.add(y.dtype.str)

    draw()
    assert seen == {">i4", ">f4"}


def test_a_dtype_the_memory_type_cannot_hold_is_refused_not_replaced() -> None:
    # pyclesperanto drew uint8 for bool and float32 for float16, without a word.
    for mt, dtype in [("pyclesperanto", "bool"), ("pyclesperanto", "float16")]:
        with pytest.raises(InvalidOptionError, match=rf"cannot hold {dtype} exactly"):
            arrays(mt, dtype=dtype)
    with pytest.raises(InvalidOptionError, match=r"native byte order, not >f4"):
        arrays("torch", dtype=">f4")

    @given(x=arrays("pyclesperanto", dtype=st.just(np.dtype("float16")), shape=(2,)))
    def draw(x: object) -> None:
        raise AssertionError(x)  # never reached: the draw is refused

    with pytest.raises(InvalidOptionError, match="cannot hold float16 exactly"):
        draw()


@skip_unless_installed(MemoryType.DASK)
def test_dask_arrays_come_in_several_blocks() -> None:
    # arrays("dask") only ever drew one chunk.
    from hypothesis import find

    x = find(
        arrays("dask", dtype=">f4", shape=(4, 5)),
        lambda d: d.numblocks[0] > 1 and d.numblocks[1] > 1,
        settings=settings(database=None, max_examples=200),
    )
    assert sum(x.chunks[0]) == 4
    assert as_numpy(x).dtype.str == ">f4"  # dask's numpy chunks keep the byte order
    assert sum(x.chunks[1]) == 5


# --- from an audit of the testing helpers (session 14) ---


@pytest.mark.parametrize(
    "shape", [np.int64(3), (np.int64(3),), [np.int32(2), 3], np.array([2, 1])], ids=repr
)
def test_numpy_integer_sizes_are_taken_as_ints(shape: object) -> None:
    # Accepted when the strategy was built, they crashed hypothesis when drawn.
    want = tuple(int(n) for n in np.atleast_1d(shape))  # type: ignore[call-overload]

    @settings(max_examples=3, deadline=None, database=None)
    @given(x=arrays("numpy", dtype="float32", shape=shape, layout=()))  # type: ignore[arg-type]
    def draw(x: np.ndarray) -> None:
        assert x.shape == want

    draw()
    with pytest.raises(InvalidOptionError, match="sizes must be ints >= 0"):
        arrays("numpy", shape=(np.int64(-1),))
    with pytest.raises(InvalidOptionError, match="sizes must be ints >= 0"):
        arrays("numpy", shape=np.bool_(True))  # type: ignore[arg-type]


_JAX_X64_FROM_ENVIRONMENT = """
import sys
from arrayport.testing.strategies import arrays, dtypes_for
assert "jax" not in sys.modules
print("before", "float64" in dtypes_for("jax"))
from hypothesis import find, given, settings
@settings(max_examples=2, database=None, deadline=None)
@given(arrays("jax", "float64", 3))
def draw(x):
    assert str(x.dtype) == "float64"
draw()
print("drawn")
"""


@skip_unless_installed(MemoryType.JAX)
@pytest.mark.parametrize("value", ["on", "t", "Y"])
def test_jax_64_bit_mode_is_read_as_jax_reads_it(value: str) -> None:
    # JAX_ENABLE_X64=on turns 64-bit mode on in jax, but arrays("jax", "float64") refused it.
    env = {**os.environ, "JAX_ENABLE_X64": value}
    done = python_c(_JAX_X64_FROM_ENVIRONMENT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["before", "True", "drawn"]


# --- from an audit of the testing helpers (2026-11-28) ---


def _first_draw(strategy: st.SearchStrategy[object]) -> object:
    got: list[object] = []

    @settings(max_examples=1, database=None, deadline=None)
    @given(x=strategy)
    def draw(x: object) -> None:
        got.append(x)

    draw()
    return got[0]


@pytest.mark.parametrize(
    ("device", "said"),
    [
        ("bogus", r"arrays\('numpy', device='bogus'\): invalid device 'bogus'"),
        (
            "cuda:5",
            r"arrays\('numpy', device='cuda:5'\): numpy arrays live in host memory, not "
            r"on cuda:5; use device='cpu' or None",
        ),
        (7, r"arrays\('numpy', device=7\): numpy arrays live in host memory, not on cuda:7"),
    ],
    ids=repr,
)
def test_a_device_numpy_cannot_be_on_is_refused_when_built(device: object, said: str) -> None:
    # arrays("numpy", device=...) ignored the device, even one that is no device at all.
    with pytest.raises(InvalidOptionError, match=rf"^{said}"):
        arrays("numpy", dtype="float32", shape=(2,), device=device)
    for cpu in ("cpu", None):
        x = _first_draw(arrays("numpy", dtype="float32", shape=(2,), device=cpu))
        assert type(x) is np.ndarray
        assert x.shape == (2,)


@skip_unless_installed(MemoryType.TORCH)
def test_a_value_that_is_no_device_is_refused_when_built() -> None:
    # Refused only when drawn, as a DeviceError from the conversion.
    with pytest.raises(InvalidOptionError, match=r"^arrays\('torch', device='bogus'\): invalid"):
        arrays("torch", dtype="float32", shape=(2,), device="bogus")
    x = _first_draw(arrays("torch", dtype="float32", shape=(2,), device="cpu"))
    assert detect_memory_type(x) is MemoryType.TORCH


@pytest.mark.parametrize("name", ["strided", "readonly"])
def test_a_layout_strategy_may_draw_one_name(name: str) -> None:
    # st.just("strided") was split into letters: unknown layout ['d', 'e', 'i', ...].
    x = _first_draw(arrays("numpy", dtype="float32", shape=(3,), layout=st.just(name)))
    assert isinstance(x, np.ndarray)
    assert x.strides == ((8,) if name == "strided" else (4,))
    assert x.flags.writeable is (name != "readonly")
    np.testing.assert_array_equal(x, x.copy())


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize(
    ("shape", "fixed"),
    [((2, 2, 2, 2), (2, 2, 2, 2)), ((0,), (0,)), ((), ()), ((3, 0), (3, 0)), (0, (0,))],
    ids=repr,
)
def test_a_shape_pyclesperanto_cannot_hold_is_refused(
    shape: object, fixed: tuple[int, ...]
) -> None:
    # Built fine; every draw then failed with a ConversionError.
    with pytest.raises(
        InvalidOptionError,
        match=rf"^arrays\('pyclesperanto', shape={re.escape(repr(shape))}\): pyclesperanto "
        rf"holds 1- to 3-D arrays with no empty axis, not shape {re.escape(repr(fixed))}",
    ):
        arrays("pyclesperanto", dtype="float32", shape=shape)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="pyclesperanto holds 1- to 3-D arrays"):
        _first_draw(arrays("pyclesperanto", dtype="float32", shape=st.just(fixed)))
    x = _first_draw(arrays("pyclesperanto", dtype="float32", shape=(2, 1, 3)))
    assert as_numpy(x).shape == (2, 1, 3)
    y = _first_draw(arrays("numpy", dtype="float32", shape=(2, 2, 2, 2, 2)))  # any shape
    assert isinstance(y, np.ndarray)
    assert y.shape == (2, 2, 2, 2, 2)


def test_a_star_import_of_the_kit_needs_no_hypothesis() -> None:
    # __all__ named the strategies, which need hypothesis: `from arrayport.testing import *`
    # failed in a conftest that wanted assert_equivalent and inject_oom.
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import importlib.util, importlib.machinery\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'hypothesis' else real(n, *a)\n"
        "from arrayport.testing import *\n"
        "names = dir()\n"
        "print(sorted(n for n in ('assert_equivalent', 'inject_oom', 'arrays') if n in names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['assert_equivalent', 'inject_oom']"


# --- from an audit of the testing kit (testing3, 2026-11-28) ---


def _recipes(source: str) -> list[str]:
    """The hypothesis tests in ``source`` (Python, or doctest lines) that call
    assert_equivalent, each with the decorators above it."""
    lines = [
        line.strip().removeprefix(">>> ").removeprefix("... ").strip()
        for line in source.splitlines()
    ]
    found: list[str] = []
    block: list[str] = []
    for line in lines:
        if line.startswith("@") and any(b.startswith("def ") for b in block):
            block = []  # the decorators of the next function
        if line.startswith("@") or block:
            block.append(line)
        if line.startswith("assert_equivalent(") and any(b.startswith("@given") for b in block):
            found.append("\n".join(block))
            block = []
    return found


def test_the_documented_recipes_with_assert_equivalent_have_no_deadline() -> None:
    # The recipe kept hypothesis' 200 ms deadline: the first call into a framework compiles
    # (seconds), and a correct function failed as flaky ("Unreliable test timings").
    import doctest
    from pathlib import Path

    import arrayport.testing.assertions as assertions

    root = Path(__file__).parent.parent.parent
    sources = {
        "arrays()": arrays.__doc__ or "",
        "assert_equivalent()": assertions.assert_equivalent.__doc__ or "",
        "examples/test_my_function.py": (root / "examples/test_my_function.py").read_text(),
        "docs/testing.md": (root / "docs/testing.md").read_text(),
    }
    for name, source in sources.items():
        recipes = _recipes(source)
        assert recipes, f"{name} shows no hypothesis test calling assert_equivalent"
        for recipe in recipes:
            assert "deadline=None" in recipe, f"{name}:\n{recipe}"
    (test,) = doctest.DocTestFinder().find(arrays, globs={})  # the recipe runs as shown
    assert doctest.DocTestRunner().run(test).failed == 0


# --- from an audit of the testing kit (session 19) ---


def _subnormal(x: np.ndarray) -> bool:
    if x.dtype.kind not in "fc":
        return False
    parts = np.abs(np.concatenate([x.real.ravel(), x.imag.ravel()]))
    return bool(np.any((parts > 0) & (parts < np.finfo(x.dtype).tiny)))


def test_allow_subnormal_turns_subnormal_draws_on_and_off() -> None:
    # jax and tensorflow flush subnormal inputs (x * 2**64 gives 0): a correct function
    # failed on the kit's own draws, and arrays() had no allow_subnormal to turn them off.
    few = settings(max_examples=1000, database=None, deadline=None, derandomize=True)
    for on in (arrays("numpy", "f4", 2, allow_subnormal=True), arrays("numpy", "c8", 2, layout=())):
        assert _subnormal(find(on, _subnormal, settings=few))  # the default None: as before
    dtypes = ["int8", "bool", "float16", "float32", "complex64"]  # ignored for int and bool

    @FEW
    @given(x=arrays("numpy", dtypes, 6, allow_nan=False, allow_subnormal=False))
    def draw(x: np.ndarray) -> None:
        assert not _subnormal(x), x

    draw()
    with pytest.raises(InvalidOptionError, match=r"^arrays\(allow_subnormal='no'\): "):
        arrays("numpy", "int8", allow_subnormal="no")  # type: ignore[arg-type]
