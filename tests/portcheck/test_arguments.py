"""Tests of the argument checks: positional arguments matched to NumPy's own parameters,
dtypes however they are passed, and np.pad's modes."""

from __future__ import annotations

import textwrap

import array_api_extra as xpx
import array_api_strict as xp
import numpy as np
import pytest

from arrayport.portcheck import check_source
from arrayport.portcheck._arguments import numpy_parameters


def _names(source: str) -> list[tuple[int, str]]:
    return [(f.line, f.name) for f in check_source(textwrap.dedent(source))]


def findings(source: str) -> dict[str, tuple[str, str | None]]:
    """name -> (message, replacement) of each finding in ``source``."""
    found = check_source(textwrap.dedent(source))
    return {f.name: (f.message, f.replacement) for f in found}


def test_positional_hint_never_names_a_standard_parameter_of_other_meaning() -> None:
    # The hint once listed the standard's keywords for NumPy's positional arguments:
    # rtol= for matrix_rank's absolute tol, invert= for isin's assume_unique and copy= for
    # reshape's order, each changing values if followed.
    found = findings(
        """
        import numpy as np
        r = np.linalg.matrix_rank(A, 1e-3)
        m = np.isin(a, b, True)
        f = np.reshape(a, (4,), "F")
        """
    )
    message, hint = found["numpy.linalg.matrix_rank(positional)"]
    assert "NumPy's 2nd argument, tol, is not a parameter" in message
    assert hint is not None
    assert hint.startswith("rtol=tol / xp.max(xp.linalg.svdvals(A), axis=-1)")
    assert "absolute" in hint
    message, hint = found["numpy.isin(positional)"]
    assert "NumPy's 3rd argument, assume_unique, is not a parameter" in message
    assert "invert=" not in (hint or "")
    message, hint = found["numpy.reshape(positional)"]
    assert "NumPy's 3rd argument, order, is not a parameter" in message
    assert hint is not None
    assert "copy=" not in hint
    assert "order='F': xp.permute_dims(xp.reshape(" in hint


def test_positional_hint_names_only_the_keywords_numpy_means() -> None:
    found = findings(
        """
        import numpy as np
        a = np.mean(x, 0)
        b = np.isin(a, b, False, True)
        c = np.std(x, 0, None, None, 1)
        d = np.add(x, y, out)
        """
    )
    assert found["numpy.mean(positional)"][1] == (
        "keywords after the first argument (axis=, keepdims=)"
    )
    message, hint = found["numpy.isin(positional)"]
    assert hint is not None
    assert hint.startswith("keywords after the first 2 arguments (invert=); xp.isin(x1, x2)")
    message, hint = found["numpy.std(positional)"]
    assert "dtype, is not" in message
    assert "out, is not" in message
    assert hint == (
        "keywords after the first argument (axis=); correction= (the standard's name for "
        "ddof; integer or bool x: xp.astype(x, xp.float64) first)"
    )
    message, hint = found["numpy.add(positional)"]
    assert "NumPy's 3rd argument, out, is not a parameter of the standard's add" in message
    assert hint == (
        "out[...] = xp.add(...) (jax and tensorflow arrays are immutable: there, out = xp.add(...))"
    )


def test_matrix_rank_hint_gives_numpys_result_on_the_standard() -> None:
    a = np.stack([np.diag([1000.0, 0.5]), np.diag([2.0, 1e-4])])
    for tol in (1e-3, 0.6, 1.0):
        ours = xp.asarray(a)
        rtol = tol / xp.max(xp.linalg.svdvals(ours), axis=-1)
        got = np.asarray(xp.linalg.matrix_rank(ours, rtol=rtol))
        np.testing.assert_array_equal(got, np.linalg.matrix_rank(a, tol))


