"""Tests of the hints and findings that depend on a call's arguments: np.size and np.ptp
with an axis, np.pad's modes, and np.linalg.pinv's default cutoff."""

from __future__ import annotations

import textwrap

import array_api_extra as xpx
import array_api_strict as xp
import numpy as np
import pytest

from arrayport.portcheck import _call_hints, check_source


def findings(source: str) -> dict[tuple[int, str], str | None]:
    """(line, name) -> replacement of each finding in ``source``."""
    found = check_source(textwrap.dedent(source))
    return {(f.line, f.name): f.replacement for f in found}


def test_pinv_without_rcond_or_rtol_is_reported_with_numpys_cutoff() -> None:
    found = findings(
        """
        import numpy as np
        a = np.linalg.pinv(m)
        b = np.linalg.pinv(m, rcond=None)
        c = np.linalg.pinv(m, rtol=1e-10)
        d = np.linalg.pinv(m, None, rtol=None)
        e = np.linalg.pinv(m, **options)
        """
    )
    name = "numpy.linalg.pinv(default rtol)"
    assert [line for line, n in found if n == name] == [3, 4]
    assert found[(3, name)] == "xp.linalg.pinv(a, rtol=1e-15) (NumPy's default cutoff)"
    # The hint gives NumPy's values where the standard's default does not.
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    v, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    a = (u * np.logspace(0, -14.8, 10)) @ v.T
    expected = np.linalg.pinv(a)
    assert np.allclose(np.asarray(xp.linalg.pinv(xp.asarray(a), rtol=1e-15)), expected)
    assert not np.allclose(np.asarray(xp.linalg.pinv(xp.asarray(a))), expected)


def test_size_and_ptp_hints_keep_the_axis() -> None:
    found = findings(
        """
        import numpy as np
        n = np.size(X, 0)
        m = np.size(X, axis=(0, 2))
        t = np.size(X)
        r = np.ptp(X, axis=0)
        s = np.ptp(X, 1, None, True)
        u = np.ptp(X)
        """
    )
    assert found[(3, "numpy.size")] == "x.shape[0]"
    assert found[(4, "numpy.size")] == "math.prod(x.shape[i] for i in (0, 2))"
    assert found[(5, "numpy.size")] == "x.size"
    assert found[(6, "numpy.ptp")] == "xp.max(x, axis=0) - xp.min(x, axis=0)"
    assert found[(7, "numpy.ptp")] == (
        "xp.max(x, axis=1, keepdims=True) - xp.min(x, axis=1, keepdims=True)"
    )
    assert found[(8, "numpy.ptp")] == "xp.max(x) - xp.min(x)"
    # An axis hidden in *args or **kwargs: not the whole-array forms.
    hidden = findings("import numpy as np\nn = np.size(X, *a)\nr = np.ptp(X, **k)\n")
    assert hidden[(2, "numpy.size")] == "x.shape[axis]"
    assert hidden[(3, "numpy.ptp")] == "xp.max(x, axis=...) - xp.min(x, axis=...)"
    data = np.arange(24.0).reshape(2, 3, 4) ** 2
    x = xp.asarray(data)
    assert x.shape[0] == np.size(data, 0)
    assert np.array_equal(
        np.asarray(xp.max(x, axis=1, keepdims=True) - xp.min(x, axis=1, keepdims=True)),
        np.ptp(data, 1, None, True),
    )


def test_pad_hint_still_depends_on_the_mode() -> None:
    found = findings(
        """
        import numpy as np
        a = np.pad(x, 1)
        b = np.pad(x, 1, mode="reflect")
        """
    )
    assert found[(3, "numpy.pad")] is not None
    assert found[(4, "numpy.pad")] is None


