"""The hint table is consistent with the standard it points into."""

from __future__ import annotations

import re

import array_api_extra
import pytest

from arrayport.portcheck import standard
from arrayport.portcheck._hints import (
    ARGUMENT_HINTS,
    ATTRIBUTE_HINTS,
    EXTRA_HINTS,
    EXTRA_USAGE,
    FUNCTION_HINTS,
    MISSING_ARGUMENT_HINTS,
    hint_for_attribute,
    hint_for_dtype,
    hint_for_function,
    hint_for_method_call,
)


def test_hinted_names_are_not_standard() -> None:
    std = standard()
    for name in (*FUNCTION_HINTS, *EXTRA_HINTS):
        head, _, rest = name.partition(".")
        if head in std.extensions:
            assert rest not in std.extensions[head], name
        else:
            assert head not in std.namespace, name


def test_every_xp_function_a_hint_names_exists_in_the_standard() -> None:
    std = standard()
    texts = [
        *FUNCTION_HINTS.values(),
        *(v for v in ATTRIBUTE_HINTS.values() if v),
        *ARGUMENT_HINTS.values(),
        *MISSING_ARGUMENT_HINTS.values(),
        *EXTRA_USAGE.values(),
    ]
    for text in texts:
        for ext, name in re.findall(r"\bxp\.(?:(linalg|fft)\.)?(\w+)", text):
            if ext:
                assert name in std.extensions[ext], text
            else:
                assert name in std.namespace, text


def test_extra_hints_only_when_array_api_extra_has_the_function() -> None:
    pad = hint_for_function("pad", frozenset(array_api_extra.__all__))
    assert pad is not None
    assert pad.startswith("xpx.pad(x, pad_width) (")
    assert pad.endswith(" (array-api-extra)")
    assert hint_for_function("pad", frozenset()) is None
    assert hint_for_function("concatenate", frozenset()) == "xp.concat"


def test_attribute_hint_falls_back_to_the_standard_function() -> None:
    assert hint_for_attribute("nonzero", standard().namespace) == "xp.nonzero(x, ...)"
    assert hint_for_attribute("tolist", standard().namespace) is None
    assert hint_for_attribute("byteswap", standard().namespace) is None


def test_extra_usage_wraps_functions_that_are_not_drop_in() -> None:
    extra = frozenset(array_api_extra.__all__)
    assert hint_for_function("allclose", extra) == "xp.all(xpx.isclose(a, b)) (array-api-extra)"


def test_argument_hints_name_standard_functions_and_non_standard_arguments() -> None:
    std = standard()
    for name, arg in ARGUMENT_HINTS:
        sig = std.signatures[name]
        assert sig.keywords is not None
        assert arg not in sig.keywords
    assert set(MISSING_ARGUMENT_HINTS) <= set(std.signatures)


def test_dtype_hints_name_the_dtype_meant() -> None:
    assert hint_for_dtype("float32", is_string=True) == "dtype=xp.float32"
    assert hint_for_dtype("f8", is_string=True) == "dtype=xp.float64"
    assert hint_for_dtype("?", is_string=True) == "dtype=xp.bool"
    assert hint_for_dtype("uint", is_string=True) == (
        "dtype=xp.uint64 (or the xp unsigned integer dtype meant)"
    )
    assert (
        hint_for_dtype("int", is_string=False) == "dtype=xp.int64 (or the xp integer dtype meant)"
    )
    assert hint_for_dtype("float16", is_string=True) is None
    assert hint_for_dtype("no such dtype", is_string=True) is None


def test_method_call_hints_depend_on_the_arguments() -> None:
    assert hint_for_method_call("round", 0, frozenset()) == "xp.round(x)"
    assert "10**decimals" in (hint_for_method_call("round", 1, frozenset()) or "")
    assert "correction=" in (hint_for_method_call("var", 0, frozenset({"ddof"})) or "")
    assert hint_for_method_call("var", 0, frozenset({"axis"})) is None


def test_hints_that_change_shapes_say_how() -> None:
    # An audit ran each hint on array-api-strict: `xp.moveaxis(x, a, b)` for swapaxes,
    # bare `xp.concat` for hstack/vstack, `xp.vecdot` for inner (it conjugates) and
    # `xpx.atleast_nd` for atleast_3d (it prepends axes) gave other shapes or values.
    extra = frozenset(dir(array_api_extra))
    assert "permute_dims" in hint_for_function("swapaxes", extra)
    assert "permute_dims" in (hint_for_attribute("swapaxes", frozenset()) or "")
    assert "axis=1" in hint_for_function("hstack", extra)
    assert "xp.stack" in hint_for_function("vstack", extra)
    assert "xp.conj" in hint_for_function("inner", extra)
    assert "(*x.shape, 1)" in hint_for_function("atleast_3d", extra)
    assert "reshape" in hint_for_function("cumsum", extra)
    assert "shape" in hint_for_function("array_equal", extra)


