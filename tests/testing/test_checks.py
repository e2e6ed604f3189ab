"""Tests of arrayport.testing._checks: the option checks of assert_equivalent (and the bool
check arrays() shares), which need neither pytest nor hypothesis."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from arrayport import InvalidOptionError, MemoryType
from arrayport.testing._checks import check_bool, check_tolerance, memory_types_given


@pytest.mark.parametrize("value", [True, False, np.True_, np.False_], ids=repr)
def test_a_bool_or_numpy_bool_is_taken(value: Any) -> None:
    check_bool("assert_equivalent", "check_dtype", value)


@pytest.mark.parametrize("value", [None, "no", "", 0, 1, 1.0, [True], np.array([True])], ids=repr)
def test_anything_else_is_refused_naming_the_call_and_argument(value: Any) -> None:
    said = f"f(flag={value!r}): flag takes True or False, not {type(value).__name__}"
    with pytest.raises(InvalidOptionError, match="^" + re.escape(said) + "$"):
        check_bool("f", "flag", value)
    with pytest.raises(InvalidOptionError, match=re.escape("takes True, False or None, not")):
        check_bool("f", "flag", value, takes="True, False or None")


@pytest.mark.parametrize("value", [0, 0.0, 1e-3, np.float32(2), np.int64(1)], ids=repr)
def test_a_tolerance_is_a_number_at_least_zero(value: Any) -> None:
    check_tolerance("atol", value)


@pytest.mark.parametrize("value", [-1, float("nan"), True, "1e-3", None], ids=repr)
def test_any_other_tolerance_is_refused(value: Any) -> None:
    with pytest.raises(InvalidOptionError, match=r"^assert_equivalent\(rtol=.*>= 0 \(or None"):
        check_tolerance("rtol", value)
    with pytest.raises(InvalidOptionError, match=r"^assert_equivalent\(atol=.*>= 0$"):
        check_tolerance("atol", value)


def test_one_memory_type_is_a_list_of_one_and_an_iterable_a_list() -> None:
    assert memory_types_given("numpy") == ["numpy"]
    assert memory_types_given(MemoryType.TORCH) == [MemoryType.TORCH]
    assert memory_types_given(("numpy", "torch")) == ["numpy", "torch"]
    assert memory_types_given(iter(["jax"])) == ["jax"]
    assert memory_types_given([b"numpy"]) == [b"numpy"]  # each name is checked later


@pytest.mark.parametrize("value", [1, 2.5, b"numpy", bytearray(b"numpy"), object()], ids=repr)
def test_what_names_no_memory_types_is_refused_as_memory_report_refuses_it(value: Any) -> None:
    said = (
        f"assert_equivalent(memory_types={value!r}): pass a memory type name such as "
        "'torch', a list of them, or None"
    )
    with pytest.raises(InvalidOptionError, match="^" + re.escape(said) + "$"):
        memory_types_given(value)


def test_importing_the_checks_needs_neither_pytest_nor_hypothesis() -> None:
    code = (
        "import sys, arrayport.testing._checks\n"
        "print(sorted(m for m in ('pytest', 'hypothesis') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("value", [[], (), set(), iter([])], ids=["list", "tuple", "set", "iter"])
def test_no_memory_type_at_all_is_refused_as_arrays_dtype_empty_is(value: Any) -> None:
    # Was a check on nothing, failing "no memory type is installed or selected ... check
    # ARRAYPORT_MEMORY_TYPES", though the caller had selected none.
    said = "): no memory type to check on; name at least one memory type, or pass None"
    with pytest.raises(
        InvalidOptionError, match=r"^assert_equivalent\(memory_types=.*" + re.escape(said)
    ):
        memory_types_given(value)


def test_assert_equivalent_refuses_an_empty_memory_types_before_running() -> None:
    from arrayport.testing import assert_equivalent

    ran: list[int] = []
    with pytest.raises(InvalidOptionError, match=r"assert_equivalent\(memory_types=\[\]\)"):
        assert_equivalent(lambda a: ran.append(1) or a, np.arange(3.0), memory_types=[])
    assert not ran
