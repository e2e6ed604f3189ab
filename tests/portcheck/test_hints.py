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
