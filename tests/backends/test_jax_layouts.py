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
    pytest.importorskip(target)
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    x = placed(a, (1, 0))
    route = ap.plan(x, target)
    assert not route.zero_copy
    np.testing.assert_array_equal(ap.convert(ap.convert(x, target), "numpy"), a)
    with pytest.raises(ap.CopyRequiredError):
        ap.convert(x, target, copy=False)


@pytest.mark.parametrize(
    "make",
    [
        lambda b: b.T,  # column-major
        lambda b: b.reshape(4, 3, 8).transpose(2, 0, 1),
        lambda b: b.reshape(4, 1, 24).transpose(2, 1, 0),  # a size-1 axis
        lambda b: b.T.astype(">f4"),  # big-endian, column-major (astype keeps the order)
    ],
)
def test_ordered_copy_keeps_a_compact_source_s_axis_order(make, monkeypatch) -> None:
    from arrayport._host import ALIGNMENT
    from arrayport.backends import _jax_layouts
    from arrayport.backends._jax_layouts import ordered_copy

    # The order logic on small arrays: no size threshold (the threshold: tests below).
    monkeypatch.setattr(_jax_layouts, "ORDERED_MIN_BYTES", 0, raising=False)
    a = make(np.arange(96, dtype=np.float32).reshape(4, 24))
    out = ordered_copy(a)
    np.testing.assert_array_equal(out, a)
    assert out.dtype == np.dtype("float32")
    assert out.dtype.isnative
    assert out.flags.writeable
    assert out.ctypes.data % ALIGNMENT == 0
    assert not np.shares_memory(out, a)
    # The source's memory order, so the copy is a straight one: equal strides on every
    # axis longer than 1 (aligned_copy wrote row-major, a transposing copy).
    kept = [(o, s) for o, s, n in zip(out.strides, a.strides, a.shape, strict=True) if n > 1]
    assert all(o == abs(s) for o, s in kept)


def test_ordered_copy_writes_row_major_where_the_source_is_not_compact() -> None:
    from arrayport.backends._jax_layouts import ordered_copy

    a = np.arange(96, dtype=np.float32).reshape(8, 12)
    for view in (a[:, ::2], a.T[::2], a[::-1], a[:, 2:]):
        out = ordered_copy(view)
        assert out.flags.c_contiguous
        np.testing.assert_array_equal(out, view)


@pytest.mark.parametrize(
    "make",
    [
        lambda b: b.T,
        lambda b: b.reshape(8, 4, 8).transpose(2, 0, 1),
        lambda b: b.T.astype(">f4"),
    ],
)
def test_ordered_copy_copies_small_arrays_row_major(make) -> None:
    # Below 64 KiB the transposing copy is cheaper than the order-keeping one's fixed cost
    # (np.argsort, a second compactness check: 12.5 -> 21.5 us per small .T into jax), and
    # its row-major jax array converts on by host view (3.5 us, a custom layout 6.5 us).
    from arrayport.backends._jax_layouts import ORDERED_MIN_BYTES, ordered_copy

    a = make(np.arange(256, dtype=np.float32).reshape(8, 32))
    assert a.nbytes < ORDERED_MIN_BYTES == 64 * 1024
    out = ordered_copy(a)
    assert out.flags.c_contiguous
    assert out.ctypes.data % 64 == 0
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("shape", [(128, 128), (160, 200)])
def test_ordered_copy_keeps_the_order_from_64_kib(shape) -> None:
    from arrayport.backends._jax_layouts import ordered_copy

    a = np.arange(shape[0] * shape[1], dtype=np.float32).reshape(shape).T
    assert a.nbytes >= 64 * 1024
    out = ordered_copy(a)
    assert out.flags.f_contiguous
    assert not out.flags.c_contiguous
    assert out.strides == a.strides
    np.testing.assert_array_equal(out, a)
    assert ordered_copy(a[:, :2]).flags.c_contiguous  # 1 KiB of it: row-major


def test_a_read_only_transposed_array_copies_into_jax_in_its_own_order() -> None:
    # The copy into jax was a transposing one (25 ms for 16 MiB, against 1 ms for a plain
    # copy); in the source's order it is a straight copy, which jax shares with its strides.
    # (From 64 KiB: smaller arrays are copied row-major.)
    a = np.arange(128 * 160, dtype=np.float32).reshape(128, 160).T.copy(order="K")
    a.flags.writeable = False
    route = ap.plan(a, "jax")
    assert (route.method, route.zero_copy) == ("host-copy", False)
    out = ap.convert(a, "jax")
    from arrayport.backends._jax_layouts import major_to_minor, strides_of

    assert major_to_minor(out) == (1, 0)
    assert strides_of(out, 4) == a.strides
    np.testing.assert_array_equal(np.asarray(out), a)
    np.testing.assert_array_equal(ap.convert(out, "numpy"), a)