def test_keyword_tol_gets_the_same_hint() -> None:
    found = findings("import numpy as np\nr = np.linalg.matrix_rank(A, tol=1e-3)\n")
    assert (found["numpy.linalg.matrix_rank(tol=)"][1] or "").startswith("rtol=tol / ")


def test_numpy_parameters_come_from_numpys_signatures() -> None:
    assert numpy_parameters("numpy.linalg.matrix_rank")[:2] == ("A", "tol")  # type: ignore[index]
    assert numpy_parameters("numpy.add") == ("x1", "x2", "out")
    assert numpy_parameters("numpy.no_such_function") is None


def test_pad_suggests_xpx_pad_for_constant_mode_only() -> None:
    source = """
        import numpy as np
        a = np.pad(x, 1)
        b = np.pad(x, 1, mode="constant")
        c = np.pad(x, 1, mode="reflect")
        d = np.pad(x, 1, "edge")
        e = np.pad(x, 1, mode=mode)
        """
    found = [(f.line, f.message, f.replacement) for f in check_source(textwrap.dedent(source))]
    pad = (
        "xpx.pad(x, pad_width) (an int, a (before, after) pair or a pair per axis; "
        "constant_values= a scalar) (array-api-extra)"
    )
    assert [hint for _, _, hint in found[:2]] == [pad] * 2
    for _, message, hint in found[2:4]:
        assert hint is None
        assert "supports mode='constant' only" in message
    assert "mode='reflect'" in found[2][1]
    assert found[4][2] == f"{pad}, if mode is 'constant' (the only mode it supports)"
    with pytest.raises(NotImplementedError):
        xpx.pad(xp.asarray([1.0, 2.0]), 1, mode="reflect")  # type: ignore[arg-type]


def test_dtypes_passed_positionally_are_reported() -> None:
    found = findings(
        """
        import numpy as np
        eps = np.finfo(float).eps
        big = np.iinfo("int32").max
        y = np.astype(x, "float32")
        z = np.isdtype(dt, float)
        k = np.isdtype(dt, "real floating")
        w = np.zeros(3, "f4")
        ok = np.finfo(np.float32)
        """
    )
    assert found["numpy.finfo(float)"][1] == (
        "xp.float64 (Python's float; or the xp floating dtype meant)"
    )
    assert found["numpy.iinfo('int32')"][1] == "xp.int32"
    assert found["numpy.astype('float32')"][1] == "xp.float32"
    assert (found["numpy.isdtype(float)"][1] or "").startswith('"real floating"')
    assert found["numpy.zeros('f4')"][1] == "xp.float32"
    assert "numpy.isdtype('real floating')" not in found
    assert not [name for name in found if name.startswith("numpy.finfo(np")]


def test_object_string_and_structured_dtypes_have_no_standard_equivalent() -> None:
    found = findings(
        """
        import numpy as np
        a = np.zeros(3, dtype=object)
        b = np.empty(3, dtype=str)
        c = np.zeros(3, dtype=[("x", "f4")])
        d = np.zeros(3, dtype="O")
        e = np.zeros(3, dtype=None)
        """
    )
    assert set(found) == {
        "numpy.zeros(dtype=object)",
        "numpy.empty(dtype=str)",
        "numpy.zeros(dtype=[...])",
        "numpy.zeros(dtype='O')",
    }
    for message, hint in found.values():
        assert hint is None
        assert "no standard equivalent" in message


def test_pinv_rcond_is_the_standards_rtol() -> None:
    a = np.random.default_rng(0).normal(size=(4, 3))
    a[:, 2] = a[:, 0] * 1e-9
    want = np.linalg.pinv(a, 1e-6)
    got = np.asarray(xp.linalg.pinv(xp.asarray(a), rtol=1e-6))
    np.testing.assert_allclose(got, want)
    found = findings("import numpy as np\np = np.linalg.pinv(a, 1e-6)\n")
    assert (found["numpy.linalg.pinv(positional)"][1] or "").startswith("rtol= ")


