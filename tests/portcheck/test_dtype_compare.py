"""Tests of dtypes compared with strings or Python types, by ==, by in, or through str()."""

from __future__ import annotations

import textwrap

import array_api_strict as xp
import numpy as np

from arrayport.portcheck import check_source


def findings(source: str) -> dict[tuple[int, str], str | None]:
    """(line, name) -> replacement of each finding in ``source``."""
    found = check_source(textwrap.dedent(source))
    return {(f.line, f.name): f.replacement for f in found}


def test_dtype_in_a_literal_of_strings_or_types_and_str_of_a_dtype_are_reported() -> None:
    found = findings(
        """
        import numpy as np
        def f(x):
            if x.dtype in ("float32", "float64"):
                return 1
            if x.dtype not in [float]:
                return 2
            if str(x.dtype) == "uint8":
                return 3
            if str(x.dtype) in {"int16", "float16"}:
                return 4
        """
    )
    assert found == {
        (4, "dtype in ('float32', 'float64')"): (
            'x.dtype in (xp.float32, xp.float64) (or xp.isdtype(x.dtype, "real floating") '
            "for every real floating dtype)"
        ),
        (6, "dtype in [float]"): (
            'x.dtype in (xp.float64,) (or xp.isdtype(x.dtype, "real floating") for every '
            "real floating dtype)"
        ),
        (8, "str(dtype) == 'uint8'"): "x.dtype == xp.uint8",
        # float16 is not a standard dtype: no hint.
        (10, "str(dtype) in {'int16', 'float16'}"): None,
    }
    # What NumPy says true, the standard says false; the hints say true again.
    a, x = np.zeros(2, dtype=np.float32), xp.zeros(2, dtype=xp.float32)
    assert a.dtype in ("float32", "float64")
    assert x.dtype not in ("float32", "float64")
    assert x.dtype in (xp.float32, xp.float64)
    assert str(np.zeros(2, dtype=np.uint8).dtype) == "uint8"
    assert str(xp.zeros(2, dtype=xp.uint8).dtype) != "uint8"


def test_standard_dtype_comparisons_and_substrings_are_not_reported() -> None:
    found = findings(
        """
        import numpy as np
        import pandas as pd
        def f(x, y, path, str=repr):
            a = x.dtype in (np.float32, np.float64)
            b = x.dtype in (y.dtype,)
            c = "float" in str(x.dtype)
            d = str(x.dtype) == "float32"
            e = pd.read_csv(path)["a"].dtype in ("object",)
            return a, b, c, d, e
        """
    )
    assert found == {}


def test_dtype_kind_hint_names_the_kinds_compared() -> None:
    # Every .dtype.kind was told xp.isdtype(dtype, "real floating"), also for == "c" and
    # in "ui" (numpy's _function_base_impl, _histograms_impl).
    found = findings(
        """
        import numpy as np
        def f(x, obj):
            a = obj.dtype.kind in "ui"
            b = x.dtype.kind == 'c'
            t = np.dtype(x)
            k = t.kind == 'c'
            c = x.dtype.kind not in ("f", "c")
            d = 'b' != x.dtype.kind
            e = x.dtype.kind in "iufcM"
            g = x.dtype.kind == "M"
            h = x.dtype.kind
            i = x.dtype in ("int32", "uint8")
        """
    )
    assert found[4, ".dtype.kind"] == 'xp.isdtype(obj.dtype, "integral")'
    assert found[5, ".dtype.kind"] == 'xp.isdtype(x.dtype, "complex floating")'
    assert found[7, ".dtype.kind"] == 'xp.isdtype(t, "complex floating")'
    assert found[8, ".dtype.kind"] == (
        'not xp.isdtype(x.dtype, ("real floating", "complex floating"))'
    )
    assert found[9, ".dtype.kind"] == 'not xp.isdtype(x.dtype, "bool")'
    assert found[10, ".dtype.kind"] == (
        "xp.isdtype(x.dtype, \"numeric\") (no standard dtype has NumPy's kind 'M')"
    )
    assert (found[11, ".dtype.kind"] or "").startswith("False: no standard dtype has")
    assert '"real floating"' not in (found[12, ".dtype.kind"] or "")[:30]
    assert found[13, "dtype in ('int32', 'uint8')"] == (
        'x.dtype in (xp.int32, xp.uint8) (or xp.isdtype(x.dtype, "integral") for every '
        "integral dtype)"
    )
    # The kinds are xp.isdtype's.
    assert xp.isdtype(xp.uint8, "integral")
    assert xp.isdtype(xp.int8, "integral")
    assert xp.isdtype(xp.complex64, "complex floating")
    assert xp.isdtype(xp.bool, "bool")
    assert not xp.isdtype(xp.bool, "numeric")
    assert {np.dtype(d).kind for d in ("u1", "i8")} == set("ui")


def test_an_ordering_of_kind_letters_gets_the_generic_hint() -> None:
    # kind >= "f" is true for f, i and u (and kind < "z" for every dtype) in NumPy: it
    # was offered xp.isdtype(x.dtype, "real floating"), "complex floating" and "use False".
    found = findings(
        """
        import numpy as np
        def f(x):
            a = x.dtype.kind >= "f"
            b = x.dtype.kind <= "c"
            c = x.dtype.kind < "z"
            d = "a" < x.dtype.kind < "z"
            e = x.dtype.kind == "f"
        """
    )
    generic = found[(4, ".dtype.kind")]
    assert generic is not None
    assert generic.startswith('xp.isdtype(x.dtype, kind) with the kind meant: "bool"')
    assert [found[(line, ".dtype.kind")] for line in (5, 6, 7)] == [generic] * 3
    assert found[(8, ".dtype.kind")] == 'xp.isdtype(x.dtype, "real floating")'
    # What NumPy's orderings select: no one kind of xp.isdtype's.
    kinds = {np.dtype(t).kind for t in ("bool", "int8", "uint8", "float32", "complex64")}
    assert sorted(k for k in kinds if k >= "f") == ["f", "i", "u"]
    assert all(k < "z" for k in kinds)