def test_unique_hint_says_what_the_standard_leaves_open() -> None:
    import array_api_strict as xp
    import numpy as np

    hint = hint_for_function("unique", frozenset())
    assert hint is not None
    assert "unspecified" in hint
    assert "xp.sort" in hint
    assert "NaN as distinct" in hint
    values = xp.unique_values(xp.asarray([30.0, 10.0, float("nan"), float("nan")]))
    assert int(xp.sum(xp.astype(xp.isnan(values), xp.int64))) == 2  # np.unique keeps one
    assert np.isnan(np.unique([30.0, 10.0, np.nan, np.nan])).sum() == 1


def test_outer_hint_flattens_as_np_outer_does() -> None:
    import array_api_strict as xp
    import numpy as np
    import pytest

    hint = hint_for_function("outer", frozenset())
    assert "xp.linalg.outer(xp.reshape(a, (-1,)), xp.reshape(b, (-1,)))" in hint
    a, b = np.arange(4.0).reshape(2, 2), np.arange(4.0, 8.0).reshape(2, 2)
    sa, sb = xp.asarray(a), xp.asarray(b)
    with pytest.raises(ValueError, match="1-dimensional"):
        xp.linalg.outer(sa, sb)
    got = xp.linalg.outer(xp.reshape(sa, (-1,)), xp.reshape(sb, (-1,)))
    np.testing.assert_array_equal(np.asarray(got), np.outer(a, b))


def test_in_place_method_hints_assign_the_result() -> None:
    from arrayport.portcheck import check_source

    found = check_source("import numpy as np\nx = np.zeros(3)\nx.sort()\nx.partition(1)\n")
    hints = {f.name: f.replacement or "" for f in found}
    assert hints[".sort"].startswith("x = xp.sort(x, axis=...)")
    assert hints[".partition"].startswith("x = xpx.partition(x, kth)")


# Each hint below was once followed literally by an audit and gave other values than NumPy
# (or raised on array-api-strict where NumPy does not). The tests run the code each hint
# now gives, as written in it, on array-api-strict against NumPy's result.

_EXTRA = frozenset(array_api_extra.__all__)


def _needs_extra(*names: str) -> None:
    """Skip unless the installed array-api-extra has ``names`` (``"testing.assert_close"``):
    older releases, the newest on Python 3.10, lack some."""
    for name in names:
        obj: object = array_api_extra
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            pytest.skip(f"array-api-extra {array_api_extra.__version__} has no {name}")


def _method_hints(source: str) -> dict[str, str]:
    """name -> replacement of each finding in ``source`` (x: a known array)."""
    from arrayport.portcheck import check_source

    found = check_source("import numpy as np\nx = np.zeros(3)\n" + source)
    return {f.name: f.replacement or "" for f in found}


def _same(got: object, want: object) -> None:
    """``got`` (array-api-strict) has NumPy's ``want``: values, dtype and shape."""
    import numpy as np

    got, want = np.asarray(got), np.asarray(want)
    assert (got.dtype, got.shape) == (want.dtype, want.shape)
    np.testing.assert_array_equal(got, want)


def test_rollaxis_hint_for_negative_axis_and_start() -> None:
    # The hint compared start <= axis before making them non-negative: np.rollaxis(x, -1)
    # became xp.moveaxis(x, -1, -1), x unchanged.
    import array_api_strict as xp
    import numpy as np

    hint = hint_for_function("rollaxis", _EXTRA) or ""
    for code in (
        "xp.moveaxis(x, a, s if s <= a else s - 1)",
        "a = axis % x.ndim",
        "s = start + x.ndim if start < 0 else start",
        "start defaults to 0",
    ):
        assert code in hint
    cube = np.arange(27.0).reshape(3, 3, 3)
    for shape in ((2, 3, 4), (3, 3, 3)):
        v = np.arange(float(np.prod(shape))).reshape(shape)
        x = xp.asarray(v)
        for axis in range(-3, 3):
            for start in (*range(-3, 4), None):
                a = axis % x.ndim
                s = 0 if start is None else start
                s = s + x.ndim if s < 0 else s
                want = np.rollaxis(v, axis) if start is None else np.rollaxis(v, axis, start)
                _same(xp.moveaxis(x, a, s if s <= a else s - 1), want)
    assert not np.array_equal(np.rollaxis(cube, -1), cube)