def test_clip_a_min_and_a_max_are_the_standards_min_and_max() -> None:
    # np.clip(x, a_min=0, a_max=1) was reported without a hint.
    found = findings("import numpy as np\ny = np.clip(x, a_min=0, a_max=1)\n")
    for name in ("numpy.clip(a_min=)", "numpy.clip(a_max=)"):
        assert (found[name][1] or "").startswith("xp.clip(x, min=..., max=...) ("), name
    x = np.array([-1.5, 0.25, 3.0])
    got = xp.clip(xp.asarray(x), min=0.0, max=1.0)
    np.testing.assert_array_equal(np.asarray(got), np.clip(x, a_min=0, a_max=1))


def test_arguments_the_standard_does_not_take() -> None:
    source = """
        import numpy as np
        a = np.ones(3, order="C")
        m = np.mean(a, 0)
        s = np.sum(a, axis=0, keepdims=True)
        z = np.zeros(3, dtype="d")
        n = np.meshgrid(*grids, indexing="ij")
        """
    assert _names(source) == [
        (3, "numpy.ones(order=)"),
        (4, "numpy.mean(positional)"),
        (6, "numpy.zeros(dtype='d')"),
    ]


def test_too_few_arguments_for_the_standard() -> None:
    source = """
        import numpy as np
        i = np.where(cond)
        w = np.where(cond, x, 0.0)
        s = np.squeeze(a)
        t = np.squeeze(a, axis=0)
        u = np.linspace(0, 1)
        v = np.where(*args)
        """
    found = check_source(textwrap.dedent(source))
    assert [(f.line, f.name) for f in found] == [
        (3, "numpy.where(too few arguments)"),
        (5, "numpy.squeeze(too few arguments)"),
        (7, "numpy.linspace(too few arguments)"),
    ]
    hints = [f.replacement or "" for f in found]
    assert hints[0].startswith("xp.nonzero(condition)")
    assert hints[1] == (
        "xp.squeeze(x, axis=tuple(i for i, n in enumerate(x.shape) if n == 1)) (the standard "
        "requires axis; NumPy's default removes every length-1 axis)"
    )
    assert hints[2] == "xp.linspace(start, stop, 50) (NumPy's default num)"
    assert "x2 missing" in found[0].message


def test_replacements_name_the_dtype_meant() -> None:
    source = """
        import numpy as np
        np.zeros(3, dtype="float32")
        np.zeros(3, dtype="d")
        np.zeros(3, dtype="<i2")
        np.zeros(3, dtype=int)
        np.zeros(3, dtype=bool)
        np.zeros(3, dtype="U10")
        """
    found = [(f.line, f.replacement) for f in check_source(textwrap.dedent(source))]
    assert found == [
        (3, "dtype=xp.float32"),
        (4, "dtype=xp.float64"),
        (5, "dtype=xp.int16"),
        (6, "dtype=xp.int64 (or the xp integer dtype meant)"),
        (7, "dtype=xp.bool"),
        (8, None),
    ]


def test_replacements_that_behave_differently_say_so() -> None:
    source = """
        import numpy as np
        np.fmax(a, b)
        np.fmin(a, b)
        np.around(a, 2)
        np.allclose(a, b)
        np.std(a, ddof=1)
        np.var(a, ddof=1)
        np.round(a, 2)
        a.round(2)
        a.std(ddof=1)
        """
    found = {(f.line, f.name): f.replacement or "" for f in check_source(textwrap.dedent(source))}
    assert "propagates NaN" in found[3, "numpy.fmax"]
    assert "xp.isnan" in found[4, "numpy.fmin"]
    assert "no decimals" in found[5, "numpy.around"]
    assert found[6, "numpy.allclose"] == "xp.all(xpx.isclose(a, b)) (array-api-extra)"
    assert found[7, "numpy.std(ddof=)"].startswith("correction=")
    assert found[8, "numpy.var(ddof=)"].startswith("correction=")
    assert "10**decimals" in found[9, "numpy.round(positional)"]
    assert "10**decimals" in found[10, ".round"]
    assert "correction=" in found[11, ".std"]


