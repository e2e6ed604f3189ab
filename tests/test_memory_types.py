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


@pytest.mark.parametrize(
    ("value", "example"),
    [
        ("cuda", "ap.convert(x, 'torch', device='cuda')"),
        ("CUDA:0", "ap.convert(x, 'torch', device='cuda:0')"),
        ("gpu", "ap.convert(x, 'torch', device='cuda')"),  # cuda's alias, named as cuda
        ("gpu:1", "@ap.memory_type('torch', device='cuda:1')"),
        ("cpu", "ap.convert(x, 'torch', device='cpu')"),
        ("opencl:0", "ap.convert(x, 'pyclesperanto', device='opencl:0')"),
    ],
)
def test_a_device_given_as_a_memory_type_says_how_to_pass_the_device(value, example) -> None:
    # '"cuda" is not a memory type' did not say that cuda is a device (torch's .to("cuda")).
    with pytest.raises(InvalidOptionError) as info:
        as_memory_type(value)
    text = str(info.value)
    assert text.startswith(f"{value!r} is a device, not a memory type: name a memory type")
    assert example in text
    assert text.endswith(
        "use one of 'numpy', 'cupy', 'torch', 'jax', 'tensorflow', 'pyclesperanto', 'dask'"
    )


@pytest.mark.parametrize("value", ["mps", "tpu:0"])
def test_a_device_arrayport_does_not_run_on_is_named_as_a_device(value) -> None:
    with pytest.raises(InvalidOptionError) as info:
        as_memory_type(value)
    text = str(info.value)
    assert text.startswith(f"{value!r} is a device, not a memory type (and not one arrayport")
    assert "device=" not in text


@pytest.mark.parametrize("value", ["cudaa", "cuda:x", "cuda:", "gpus"])
def test_text_that_only_starts_like_a_device_gets_no_device_hint(value) -> None:
    with pytest.raises(InvalidOptionError) as info:
        as_memory_type(value)
    assert "is a device" not in str(info.value)
    assert str(info.value).startswith(f"{value!r} is not a memory type")


def test_the_decorator_names_the_device_too_and_the_example_runs() -> None:
    import numpy as np

    import arrayport as ap
    from tests.conftest import INSTALLED

    with pytest.raises(InvalidOptionError, match=r"^'cuda' is a device.*@ap.memory_type"):
        ap.memory_type("cuda")
    if MemoryType.TORCH in INSTALLED:  # the example for "cpu", as the message writes it
        x = np.ones(2)
        assert type(ap.convert(x, "torch", device="cpu")).__name__ == "Tensor"