def test_dot_hint_does_not_conjugate_and_handles_n_d() -> None:
    # xp.vecdot conjugates a complex first argument; matmul broadcasts a 3-D b where np.dot
    # sums over b's second-to-last axis; a 0-d operand makes matmul raise.
    import array_api_strict as xp
    import numpy as np

    rng = np.random.default_rng(0)
    for hint, a_name in (
        (hint_for_function("dot", _EXTRA) or "", "a"),
        (hint_for_attribute("dot", frozenset()) or "", "x"),
    ):
        assert f"{a_name} * b if either is 0-d" in hint
        assert f"xp.matmul({a_name}, b) if b is 1-D or 2-D" in hint
        assert f"xp.tensordot({a_name}, b, axes=([-1], [-2])) if b has more axes" in hint
    assert "xp.vecdot or" not in (hint_for_function("dot", _EXTRA) or "")
    c = np.array([1 + 2j, -3j, 2.0])
    pairs = [
        (c, c),
        (c, c[::-1].copy()),
        (rng.normal(size=(2, 3, 4)), rng.normal(size=4)),
        (rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5))),
        (rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 4, 6))),
        (rng.normal(size=(3, 4)), rng.normal(size=(2, 4, 5))),
        (np.array(2.5), np.arange(3.0)),
    ]
    for va, vb in pairs:
        a, b = xp.asarray(va), xp.asarray(vb)
        if a.ndim == 0 or b.ndim == 0:
            got = a * b
        elif b.ndim in (1, 2):
            got = xp.matmul(a, b)
        else:
            got = xp.tensordot(a, b, axes=([-1], [-2]))
        want = np.dot(va, vb)
        assert np.asarray(got).shape == want.shape
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    assert complex(xp.vecdot(xp.asarray(c), xp.asarray(c))) != complex(np.dot(c, c))