def test_positional_finding_replacement_reads_after_use() -> None:
    found = check_source("import numpy as np\nm = np.mean(a, 0)\nt = np.linspace(0, 1, 5, 1)\n")
    hints = {f.name: f.replacement for f in found}
    # Every replacement is shown as "; use <replacement>": it must not be an instruction.
    assert hints["numpy.mean(positional)"] == "keywords after the first argument (axis=, keepdims=)"
    linspace = hints["numpy.linspace(positional)"]
    assert linspace is not None
    assert linspace.startswith("keywords after the first 3 arguments (")
    assert "endpoint=" in linspace


def test_no_keyword_hint_for_a_function_that_takes_no_keywords() -> None:
    found = check_source("import numpy as np\nb = np.abs(a, out)\n")
    assert [(f.name, f.replacement) for f in found] == [
        (
            "numpy.abs(positional)",
            "out[...] = xp.abs(...) (jax and tensorflow arrays are immutable: there, "
            "out = xp.abs(...))",
        )
    ]


def test_python_numbers_and_lists_where_the_standard_takes_arrays() -> None:
    # NumPy converts them; array-api-strict refuses each of these calls.
    source = """
        import numpy as np
        a = np.sqrt(2.0)
        b = np.max([x, y])
        c = np.take(x, [0, 2])
        d = np.where(cond, 1.0, 0.0)
        e = np.maximum(1, -2)
        f = np.linalg.inv(((1, 2), (3, 4)))
        g = np.exp(-1)
        """
    found = findings(source)
    assert sorted(found) == [
        "numpy.exp(Python number)",
        "numpy.linalg.inv(Python list)",
        "numpy.max(Python list)",
        "numpy.maximum(Python numbers)",
        "numpy.sqrt(Python number)",
        "numpy.take(Python list)",
        "numpy.where(Python numbers)",
    ]
    message, hint = found["numpy.take(Python list)"]
    assert "([0, 2])" in message
    assert hint == "xp.asarray([0, 2]), or xp.stack for a list of arrays"
    assert found["numpy.sqrt(Python number)"][1] == "xp.asarray(2.0) (or the math module)"
    assert "x1, x2" in found["numpy.where(Python numbers)"][0]
    strict = {
        "sqrt": (2.0,),
        "max": ([1.0, 2.0],),
        "take": (xp.asarray([1.0, 2.0]), [0]),
        "where": (xp.asarray([True]), 1.0, 0.0),
        "maximum": (1, -2),
    }
    for name, args in strict.items():  # the reports are the standard's own refusals
        with pytest.raises((TypeError, AttributeError, ValueError)):
            getattr(xp, name)(*args)


def test_python_numbers_the_standard_takes_are_not_reported() -> None:
    source = """
        import numpy as np
        a = np.maximum(x, 0)
        b = np.where(cond, x, 0.0)
        c = np.clip(x, 0, 1)
        d = np.searchsorted(x, 3)
        e = np.stack([x, y])
        f = np.asarray([1, 2])
        g = np.full((2, 3), 1.5)
        h = np.sqrt(*values)
        i = np.sqrt(n)
        """
    assert findings(source) == {}


