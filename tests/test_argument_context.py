"""_argument_context: a dispatched call's conversion error names the argument it is about."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.JAX)

KERNEL = np.ones(3)  # float64: jax without 64-bit mode refuses it


@pytest.fixture(autouse=True)
def _without_x64() -> None:
    import jax

    if jax.config.read("jax_enable_x64"):
        pytest.skip("jax holds float64 in 64-bit mode")


def test_an_array_default_is_named_as_the_default_it_is() -> None:
    # The message said "cannot convert float64 from numpy to jax" of a call whose caller
    # passed float32 only.
    @ap.memory_type("jax")
    def blur(image: Any, kernel: Any = KERNEL) -> Any:
        return image * kernel

    with pytest.raises(ap.UnsupportedDtypeError) as caught:
        blur(np.ones(3, np.float32))
    said = str(caught.value)
    assert said.startswith("argument 'kernel' of ")
    assert "blur (its default value): cannot convert float64 from numpy to jax" in said
    assert said.endswith(
        "(every array argument is moved to jax before " + blur.__qualname__ + " runs)"
    )
    assert caught.value.dtype == "float64"  # the error's attributes are kept
    assert caught.value.target is MemoryType.JAX


def test_positional_keyword_and_star_arguments_are_named() -> None:
    @ap.memory_type("jax")
    def masked(image: Any, mask: Any, *more: Any, weight: Any = None) -> Any:
        return image

    image, bad = np.ones(3, np.float32), np.ones(3)
    cases = [
        ((image, bad), {}, "argument 'mask' of "),
        ((bad, image), {}, "argument 'image' of "),
        ((image, image, image, bad), {}, "argument #4 of "),
        ((image, image), {"weight": bad}, "argument 'weight' of "),
        ((image, [image, bad]), {}, "argument 'mask' of "),  # inside a list argument
    ]
    for args, kwargs, start in cases:
        with pytest.raises(ap.UnsupportedDtypeError) as caught:
            masked(*args, **kwargs)
        assert str(caught.value).startswith(start), (args, kwargs)
        assert "default" not in str(caught.value)


def test_errors_about_the_declared_device_are_left_as_they_are() -> None:
    @ap.memory_type("jax", device="cuda:7")
    def same(image: Any) -> Any:
        return image

    import jax

    if jax.devices()[0].platform != "cpu":
        pytest.skip("a GPU is present")
    with pytest.raises(ap.ArrayportError) as caught:
        same(np.ones(3, np.float32))
    assert "every array argument is moved" not in str(caught.value)