def test_a_small_read_only_transposed_array_copies_into_jax_row_major() -> None:
    from arrayport.backends._jax_layouts import row_major

    a = np.arange(96, dtype=np.float32).reshape(4, 24).T.copy(order="K")
    a.flags.writeable = False
    out = ap.convert(a, "jax")
    assert row_major(out, 2)
    np.testing.assert_array_equal(np.asarray(out), a)
    assert ap.plan(out, "numpy").method == "host-share"


@pytest.mark.parametrize(
    ("shape", "order"),
    [
        ((6, 4), (1, 0)),
        ((2, 3, 4), (2, 0, 1)),
        ((2, 3, 4), (1, 2, 0)),
        ((2, 1, 4), (2, 1, 0)),  # a size-1 axis: another order, not row-major
        ((1, 6), (1, 0)),  # differs from row-major only in a size-1 axis
        ((3, 1), (1, 0)),
    ],
)
def test_a_custom_layout_s_route_key_is_describe_s(shape, order) -> None:
    # route_key gave None for every custom layout (ADR 0074), so each conversion of the
    # arrays jax makes from permuted shares (ADR 0082) was planned in full: jax -> numpy of
    # a 16x16 .T share took 22 us, against 3.6 us for a row-major one.
    from arrayport._host import route_key_of
    from arrayport.backends import jax as be

    x = placed(np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape), order)
    info = be.describe(x)
    for address in (False, True):
        key = be.route_key(x, address)
        if info.contiguity is None:
            assert key is not None
            assert key[5] is None  # the contiguity: compact in another order
        if key is not None:  # the others take the full plan: no host view, unlike row-major
            assert key == route_key_of(info, address)


def test_custom_layout_conversions_are_cached_with_honest_routes() -> None:
    torch = pytest.importorskip("torch")
    from arrayport._plan_cache import _plan_key, _plans

    values = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    first, second = placed(values, (2, 0, 1)), placed(values + 1, (1, 2, 0))
    for x, v in ((first, values), (second, values + 1), (first, values)):
        for _ in range(2):  # planned, then cached
            route = ap.plan(x, "numpy")
            out = ap.convert(x, "numpy")
            assert (route.method, route.zero_copy) == ("dlpack", True)
            assert out.ctypes.data == pointer(x)
            np.testing.assert_array_equal(out, v)
            route = ap.plan(x, "torch")
            t = ap.convert(x, "torch")
            assert not route.zero_copy
            assert t.data_ptr() != pointer(x)
            np.testing.assert_array_equal(t.numpy(), v)
            assert isinstance(t, torch.Tensor)
        for target in (MemoryType.NUMPY, MemoryType.TORCH):
            key = _plan_key(x, MemoryType.JAX, target, None, None)
            assert key is not None
            assert key in _plans
    with pytest.raises(ap.CopyRequiredError):
        ap.convert(first, "torch", copy=False)  # the cached key, copy=False: still refused


def test_with_several_cpu_devices_permuted_sources_go_to_jax_row_major() -> None:
    # jax 0.10 computes an array in a custom memory order as if it were row-major once it
    # is made uncommitted or moved to another CPU device: a shared x.T summed to [4, 5, 6]
    # for [3, 5, 7], and after jax.device_put to CPU 1 too; kept committed instead, a call
    # mixing it with an array on CPU 1 raised jax's "incompatible devices". With several
    # jax devices arrayport makes no custom layouts: permuted sources are copied row-major.
    pytest.importorskip("jax")
    from tests._subprocess import python_words

    script = (
        "import os\n"
        "os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=2'\n"
        "import numpy as np, arrayport as ap, jax, jax.numpy as jnp\n"
        "from arrayport.backends._jax_layouts import row_major\n"
        "raw = np.zeros(6 * 4 + 64, np.uint8); s = (-raw.ctypes.data) % 64\n"
        "buf = raw[s:s + 24].view(np.float32).reshape(3, 2)\n"
        "buf[...] = np.arange(6, dtype=np.float32).reshape(2, 3).T\n"
        "x = buf.T\n"
        "big = np.asfortranarray(np.arange(256.0 * 256, dtype=np.float32).reshape(256, 256))\n"
        "j, jb = ap.convert(x, 'jax'), ap.convert(big, 'jax', copy=True)\n"
        "moved = jax.device_put(j, jax.devices('cpu')[1])\n"
        "col_sums = ap.memory_type('jax')(lambda v: jnp.sum(v, axis=0))\n"
        "add = ap.memory_type('jax')(lambda a, b: a + b)\n"
        "other = jax.device_put(jnp.ones((2, 3)), jax.devices('cpu')[1])\n"
        "print(ap.plan(x, 'jax').zero_copy, row_major(j, 2), row_major(jb, 2),\n"
        "      np.asarray(jnp.sum(moved, 0)).tolist(), col_sums(x).tolist(),\n"
        "      np.asarray(add(x, other)).tolist() == (x + 1).tolist())\n"
    )
    assert python_words(script) == [
        "False",
        "True",
        "True",
        "[3.0,",
        "5.0,",
        "7.0]",
        "[3.0,",
        "5.0,",
        "7.0]",
        "True",
    ]