def test_positional_hint_lists_numpys_parameters_in_numpys_order() -> None:
    # The hint listed the standard's keyword order (axis=, n=, ...): np.diff(x, 1, 0) ported
    # as xp.diff(x, axis=1, n=0) returned x unchanged.
    found = findings(
        """
        import numpy as np
        a = np.diff(x, 1, 0)
        b = np.linspace(0, 1, 5, False)
        """
    )
    assert found["numpy.diff(positional)"][1] == (
        "keywords after the first argument (n=, axis=, prepend=, append=)"
    )
    assert found["numpy.linspace(positional)"][1] == (
        "keywords after the first 3 arguments (endpoint=, dtype=, device=)"
    )
    v = np.array([[1, 4, 9], [16, 25, 36], [0, -1, 5]])
    cube = np.arange(27.0).reshape(3, 3, 3) ** 2
    for value in (v, cube):
        x = xp.asarray(value)
        np.testing.assert_array_equal(np.asarray(xp.diff(x, n=1, axis=0)), np.diff(value, 1, 0))
        np.testing.assert_array_equal(np.asarray(xp.diff(x, n=2)), np.diff(value, 2))
    got = np.asarray(xp.linspace(0, 1, 5, endpoint=False))
    np.testing.assert_array_equal(got, np.linspace(0, 1, 5, False))


def test_python_integer_to_a_floating_function_becomes_float64() -> None:
    # xp.sqrt(xp.asarray(2)) raises on array-api-strict and is float32 on torch; NumPy
    # computes np.sqrt(2) in float64. np.abs(-2) stays an integer.
    found = findings(
        """
        import numpy as np
        a = np.sqrt(2)
        b = np.exp(-1)
        c = np.mean(3)
        d = np.abs(-2)
        e = np.log(2.0)
        """
    )
    assert found["numpy.sqrt(Python number)"][1] == (
        "xp.asarray(2, dtype=xp.float64) (or the math module)"
    )
    assert found["numpy.exp(Python number)"][1] == (
        "xp.asarray(-1, dtype=xp.float64) (or the math module)"
    )
    assert found["numpy.mean(Python number)"][1] == (
        "xp.asarray(3, dtype=xp.float64) (or the math module)"
    )
    assert found["numpy.abs(Python number)"][1] == "xp.asarray(-2) (or the math module)"
    assert found["numpy.log(Python number)"][1] == "xp.asarray(2.0) (or the math module)"
    cases = [
        (xp.sqrt(xp.asarray(2, dtype=xp.float64)), np.sqrt(2)),
        (xp.exp(xp.asarray(-1, dtype=xp.float64)), np.exp(-1)),
        (xp.mean(xp.asarray(3, dtype=xp.float64)), np.mean(3)),
        (xp.abs(xp.asarray(-2)), np.abs(-2)),
    ]
    for got, want in cases:
        got = np.asarray(got)
        assert got.dtype == np.asarray(want).dtype
        assert got == want
    with pytest.raises(TypeError):
        xp.sqrt(xp.asarray(2))


def test_too_few_arguments_hints_give_numpys_defaults() -> None:
    # xp.squeeze(x) raises (axis is required); np.linspace's num defaults to 50.
    found = findings("import numpy as np\ns = np.squeeze(a)\nt = np.linspace(0, 1)\n")
    squeeze = found["numpy.squeeze(too few arguments)"][1] or ""
    assert squeeze.startswith(
        "xp.squeeze(x, axis=tuple(i for i, n in enumerate(x.shape) if n == 1))"
    )
    for value in (np.zeros((1, 12)), np.zeros((1, 3, 1)), np.array(2.5), np.arange(3.0)):
        x = xp.asarray(value)
        got = xp.squeeze(x, axis=tuple(i for i, n in enumerate(x.shape) if n == 1))
        assert got.shape == np.squeeze(value).shape
    assert found["numpy.linspace(too few arguments)"][1] == (
        "xp.linspace(start, stop, 50) (NumPy's default num)"
    )
    got = np.asarray(xp.linspace(-3, 7.5, 50))
    np.testing.assert_array_equal(got, np.linspace(-3, 7.5))


