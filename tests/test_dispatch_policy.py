"""Tests of arrayport._dispatch_policy: the dtype policy of a dispatched call's result and
the words of its refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap


def test_a_first_argument_dtype_no_policy_reaches_is_named_not_the_result() -> None:
    # An int64 result of string input was refused as "the result of lengths: numpy arrays
    # of dtype <U3 hold no numbers": the <U3 is the input's, which PRESERVE_INPUT asks for.
    @ap.memory_type("numpy")
    def lengths(names: Any) -> Any:
        return np.char.str_len(names)

    names = np.array(["c", "aa", "bbb"])
    with pytest.raises(ap.UnsupportedArrayError) as info:
        lengths(names)
    message = str(info.value)
    prefix = f"{lengths.__qualname__}: dtype_conversion=PRESERVE_INPUT cannot give the result"
    assert message.startswith(prefix)
    assert "(int64) the first array argument's dtype <U3" in message
    assert "DtypeConversion.NATIVE_OUTPUT" in message
    assert "a fixed one" in message
    assert "the result of" not in message
    native = lengths.options(dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    assert native(names).tolist() == [1, 2, 3]
    fixed = lengths.options(dtype_conversion=ap.DtypeConversion.UINT8)
    assert fixed(names).dtype == np.uint8
    dates = np.array(["2020-01-03", "2020-01-01"], dtype="datetime64[D]")
    with pytest.raises(ap.UnsupportedArrayError, match=r"argument's dtype datetime64\[D\]"):
        ap.memory_type("numpy")(np.argsort)(dates)

    # Refused for the result's sake (masked, strings), the result is still named.
    @ap.memory_type("numpy")
    def masked(x: Any) -> Any:
        return np.ma.masked_less(x.astype(np.float64), 1)

    with pytest.raises(ap.UnsupportedArrayError, match=r"^the result of .*masked"):
        masked(np.arange(3, dtype=np.int16))
    with pytest.raises(ap.UnsupportedArrayError, match="dtype <U32") as info:
        ap.memory_type("numpy")(lambda x: x.astype(str))(np.arange(3.0))
    assert "the first array argument" not in str(info.value)
