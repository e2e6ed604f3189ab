"""Tests of arrayport.testing._options: arrays()' option checks and default elements."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis.extra import numpy as hnp

from arrayport import InvalidOptionError, MemoryType
from arrayport.testing._options import checked_device, checked_flag, default_elements


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