def test_isdtype_takes_a_tuple_of_kinds_and_dtypes() -> None:
    # A tuple of kinds or dtypes was reported as a structured dtype with "no standard
    # equivalent", though it is what the standard's isdtype takes.
    assert xp.isdtype(xp.float32, ("real floating", "complex floating"))
    assert xp.isdtype(xp.float32, (xp.float32, xp.float64))
    found = findings(
        """
        import numpy as np
        a = np.isdtype(x.dtype, ("real floating", "complex floating"))
        b = np.isdtype(x.dtype, (np.float32, np.float64))
        c = np.isdtype(x.dtype, ("integral", float))
        """
    )
    assert list(found) == ["numpy.isdtype(float)"]
    assert "structured" not in found["numpy.isdtype(float)"][0]
    assert (found["numpy.isdtype(float)"][1] or "").startswith('"real floating"')


def test_out_and_the_function_forms_of_trace_and_diagonal_get_a_replacement() -> None:
    # np.clip(..., out=x) got no replacement; np.trace/np.diagonal none, where the
    # method forms x.trace()/x.diagonal() had one.
    found = findings(
        """
        import numpy as np
        np.clip(x, lo, hi, out=x)
        a = np.trace(x)
        b = np.diagonal(x)
        """
    )
    assert found["numpy.clip(out=)"][1] == (
        "x[...] = xp.clip(...) (jax and tensorflow arrays are immutable: there, x = xp.clip(...))"
    )
    assert found["numpy.trace"][1].startswith("xp.linalg.trace(x) for 2-D")
    assert found["numpy.diagonal"][1].startswith("xp.linalg.diagonal(x) for 2-D")
    m = np.arange(9.0).reshape(3, 3)
    assert float(xp.linalg.trace(xp.asarray(m))) == np.trace(m)
    assert np.array_equal(np.asarray(xp.linalg.diagonal(xp.asarray(m))), np.diagonal(m))


def test_a_positional_only_parameter_passed_by_keyword_is_said_to_be_positional() -> None:
    # np.take(x, indices=i) was told "the standard's take has no indices parameter", with no
    # replacement; take has indices, by position only (take(x, indices, /, *, axis)).
    found = findings(
        """
        import numpy as np
        a = np.take(x, indices=idx, axis=0)
        b = np.repeat(x, repeats=2, axis=0)
        c = np.moveaxis(x, source=0, destination=-1)
        d = np.linspace(start=0.0, stop=1.0, num=5)
        """
    )
    message, hint = found["numpy.take(indices=)"]
    assert "by position only" in message
    assert "has no" not in message
    assert hint == "xp.take(x, idx, axis=0)"
    assert found["numpy.repeat(repeats=)"][1] == "xp.repeat(x, 2, axis=0)"
    assert found["numpy.moveaxis(source=)"][1] == "xp.moveaxis(x, 0, -1)"
    assert found["numpy.moveaxis(destination=)"][1] == "xp.moveaxis(x, 0, -1)"
    assert found["numpy.linspace(start=)"][1] == "xp.linspace(0.0, 1.0, num=5)"
    # NumPy's a is the standard's x: neither missing nor a parameter it lacks.
    found = findings("import numpy as np\ne = np.take(a=x, indices=idx)\n")
    assert "takes x (NumPy's a) by position only" in found["numpy.take(a=)"][0]
    assert found["numpy.take(indices=)"][1] == "xp.take(x, idx)"
    assert "numpy.take(too few arguments)" not in found
    # The hints run under the standard.
    x, idx = xp.reshape(xp.arange(6.0), (2, 3)), xp.asarray([1, 0])
    assert xp.take(x, idx, axis=0).shape == (2, 3)
    assert xp.repeat(x, 2, axis=0).shape == (4, 3)
    assert xp.moveaxis(x, 0, -1).shape == (3, 2)
    assert xp.linspace(0.0, 1.0, num=5).shape == (5,)
    with pytest.raises(TypeError):
        xp.take(x, indices=idx, axis=0)  # type: ignore[call-arg]


