"""Tests of the hints and findings that depend on a call's arguments: np.size and np.ptp
with an axis, np.pad's modes, and np.linalg.pinv's default cutoff."""

from __future__ import annotations

import textwrap

import array_api_strict as xp
import numpy as np

from arrayport.portcheck import check_source


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
