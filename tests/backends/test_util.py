"""Helpers the backend modules share (arrayport.backends._util)."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport.backends import _util
from arrayport.errors import BackendUnavailableError


def test_find_spec_answers_without_raising() -> None:
    assert _util.find_spec("numpy") is True
    assert _util.find_spec("arrayport_no_such_framework") is False
    assert _util.find_spec("arrayport_no_such_parent.child") is False


def test_import_framework_names_the_extra_to_install() -> None:
    assert _util.import_framework("numpy", "numpy") is np
    with pytest.raises(BackendUnavailableError, match=r"pip install 'arrayport\[imaginary\]'"):
        _util.import_framework("arrayport_no_such_framework", "imaginary")


def test_numpy_dtype_or_none() -> None:
    assert _util.numpy_dtype_or_none("uint16") == np.dtype("uint16")
    assert _util.numpy_dtype_or_none("not_a_dtype") is None
    bf16 = _util.numpy_dtype_or_none("bfloat16")
    if _util.find_spec("ml_dtypes"):
        assert bf16 is not None
        assert bf16.name == "bfloat16"
        assert bf16.itemsize == 2
    else:
        assert bf16 is None


def test_message_has_matches_only_the_given_phrases() -> None:
    exc = RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 8 bytes")
    assert _util.message_has(exc, "RESOURCE_EXHAUSTED")
    assert not _util.message_has(ValueError("offset out of memory bounds"), "RESOURCE_EXHAUSTED")