def test_cov_hint_keeps_bias_ddof_rowvar_and_weights_under_xpx_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every np.cov got "xpx.cov(m), ...", which divides by N - 1 where bias=1 and ddof=0
    # divide by N: following it changed the values (matplotlib's mlab.detrend_linear).
    source = """
        import numpy as np
        a = np.cov(x, y, bias=1)
        b = np.cov(x, ddof=0)
        c = np.cov(m, rowvar=False, aweights=w)
        d = np.cov(m, None, False, flag)
        e = np.cov(m)
        """
    # The hints as an array-api-extra with these keywords gives them (0.9.2, the newest
    # for Python 3.10, has cov(m, /, *, xp) alone), and as the installed one gives them.
    installed = _call_hints._xpx_cov_keywords()
    as_installed = findings(source)
    keywords = frozenset({"m", "axis", "correction", "fweights", "aweights", "xp"})
    monkeypatch.setattr(_call_hints, "_xpx_cov_keywords", lambda: keywords)
    found = findings(source)
    assert found[3, "numpy.cov"] == (
        "xpx.cov(xp.stack((x, y)), correction=0) (array-api-extra; xp.stack((x, y)) is for "
        "1-D arrays, whatever rowvar says; 2-D ones: xpx.cov(xp.concat((x, y), axis=0), "
        "correction=0))"
    )
    assert found[4, "numpy.cov"] == "xpx.cov(x, correction=0) (array-api-extra)"
    assert found[5, "numpy.cov"] == (
        "xpx.cov(m, axis=-2, aweights=w) (array-api-extra; axis=-2 is for a 2-D m; NumPy "
        "ignores rowvar for a 1-D one)"
    )
    assert found[6, "numpy.cov"] == (
        "xpx.cov(m, axis=-2, correction=0 if flag else 1) (array-api-extra; axis=-2 is for a "
        "2-D m; NumPy ignores rowvar for a 1-D one)"
    )
    assert (found[7, "numpy.cov"] or "").startswith("xpx.cov(m), one array with a variable per row")
    if keywords <= installed:
        assert as_installed == found
        # The hints give NumPy's values.
        xs, ys = np.asarray([1.0, 2.0, 4.0, 7.0]), np.asarray([2.0, 3.0, 1.0, 8.0])
        biased = xpx.cov(xp.stack((xp.asarray(xs), xp.asarray(ys))), correction=0)
        assert np.allclose(np.asarray(biased), np.cov(xs, ys, bias=1))
        m = np.arange(15.0).reshape(5, 3) ** 1.5
        w = np.arange(1.0, 6.0)
        columns = xpx.cov(xp.asarray(m), axis=-2, aweights=xp.asarray(w))
        assert np.allclose(np.asarray(columns), np.cov(m, rowvar=False, aweights=w))
    else:  # none where the installed cov lacks a keyword the call needs; np.cov(m) kept
        assert [as_installed[line, "numpy.cov"] for line in (3, 4, 5, 6)] == [None] * 4
        assert as_installed[7, "numpy.cov"] == found[7, "numpy.cov"]
    # An array-api-extra whose cov lacks correction= gets no replacement, and says why.
    monkeypatch.setattr(_call_hints, "_xpx_cov_keywords", lambda: frozenset({"m", "xp"}))
    old = check_source("import numpy as np\nb = np.cov(x, ddof=0)\n")
    assert old[0].replacement is None
    assert "has no correction=" in old[0].message


def test_cov_hint_with_rowvar_false_gives_numpys_values_for_1d_and_2d_arrays() -> None:
    # np.cov(x, y, rowvar=False) of 1-D arrays was told xpx.cov(xp.stack((x, y)), axis=-2):
    # a 5x5 matrix where NumPy (which ignores rowvar for 1-D arrays) gives 2x2.
    found = findings(
        """
        import numpy as np
        a = np.cov(x, y, rowvar=False)
        b = np.cov(x, y)
        c = np.cov(x, rowvar=False)
        """
    )
    if "axis" not in _call_hints._xpx_cov_keywords():
        pytest.skip("the installed array-api-extra's cov has no axis=")
    assert found[3, "numpy.cov"] == (
        "xpx.cov(xp.stack((x, y))) (array-api-extra; xp.stack((x, y)) is for 1-D arrays, "
        "whatever rowvar says; 2-D ones: xpx.cov(xp.concat((x, y), axis=1), axis=-2))"
    )
    assert (found[4, "numpy.cov"] or "").endswith("2-D ones: xpx.cov(xp.concat((x, y), axis=0)))")
    assert found[5, "numpy.cov"] == (
        "xpx.cov(x, axis=-2) (array-api-extra; axis=-2 is for a 2-D x; NumPy ignores rowvar "
        "for a 1-D one)"
    )
    rng = np.random.default_rng(0)
    x1, y1 = rng.normal(size=5), rng.normal(size=5)
    x2, y2 = rng.normal(size=(6, 2)), rng.normal(size=(6, 3))
    a1, b1, a2, b2 = (xp.asarray(v) for v in (x1, y1, x2, y2))
    one_d = xpx.cov(xp.stack((a1, b1)))
    assert np.allclose(np.asarray(one_d), np.cov(x1, y1, rowvar=False))
    assert np.allclose(np.asarray(one_d), np.cov(x1, y1))
    columns = xpx.cov(xp.concat((a2, b2), axis=1), axis=-2)
    assert np.allclose(np.asarray(columns), np.cov(x2, y2, rowvar=False))
    rows = xpx.cov(xp.concat((a2.mT, b2.mT), axis=0))
    assert np.allclose(np.asarray(rows), np.cov(x2.T, y2.T))


