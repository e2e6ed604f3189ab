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


def _broadcast_huge(a: Any) -> Any:
    # A free broadcast view the dtype policy must materialise: 64 TiB of float64 as uint8.
    return np.broadcast_to(a * 0.5, (2**40, 8, 8))


def test_running_out_of_memory_in_the_dtype_policy_is_the_policy_s_out_of_memory_error() -> None:
    # The step after the function (its result converted to the input's dtype) raised the
    # framework's raw error, past the OOM policy: no OutOfMemoryError, no remedy.
    f = ap.memory_type("numpy")(_broadcast_huge)
    ap.metrics.reset()
    with ap.metrics.collecting():
        with pytest.raises(ap.OutOfMemoryError) as info:
            f(np.ones((8, 8), np.uint8))
        outcomes = ap.metrics.snapshot()["oom_outcomes"]
    error = info.value
    assert isinstance(error.__cause__, MemoryError)
    assert error.attempts == 2  # released, then tried once more
    assert error.memory_type is ap.MemoryType.NUMPY
    assert error.requested_bytes >= 2**46  # 64 TiB, as numpy said
    text = str(error)
    assert "converting the result of _broadcast_huge by its dtype policy" in text
    assert "DtypeConversion.NATIVE_OUTPUT" in text
    assert outcomes["raised"] == 1
    # Without release: at once; a disabled policy leaves numpy's own error as it is.
    no_release = ap.memory_type("numpy", oom=ap.OOMPolicy(release=False))(_broadcast_huge)
    with pytest.raises(ap.OutOfMemoryError) as info:
        no_release(np.ones((8, 8), np.uint8))
    assert info.value.attempts == 1
    disabled = ap.memory_type("numpy", oom=ap.OOMPolicy.disabled())(_broadcast_huge)
    with pytest.raises(MemoryError) as raw:
        disabled(np.ones((8, 8), np.uint8))
    assert not isinstance(raw.value, ap.OutOfMemoryError)
    # The torch twin: a plain RuntimeError that neither `except MemoryError` caught.
    torch = pytest.importorskip("torch")

    @ap.memory_type("torch")
    def expand(a: Any) -> Any:
        return (a.to(torch.float32) * 0.5)[None].expand(2**40, 8, 8)

    with pytest.raises(ap.OutOfMemoryError, match="torch ran out of memory on cpu converting"):
        expand(torch.ones(8, 8, dtype=torch.uint8))


def test_a_dtype_policy_that_fits_after_release_returns_the_converted_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from arrayport import _dispatch_policy

    real = _dispatch_policy.convert_dtype
    calls = []

    def short_of_memory_once(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise MemoryError("Unable to allocate 128 B")  # numpy's kind, on the host
        return real(*args)

    monkeypatch.setattr(_dispatch_policy, "convert_dtype", short_of_memory_once)

    @ap.memory_type("numpy")
    def half(a: Any) -> Any:
        return a * 0.5  # float64 of a uint8 input: the policy converts it

    with ap.metrics.collecting():
        out = half(np.full((4, 4), 9, np.uint8))
        outcomes = ap.metrics.snapshot()["oom_outcomes"]
    assert len(calls) == 2
    assert out.dtype == np.uint8
    assert (out == 4).all()  # 4.5 rounds half to even
    assert outcomes["release"] == 1
