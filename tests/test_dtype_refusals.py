"""_dtype_refusals: target dtypes refused before any computation."""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport.backends import get_backend
from arrayport.errors import DtypeConversionError, UnsupportedDtypeError
from tests.conftest import INSTALLED


def test_a_widening_target_is_refused_with_the_way_out() -> None:
    from arrayport._dtype_refusals import refuse_unholdable

    if MemoryType.PYCLESPERANTO not in INSTALLED:
        pytest.skip("pyclesperanto is not installed")
    backend = get_backend(MemoryType.PYCLESPERANTO)
    with pytest.raises(UnsupportedDtypeError, match=r"stores bool as uint8.*NATIVE_OUTPUT") as info:
        refuse_unholdable(backend, MemoryType.PYCLESPERANTO, "bool")
    # Worded for any dispatched function whose result stays in or goes to pyclesperanto
    # (it named only output='declared'), with a dtype pyclesperanto holds as a way out.
    assert "stays in or goes to pyclesperanto" in str(info.value)
    assert "DtypeConversion.UINT8" in str(info.value)
    assert "output='declared'" not in str(info.value)
    refuse_unholdable(backend, MemoryType.PYCLESPERANTO, "float32")


def test_complex128_parts_beyond_float32_are_refused_not_made_inf() -> None:
    x = np.array([1e300 + 1j, 1 + 1j])
    with pytest.raises(DtypeConversionError, match="would become inf"):
        ap.convert_dtype(x, "complex64")
    np.testing.assert_array_equal(ap.convert_dtype(x[1:], "complex64"), [1 + 1j])


def test_complex128_parts_that_round_to_float32_max_convert() -> None:
    # Refused ("would become inf") from just above float32's largest value, though such
    # parts round to it, as float64 -> float32 gives them; inf only from half a step up.
    top = float(np.finfo(np.float32).max)
    limit = 2.0**128 - 2.0**103  # half-way to the next power of two: rounds to inf
    below = np.nextafter(limit, 0.0)
    x = np.array([complex(np.nextafter(top, np.inf), -below)])
    out = ap.convert_dtype(x, "complex64")
    np.testing.assert_array_equal(out, np.array([complex(top, -top)], np.complex64))
    np.testing.assert_array_equal(out.real, ap.convert_dtype(x.real, "float32"))
    with pytest.raises(DtypeConversionError, match="would become inf"):
        ap.convert_dtype(np.array([complex(1.0, limit)]), "complex64")


@pytest.mark.parametrize(
    ("mt", "name"), [(MemoryType.PYCLESPERANTO, "float64"), (MemoryType.JAX, "int64")]
)
def test_a_dtype_the_memory_type_cannot_hold_names_the_way_out_from_there(
    mt: MemoryType, name: str
) -> None:
    # The remedy was the one for moving data in: "convert to float32 first" for a float32
    # pyclesperanto array asked for float64.
    if mt not in INSTALLED:
        pytest.skip(f"{mt.value} is not installed")
    x = ap.convert(np.ones(3, np.float32), mt)
    if mt is MemoryType.JAX and get_backend(mt).check_dtype(np.dtype(name), name) is None:
        pytest.skip("jax's 64-bit mode is on")
    with pytest.raises(UnsupportedDtypeError) as info:
        ap.convert_dtype(x, name)
    message = str(info.value)
    assert f"arrayport.convert_dtype(arrayport.convert(x, 'numpy'), '{name}')" in message
    assert "first" not in message
    assert ("jax_enable_x64" in message) is (mt is MemoryType.JAX)
    assert ap.convert_dtype(ap.convert(x, "numpy"), name).dtype == np.dtype(name)  # it works


def test_a_reference_dtype_no_policy_reaches_is_refused_with_the_way_out() -> None:
    from arrayport._dtype_refusals import refuse_input_dtype

    refusal = refuse_input_dtype("f", np.array(["a"]), (np.arange(2), "label"))
    assert isinstance(refusal, ap.UnsupportedArrayError)
    assert str(refusal).startswith(
        "f: dtype_conversion=PRESERVE_INPUT cannot give the result (int64) the first array "
        "argument's dtype <U1"
    )
    assert "DtypeConversion.NATIVE_OUTPUT" in str(refusal)
    assert refuse_input_dtype("f", np.arange(2.0), np.array(["a"])) is None  # the result's


def test_complex_overflow_check_reads_a_dask_graph_once() -> None:
    # The real and the imaginary part were checked in two computes: two passes over the
    # input's graph at the call.
    da = pytest.importorskip("dask.array")
    from dask.callbacks import Callback

    computes: list[int] = []

    class Count(Callback):  # type: ignore[misc]
        def _start(self, dsk: object) -> None:
            computes.append(1)

    fine = np.array([1 + 2j, -3 - 4j, 5e30 + 0j, 0 - 6e30j], dtype=np.complex128)
    with Count():
        out = ap.convert_dtype(da.from_array(fine, chunks=2), "complex64")
    assert len(computes) == 1
    np.testing.assert_array_equal(out.compute(), fine.astype(np.complex64))
    for bad in (np.array([1 + 1e39j, 0j]), np.array([0j, -1e39 + 0j])):
        computes.clear()
        with Count(), pytest.raises(DtypeConversionError, match="would become inf"):
            ap.convert_dtype(da.from_array(bad, chunks=1), "complex64")
        assert len(computes) == 1
        with pytest.raises(DtypeConversionError, match="would become inf"):
            ap.convert_dtype(bad, "complex64")  # numpy: the same refusal