def test_itemsize_and_nbytes_hints_for_complex_and_bool() -> None:
    # finfo of a complex dtype describes its real part (half the item size), and bool has
    # neither finfo nor iinfo.
    import array_api_strict as xp
    import numpy as np

    itemsize = hint_for_attribute("itemsize", frozenset()) or ""
    nbytes = hint_for_attribute("nbytes", frozenset()) or ""
    assert itemsize == (
        "xp.finfo(x.dtype).bits // 8 for real floating (2 * that for complex), "
        "xp.iinfo(x.dtype).bits // 8 for integers, 1 for bool"
    )
    assert nbytes.startswith("x.size * the item size: xp.finfo(x.dtype).bits // 8")
    names = ("bool", "int8", "uint16", "int32", "int64", "float32", "float64", "complex64")
    for name in (*names, "complex128"):
        v = np.zeros((2, 3), dtype=name)
        x = xp.asarray(v)
        dtype = x.dtype
        if dtype == xp.bool:
            size = 1
        elif xp.isdtype(dtype, "complex floating"):
            size = 2 * (xp.finfo(dtype).bits // 8)
        elif xp.isdtype(dtype, "real floating"):
            size = xp.finfo(dtype).bits // 8
        else:
            size = xp.iinfo(dtype).bits // 8
        assert (size, x.size * size) == (v.itemsize, v.nbytes), name


def test_round_decimals_hint_keeps_integer_arrays() -> None:
    # x * 10**decimals / 10**decimals made an integer array float (torch: float32) or
    # raised on array-api-strict; np.round keeps an integer array's dtype.
    import array_api_strict as xp
    import numpy as np

    hints = _method_hints("x.round(2)\nnp.round(x, 2)\nnp.around(x, 2)\n")
    for name in (".round", "numpy.round(positional)", "numpy.around"):
        hint = hints[name]
        assert "floating x: xp.round(x * 10**decimals) / 10**decimals" in hint
        assert "integer x: x for decimals >= 0, else xp.astype(xp.round(xp.astype(x, " in hint
        assert "xp.float64) / 10**-decimals) * 10**-decimals, x.dtype)" in hint
    ints = [
        np.array([3, -7, 0, 5, -2, 250, 350, -150, 16777217]),
        np.array([15, 25, -25, 35, 2**30 + 5], dtype=np.int32),
        np.array([0, 200, 255], dtype=np.uint8),
    ]
    for v in ints:
        x = xp.asarray(v)
        for decimals in (2, 0, -1, -2, -3):
            if decimals >= 0:
                got = x
            else:
                scaled = xp.round(xp.astype(x, xp.float64) / 10**-decimals) * 10**-decimals
                got = xp.astype(scaled, x.dtype)
            _same(got, np.round(v, decimals))
    v = np.linspace(-5.0, 5.0, 1001)
    for decimals in (2, 1, -1):
        x = xp.asarray(v)
        _same(xp.round(x * 10**decimals) / 10**decimals, np.round(v, decimals))


def test_flatten_hint_copies() -> None:
    # xp.reshape may return a view: writing to the "flattened" array wrote into x.
    import array_api_strict as xp
    import numpy as np

    assert _method_hints("x.flatten()\n")[".flatten"].startswith("xp.reshape(x, (-1,), copy=True)")
    assert _method_hints("x.flatten('F')\n")[".flatten"] == (
        "xp.reshape(x, (-1,), copy=True) for order='C' (order='F': "
        "xp.reshape(xp.permute_dims(x, tuple(reversed(range(x.ndim)))), (-1,), copy=True))"
    )
    for v in (np.arange(6.0).reshape(2, 3), np.arange(6.0), np.arange(6.0).reshape(1, 6)):
        x = xp.asarray(v)
        flat = xp.reshape(x, (-1,), copy=True)
        flat[0] = 99.0
        flat_f = xp.reshape(xp.permute_dims(x, tuple(reversed(range(x.ndim)))), (-1,), copy=True)
        flat_f[0] = 99.0
        _same(x, v)
        _same(xp.reshape(x, (-1,), copy=True), v.flatten())
        _same(
            xp.reshape(xp.permute_dims(x, tuple(reversed(range(x.ndim)))), (-1,), copy=True),
            v.flatten("F"),
        )
    assert "copy=True" not in (hint_for_attribute("ravel", frozenset()) or "")


def test_reshape_order_f_hint_gives_numpys_shape_and_values() -> None:
    # "Reverse the axes before and after" reshaped to the unreversed shape: the transpose.
    import array_api_strict as xp
    import numpy as np

    code = (
        "xp.permute_dims(xp.reshape(xp.permute_dims(x, tuple(reversed(range(x.ndim)))), "
        "tuple(reversed(shape))), tuple(reversed(range(len(shape)))))"
    )
    hints = _method_hints("x.reshape(2, 3, order='F')\nnp.reshape(x, (2, 3), order='F')\n")
    assert f"(order='F': {code})" in hints[".reshape"]
    assert f"(order='F': {code})" in hints["numpy.reshape(order=)"]
    for source, shape in [
        ((6,), (2, 3)),
        ((3, 2), (2, 3)),
        ((2, 3, 4), (4, 6)),
        ((24,), (2, 3, 4)),
        ((4, 6), (2, 3, 4)),
        ((2, 3), (3, -1)),
    ]:
        v = np.arange(float(np.prod(source))).reshape(source)
        x = xp.asarray(v)
        got = xp.permute_dims(
            xp.reshape(xp.permute_dims(x, tuple(reversed(range(x.ndim)))), tuple(reversed(shape))),
            tuple(reversed(range(len(shape)))),
        )
        _same(got, np.reshape(v, shape, order="F"))


def test_norm_hint_says_when_a_matrix_norm() -> None:
    # vector_norm(M, ord=2) is not np.linalg.norm(M, 2); matrix_norm of a 3-D array is not
    # NumPy's flattened norm.
    import array_api_strict as xp
    import numpy as np

    hint = hint_for_function("linalg.norm", _EXTRA) or ""
    # ord=None is not the standard's (ord: float = 2; torch refuses None): never passed.
    assert hint.startswith(
        "xp.linalg.vector_norm(x, axis=axis) if ord is None (no ord=; its default is 2), "
        "xp.linalg.vector_norm(x, axis=axis, ord=ord) for a numeric ord with 1-D x or an int "
        "axis; else a matrix norm: xp.linalg.matrix_norm(x, ord=ord) (a 2-tuple axis: "
        "xp.moveaxis(x, axis, (-2, -1)) first)"
    )
    assert "ord=ord) if ord is None" not in hint
    assert "integer x: xp.astype(x, xp.float64) first" in hint
    m = np.array([[3.0, 4.0], [1.0, -2.0]])
    v = np.array([3.0, -4.0, 0.0, 1.0])
    f3 = np.arange(24.0).reshape(2, 3, 4) - 11.5
    cases = [
        (m, None, None),
        (f3, None, None),
        (m, 2, None),
        (m, 1, None),
        (m, np.inf, None),
        (m, -2, None),
        (m, "nuc", None),
        (v, 1, None),
        (v, 0, None),
        (f3, 3, 1),
        (f3, None, (0, 2)),
        (f3, 2, (0, 2)),
        (f3, 1, (2, 1)),
        (np.array([[3, 4], [1, -2]]), None, None),
    ]
    for value, order, axis in cases:
        x = xp.asarray(value)
        if not xp.isdtype(x.dtype, "real floating"):
            x = xp.astype(x, xp.float64)
        if order is None:
            got = xp.linalg.vector_norm(x, axis=axis)
        elif x.ndim == 1 or isinstance(axis, int):
            got = xp.linalg.vector_norm(x, axis=axis, ord=order)
        else:
            if isinstance(axis, tuple):
                x = xp.moveaxis(x, axis, (-2, -1))
            got = xp.linalg.matrix_norm(x, ord=order)
        want = np.linalg.norm(value, order, axis)
        assert np.asarray(got).shape == np.shape(want)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)


