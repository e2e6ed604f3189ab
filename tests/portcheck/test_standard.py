"""The standard's names come from array-api-strict, not from a list kept here."""

from __future__ import annotations

import sys
from collections.abc import Callable

import array_api_strict
import numpy as np
import pytest

from arrayport.portcheck import check_source, standard
from arrayport.portcheck._standard import REMOVED_METHODS, _required_version


def test_namespace_is_array_api_stricts_minus_its_helpers() -> None:
    std = standard()
    assert std.version == array_api_strict.__array_api_version__
    assert {"concat", "permute_dims", "pow", "max", "astype", "newaxis", "float32"} <= std.namespace
    assert not {"concatenate", "transpose", "amax", "power", "pad"} & std.namespace
    assert "set_array_api_strict_flags" not in std.namespace
    assert std.namespace <= set(array_api_strict.__all__)


def test_extensions_and_array_attributes() -> None:
    std = standard()
    assert "vector_norm" in std.extensions["linalg"]
    assert "norm" not in std.extensions["linalg"]
    assert "fft" in std.extensions["fft"]
    assert {
        "T",
        "mT",
        "shape",
        "dtype",
        "device",
        "to_device",
        "__dlpack__",
    } <= std.array_attributes


def test_numpy_only_attributes_split_by_ambiguity() -> None:
    std = standard()
    assert {"astype", "flatten", "ravel", "reshape"} <= std.array_only_methods
    # list.copy, list.sort, complex.real, memoryview.tolist and .nbytes, bytearray.hex:
    # reported only on known arrays.
    assert {"copy", "sort", "real", "tolist", "nbytes", "itemsize", "strides", "tobytes"} <= (
        std.array_ambiguous_methods
    )
    assert not std.array_only_methods & std.array_ambiguous_methods
    every = std.array_only_methods | std.array_ambiguous_methods
    assert every <= set(dir(np.ndarray)) | REMOVED_METHODS
    assert not every & std.array_attributes


def test_signatures_read_from_the_standard() -> None:
    sig = standard().signatures["mean"]
    assert sig.max_positional == 1
    assert sig.keywords is not None
    assert {"axis", "keepdims"} <= sig.keywords
    assert sig.keyword_only[:2] == ("axis", "keepdims")
    assert standard().signatures["meshgrid"].max_positional is None  # *arrays
    assert standard().signatures["where"].required == ("condition", "x1", "x2")
    assert standard().signatures["mean"].required == ("x",)
    assert "linalg.vector_norm" in standard().signatures


def test_methods_are_told_apart_from_data_attributes() -> None:
    std = standard()
    assert {"max", "min", "astype", "copy", "sort"} <= std.array_methods
    assert not {"nbytes", "flat", "real", "base"} & std.array_methods
    assert std.array_methods <= std.array_only_methods | std.array_ambiguous_methods


def test_a_missing_standard_names_an_extra_that_installs_it() -> None:
    # The hint once named arrayport[portcheck], an extra that never existed.
    import re
    from pathlib import Path

    import pytest

    from arrayport.errors import BackendUnavailableError
    from arrayport.portcheck import _standard

    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")

    with pytest.raises(BackendUnavailableError) as info:
        _standard._import("array_api_strict_not_installed")
    extra = re.search(r"arrayport\[(\w+)\]", str(info.value))
    assert extra is not None
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert any(dep.startswith("array-api-strict") for dep in extras[extra.group(1)])


def test_what_each_positional_parameter_takes_is_read_from_annotations() -> None:
    sigs = standard().signatures
    assert sigs["sqrt"].takes == ("array",)
    assert sigs["maximum"].takes == ("scalar", "scalar")  # one may be a Python number
    assert sigs["where"].takes == ("array", "scalar", "scalar")
    assert sigs["stack"].takes == ("arrays",)  # a list of arrays
    assert sigs["take"].takes == ("array", "array")
    assert sigs["linalg.solve"].takes == ("array", "array")
    # Anything array-like, a dtype, or not said: no claim.
    assert sigs["asarray"].takes == ("",)
    assert sigs["finfo"].takes == ("",)
    assert sigs["eye"].takes == ("", "")  # ints: an int may be an axis or a count
    assert sigs["expand_dims"].takes == ("array", "")  # a tuple of axes since 2025.12


