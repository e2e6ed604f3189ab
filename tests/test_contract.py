"""Tests of arrayport._contract: FunctionContract, every option validated when decorating."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import INSTALLED


def _ident(x: Any) -> Any:
    return x


def test_contract_holds_every_option_with_the_documented_defaults() -> None:
    c = ap.memory_type("numpy")(_ident).contract
    assert c == ap.FunctionContract(MemoryType.NUMPY)
    assert c.memory_type is MemoryType.NUMPY
    assert c.output == "input"
    assert c.dtype_conversion is ap.DtypeConversion.PRESERVE_INPUT
    assert c.scaling is ap.Scaling.VALUE
    assert c.oom == ap.OOMPolicy()
    assert c.device is None
    assert c.slice_by_slice is False
    assert c.depth is None
    assert c.whole_array is False


def test_contract_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ap.memory_type("numpy")(_ident).contract.output = "declared"  # type: ignore[misc]


def test_contract_normalises_names_and_devices() -> None:
    c = ap.memory_type(
        "TORCH", output="jax", dtype_conversion="uint16", scaling="unit", device="cpu"
    )(_ident).contract
    assert c.memory_type is MemoryType.TORCH
    assert c.output is MemoryType.JAX
    assert c.dtype_conversion is ap.DtypeConversion.UINT16
    assert c.scaling is ap.Scaling.UNIT
    assert c.device == ap.Device("cpu")
    assert ap.memory_type("torch", device=1)(_ident).contract.device == ap.Device("cuda", 1)
    # A bare "cuda" means the calling thread's current accelerator, decided per call.
    assert ap.memory_type("torch", device="cuda")(_ident).contract.device == "cuda"
    assert ap.memory_type("jax", depth=[1, 2])(_ident).contract.depth == (1, 2)


@pytest.mark.parametrize(
    ("args", "options", "match"),
    [
        (("notaframework",), {}, "not a memory type"),
        ((3,), {}, "not a memory type"),
        (("numpy",), {"output": "elsewhere"}, "output="),
        (("numpy",), {"output": 7}, "output="),
        (("numpy",), {"dtype_conversion": np.int8}, "dtype_conversion="),
        (("numpy",), {"dtype_conversion": "float16"}, "dtype_conversion="),
        (("numpy",), {"scaling": "log"}, "scaling="),
        (("numpy",), {"oom": "retry"}, "OOMPolicy"),
        (("torch",), {"device": -1}, "invalid device"),
        (("torch",), {"device": "tpu:0"}, "invalid device"),
        (("numpy",), {"device": "cuda:0"}, "numpy"),
        (("cupy",), {"device": "cpu"}, "cupy"),
        (("pyclesperanto",), {"device": 0}, "pyclesperanto"),
        (("numpy",), {"slice_by_slice": "yes"}, "slice_by_slice"),
        (("numpy",), {"depth": -1}, "depth="),
        (("numpy",), {"depth": (1, -2)}, "depth="),
        (("numpy",), {"depth": 1.5}, "depth="),
        (("numpy",), {"whole_array": 1}, "whole_array"),
        (("numpy",), {"whole_array": True, "depth": 2}, "exclude"),
        (("numpy",), {"blockwise": "yes"}, "blockwise"),
        (
            ("numpy",),
            {"slice_by_slice": True, "oom": ap.OOMPolicy(split_axis=1)},
            "would cut every slice",
        ),
        (("numpy",), {"slice_by_slice": True, "oom": ap.OOMPolicy(split_axis=-1)}, "split_axis"),
        (("numpy",), {"blockwise": True, "whole_array": True}, "exclude"),
    ],
)
def test_invalid_options_raise_when_decorating(
    args: tuple[Any, ...], options: dict[str, Any], match: str
) -> None:
    # memory_type(...) itself raises: before any function is decorated or called.
    with pytest.raises(ap.InvalidOptionError, match=match):
        ap.memory_type(*args, **options)


def test_replace_validates_like_the_original_and_refuses_unknown_names() -> None:
    c = ap.FunctionContract("numpy")
    assert c.replace(output="torch").output is MemoryType.TORCH
    assert c.output == "input"
    with pytest.raises(ap.InvalidOptionError, match=r"unknown option.*colour"):
        c.replace(colour="red")
    with pytest.raises(ap.InvalidOptionError, match="slice_by_slice"):
        c.replace(slice_by_slice="yes")


def test_contract_is_importable_from_dispatch_and_pickles_by_that_name() -> None:
    import pickle

    from arrayport.dispatch import FunctionContract

    assert FunctionContract is ap.FunctionContract
    c = FunctionContract("torch", oom=None, depth=2)
    assert c.oom == ap.OOMPolicy.disabled()
    data = pickle.dumps(c)
    assert b"arrayport.dispatch" in data
    assert b"_contract" not in data  # no private module path stored in a pickle
    assert pickle.loads(data) == c


def test_pyclesperanto_accepts_cpu_as_convert_does() -> None:
    # convert(x, "pyclesperanto", device="cpu") picks PoCL's CPU device; the decorator
    # refused the same word when decorating.
    contract = ap.memory_type("pyclesperanto", device="cpu")(lambda x: x).contract
    assert str(contract.device) == "cpu"


def test_depth_takes_numpy_integers_and_stores_python_ints() -> None:
    f = ap.memory_type("numpy", depth=np.int64(2))(_ident)
    assert f.contract.depth == 2
    assert type(f.contract.depth) is int
    g = ap.memory_type("numpy", depth=(np.int32(1), 2))(_ident)
    assert g.contract.depth == (1, 2)
    assert all(type(n) is int for n in g.contract.depth)


@pytest.mark.parametrize("scaling", ["unit", "minmax"])
def test_a_scaling_native_output_would_ignore_is_refused(scaling: str) -> None:
    # Accepted before, and the result was never stretched.
    with pytest.raises(ap.InvalidOptionError, match="has no effect with"):
        ap.memory_type("numpy", dtype_conversion="native_output", scaling=scaling)(abs)
    f = ap.memory_type("numpy", scaling=scaling)(abs)
    with pytest.raises(ap.InvalidOptionError, match="leave scaling at VALUE"):
        f.options(dtype_conversion="native_output")
    assert f.options(dtype_conversion="native_output", scaling="value").contract.scaling is (
        ap.Scaling.VALUE
    )


@pytest.mark.parametrize(("depth", "axis"), [(1, 0), (2, -1), ((1, 0), 0), ((0, 3), -1)])
def test_an_oom_split_across_a_declared_halo_is_refused(depth: Any, axis: int) -> None:
    # The split cut each block (halo included) with no neighbours at the cut: the rows next
    # to it changed, silently, on dask and numpy input alike.
    with pytest.raises(ap.InvalidOptionError, match=r"split along it would cut there"):
        ap.memory_type("numpy", depth=depth, oom=ap.OOMPolicy(split_axis=axis))(lambda x: x)


def test_an_oom_split_along_an_axis_without_halo_is_allowed() -> None:
    f = ap.memory_type("numpy", depth=(1, 0), oom=ap.OOMPolicy(split_axis=1))(lambda x: x)
    assert f.contract.oom.split_axis == 1
    assert f.options(oom=ap.OOMPolicy(split_axis=-1)).contract.depth == (1, 0)


def test_a_torch_device_without_an_index_is_settled_at_each_call_like_the_word() -> None:
    # torch.device("cuda") was frozen to the current index when the function was decorated,
    # where the string "cuda" is read at each call (use_device).
    torch = pytest.importorskip("torch")
    f = ap.memory_type("torch", device=torch.device("cuda"))(lambda x: x)
    assert f.contract.device == "cuda"
    g = ap.memory_type("torch", device=torch.device("cuda:1"))(lambda x: x)
    assert g.contract.device == ap.Device("cuda", 1)


def test_a_sliced_function_with_a_halo_may_split_the_stack() -> None:
    # Slices never read their neighbours: split_axis=0 of a slice_by_slice function with an
    # int depth was refused as a split across the halo.
    f = ap.memory_type("numpy", slice_by_slice=True, depth=2, oom=ap.OOMPolicy(split_axis=0))(
        lambda x: x
    )
    assert f.contract.depth == 2


@pytest.mark.parametrize(
    ("declared", "output"),
    [("pyclesperanto", "declared"), ("pyclesperanto", "pyclesperanto"), ("numpy", "pyclesperanto")],
)
def test_a_fixed_dtype_the_kept_result_can_never_have_is_refused_when_declared(
    declared: str, output: str
) -> None:
    # pyclesperanto holds no float64: the contract was accepted and every call failed
    # after the function ran (50 slices blurred, then refused; audit a20).
    with pytest.raises(
        ap.InvalidOptionError, match=r"never holds float64.*FLOAT32.*output='numpy'"
    ):
        ap.FunctionContract(declared, output=output, dtype_conversion=ap.DtypeConversion.FLOAT64)
    # Results that go elsewhere, or another fixed dtype, are accepted as before.
    ap.FunctionContract(declared, output="numpy", dtype_conversion=ap.DtypeConversion.FLOAT64)
    ap.FunctionContract(declared, output=output, dtype_conversion=ap.DtypeConversion.FLOAT32)
    ap.FunctionContract("pyclesperanto", dtype_conversion=ap.DtypeConversion.FLOAT64)  # to input


# --- dtype_conversion= given as a dtype (audit of a new user's side) ---


def _dtype_spellings() -> list[Any]:
    spellings: list[Any] = [np.float32, np.dtype("float32"), np.dtype(">f4"), "float32"]
    if MemoryType.TORCH in INSTALLED:
        import torch

        spellings.append(torch.float32)
    if MemoryType.JAX in INSTALLED:
        import jax.numpy as jnp

        spellings.append(jnp.float32)
    return spellings


@pytest.mark.parametrize("spelling", _dtype_spellings(), ids=repr)
def test_a_dtype_whose_name_is_a_fixed_member_is_that_member(spelling: Any) -> None:
    # np.float32 was refused ("is not valid; use one of DtypeConversion...") though
    # convert_dtype takes it and DtypeConversion.FLOAT32 is the same dtype.
    f = ap.memory_type("numpy", dtype_conversion=spelling)(_ident)
    assert f.contract.dtype_conversion is ap.DtypeConversion.FLOAT32
    assert f.options(dtype_conversion=np.uint16).contract.dtype_conversion is (
        ap.DtypeConversion.UINT16
    )
    out = f(np.arange(3, dtype=np.int16))
    assert out.dtype == np.float32


@pytest.mark.parametrize("spelling", [np.int8, "int8", np.dtype("float16"), "uint32", "bool"])
def test_a_dtype_that_is_no_fixed_member_is_refused_with_the_members_and_the_workaround(
    spelling: Any,
) -> None:
    name = np.dtype(spelling).name
    with pytest.raises(ap.InvalidOptionError) as caught:
        ap.memory_type("numpy", dtype_conversion=spelling)
    text = str(caught.value)
    assert f"{name} is not a fixed output dtype" in text
    assert "(those are uint8, uint16, int16, int32, float32, float64)" in text
    assert "dtype_conversion=DtypeConversion.NATIVE_OUTPUT" in text
    assert f"ap.convert_dtype(result, {name!r})" in text
    # The workaround it names gives that dtype.
    f = ap.memory_type("numpy", dtype_conversion="native_output")(lambda x: x / 2)
    assert ap.convert_dtype(f(np.arange(4.0)), name).dtype == np.dtype(name)


def test_a_value_that_is_no_dtype_keeps_the_list_of_members() -> None:
    with pytest.raises(ap.InvalidOptionError, match=r"'float' is not valid; use one of Dtype"):
        ap.memory_type("numpy", dtype_conversion="float")
    with pytest.raises(ap.InvalidOptionError, match=r"use one of DtypeConversion.PRESERVE"):
        ap.memory_type("numpy", dtype_conversion=float)
