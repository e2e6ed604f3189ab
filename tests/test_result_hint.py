"""Tests of arrayport._result_hint: the hint a refusal of a result ends with, and the masked
result of a function running on a dask block, which no option keeps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport._result_hint import MASKED_ON_DASK, on_dask_block, result_hint, running
from arrayport.errors import UnsupportedArrayError


@ap.memory_type("numpy")
def _f(a: Any) -> Any:
    return a


@ap.memory_type("numpy")
def _g(a: Any) -> Any:
    return a


class _Holder:
    @ap.memory_type("numpy")
    def method(self, a: Any) -> Any:
        return a


def _masked_refusal() -> UnsupportedArrayError:
    with pytest.raises(UnsupportedArrayError) as caught:
        ap.convert(np.ma.masked_equal(np.arange(3.0), 1), "numpy")
    return caught.value


@pytest.fixture
def on_block() -> Any:
    def set_to(dispatched: Any) -> None:
        running.on = dispatched

    yield set_to
    running.on = None


def test_the_hint_without_dask_names_the_options_that_keep_the_result() -> None:
    masked = _masked_refusal()
    native = "output='declared' with dtype_conversion=DtypeConversion.NATIVE_OUTPUT returns"
    assert result_hint(_f, masked, True).startswith(native)
    assert result_hint(_f, masked, False) == (
        "output='declared' returns results as the function makes them"
    )


def test_a_masked_result_of_the_function_on_a_dask_block_gets_the_dask_remedies(
    on_block: Any,
) -> None:
    masked = _masked_refusal()
    assert not on_dask_block(_f)
    on_block(_f.options(output="input"))  # the variant a block runs: the same function
    assert on_dask_block(_f)
    assert not on_dask_block(_g)
    assert result_hint(_f, masked, True) == MASKED_ON_DASK
    assert "x.filled(fill_value)" in MASKED_ON_DASK
    assert "compute the input first (.compute())" in MASKED_ON_DASK
    # Another function it calls (not on dask), or another refusal, keeps the usual hint.
    assert result_hint(_g, masked, True) != MASKED_ON_DASK
    other = UnsupportedArrayError("numpy arrays of dtype <U1 hold no numbers")
    assert result_hint(_f, other, True) != MASKED_ON_DASK
    holder = _Holder()
    on_block(holder.method)  # a bound method: the function behind it
    assert result_hint(_Holder.method, masked, True) == MASKED_ON_DASK
