"""Tests of arrayport.portcheck._receivers: hints in the code's own names."""

from __future__ import annotations

import ast
import textwrap

import array_api_strict as xp
import numpy as np
import pytest

from arrayport.portcheck import check_source
from arrayport.portcheck._receivers import shape_assignment_hint, with_dtype, with_receiver


def expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def test_with_receiver_names_the_array_where_the_code_names_it() -> None:
    hint = "xp.reshape(x, (-1,), copy=True) (flatten copies; xp.reshape may return a view of x)"
    assert with_receiver(hint, expr("img")) == (
        "xp.reshape(img, (-1,), copy=True) (flatten copies; xp.reshape may return a view of img)"
    )
    assert with_receiver("xp.mean(x, axis=...)", expr("self.data")) == (
        "xp.mean(self.data, axis=...)"
    )
    # Not a name: the placeholder stays; xp, x1, "x" and .x are not the placeholder.
    assert with_receiver("xp.sum(x)", expr("f(a)")) == "xp.sum(x)"
    assert with_receiver("xp.sum(x)", expr("a[0]")) == "xp.sum(x)"
    assert with_receiver('xp.f(x1, "x", a.x, x)', expr("b")) == 'xp.f(x1, "x", a.x, b)'
    assert with_receiver(None, expr("b")) is None


def test_with_dtype_names_the_dtype_where_the_code_names_it() -> None:
    hint = "xp.finfo(x.dtype).bits // 8; xp.isdtype(dtype, kind); xp.asarray(v, dtype=d)"
    assert with_dtype(hint, expr("a.dtype")) == (
        "xp.finfo(a.dtype).bits // 8; xp.isdtype(a.dtype, kind); xp.asarray(v, dtype=d)"
    )
    assert with_dtype(hint, expr("t")).startswith("xp.finfo(t).bits // 8; xp.isdtype(t, kind)")
    assert with_dtype(hint, expr("f(a).dtype")) == hint


def test_a_shape_assignment_hint_keeps_the_name_and_the_shape() -> None:
    assert (
        shape_assignment_hint(expr("a"), expr("(3, 2)")) == "a = xp.reshape(a, (3, 2), copy=False)"
    )
    assert (
        shape_assignment_hint(expr("a"), expr("[3, 2]")) == "a = xp.reshape(a, (3, 2), copy=False)"
    )
    assert shape_assignment_hint(expr("self.a"), expr("6")) == (
        "self.a = xp.reshape(self.a, (6,), copy=False)"
    )
    assert shape_assignment_hint(expr("a"), expr("(n, m)")) == (
        "a = xp.reshape(a, (n, m), copy=False)"
    )
    assert shape_assignment_hint(expr("f(a)"), expr("(3, 2)")) is None
    assert shape_assignment_hint(expr("a"), None) is None


def test_a_shape_assignment_of_a_value_not_a_literal_tuple_list_or_int_is_not_guessed() -> None:
    # a.shape = n (an int, or a tuple: port-check cannot tell) gave a = xp.reshape(a, n,
    # copy=False), which fails for an int: xp.reshape takes a tuple only.
    for value in ("n", "s", "f(a)", "a.shape[::-1]", "True", "-n"):
        assert shape_assignment_hint(expr("a"), expr(value)) is None, value
    assert shape_assignment_hint(expr("a"), expr("-1")) == "a = xp.reshape(a, (-1,), copy=False)"
    source = "import numpy as np\na = np.zeros(6)\nn = 6\na.shape = n\na.shape = -1\n"
    found = {f.line: f.replacement for f in check_source(source) if f.name == ".shape ="}
    assert found == {
        4: "a = xp.reshape(a, shape, copy=False)",  # the generic hint, in the code's names
        5: "a = xp.reshape(a, (-1,), copy=False)",
    }
    with pytest.raises(TypeError):
        xp.reshape(xp.zeros(6), 6, copy=False)  # type: ignore[arg-type]
    assert xp.reshape(xp.zeros(6), (-1,), copy=False).shape == (6,)


def test_hints_for_methods_name_the_calls_own_arrays_and_dtypes() -> None:
    # x.itemsize got xp.finfo(dtype) (not x.dtype), a.shape = (3, 2) got
    # x = xp.reshape(x, shape, copy=False), and a.astype(b.dtype) xp.astype(x, dtype).
    source = """
        import numpy as np
        a = np.zeros((2, 3), dtype=np.float32)
        n = a.itemsize
        a.shape = (3, 2)
        b = a.astype(c.dtype)
        m = a.dtype.itemsize
        f = a.flatten()
        """
    found = {(f.line, f.name): f.replacement for f in check_source(textwrap.dedent(source))}
    assert found[4, ".itemsize"] == (
        "xp.finfo(a.dtype).bits // 8 for real floating (2 * that for complex), "
        "xp.iinfo(a.dtype).bits // 8 for integers, 1 for bool"
    )
    assert found[5, ".shape ="] == "a = xp.reshape(a, (3, 2), copy=False)"
    assert found[6, ".astype"] == "xp.astype(a, c.dtype)"
    assert (found[7, ".dtype.itemsize"] or "").startswith("xp.finfo(a.dtype).bits // 8")
    assert (found[8, ".flatten"] or "").startswith("xp.reshape(a, (-1,), copy=True)")
    # The hints run, and give NumPy's values.
    v = np.zeros((2, 3), dtype=np.float32)
    a = xp.asarray(v)
    assert xp.finfo(a.dtype).bits // 8 == v.itemsize
    a = xp.reshape(a, (3, 2), copy=False)
    assert a.shape == v.reshape(3, 2).shape