def test_int_or_tuple_and_python_number_parameters_are_told_apart() -> None:
    # A list for sum's axis (int | tuple[int, ...] | None) or full's fill_value (complex)
    # was not checked: only an exact tuple[int, ...] annotation was read.
    sigs = standard().signatures
    assert sigs["full"].takes == ("int_or_tuple", "number")
    assert sigs["sum"].named_takes["axis"] == "int_or_tuple"
    assert sigs["squeeze"].takes == ("array", "int_or_tuple")
    assert sigs["linalg.vector_norm"].named_takes["axis"] == "int_or_tuple"
    assert sigs["linspace"].takes[:2] == ("number", "number")
    assert sigs["std"].named_takes["correction"] == "number"
    assert sigs["reshape"].takes == ("array", "tuple")
    assert sigs["sort"].named_takes["axis"] == ""  # int only
    from arrayport.portcheck._standard import _takes

    assert _takes("typing.Union[int, typing.Tuple[int, ...], NoneType]") == "int_or_tuple"
    assert _takes("Optional[Union[int, float]]") == "number"
    assert _takes(bool) == ""
    assert _takes("int | tuple[int, ...] | Array") != "int_or_tuple"  # arrays too


def test_literal_strings_of_a_parameter_are_read_from_annotations() -> None:
    sigs = standard().signatures
    assert sigs["linalg.qr"].choices == {"mode": ("reduced", "complete")}
    assert sigs["searchsorted"].choices == {"side": ("left", "right")}
    assert sigs["fft.fft"].choices["norm"] == ("backward", "ortho", "forward")
    assert sigs["linalg.matrix_norm"].choices == {"ord": ("fro", "nuc")}
    assert sigs["sum"].choices == {}


def test_choices_an_annotation_lacks_come_from_the_table() -> None:
    import types

    from arrayport.portcheck._standard import _signatures

    def qr(x, /, *, mode="reduced"):  # type: ignore[no-untyped-def]
        return x

    module = types.SimpleNamespace(qr=qr)
    sigs = _signatures(module, frozenset({"qr"}), "linalg.")  # type: ignore[arg-type]
    assert sigs["linalg.qr"].choices == {"mode": ("reduced", "complete")}


def test_a_module_shadowing_array_api_extra_without_all_counts_as_missing(monkeypatch) -> None:
    # frozenset(module.__all__) raised AttributeError: port-check crashed with a traceback.
    import types

    from arrayport.portcheck import _standard

    monkeypatch.setitem(sys.modules, "array_api_extra", types.ModuleType("array_api_extra"))
    _standard.standard.cache_clear()
    try:
        assert _standard.standard().extra == frozenset()
    finally:
        _standard.standard.cache_clear()


def test_linalg_eig_and_eigvals_of_2025_12_are_standard() -> None:
    # array-api-strict 2.6 (2025.12) defines linalg.eig and eigvals but leaves them out of
    # linalg.__all__; np.linalg.eig was reported as "not in the standard's linalg extension".
    std = standard()
    if std.version < "2025.12":
        pytest.skip("eig and eigvals are in the 2025.12 standard")
    assert {"eig", "eigvals"} <= std.extensions["linalg"]
    assert std.signatures["linalg.eigvals"].max_positional == 1
    m = array_api_strict.asarray([[2.0, 0.0], [0.0, 3.0]])
    assert array_api_strict.linalg.eigvals(m).shape == (2,)
    found = check_source("import numpy as np\nw, v = np.linalg.eig(a)\ne = np.linalg.eigvals(a)\n")
    assert found == []


def test_signatures_record_positional_only_parameters_and_int_axes() -> None:
    sigs = standard().signatures
    assert sigs["take"].positional_only == ("x", "indices")
    assert sigs["linspace"].positional_only == ("start", "stop")
    assert sigs["sort"].int_axis
    assert sigs["squeeze"].int_axis
    assert not sigs["sum"].int_axis
    assert not sigs["cumulative_sum"].int_axis