def test_ascontiguousarray_and_array_equal_hints() -> None:
    # np.ascontiguousarray makes a 0-d array 1-D; array_equal(equal_nan=True) counts NaN
    # as equal to NaN.
    import array_api_strict as xp
    import numpy as np

    _needs_extra("atleast_nd")
    assert hint_for_function("ascontiguousarray", _EXTRA) == (
        "xpx.atleast_nd(xp.asarray(x), ndim=1) (np.ascontiguousarray makes a 0-d array 1-D)"
    )
    for v in (np.array(2.5), np.arange(3.0), np.arange(6.0).reshape(2, 3)):
        _same(array_api_extra.atleast_nd(xp.asarray(v), ndim=1), np.ascontiguousarray(v))
    hint = hint_for_function("array_equal", _EXTRA) or ""
    assert "(equal_nan=True: x == y replaced by (x == y) | (xp.isnan(x) & xp.isnan(y)))" in hint
    nan = float("nan")
    for a, b in (([1.5, nan, -0.0], [1.5, nan, 0.0]), ([nan, 1.0], [1.0, nan])):
        x, y = xp.asarray(a), xp.asarray(b)
        got = x.shape == y.shape and bool(xp.all((x == y) | (xp.isnan(x) & xp.isnan(y))))
        assert got == np.array_equal(a, b, equal_nan=True)


def test_array_api_extra_hints_say_where_numpy_differs() -> None:
    # union1d and setdiff1d keep each NaN; assert_close's default rtol is ~1e-3 for
    # float32 (a test NumPy fails passed); unravel_index wraps out-of-range indices.
    import array_api_strict as xp
    import numpy as np

    _needs_extra("union1d", "setdiff1d", "unravel_index", "testing.assert_close")
    nan = float("nan")
    union = np.asarray(array_api_extra.union1d(xp.asarray([nan, 1.0]), xp.asarray([nan])))
    assert np.isnan(union).sum() == 2
    assert np.isnan(np.union1d([nan, 1.0], [nan])).sum() == 1
    for name in ("union1d", "setdiff1d"):
        assert f"each NaN stays distinct; np.{name} keeps one" in (
            hint_for_function(name, _EXTRA) or ""
        )
    hint = hint_for_function("testing.assert_allclose", _EXTRA) or ""
    assert hint.startswith("xpx.testing.assert_close(actual, desired, rtol=1e-7)")
    assert "check_dtype=False, check_shape=False" in hint
    pairs = [
        (np.array([1.0], np.float32), np.array([1.0001], np.float32)),
        (np.array([1.0]), np.array([1.0 + 8e-8])),
        (np.array([1.0]), np.array([1.0 + 2e-7])),
        (np.array([nan]), np.array([nan])),
    ]
    for actual, desired in pairs:
        try:
            np.testing.assert_allclose(actual, desired)
            numpy_passes = True
        except AssertionError:
            numpy_passes = False
        try:
            array_api_extra.testing.assert_close(xp.asarray(actual), xp.asarray(desired), rtol=1e-7)
            extra_passes = True
        except AssertionError:
            extra_passes = False
        assert extra_passes == numpy_passes, (actual, desired)
    hint = hint_for_function("unravel_index", _EXTRA) or ""
    assert hint.startswith("xpx.unravel_index(xp.asarray(i), shape)")
    assert "wrap" in hint
    got = array_api_extra.unravel_index(xp.asarray([0, 5, 11]), (3, 4))
    for g, w in zip(got, np.unravel_index([0, 5, 11], (3, 4)), strict=True):
        _same(g, w)


def test_flat_write_hint_runs_on_the_standard() -> None:
    # xpx.at(x, idx) with idx a tuple of 0-d arrays raised on array-api-strict, and without
    # assigning the result back it does nothing on JAX; the unravel_index form that
    # replaced it raised for a slice (x.flat[::n + 1] = 1, the fill-diagonal idiom).
    import array_api_strict as xp
    import numpy as np

    _needs_extra("at")
    hint = hint_for_attribute("flat", frozenset()) or ""
    code = "x = xp.reshape(xpx.at(xp.reshape(x, (-1,)))[i].set(v), x.shape)"
    assert code in hint
    want = np.arange(12.0).reshape(3, 4)
    x = xp.asarray(want)
    for i in (0, 5, 11, slice(None, None, 5), slice(2, 8)):
        want.flat[i] = -1.0
        x = xp.reshape(array_api_extra.at(xp.reshape(x, (-1,)))[i].set(-1.0), x.shape)
    _same(x, want)


