"""The array-api-extra hint table names functions array-api-extra has, for NumPy names the
standard lacks."""

from __future__ import annotations

import array_api_extra

from arrayport.portcheck import standard
from arrayport.portcheck._extra_hints import EXTRA_HINTS, EXTRA_USAGE


def test_every_usage_is_of_a_hinted_name() -> None:
    assert set(EXTRA_USAGE) <= set(EXTRA_HINTS)


def test_extra_hints_name_array_api_extra_functions_for_non_standard_names() -> None:
    from arrayport.portcheck._hints import FUNCTION_HINTS, hint_for_function

    std = standard()
    installed = frozenset(array_api_extra.__all__)
    for name, extra in EXTRA_HINTS.items():
        assert name.partition(".")[0] not in std.namespace, name
        hint = hint_for_function(name, installed)
        if extra.partition(".")[0] in installed:  # offered only where array-api-extra has it
            assert hint is not None, name
            assert hint.endswith(" (array-api-extra)"), hint
            assert "xpx." in hint, hint
        else:  # a standard hint where there is one (np.in1d: xp.isin for integers)
            assert hint == FUNCTION_HINTS.get(name), name