def _package(root, name: str, body: str):  # type: ignore[no-untyped-def]
    """A package ``name`` under ``root`` whose ``__init__`` is ``body``."""
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(body)
    return root / name / "__init__.py"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("raise RuntimeError('strict broken')", "failed (RuntimeError: strict broken)"),
        ("raise ImportError('nope')", "failed (ImportError: nope)"),
        ("import arrayport_no_such_dependency", "'arrayport_no_such_dependency'"),
        ("raise SystemExit('needs a newer numpy')", "called sys.exit('needs a newer numpy')"),
    ],
)
def test_a_standard_installed_but_broken_is_not_called_not_installed(
    body: str, said: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only ImportError was caught, and always read "which is not installed": a RuntimeError
    # (a broken or mismatched install) ended port-check with a traceback and exit 1.
    from arrayport.errors import BackendUnavailableError
    from arrayport.portcheck import _standard

    init = _package(tmp_path, "arrayport_broken_standard", body)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BackendUnavailableError) as info:
        _standard._import("arrayport_broken_standard")
    text = str(info.value)
    assert f"arrayport_broken_standard, which is installed but importing it from {init} " in text
    assert said in text
    assert "not installed" not in text
    assert "pip install --force-reinstall 'arrayport[cli]'" in text
    assert "arrayport_broken_standard" not in sys.modules


def test_a_standard_not_installed_says_so() -> None:
    from arrayport.errors import BackendUnavailableError
    from arrayport.portcheck import _standard

    with pytest.raises(BackendUnavailableError, match="array_api_strict_missing, which is not "):
        _standard._import("array_api_strict_missing")


@pytest.mark.parametrize(
    "body",
    [
        "raise RuntimeError('extra broken')",
        "raise AttributeError(\"module 'array_api_compat' has no attribute 'x'\")",
        "raise SystemExit(3)",
    ],
)
def test_a_broken_array_api_extra_leaves_its_hints_out(
    body: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only ImportError was caught: a broken array-api-extra took the whole scan down.
    from arrayport.portcheck import _standard

    _package(tmp_path, "array_api_extra", body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "array_api_extra", raising=False)
    _standard.standard.cache_clear()
    try:
        std = _standard.standard()
        assert std.extra == frozenset()
        assert "concat" in std.namespace
        found = check_source("import numpy as np\nnp.concatenate([a, b])\n")
        assert [(f.name, f.replacement) for f in found] == [("numpy.concatenate", "xp.concat")]
    finally:
        _standard.standard.cache_clear()


def test_an_older_standard_set_for_array_api_strict_leaves_out_newer_functions() -> None:
    # With ARRAY_API_STRICT_API_VERSION=2023.12 the messages said "2023.12" while np.isin
    # and np.take_along_axis (2025.12, 2024.12: array-api-strict refuses them there) passed.
    source = "import numpy as np\na = np.isin(x, y)\nb = np.take_along_axis(x, i, axis=0)\n"
    assert check_source(source) == []  # the newest standard has both
    saved = array_api_strict.get_array_api_strict_flags()
    try:
        array_api_strict.set_array_api_strict_flags(api_version="2023.12")
        standard.cache_clear()
        std = standard()
        assert std.version == "2023.12"
        assert not {"isin", "take_along_axis", "nextafter", "diff"} & std.namespace
        assert {"clip", "moveaxis", "unstack", "concat"} <= std.namespace  # 2023.12's
        assert not {"eig", "eigvals"} & std.extensions["linalg"]  # 2025.12's
        found = [(f.line, f.name, f.message) for f in check_source(source)]
        assert found == [
            (2, "numpy.isin", "numpy.isin is not in the array API standard 2023.12"),
            (
                3,
                "numpy.take_along_axis",
                "numpy.take_along_axis is not in the array API standard 2023.12",
            ),
        ]
        with pytest.raises(RuntimeError, match=r"requires API version 2024\.12"):
            array_api_strict.take_along_axis(
                array_api_strict.zeros(2), array_api_strict.zeros(2, dtype=array_api_strict.int64)
            )
    finally:
        array_api_strict.set_array_api_strict_flags(**saved)
        standard.cache_clear()
    assert standard().version == array_api_strict.__array_api_version__


def test_required_version_is_read_from_the_wrapper_or_not_at_all() -> None:
    assert _required_version(array_api_strict.take_along_axis) == "2024.12"
    assert _required_version(array_api_strict.isin) == "2025.12"
    assert _required_version(array_api_strict.concat) is None  # in every version
    assert _required_version(len) is None  # no closure: standard, as before

    def gate(version: str) -> Callable[[], object]:
        def wrapper() -> object:
            return version

        return wrapper

    assert _required_version(gate("2030.12")) == "2030.12"
    assert _required_version(gate("not a version")) is None
