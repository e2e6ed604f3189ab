"""x.astype hints: the standard dtype meant, or no standard equivalent."""

from __future__ import annotations

import ast
import textwrap

import array_api_strict as xp
import numpy as np
import pytest

from arrayport.portcheck import check_source
from arrayport.portcheck._astype import astype_hint


def _astype(source: str) -> list[tuple[int, str, str | None]]:
    found = check_source(textwrap.dedent(source))
    return [(f.line, f.message, f.replacement) for f in found if f.name == ".astype"]


def test_astype_to_a_dtype_the_standard_lacks_has_no_replacement() -> None:
    # x.astype(object) etc. were told to use xp.astype(x, dtype), a port that does not exist.
    found = _astype(
        """
        import numpy as np
        x = np.zeros(3)
        a = x.astype(object)
        b = x.astype(str)
        c = x.astype("U10")
        d = x.astype([("a", "f4")])
        e = x.astype(dtype=np.str_)
        f = x.astype(np.float32)
        g = x.astype(t)
        """
    )
    assert [(line, hint) for line, _, hint in found] == [
        (4, None),
        (5, None),
        (6, None),
        (7, None),
        (8, None),
        (9, "xp.astype(x, xp.float32)"),
        (10, "xp.astype(x, t)"),  # the call's own dtype
    ]
    for line, message, _ in found[:5]:
        assert "no standard equivalent" in message, line
    assert "no standard equivalent" not in found[5][1]


@pytest.mark.parametrize("dtype", ["object", "str", "bytes", "'U10'", "'O'", "[('a', 'f4')]"])
def test_astype_hint_says_no_standard_dtype(dtype: str) -> None:
    call = ast.parse(f"x.astype({dtype})", mode="eval").body
    assert isinstance(call, ast.Call)
    found = astype_hint(call, lambda node: None)
    assert found is not None
    assert found[0] is None
    assert "no standard equivalent" in found[1]


def test_the_standard_has_no_such_dtypes() -> None:
    for name in ("object_", "str_", "bytes_", "void", "object", "str"):
        assert not hasattr(xp, name), name


def test_astype_casting_order_and_subok_are_reported() -> None:
    # scipy's _peak_finding: value.astype(np.intp, order='C', casting='safe', subok=False)
    # was told only xp.astype(x, dtype), which truncates where NumPy raised.
    with pytest.raises(TypeError):
        np.asarray([1.7, 2.2]).astype(np.int64, casting="safe")
    truncated = xp.astype(xp.asarray([1.7, 2.2]), xp.int64)
    assert [int(v) for v in truncated] == [1, 2]
    found = {
        (f.line, f.name): (f.message, f.replacement)
        for f in check_source(
            textwrap.dedent(
                """
                import numpy as np
                def f(value, x):
                    value = np.asarray(value)
                    a = value.astype(np.intp, order='C', casting='safe', subok=False, copy=False)
                    b = x.astype(np.float32, "F", "same_kind")
                    c = x.astype(float, casting="unsafe")
                    return a, b, c, x.astype(int, copy=False)
                """
            )
        )
    }
    message, hint = found[5, ".astype(casting=)"]
    assert "NumPy raises" in message
    assert (hint or "").startswith("if not xp.can_cast(x.dtype, dtype): raise TypeError")
    assert (5, ".astype(order=)") in found
    assert (5, ".astype(subok=)") in found
    assert (6, ".astype(order=)") in found  # NumPy's second argument is order
    assert "one kind" in (found[6, ".astype(casting=)"][1] or "")
    assert found[7, ".astype(casting=)"][1] == "xp.astype(x, dtype) without it"
    assert not [k for k in found if k[0] == 8 and k[1] != ".astype"]  # copy= is standard
    # can_cast is stricter than NumPy's "safe" across kinds, as the hint says.
    assert not xp.can_cast(xp.int64, xp.float64)
    assert np.can_cast(np.int64, np.float64, "safe")