def test_statistics_hints_for_integer_bool_and_complex_arrays() -> None:
    # xp.mean, xp.std and xp.var take floating arrays (std and var real ones); NumPy gives
    # float64 for integers and bools, and the spread of a complex array.
    import array_api_strict as xp
    import numpy as np

    hints = _method_hints("x.mean()\nx.std()\nx.var(ddof=1)\nnp.std(x, ddof=1)\n")
    to_float = "integer or bool x: xp.astype(x, xp.float64) first"
    assert hints[".mean"] == f"xp.mean(x, axis=...) for floating x ({to_float})"
    assert hints[".std"] == (
        f"xp.std(x, axis=...) for real floating x ({to_float}; complex x: "
        "xp.sqrt(xp.var(xp.real(x), ...) + xp.var(xp.imag(x), ...)))"
    )
    assert hints[".var"] == (
        f"xp.var(x, axis=..., correction=...) for real floating x (correction= is ddof; "
        f"{to_float}; complex x: xp.var(xp.real(x), ...) + xp.var(xp.imag(x), ...))"
    )
    assert to_float in hints["numpy.std(ddof=)"]
    for v in (
        np.array([3, -7, 0, 5, -2]),
        np.array([[1, 2], [3, 4]], dtype=np.int32),
        np.array([0, 200, 255], dtype=np.uint8),
        np.array([True, False, True]),
    ):
        x = xp.astype(xp.asarray(v), xp.float64)
        _same(xp.mean(x), v.mean())
        _same(xp.std(x), v.std())
        _same(xp.var(x, correction=1), v.var(ddof=1))
    c = np.array([[1 + 2j, 3 - 1j, -2 + 0.5j], [4j, 1.0, -1 - 1j]])
    x = xp.asarray(c)
    for kw, np_kw in (({}, {}), ({"axis": 1, "correction": 1}, {"axis": 1, "ddof": 1})):
        spread = xp.var(xp.real(x), **kw) + xp.var(xp.imag(x), **kw)
        np.testing.assert_allclose(np.asarray(spread), c.var(**np_kw), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(xp.sqrt(spread)), c.std(**np_kw), rtol=1e-12)


def test_reduction_hints_for_bool_arrays_and_positional_axis() -> None:
    # The template xp.{name}(x, ...) gave xp.sum(x, 0) for x.sum(0) (the standard's axis is
    # keyword-only) and xp.sum(mask), which array-api-strict refuses for bools.
    import array_api_strict as xp
    import numpy as np

    hints = _method_hints(
        "x.sum(0)\nx.prod()\nx.max(1)\nx.min()\nx.argmax()\nx.argmin()\nx.argsort()\n"
        "x.all(0)\nx.any()\nx.repeat(2, 0)\nx.searchsorted(v, 'right')\n"
        "x.cumsum()\nnp.cumsum(x)\nx.trace()\n"
    )
    to_int = "bool x: xp.astype(x, xp.int64) first"
    assert hints[".sum"] == f"xp.sum(x, axis=...) ({to_int})"
    assert hints[".prod"] == f"xp.prod(x, axis=...) ({to_int})"
    assert hints[".max"] == "xp.max(x, axis=...) (bool x: xp.any(x, axis=...))"
    assert hints[".min"] == "xp.min(x, axis=...) (bool x: xp.all(x, axis=...))"
    for name in ("argmax", "argmin", "argsort"):
        assert hints[f".{name}"] == f"xp.{name}(x, axis=...) ({to_int})"
    assert hints[".all"] == "xp.all(x, axis=...)"
    assert hints[".any"] == "xp.any(x, axis=...)"
    assert hints[".repeat"] == "xp.repeat(x, repeats, axis=...)"
    assert hints[".searchsorted"] == "xp.searchsorted(x, v, side=...)"
    for name in (".cumsum", "numpy.cumsum", ".trace"):
        assert to_int in hints[name]
    mask = np.array([[True, False, True], [False, False, True]])
    x = xp.asarray(mask)
    ints = xp.astype(x, xp.int64)
    _same(xp.sum(ints, axis=0), mask.sum(0))
    _same(xp.sum(ints), mask.sum())
    _same(xp.prod(ints), mask.prod())
    _same(xp.any(x, axis=1), mask.max(1))
    _same(xp.all(x), mask.min())
    _same(xp.argmax(ints), mask.argmax())
    _same(xp.argmin(ints, axis=1), mask.argmin(1))
    _same(xp.argsort(ints, axis=1), mask.argsort(1, kind="stable"))
    _same(xp.all(x, axis=0), mask.all(0))
    _same(xp.cumulative_sum(xp.reshape(ints, (-1,))), np.cumsum(mask))
    _same(xp.cumulative_sum(ints, axis=1), mask.cumsum(1))
    _same(xp.linalg.trace(ints[:, :2]), mask[:, :2].trace())
    v = np.arange(12.0).reshape(3, 4)[::-1]
    _same(xp.repeat(xp.asarray(v), 2, axis=0), v.repeat(2, 0))
    assert _method_hints("x.sort(0)\n")[".sort"].startswith("x = xp.sort(x, axis=...)")
    _same(xp.sort(xp.asarray(v), axis=0), np.sort(v, 0))
    s = np.array([0.0, 1.5, 2.0, 2.0, 3.0])
    got = xp.searchsorted(xp.asarray(s), xp.asarray([1.5, 2.0]), side="right")
    _same(got, s.searchsorted([1.5, 2.0], "right"))


