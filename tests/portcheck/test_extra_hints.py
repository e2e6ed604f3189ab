"""The array-api-extra hint table names functions array-api-extra has, for NumPy names the
standard lacks."""

from __future__ import annotations

from collections.abc import Callable

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


def _allclose_hints(source: str) -> list[str | None]:
    from arrayport.portcheck import check_source

    return [f.replacement for f in check_source("import numpy as np\n" + source)]


def test_the_assert_allclose_hint_keeps_the_calls_tolerances_and_equal_nan() -> None:
    # The hint was a fixed string: equal_nan=False was dropped (assert_close's default is
    # True, so a test that failed on a NaN passed), and so were rtol= and atol=.
    hints = _allclose_hints(
        "np.testing.assert_allclose(a, b, equal_nan=False)\n"
        "np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)\n"
        "np.testing.assert_allclose(a, b, 0.1, 0.5, False, 'msg')\n"
        "np.testing.assert_allclose(a, b, strict=True, atol=0.5)\n"
    )
    relax = "it also checks dtype and shape: check_dtype=False, check_shape=False to relax"
    default = "rtol=1e-7 is NumPy's default; assert_close's depends on the dtype"
    assert hints == [
        f"xpx.testing.assert_close(a, b, rtol=1e-7, equal_nan=False) (array-api-extra; "
        f"{default}; {relax})",
        f"xpx.testing.assert_close(a, b, rtol=1e-05, atol=1e-08) (array-api-extra; {relax})",
        "xpx.testing.assert_close(a, b, rtol=0.1, atol=0.5, equal_nan=False, err_msg='msg') "
        f"(array-api-extra; {relax})",
        f"xpx.testing.assert_close(a, b, rtol=1e-7, atol=0.5) (array-api-extra; {default})",
    ]


def _outcome(check: Callable[..., None], *args: object, **kwargs: object) -> str:
    try:
        check(*args, **kwargs)
    except AssertionError:
        return "fails"
    return "passes"


def test_the_assert_allclose_hint_fails_and_passes_where_numpy_does() -> None:
    import array_api_strict as xp
    import numpy as np

    from arrayport.portcheck import check_source

    calls = ["equal_nan=False", "rtol=1e-5, atol=1e-8", "rtol=0.1", "atol=0.5", ""]
    pairs = [
        ([1.0, np.nan], [1.0, np.nan]),
        ([1.0, 2.0], [1.0 + 1e-6, 2.0]),
        ([1.0, 2.0], [1.05, 2.0]),
        ([1.0, 2.0], [1.4, 2.0]),
    ]
    for keywords in calls:
        numpy_call = f"np.testing.assert_allclose(a, b{', ' if keywords else ''}{keywords})"
        (found,) = check_source(f"import numpy as np\n{numpy_call}\n")
        assert found.replacement is not None
        hinted = found.replacement.partition(" (array-api-extra")[0]  # the call port-check gives
        assert hinted.startswith("xpx.testing.assert_close(a, b")
        for a, b in pairs:
            host = {"np": np, "a": np.asarray(a), "b": np.asarray(b)}
            strict = {"xpx": array_api_extra, "a": xp.asarray(a), "b": xp.asarray(b)}
            want = _outcome(eval, numpy_call, host)  # the call as written, and as hinted
            got = _outcome(eval, hinted, strict)
            assert got == want, (numpy_call, hinted, a, b)
    close = array_api_extra.testing.assert_close
    # The old fixed hint passed where NumPy's equal_nan=False failed.
    nan = xp.asarray([1.0, np.nan])
    assert _outcome(close, nan, nan, rtol=1e-7) == "passes"


def test_no_assert_close_hint_where_the_installed_one_lacks_a_keyword(monkeypatch) -> None:
    from arrayport.portcheck import _extra_hints

    monkeypatch.setattr(_extra_hints, "_assert_close_keywords", lambda: frozenset({"rtol"}))
    from arrayport.portcheck import check_source

    (found,) = check_source("import numpy as np\nnp.testing.assert_allclose(a, b, atol=1)\n")
    assert found.replacement is None
    assert found.message.endswith(
        "; the installed array-api-extra's testing.assert_close has no atol=, which this call needs"
    )
    # *args may hold anything: the table's hint, which says to keep them.
    (found,) = check_source("import numpy as np\nnp.testing.assert_allclose(*ab)\n")
    assert found.replacement is not None
    assert "with the call's atol=, equal_nan= and err_msg=" in found.replacement
