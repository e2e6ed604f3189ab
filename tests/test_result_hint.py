"""Tests of arrayport._result_hint: the hint a refusal of a result ends with, the masked
result of a function running on a dask block, which no option keeps, and a traced result
(jax.jit, tf.function) whose dtype the policy would change."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport._result_hint import (
    MASKED_ON_DASK,
    on_dask_block,
    result_hint,
    running,
    traced_refusal,
)
from arrayport.errors import UnsupportedArrayError
from tests.conftest import skip_unless_installed


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


# --- a traced result whose dtype the policy would change (jax.jit, tf.function) ---


def _half(x: Any) -> Any:
    return x / 2


@skip_unless_installed(MemoryType.JAX)
def test_a_traced_jax_result_the_policy_would_convert_names_the_dtypes_and_what_works() -> None:
    import jax
    import jax.numpy as jnp

    half = ap.memory_type("jax")(_half)
    x = jnp.arange(4)  # int32: half returns float32, PRESERVE_INPUT would give int32
    with pytest.raises(UnsupportedArrayError) as caught:
        jax.jit(half)(x)
    text = str(caught.value)
    assert text.startswith("the result of _half (output='input'): _half returned float32 for ")
    assert "int32 input, and dtype_conversion=PRESERVE_INPUT converts it to int32" in text
    assert "a traced result (inside jax.jit, grad or vmap) cannot be converted" in text
    assert "DtypeConversion.NATIVE_OUTPUT" in text
    assert "DtypeConversion.FLOAT32, the dtype it returns" in text
    assert "result.astype(jnp.int32)" in text
    # Not the generic words for a traced argument: the function is pure jax already.
    assert "make it pure jax" not in text
    assert "output='declared'" not in text
    assert isinstance(caught.value.__cause__, UnsupportedArrayError)
    # Each remedy it names works under jit, as the eager call does.
    want = np.array([0.0, 0.5, 1.0, 1.5], np.float32)
    native = half.options(dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    np.testing.assert_array_equal(np.asarray(jax.jit(native)(x)), want)
    fixed = half.options(dtype_conversion=ap.DtypeConversion.FLOAT32)
    np.testing.assert_array_equal(np.asarray(jax.jit(fixed)(x)), want)
    cast = ap.memory_type("jax")(lambda a: (a / 2).astype(jnp.int32))
    np.testing.assert_array_equal(np.asarray(jax.jit(cast)(x)), [0, 0, 1, 1])
    # vmap traces too.
    with pytest.raises(UnsupportedArrayError, match="_half returned float32 for int32 input"):
        jax.vmap(half)(x)


@skip_unless_installed(MemoryType.JAX)
def test_a_traced_result_stretched_by_minmax_names_the_scaling_native_output_allows() -> None:
    import jax
    import jax.numpy as jnp

    stretch = ap.memory_type("jax", scaling="minmax")(_half)
    x = jnp.arange(4.0, dtype=jnp.float32)  # same dtype in and out: MINMAX still converts
    with pytest.raises(UnsupportedArrayError) as caught:
        jax.jit(stretch)(x)
    text = str(caught.value)
    assert "scaling=Scaling.MINMAX stretches its values to [0, 1]" in text
    assert "NATIVE_OUTPUT with scaling=Scaling.VALUE" in text
    assert "the dtype it returns" not in text  # a fixed dtype would be stretched too
    native = stretch.options(dtype_conversion="native_output", scaling="value")
    np.testing.assert_array_equal(np.asarray(jax.jit(native)(x)), [0.0, 0.5, 1.0, 1.5])


@skip_unless_installed(MemoryType.JAX)
def test_a_fixed_dtype_the_traced_result_lacks_is_named() -> None:
    import jax
    import jax.numpy as jnp

    double = ap.memory_type("jax", dtype_conversion="float32")(lambda a: a * 2)
    with pytest.raises(UnsupportedArrayError) as caught:
        jax.jit(double)(jnp.arange(4))
    text = str(caught.value)
    assert "returned int32, and dtype_conversion=FLOAT32 converts it to float32" in text
    assert "or return float32 from the function (result.astype(jnp.float32)" in text


@skip_unless_installed(MemoryType.TENSORFLOW)
def test_a_symbolic_tensorflow_result_the_policy_would_convert_names_what_works() -> None:
    import tensorflow as tf

    half = ap.memory_type("tensorflow")(_half)
    x = tf.range(4)  # int32: tensorflow's int32 / 2 is float64
    with pytest.raises(UnsupportedArrayError) as caught:
        tf.function(lambda a: half(a))(x)
    text = str(caught.value)
    assert "_half returned float64 for int32 input" in text
    assert "a traced result (inside tf.function) cannot be converted" in text
    assert "DtypeConversion.FLOAT64, the dtype it returns" in text
    assert "tf.cast(result, tf.int32)" in text
    want = [0.0, 0.5, 1.0, 1.5]
    native = half.options(dtype_conversion="native_output")
    np.testing.assert_array_equal(tf.function(lambda a: native(a))(x).numpy(), want)
    fixed = half.options(dtype_conversion="float64")
    np.testing.assert_array_equal(tf.function(lambda a: fixed(a))(x).numpy(), want)
    cast = ap.memory_type("tensorflow")(lambda a: tf.cast(a / 2, tf.int32))
    np.testing.assert_array_equal(tf.function(lambda a: cast(a))(x).numpy(), [0, 0, 1, 1])


def test_a_concrete_result_gets_no_traced_refusal() -> None:
    half = ap.memory_type("numpy")(_half)
    assert traced_refusal(half, np.ones(2), np.ones(2, np.int32)) is None
    assert traced_refusal(half, (np.ones(2),), np.ones(2, np.int32)) is None
