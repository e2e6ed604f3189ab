"""The hint table is consistent with the standard it points into."""

from __future__ import annotations

import re

import array_api_extra

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
    assert (
        hint_for_function("pad", frozenset(array_api_extra.__all__)) == "xpx.pad (array-api-extra)"
    )
    assert hint_for_function("pad", frozenset()) is None
    assert hint_for_function("concatenate", frozenset()) == "xp.concat"


def test_attribute_hint_falls_back_to_the_standard_function() -> None:
    assert hint_for_attribute("sum", standard().namespace) == "xp.sum(x, ...)"
    assert hint_for_attribute("tolist", standard().namespace) is None
    assert hint_for_attribute("byteswap", standard().namespace) is None


def test_extra_usage_wraps_functions_that_are_not_drop_in() -> None:
    extra = frozenset(array_api_extra.__all__)
    assert hint_for_function("allclose", extra) == "xp.all(xpx.isclose(a, b)) (array-api-extra)"
    assert set(EXTRA_USAGE) <= set(EXTRA_HINTS)


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
    assert hint_for_method_call("round", 0, frozenset()) is None
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
    assert hints[".sort"].startswith("x = xp.sort(x)")
    assert hints[".partition"].startswith("x = xpx.partition(x, kth)")