def test_axis_none_where_the_standard_takes_an_int_is_reported() -> None:
    # np.squeeze(x, axis=None) and np.sort(x, axis=None) were not reported:
    # array-api-strict refuses squeeze's, and sort's axis is an int (torch refuses None).
    with pytest.raises(ValueError, match="axis=None"):
        xp.squeeze(xp.ones((1, 3)), axis=None)  # type: ignore[arg-type]
    found = findings(
        """
        import numpy as np
        a = np.sort(x, axis=None)
        b = np.argsort(x, None)
        c = np.squeeze(x, axis=None)
        d = np.cumulative_sum(x, axis=None)
        e = np.sort(x, axis=0)
        y = np.zeros((2, 2))
        f = y.argsort(axis=None)
        y.sort(axis=None)  # NumPy refuses it too
        """
    )
    assert found["numpy.sort(axis=None)"][1] == (
        "xp.sort(xp.reshape(x, (-1,))) (NumPy's axis=None sorts the flattened x)"
    )
    assert "numpy.argsort(axis=None)" in found  # None at NumPy's place for axis
    assert "numpy.squeeze(axis=None)" in found
    assert ".argsort(axis=None)" in found
    assert ".sort(axis=None)" not in found
    assert "numpy.cumulative_sum(axis=None)" not in found  # the standard's takes None
    assert np.array_equal(np.sort(np.asarray([[3, 1], [2, 0]]), axis=None), [0, 1, 2, 3])


def test_a_string_the_standard_does_not_list_is_reported() -> None:
    # np.linalg.qr(A, mode="r") was silent; array-api-strict's qr takes mode="r" without an
    # error and returns the rows of R as Q and R.
    found = findings(
        """
        import numpy as np
        r = np.linalg.qr(A, mode="r")
        w = np.linalg.qr(A, "raw")
        q = np.linalg.qr(A, mode="complete")
        m = np.linalg.qr(A, mode=mode)
        i = np.searchsorted(a, v, side="l")
        f = np.fft.fft(x, norm="ortho")
        """
    )
    assert found["numpy.linalg.qr(mode='r')"] == (
        "the standard's linalg.qr takes mode='reduced' or 'complete', not 'r'",
        "xp.linalg.qr(A).R (NumPy's mode='r' is the reduced R)",
    )
    assert found["numpy.linalg.qr(mode='raw')"][1] is None
    assert "numpy.searchsorted(side='l')" in found
    assert [n for n in found if "mode='complete'" in n or "norm=" in n] == []
    a = np.asarray([[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]])
    r = xp.linalg.qr(xp.asarray(a)).R
    assert np.allclose(np.asarray(r), np.linalg.qr(a, mode="r"))
    wrong = xp.linalg.qr(xp.asarray(a), mode="r")  # type: ignore[arg-type]
    assert wrong.Q.shape != np.linalg.qr(a).Q.shape  # what the finding is for


def test_a_string_or_a_type_given_to_result_type_is_a_dtype() -> None:
    # np.result_type(x.dtype, "float32") was not reported; array-api-strict raises
    # TypeError for a string (its Python scalars, 1.0, are values and stay allowed).
    found = findings(
        """
        import numpy as np
        np.result_type(x.dtype, "float32", 1.0, True)
        np.result_type(x, float)
        """
    )
    assert {name: hint for name, (_, hint) in found.items()} == {
        "numpy.result_type('float32')": "xp.float32",
        "numpy.result_type(float)": "xp.float64 (Python's float; or the xp floating dtype meant)",
    }
    x = xp.zeros(2, dtype=xp.float32)
    with pytest.raises(TypeError):
        xp.result_type(x.dtype, "float32")  # type: ignore[arg-type]
    assert xp.result_type(x.dtype, xp.float32) == xp.float32
    assert np.result_type(np.float32, "float32") == np.float32
    assert xp.result_type(x, xp.float64) == xp.float64
    assert np.result_type(np.zeros(2, np.float32), float) == np.float64