def test_a_host_copy_of_a_permuted_share_reads_the_memory_as_it_is_now() -> None:
    # The host copy read np.asarray(j): jax's row-major copy, kept on the array, so after a
    # write to the shared numpy memory torch, dask and copy=True got the old values while
    # jax and the numpy route saw the new ones.
    pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    raw = np.zeros(6 * 4 + 64, np.uint8)
    start = (-raw.ctypes.data) % 64
    buf = raw[start : start + 24].view(np.float32).reshape(3, 2)
    buf[...] = np.arange(6).reshape(3, 2)
    x = buf.T
    j = ap.convert(x, "jax")
    assert ap.plan(x, "jax").zero_copy
    first = ap.convert(j, "torch")
    assert ap.plan(j, "torch").method == "host-copy"
    x[0, 0] = 100.0
    assert float(first[0, 0]) == 0.0  # a copy made before the write
    assert float(ap.convert(j, "torch")[0, 0]) == 100.0
    assert ap.convert(j, "numpy", copy=True)[0, 0] == 100.0
    assert isinstance(first, torch.Tensor)


def test_a_host_copy_of_a_share_differing_only_in_size_1_axes_reads_the_memory_now() -> None:
    # A (2, 1, 3) torch tensor with strides (3, 6, 1) is contiguous to torch and shared into
    # jax in layout (1, 0, 2); its host copies read jax's cached row-major copy, old values
    # after a write to the tensor.
    pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    t = torch.zeros(2, 3).reshape(2, 1, 3).as_strided((2, 1, 3), (3, 6, 1))
    j = ap.convert(t, "jax")
    np.asarray(j)  # jax makes and keeps its row-major host copy
    t[0, 0, 0] = 100.0
    assert float((j * 1)[0, 0, 0]) == 100.0
    assert float(ap.convert(j, "torch")[0, 0, 0]) == 100.0
    assert ap.convert(j, "numpy", copy=True)[0, 0, 0] == 100.0


def test_a_host_copy_of_a_bfloat16_permuted_share_reads_the_memory_now() -> None:
    # numpy takes no bfloat16 by DLPack: the in-place read fell back to np.asarray(j),
    # jax's kept copy with the values of its first read.
    pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    t = torch.arange(12, dtype=torch.bfloat16).reshape(4, 3).T
    j = ap.convert(t, "jax")
    ap.convert(j, "torch")  # the first host copy
    t[0, 0] = 100
    assert float((j * 1)[0, 0]) == 100.0
    assert float(ap.convert(j, "torch")[0, 0]) == 100.0
    assert float(ap.convert(j, "numpy", copy=True)[0, 0]) == 100.0


def test_with_several_cpu_devices_a_size_1_axis_share_stays_uncommitted() -> None:
    # A (2, 1, 3) tensor with strides (3, 6, 1), contiguous to torch, is shared into jax in
    # layout (1, 0, 2); kept committed to CPU 0, a jax function mixing it with an array on
    # CPU 1 raised jax's "incompatible devices" (it is uncommitted, as row-major shares are).
    pytest.importorskip("jax")
    pytest.importorskip("torch")
    from tests._subprocess import python_words

    script = (
        "import os\n"
        "os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=2'\n"
        "import numpy as np, torch, arrayport as ap, jax, jax.numpy as jnp\n"
        "t = torch.arange(6, dtype=torch.float32).reshape(1, 2, 3).transpose(0, 1)\n"
        "w = jax.device_put(jnp.ones((2, 1, 3)), jax.devices()[1])\n"
        "add = ap.memory_type('jax')(lambda a, b: a + b)\n"
        "print(ap.convert(t, 'jax').committed, (add(t, w) == t + 1).all().item())\n"
    )
    assert python_words(script) == ["False", "True"]
