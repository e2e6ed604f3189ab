"""Tests of the fields of NumPy's finfo and iinfo that the standard's lack."""

from __future__ import annotations

import array_api_strict as xp
import numpy as np

from arrayport.portcheck import check_source
from arrayport.portcheck._info import info_field_finding


def test_fields_the_standard_lacks_are_reported_with_its_name_for_them() -> None:
    assert info_field_finding("finfo", "tiny") == (
        "numpy.finfo().tiny",
        "finfo().tiny is NumPy's; the standard's finfo has bits, dtype, eps, max, min, "
        "smallest_normal",
        "smallest_normal",
    )
    assert info_field_finding("finfo", "resolution") is not None
    assert info_field_finding("iinfo", "max") is None
    assert info_field_finding("dtype", "tiny") is None  # not an info object
    assert xp.finfo(xp.float32).smallest_normal == np.finfo(np.float32).tiny


def test_the_walk_reports_them_on_an_info_call() -> None:
    found = check_source("import numpy as np\na = np.finfo(t).tiny\nb = np.iinfo(t).max\n")
    assert [(f.line, f.name) for f in found] == [(2, "numpy.finfo().tiny")]