def test_squeeze_and_take_method_hints() -> None:
    # xp.squeeze requires axis (NumPy's default: every length-1 axis); xp.take of an N-D
    # array without axis raises where NumPy flattens.
    import array_api_strict as xp
    import numpy as np

    hints = _method_hints("x.squeeze()\nx.take([0, -1])\n")
    assert hints[".squeeze"].startswith(
        "xp.squeeze(x, axis=tuple(i for i, n in enumerate(x.shape) if n == 1))"
    )
    assert hints[".take"] == (
        "xp.take(x, indices, axis=...) (without axis NumPy flattens: "
        "xp.take(xp.reshape(x, (-1,)), indices))"
    )
    assert _method_hints("x.squeeze(0)\nx.take([0], 1)\n") == {
        ".squeeze": "xp.squeeze(x, axis)",
        ".take": "xp.take(x, indices, axis=...)",
        # x.take(i, ...) is checked as np.take(x, i, ...): the standard's take refuses a list.
        ".take(Python list)": "xp.asarray([0]), or xp.stack for a list of arrays",
    }
    for v in (np.zeros((1, 12)), np.zeros((1, 3, 1)), np.array(2.5), np.arange(3.0)):
        x = xp.asarray(v)
        _same(xp.squeeze(x, axis=tuple(i for i, n in enumerate(x.shape) if n == 1)), v.squeeze())
    v = np.arange(12.0).reshape(3, 4)
    indices = xp.asarray([0, -1, 5])
    _same(xp.take(xp.reshape(xp.asarray(v), (-1,)), indices), v.take([0, -1, 5]))


