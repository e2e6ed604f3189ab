"""The hint table is consistent with the standard it points into."""

from __future__ import annotations

import re

import array_api_extra

from arrayport.portcheck import standard
from arrayport.portcheck._hints import (
    ATTRIBUTE_HINTS,
    EXTRA_HINTS,
    FUNCTION_HINTS,
    hint_for_attribute,
    hint_for_function,
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
    texts = [*FUNCTION_HINTS.values(), *(v for v in ATTRIBUTE_HINTS.values() if v)]
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
