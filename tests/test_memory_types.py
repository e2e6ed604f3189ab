"""memory_types: the MemoryType enum and its parsing."""

from __future__ import annotations

import pytest

from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType, as_memory_type


def test_members_compare_equal_to_their_values() -> None:
    assert MemoryType.TORCH == "torch"
    assert str(MemoryType.PYCLESPERANTO) == "pyclesperanto"
    assert {m.value for m in MemoryType} == {
        "numpy",
        "cupy",
        "torch",
        "jax",
        "tensorflow",
        "pyclesperanto",
        "dask",
    }


@pytest.mark.parametrize("value", ["jax", "JAX", MemoryType.JAX])
def test_as_memory_type(value) -> None:
    assert as_memory_type(value) is MemoryType.JAX


@pytest.mark.parametrize("value", ["matlab", "", None, 3])
def test_as_memory_type_rejects_and_lists_names(value) -> None:
    with pytest.raises(InvalidOptionError, match="'numpy'"):
        as_memory_type(value)


@pytest.mark.parametrize(
    ("value", "meant"),
    [("nupmy", "numpy"), ("Troch", "torch"), ("tf", "tensorflow"), ("cle", "pyclesperanto")],
)
def test_a_near_miss_names_the_likely_memory_type(value, meant) -> None:
    with pytest.raises(InvalidOptionError, match=rf"\(did you mean '{meant}'\?\); use one of"):
        as_memory_type(value)


@pytest.mark.parametrize("value", ["matlab", "xyz", 3])
def test_no_guess_when_nothing_is_close(value) -> None:
    with pytest.raises(InvalidOptionError) as info:
        as_memory_type(value)
    assert "did you mean" not in str(info.value)