def test_hints_with_a_domain_say_what_to_do_outside_it() -> None:
    # Each of these raised on array-api-strict for inputs NumPy takes.
    import array_api_strict as xp
    import numpy as np

    _needs_extra("nan_to_num", "nanmax", "nanmean", "nanmin", "nansum", "sinc")
    extra = array_api_extra
    ints = np.array([3, -7, 0, 5])
    mask = np.array([True, False, True])
    hint = hint_for_function("nan_to_num", _EXTRA) or ""
    assert "for floating x" in hint
    assert "NumPy returns an integer x unchanged" in hint
    _same(xp.asarray(ints), np.nan_to_num(ints))
    assert "xp.mean(xp.astype(x, xp.float64), axis=...)" in (
        hint_for_function("nanmean", _EXTRA) or ""
    )
    _same(xp.mean(xp.astype(xp.asarray(ints), xp.float64)), np.nanmean(ints))
    assert "bool x: xp.any(x, axis=...)" in (hint_for_function("nanmax", _EXTRA) or "")
    assert "bool x: xp.all(x, axis=...)" in (hint_for_function("nanmin", _EXTRA) or "")
    assert "bool x: xp.sum(xp.astype(x, xp.int64), axis=...)" in (
        hint_for_function("nansum", _EXTRA) or ""
    )
    _same(xp.any(xp.asarray(mask)), np.nanmax(mask))
    _same(xp.all(xp.asarray(mask)), np.nanmin(mask))
    _same(xp.sum(xp.astype(xp.asarray(mask), xp.int64)), np.nansum(mask))
    assert "integer x: xp.astype(x, xp.float64) first" in (hint_for_function("sinc", _EXTRA) or "")
    np.testing.assert_allclose(
        np.asarray(extra.sinc(xp.astype(xp.asarray(ints), xp.float64))), np.sinc(ints)
    )
    rank = ARGUMENT_HINTS["linalg.matrix_rank", "tol"]
    assert "integer A: xp.astype(A, xp.float64) first" in rank
    a = xp.astype(xp.asarray([[1, 2], [2, 4]]), xp.float64)
    got = xp.linalg.matrix_rank(a, rtol=1e-3 / xp.max(xp.linalg.svdvals(a), axis=-1))
    assert int(got) == np.linalg.matrix_rank(np.array([[1, 2], [2, 4]]), 1e-3)
    hint = hint_for_function("argwhere", _EXTRA) or ""
    assert hint == "xp.stack(xp.nonzero(x), axis=-1) for x of 1 or more axes"
    hints = _method_hints("x.clip(0.5, 2.5)\nx.imag\nx.fill(2.7)\nx.conj()\n")
    assert "integer x with float bounds: xp.astype(x, xp.float64) first" in hints[".clip"]
    assert "min > max: xp.minimum(xp.maximum(x, min), max)" in hints[".clip"]
    _same(xp.clip(xp.astype(xp.asarray(ints), xp.float64), 0.5, 2.5), ints.clip(0.5, 2.5))
    floats = np.array([0.5, 1.5, 3.0])
    _same(xp.minimum(xp.maximum(xp.asarray(floats), 2.0), 1.0), floats.clip(2.0, 1.0))
    assert hints[".imag"] == "xp.imag(x) for complex x (real x: xp.zeros_like(x), NumPy's result)"
    _same(xp.zeros_like(xp.asarray(floats)), floats.imag)
    assert "integer x: x[...] = int(value)" in hints[".fill"]
    x = xp.asarray(ints)
    x[...] = int(-2.7)
    want = ints.copy()
    want.fill(-2.7)
    _same(x, want)
    assert hints[".conj"] == "xp.conj(x) (bool x: x itself)"
    _same(xp.asarray(mask), mask.conj())
    hint = hint_for_function("promote_types", _EXTRA) or ""
    assert "integers with floats, and int64 with uint64" in hint
    assert str(np.promote_types("int32", "float32")) == "float64"
    with pytest.raises(TypeError):
        xp.result_type(xp.int32, xp.float32)


def test_hints_spell_out_what_numpy_does_by_default() -> None:
    # x.reshape(-1) is no tuple; multi_dot takes any number of arrays; item() of a bool
    # array is a bool; ndarray excludes NumPy scalars.
    import array_api_strict as xp
    import numpy as np

    hints = _method_hints("x.reshape(-1)\nx.item()\n")
    assert "x.reshape(-1) is xp.reshape(x, (-1,))" in hints[".reshape"]
    assert hints[".item"].startswith("float(x), int(x), bool(x) or complex(x)")
    for v in (np.array(True), np.array(3), np.array(2.5), np.array(1 + 2j)):
        convert = {"b": bool, "i": int, "f": float, "c": complex}[v.dtype.kind]
        got = convert(xp.asarray(v))
        assert type(got) is type(v.item())
        assert got == v.item()
    hint = hint_for_function("linalg.multi_dot", _EXTRA) or ""
    assert hint.startswith("a @ b @ c ...")
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in ((3,), (3, 4), (4, 5), (5,))]
    got = xp.asarray(arrays[0])
    for a in arrays[1:]:
        got = got @ xp.asarray(a)
    np.testing.assert_allclose(np.asarray(got), np.linalg.multi_dot(arrays), rtol=1e-12)
    assert "also True for NumPy scalars" in (hint_for_function("ndarray", _EXTRA) or "")


def test_method_hints_pass_keyword_only_axis_by_keyword() -> None:
    # x.sum(0) was told xp.sum(x, ...), and xp.sum(x, 0) raises: the standard's axis is
    # keyword-only. Every such method's hint spells axis=.
    std = standard()
    methods = std.array_only_methods | std.array_ambiguous_methods
    keyword_axis = [
        name
        for name in methods
        if name in std.signatures and "axis" in std.signatures[name].keyword_only
    ]
    assert {"sum", "mean", "max", "take", "repeat"} <= set(keyword_axis)
    for name in keyword_axis:
        assert "axis=" in (hint_for_attribute(name, std.namespace) or ""), name


def test_a_bare_round_method_is_the_standards_round_of_x_alone() -> None:
    # "xp.round(x, ...)" suggested arguments the standard's round(x, /) does not take.
    from arrayport.portcheck import check_source

    source = "import numpy as np\n\ndef f(x):\n    return np.asarray(x).round()\n"
    (finding,) = check_source(source)
    assert finding.replacement == "xp.round(x)"
