"""The standard's names come from array-api-strict, not from a list kept here."""

from __future__ import annotations

import sys

import array_api_strict
import numpy as np
import pytest

from arrayport.portcheck import check_source, standard
from arrayport.portcheck._standard import REMOVED_METHODS


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
    assert sigs["full"].takes == ("", "")


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