def test_partition_with_a_negative_or_sequence_kth_gets_a_hint_that_runs() -> None:
    # np.partition(a, -2) was told xpx.partition, whose kth must be in [0, n) (ValueError
    # for -2), and np.argpartition(a, [1, 2]) xpx.argpartition, which takes one int kth.
    found = findings(
        """
        import numpy as np
        top = np.partition(a, -2)
        idx = np.argpartition(a, [1, 2])
        t = np.partition(m, -k, axis=0)
        f = np.partition(m, -2, axis=None)
        p = np.partition(a, k)
        """
    )
    assert found[(3, "numpy.partition")] == (
        "xpx.partition(a, a.shape[-1] - 2) (array-api-extra; its kth is in [0, n): NumPy's "
        "negative kth counts from the end)"
    )
    assert found[(4, "numpy.argpartition")] == (
        "xp.argsort(a, axis=-1) (a full sort is a partition at every kth)"
    )
    assert (found[(5, "numpy.partition")] or "").startswith(
        "xpx.partition(m, m.shape[0] - k, axis=0) ("
    )
    assert (found[(6, "numpy.partition")] or "").startswith(
        "xpx.partition(m, m.size - 2, axis=None) ("
    )
    hint = found[(7, "numpy.partition")] or ""  # kth of unknown sign: the rules, spelled out
    assert hint.startswith("xpx.partition(a, kth, axis=...) for one int kth, 0 <= kth <")
    assert "negative kth: a.shape[axis] + kth" in hint
    assert "a sequence of kth: xp.sort(a, axis=...)" in hint
    # Followed, the hints give what NumPy's partition guarantees; the old ones raise.
    v = np.array([5.0, 1.0, 4.0, 2.0])
    a = xp.asarray(v)
    with pytest.raises(ValueError, match="out of bounds"):
        xpx.partition(a, -2)
    assert float(xpx.partition(a, a.shape[-1] - 2)[2]) == np.partition(v, -2)[2] == 4.0
    with pytest.raises(TypeError):
        xpx.argpartition(a, [1, 2])  # type: ignore[arg-type]
    idx = np.asarray(xp.argsort(a, axis=-1))
    assert v[idx][[1, 2]].tolist() == v[np.argpartition(v, [1, 2])][[1, 2]].tolist()
    m, k = np.array([[5.0, 1.0], [1.0, 4.0], [4.0, 2.0]]), 1
    xm = xp.asarray(m)
    got = np.asarray(xpx.partition(xm, xm.shape[0] - k, axis=0))
    assert np.array_equal(got[2], np.partition(m, -k, axis=0)[2])
    got = np.asarray(xpx.partition(xm, xm.size - 2, axis=None))
    assert got[4] == np.partition(m, -2, axis=None)[4]


def test_calling_np_ndarray_is_an_uninitialised_array_not_an_isinstance_check() -> None:
    # np.ndarray((3, 2), order="F") was given the isinstance hint (is_array_api_obj).
    found = findings(
        """
        import numpy as np
        W = np.ndarray((3, 2), order="F")
        v = np.ndarray(4, dtype=np.float32)
        s = np.ndarray(shape=(2,), dtype="f4")
        b = np.ndarray((2,), np.int32, buf)
        ok = isinstance(W, np.ndarray)
        z = np.ndarray([])
        """
    )
    hint = found[(3, "numpy.ndarray")] or ""
    assert hint.startswith("xp.empty((3, 2), dtype=xp.float64) (np.ndarray(shape) is uninit")
    assert "order=" in hint
    assert (found[(4, "numpy.ndarray")] or "").startswith("xp.empty(4, dtype=xp.float32) (")
    assert (found[(5, "numpy.ndarray")] or "").startswith("xp.empty((2,), dtype=xp.float32) (")
    assert found[(6, "numpy.ndarray")] is None  # a view of buf's memory: no equivalent
    message = next(
        f.message
        for f in check_source(textwrap.dedent("import numpy as np\nb = np.ndarray((2,), int, b)"))
        if f.name == "numpy.ndarray"
    )
    assert "views the buffer's memory (no standard equivalent)" in message
    assert (found[(7, "numpy.ndarray")] or "").startswith("array_api_compat.is_array_api_obj(x)")
    assert (found[(8, "numpy.ndarray")] or "").startswith("xp.empty((), dtype=xp.float64) (")
    assert xp.empty((), dtype=xp.float64).shape == np.ndarray([]).shape == ()
    e = xp.empty((3, 2), dtype=xp.float64)
    n = np.ndarray((3, 2), order="F")
    assert e.shape == n.shape
    assert (e.dtype, n.dtype) == (xp.float64, np.float64)
    e = xp.empty(4, dtype=xp.float32)
    assert e.shape == np.ndarray(4, dtype=np.float32).shape == (4,)
