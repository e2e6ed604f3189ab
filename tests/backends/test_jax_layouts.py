"""backends/_jax_layouts: the memory order of a jax buffer, and how conversions treat a
custom one (jax.device_put with a Format whose Layout is not row-major)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.JAX)


def placed(values: np.ndarray, major_to_minor: tuple[int, ...]) -> Any:
    """``values`` on jax's first CPU device with that layout (skips where jax has none)."""
    jax = pytest.importorskip("jax")
    try:
        from jax.experimental.layout import Format, Layout
    except ImportError:
        pytest.skip("this jax has no device layouts")
    sharding = jax.sharding.SingleDeviceSharding(jax.devices("cpu")[0])
    try:
        out = jax.device_put(values, Format(Layout(major_to_minor=major_to_minor), sharding))
    except TypeError:  # jax before 0.7 spells layouts otherwise (DeviceLocalLayout)
        pytest.skip("this jax spells device layouts differently")
    out.block_until_ready()
    return out


def pointer(x: Any) -> int:
    return int(x.unsafe_buffer_pointer())


@pytest.mark.parametrize(
    ("shape", "order", "strides"),
    [
        ((4, 6), (1, 0), (4, 16)),  # column-major
        ((2, 3, 4), (0, 2, 1), (48, 4, 12)),
        ((2, 3, 4), (0, 1, 2), None),  # row-major: compact, strides None
        ((0, 3), (1, 0), (4, 4)),  # empty: an extent of 0 counts as 1
    ],
)
def test_the_buffer_s_order_and_strides_are_read(shape, order, strides) -> None:
    from arrayport.backends._jax_layouts import major_to_minor, row_major, strides_of

    x = placed(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), order)
    assert major_to_minor(x) == order
    assert row_major(x, len(shape)) is (strides is None)
    assert strides_of(x, 4) == strides


def test_arrays_of_fewer_than_two_dimensions_have_no_strides() -> None:
    import jax.numpy as jnp

    from arrayport.backends._jax_layouts import strides_of

    assert strides_of(jnp.arange(5.0), 4) is None
    assert strides_of(jnp.asarray(1.0), 4) is None


def test_a_column_major_array_shares_into_numpy_by_dlpack_with_its_strides() -> None:
    # jax -> numpy claimed a zero-copy host share of it, and np.asarray copied it into
    # row-major order (copy=False too, silently).
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    x = placed(a, (1, 0))
    route = ap.plan(x, "numpy", copy=False)
    assert route.zero_copy
    out = ap.convert(x, "numpy", copy=False)
    assert out.ctypes.data == pointer(x)  # its own buffer, as the route says
    assert out.strides == (4, 16)
    assert not out.flags.writeable  # jax buffers are immutable
    np.testing.assert_array_equal(out, a)


def test_a_column_major_array_after_a_row_major_one_of_its_shape_is_not_a_cache_hit() -> None:
    import jax.numpy as jnp

    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    row = jnp.asarray(a + 1)
    assert ap.plan(row, "numpy").method == "host-share"
    ap.convert(row, "numpy")  # caches the route of a row-major (4, 6) float32 array
    column = placed(a, (1, 0))
    out = ap.convert(column, "numpy")
    assert out.ctypes.data == pointer(column)
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("target", ["torch", "tensorflow", "pyclesperanto"])
def test_a_column_major_array_copies_into_other_frameworks_with_its_values(target) -> None:
    if target != "torch":
        pytest.importorskip(target)
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    x = placed(a, (1, 0))
    route = ap.plan(x, target)
    assert not route.zero_copy
    np.testing.assert_array_equal(ap.convert(ap.convert(x, target), "numpy"), a)
    with pytest.raises(ap.CopyRequiredError):
        ap.convert(x, target, copy=False)
