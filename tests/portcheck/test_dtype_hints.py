"""Tests of arrayport.portcheck._dtype_hints: the standard dtype a spelling means."""

from __future__ import annotations

import pytest

from arrayport.portcheck._dtype_hints import hint_for_dtype


@pytest.mark.parametrize(
    ("spelling", "hint"),
    [
        ("float32", "dtype=xp.float32"),
        ("<f4", "dtype=xp.float32"),
        ("d", "dtype=xp.float64"),
        ("?", "dtype=xp.bool"),
        ("c16", "dtype=xp.complex128"),
        ("intp", "dtype=xp.int64 (or the xp integer dtype meant)"),
        ("Q", "dtype=xp.uint64 (or the xp unsigned integer dtype meant)"),
    ],
)
def test_string_spellings_name_the_standard_dtype(spelling: str, hint: str) -> None:
    assert hint_for_dtype(spelling, True) == hint


@pytest.mark.parametrize("spelling", ["U10", "M8[ns]", "f2", "no such dtype", "O"])
def test_spellings_the_standard_lacks_have_no_hint(spelling: str) -> None:
    # float16, strings, datetimes and objects: no standard dtype (f2 is not in the standard).
    assert hint_for_dtype(spelling, True) is None


def test_python_types_name_what_numpy_makes_of_them() -> None:
    assert hint_for_dtype("float", False) is not None
    assert hint_for_dtype("float", False).startswith("dtype=xp.float64")  # type: ignore[union-attr]
    assert hint_for_dtype("bool", False) == "dtype=xp.bool"
    assert hint_for_dtype("str", False) is None


def test_numpys_c_named_scalar_types_have_the_standard_dtype_they_are() -> None:
    # np.single, np.cdouble, np.byte, ... were reported without a hint, np.double with one.
    import array_api_strict as xp
    import numpy as np

    from arrayport.portcheck import check_source
    from arrayport.portcheck._dtype_hints import DTYPE_ALIAS_HINTS

    for alias, hint in DTYPE_ALIAS_HINTS.items():
        dtype = getattr(xp, hint.partition(" ")[0].removeprefix("xp."))
        assert xp.zeros(1, dtype=dtype).dtype == xp.asarray(np.zeros(1, getattr(np, alias))).dtype
    found = check_source("import numpy as np\nnp.single; np.cdouble; np.byte; np.ubyte; np.short\n")
    assert [(f.name, f.replacement) for f in found] == [
        ("numpy.byte", "xp.int8"),
        ("numpy.cdouble", "xp.complex128"),
        ("numpy.short", "xp.int16"),
        ("numpy.single", "xp.float32"),
        ("numpy.ubyte", "xp.uint8"),
    ]
