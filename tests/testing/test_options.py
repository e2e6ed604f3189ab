"""Tests of arrayport.testing._options: arrays()' option checks and default elements, and
of arrays() refusing bad options when the strategy is built."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from arrayport import InvalidOptionError, MemoryType
from arrayport.testing import LAYOUTS, arrays
from arrayport.testing._options import (
    BYTE_VIEW_LAYOUTS,
    check_drawable,
    check_laid_out,
    checked_device,
    checked_elements,
    checked_flag,
    default_elements,
    dtype_of,
    layout_set,
)


@pytest.mark.parametrize(
    ("value", "taken"), [(True, True), (False, False), (np.True_, True), (None, None)]
)
def test_a_flag_is_a_bool_or_none(value: object, taken: bool | None) -> None:
    got = checked_flag("allow_subnormal", value)
    assert got is taken  # a numpy bool becomes a Python one, which hypothesis asks for


@pytest.mark.parametrize("value", ["no", 0, 1.0, [False]], ids=repr)
def test_anything_else_is_refused_naming_the_argument(value: object) -> None:
    said = f"arrays(allow_nan={value!r}): allow_nan takes True, False or None, not "
    with pytest.raises(InvalidOptionError, match="^" + re.escape(said)):
        checked_flag("allow_nan", value)


@pytest.mark.parametrize("dtype", ["float16", "float32", ">f8", "complex64", "complex128"])
def test_no_subnormal_flag_draws_as_before(dtype: str) -> None:
    # allow_subnormal=None must leave the strategy exactly as it was without the flag.
    dt = np.dtype(dtype)
    before = hnp.from_dtype(dt, allow_nan=True, allow_infinity=False)
    assert repr(default_elements(dt, True, False, None)) == repr(before)
    off = hnp.from_dtype(dt, allow_nan=True, allow_infinity=False, allow_subnormal=False)
    assert repr(default_elements(dt, True, False, False)) == repr(off)
    assert "allow_subnormal=False" in repr(off)


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint64"])
def test_the_flags_mean_nothing_for_integers_and_bool(dtype: str) -> None:
    dt = np.dtype(dtype)
    assert repr(default_elements(dt, False, False, False)) == repr(hnp.from_dtype(dt))


def test_a_device_is_checked_for_the_memory_type() -> None:
    assert checked_device(MemoryType.NUMPY, "cpu") == "cpu"
    assert checked_device(MemoryType.NUMPY, None) is None
    with pytest.raises(InvalidOptionError, match=r"^arrays\('numpy', device='cuda'\): numpy"):
        checked_device(MemoryType.NUMPY, "cuda")
    with pytest.raises(InvalidOptionError, match=r"^arrays\('torch', device='bogus'\)"):
        checked_device(MemoryType.TORCH, "bogus")


def test_elements_must_be_a_strategy_or_none() -> None:
    values = st.floats()
    assert checked_elements(values) is values
    assert checked_elements(None) is None
    said = "arrays(elements='abc'): elements takes a hypothesis strategy of values or None"
    with pytest.raises(InvalidOptionError, match="^" + re.escape(said)):
        checked_elements("abc")


def test_a_layout_is_a_name_or_a_collection_of_names() -> None:
    assert layout_set("strided", LAYOUTS, "strided") == frozenset({"strided"})  # not letters
    assert layout_set(("negative", "readonly"), LAYOUTS, "g") == {"negative", "readonly"}
    assert layout_set((), LAYOUTS, ()) == frozenset()
    for value in (1, b"strided", [1], [["strided"]], iter(["strided"])):
        with pytest.raises(InvalidOptionError, match=r"^arrays\(layout=.*\): pass a layout name"):
            layout_set(value, LAYOUTS, value)
    with pytest.raises(InvalidOptionError, match=r"^arrays\(layout='g'\): unknown layout \['F'\]"):
        layout_set({"F": 1}, LAYOUTS, "g")


def test_a_dtype_of_python_objects_takes_no_byte_view_layout() -> None:
    assert BYTE_VIEW_LAYOUTS.issubset(LAYOUTS)
    obj, rec = np.dtype(object), np.dtype([("a", "O")])
    check_laid_out(obj, {"readonly", "bigendian", "transposed"}, object, "given")
    check_laid_out(np.dtype("f8"), BYTE_VIEW_LAYOUTS, "f8", "given")
    for dt in (obj, rec):
        with pytest.raises(
            InvalidOptionError, match=r"^arrays\(dtype=.*, layout='g'\): .* 'offset'"
        ):
            check_laid_out(dt, {"offset", "readonly"}, dt, "g")


def test_a_dtype_hypothesis_draws_no_values_of_is_refused() -> None:
    check_drawable(np.dtype("f4"), (False, None, None), "f4")
    with pytest.raises(InvalidOptionError, match=r"^arrays\(dtype='V4'\): .*pass elements="):
        check_drawable(np.dtype("V4"), (None, None, None), "V4")


def test_a_dtype_numpy_does_not_know_is_refused_listing_the_held_ones() -> None:
    assert dtype_of(">f4", ">f4", ()) == np.dtype(">f4")
    with pytest.raises(
        InvalidOptionError, match=r"^arrays\(dtype=\['u7'\]\): 'u7' .* one of int8, bool \("
    ):
        dtype_of("u7", ["u7"], ("int8", "bool"))


# arrays() itself: each of these was built without complaint and failed only in a draw, with
# a TypeError, hypothesis' InvalidArgument or numpy's error.
@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"layout": 1}, r"arrays\(layout=1\): pass a layout name"),
        ({"layout": [1]}, r"arrays\(layout=\[1\]\): pass a layout name"),
        ({"layout": {"F": 1}}, r"arrays\(layout=\{'F': 1\}\): unknown layout \['F'\]"),
        ({"dtype": []}, r"arrays\(dtype=\[\]\): no dtype to draw from"),
        ({"dtype": set()}, r"arrays\(dtype=set\(\)\): no dtype to draw from"),
        ({"elements": "abc"}, r"arrays\(elements='abc'\): elements takes a hypothesis"),
        ({"dtype": object, "layout": "unaligned"}, r"arrays\(dtype=<class 'object'>, layout="),
        ({"dtype": ["f4", "O"], "layout": ["offset"]}, r"arrays\(dtype=\['f4', 'O'\], layout="),
        ({"dtype": "V4"}, r"arrays\(dtype='V4'\): No strategy inference"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
def test_arrays_refuses_bad_options_when_built(options: dict[str, Any], said: str) -> None:
    with pytest.raises(InvalidOptionError, match="^" + said):
        arrays("numpy", **{"shape": 3, **options})


def test_a_layout_strategy_drawing_no_layout_fails_as_an_invalid_option() -> None:
    with pytest.raises(InvalidOptionError, match=r"^arrays\(layout=7\): pass a layout name"):
        find(arrays("numpy", "f4", 3, layout=st.just(7)), lambda x: True)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match=r"^arrays\(dtype=dtype\('O'\), layout='offset'\)"):
        find(arrays("numpy", st.just(np.dtype(object)), 3, layout="offset"), lambda x: True)


@settings(max_examples=60, database=None, deadline=None, derandomize=True)
@given(x=arrays("numpy", dtype=object, shape=3))
def test_object_arrays_draw_every_layout_but_the_byte_views(x: np.ndarray) -> None:
    assert x.dtype == np.dtype(object)  # "offset" and "unaligned" raised numpy's TypeError


def test_an_array_is_not_a_dtype_for_arrays() -> None:
    # numpy reads a scalar value's (or a jax array's) .dtype as a dtype: it was drawn.
    with pytest.raises(InvalidOptionError, match="is not a dtype numpy knows"):
        arrays("numpy", dtype=np.uint8(7))  # type: ignore[arg-type]
