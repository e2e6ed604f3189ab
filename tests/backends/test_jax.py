"""backends/jax."""

from __future__ import annotations

import os
import textwrap

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU
from arrayport.errors import UnsupportedArrayError
from tests.conftest import (
    python_c,
    skip_unless_installed,
    skip_unless_jaxlib_imports_dlpack_directly,
)

pytestmark = skip_unless_installed(MemoryType.JAX)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import jax as backend

    backend.load()
    return backend


def test_describe_reports_pointer_and_immutability(be) -> None:
    import jax.numpy as jnp

    x = jnp.ones((256, 256))
    info = be.describe(x)
    assert not info.writable
    assert info.pointer == x.unsafe_buffer_pointer()
    assert be.IMMUTABLE
    assert be.is_plain(x)


def test_deleted_array_is_refused(be) -> None:
    import jax
    import jax.numpy as jnp

    x = jnp.ones(3)
    k = jax.random.key(0)
    assert be.is_plain(x)
    assert be.is_plain(k)
    x.delete()
    k.delete()
    for deleted in (x, k):
        # Not plain: convert's identity shortcut would return it without describing it.
        assert not be.is_plain(deleted)
        # device_of too (dispatch reads devices without describing): jax raised RuntimeError.
        for read in (be.describe, be.device_of):
            with pytest.raises(UnsupportedArrayError, match=r"deleted.*donating call returned"):
                read(deleted)


def test_prng_keys_are_described_without_a_numpy_dtype(be) -> None:
    import jax

    for k in (jax.random.key(0), jax.random.split(jax.random.key(0), (2, 3))):
        info = be.describe(k)
        assert (info.shape, info.dtype, info.dtype_name) == (k.shape, None, str(k.dtype))
        assert (info.device, info.writable) == (CPU, False)
        assert "jax.random.key_data" in be.export_dtype_refusal(info)
    raw = be.describe(jax.random.PRNGKey(0))  # legacy keys are plain uint32
    assert raw.dtype_name == "uint32"
    assert be.export_dtype_refusal(raw) is None


def test_check_dtype(be) -> None:
    import jax

    assert be.check_dtype(np.dtype("float32"), "float32") is None
    import ml_dtypes

    assert be.check_dtype(np.dtype(ml_dtypes.bfloat16), "bfloat16") is None
    if not jax.config.jax_enable_x64:
        assert "jax_enable_x64" in be.check_dtype(np.dtype("int64"), "int64")
    assert be.check_dtype(None, "float8") is not None


def test_layout_refusals(be) -> None:
    from arrayport._host import aligned_empty, host_info

    a = aligned_empty((4, 16), np.dtype("float32"))
    assert be.share_refusal(host_info(a, CPU)) is None
    assert be.share_refusal(host_info(a.T, CPU)) is None  # compact, another order (ADR 0082)
    assert "compact" in be.share_refusal(host_info(a[:, ::2], CPU))
    assert "aligned" in be.share_refusal(host_info(a.reshape(-1)[1:], CPU))
    assert "big-endian" in be.share_refusal(host_info(a.astype(">f4"), CPU))


def test_adopt_host_shares_aligned_memory(be) -> None:
    from arrayport._host import aligned_empty

    a = aligned_empty((64,), np.dtype("float32"))
    a[...] = 1
    y = be.from_numpy(a, CPU)
    y.block_until_ready()
    assert y.unsafe_buffer_pointer() == a.ctypes.data


def _pointer(y) -> int:
    y.block_until_ready()
    return int(y.unsafe_buffer_pointer())


def test_cpu_import_uses_jaxlib_directly_and_shares(be) -> None:
    """The direct jaxlib import is found on this jax, shares memory like the public call,
    and gives the same array (dtype, shape, weak type, device, values)."""
    import jax

    from arrayport._host import aligned_copy

    skip_unless_jaxlib_imports_dlpack_directly()
    from arrayport.backends import _jax_dlpack
    from arrayport.backends._jax_devices import host_device

    importer = _jax_dlpack.importer_on(host_device()[0])
    assert importer is not None, "jaxlib's DLPack import was not found"
    for dtype in ("bool", "uint8", "int16", "float16", "int32", "float32", "complex64"):
        a = aligned_copy(np.arange(24).reshape(4, 6).astype(dtype))
        y = be.from_dlpack(a, CPU)
        ref = jax.dlpack.from_dlpack(aligned_copy(a))
        assert _pointer(y) == a.ctypes.data
        assert (y.dtype, y.shape, y.weak_type) == (ref.dtype, ref.shape, ref.weak_type)
        assert y.devices() == ref.devices()
        np.testing.assert_array_equal(np.asarray(y), np.asarray(ref))
        a[0, 0] = 1  # was 0; the zero-copy alias documented in FACTS: writes show through
        assert np.asarray(y)[0, 0] == 1


def test_cpu_import_from_torch_shares(be) -> None:
    torch = pytest.importorskip("torch")
    t = torch.arange(64, dtype=torch.float32)
    if t.data_ptr() % 64:
        pytest.skip("torch gave an unaligned buffer")
    assert _pointer(be.from_dlpack(t, CPU)) == t.data_ptr()


def test_public_import_is_the_fallback(be, monkeypatch) -> None:
    from arrayport._host import aligned_copy
    from arrayport.backends import _jax_dlpack

    monkeypatch.setattr(_jax_dlpack, "importer_on", lambda cpu: None)
    a = aligned_copy(np.arange(16, dtype="float32"))
    y = be.from_numpy(a, CPU)
    assert _pointer(y) == a.ctypes.data


def test_route_key_reads_the_buffer(be) -> None:
    import jax.numpy as jnp

    from arrayport._host import route_key_of

    x = jnp.arange(10.0)
    for address in (False, True):
        assert be.route_key(x, address) == route_key_of(be.describe(x), address)
    assert be.route_state() is bool(be.x64_enabled())


def test_cpu_arrays_sit_on_64_byte_boundaries(be) -> None:
    """route_key skips the address for targets that do not read it, because jax copies
    host memory off the 64-byte boundary rather than adopting it."""
    import jax
    import jax.numpy as jnp

    from arrayport._host import ALIGNMENT, aligned_empty, route_key_of
    from arrayport.devices import CPU

    raw = aligned_empty((512,), np.dtype("uint8"))
    # Older jax (0.4.34) adopts such memory through DLPack: the boundary is then not kept.
    probe = raw[4:260].view("float32")
    copies = _pointer(jax.dlpack.from_dlpack(probe)) != probe.ctypes.data
    for off in (4, 8, 16, 32):
        a = raw[off : off + 256].view("float32")
        for x in (be.from_dlpack(a, CPU), jnp.asarray(a), jnp.arange(64.0)[1:]):
            if copies:
                assert x.unsafe_buffer_pointer() % ALIGNMENT == 0
            assert be.route_key(x, False) == route_key_of(be.describe(x), False)
    if not copies:
        pytest.skip("this jax adopts host memory off the 64-byte boundary: keys checked only")


def test_jax_without_jaxlib_is_listed_and_doctor_says_it_is_broken() -> None:
    # Was left out of available_memory_types(): doctor listed numpy only and said OK.
    code = (
        "import sys; sys.modules['jaxlib'] = None\n"
        "import arrayport as ap\n"
        "from arrayport import cli\n"
        "print('jax' in [m.value for m in ap.available_memory_types()])\n"
        "print(cli.main(['doctor', '--json']))\n"
    )
    done = python_c(code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "True"
    assert lines[-1] == "1"
    assert "jax is installed but cannot be imported" in done.stdout


def test_length_one_axes_with_any_stride_are_shared_as_planned() -> None:
    # numpy calls x[None] (stride 0 on the new axis) contiguous. jax imported such an
    # array sharing its memory, but as a layout of its own: once jax had made a numpy copy
    # of it (np.array(out)), np.asarray(out) returned that stale copy, not the shared memory.
    import arrayport as ap
    from arrayport._host import aligned_empty

    base = aligned_empty((10,), np.dtype(np.float32))
    base[:] = np.arange(10)
    for a in (
        base[:5][None],
        np.lib.stride_tricks.as_strided(base, (5, 1), (4, 20)),
        np.lib.stride_tricks.as_strided(base, (1, 5), (-40, 4)),
    ):
        assert ap.plan(a, "jax").zero_copy
        out = ap.convert(a, "jax")
        np.testing.assert_array_equal(np.array(out, copy=True), a)
        assert np.shares_memory(np.asarray(out), a), a.strides


def test_dtype_setting_names_64_bit_mode_only_where_it_would_help(be) -> None:
    assert be.dtype_setting("float32") is None
    setting = be.dtype_setting("int64")
    if be.x64_enabled():
        assert setting is None
    else:
        assert setting is not None
        assert "jax.config.update('jax_enable_x64', True)" in setting


def test_arrays_made_on_the_cpu_meet_arrays_on_another_cpu_device() -> None:
    # With several CPU devices, numpy data imported into jax was committed to CPU 0: a
    # jax-declared function given it and a jax array committed to CPU 1 raised jax's bare
    # ValueError "incompatible devices". It is now left uncommitted, as jnp.asarray leaves
    # it, on jax's default device, still sharing the numpy memory.
    code = textwrap.dedent(
        """
        import numpy as np, jax, jax.numpy as jnp, arrayport as ap
        from arrayport._host import aligned_copy
        cpus = jax.devices("cpu")
        assert len(cpus) == 2, cpus
        x = jax.device_put(jnp.arange(4.0, dtype=jnp.float32), cpus[1])
        a = aligned_copy(np.ones(4, np.float32))

        def shown(y):
            y.block_until_ready()
            return (y.committed, sorted(d.id for d in y.devices()),
                    int(y.unsafe_buffer_pointer()) == a.ctypes.data)

        print(shown(ap.convert(a, "jax")))
        with jax.default_device(cpus[1]):
            committed, devices, shares = shown(ap.convert(a, "jax"))
            # jaxlib's direct import shares onto CPU 1; the public one (older jaxlib) lands
            # on CPU 0 and is moved, a copy.
            from arrayport.backends._jax_dlpack import importer_on
            print((committed, devices, shares or importer_on(cpus[1]) is None))
        print(ap.convert(np.ones(2, jnp.bfloat16), "jax").committed)

        @ap.memory_type("jax")
        def add(p, q):
            return p + q

        r = add(x, a)
        print(type(r).__module__.partition(".")[0], sorted(d.id for d in r.devices()), r.tolist())
        r = add(a, x)
        print(type(r).__module__, r.tolist())
        """
    )
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    done = python_c(code, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "(False, [0], True)",
        "(False, [1], True)",
        "False",
        "jaxlib [1] [1.0, 2.0, 3.0, 4.0]",
        "numpy [1.0, 2.0, 3.0, 4.0]",
    ]


def test_host_data_is_uncommitted_only_where_jax_would_move_it(be, monkeypatch) -> None:
    # Uncommitted data is computed on jax's default device: where that is a GPU (the
    # jax_default_device "gpu" stands in), host data stays committed to the CPU it was
    # converted to; with one jax device in all, committing changes nothing, and stays.
    import jax

    import arrayport as ap
    from arrayport._host import aligned_copy
    from arrayport.backends import _jax_devices

    cpu = jax.devices("cpu")[0]
    a = aligned_copy(np.arange(6, dtype=np.float32))
    monkeypatch.setattr(_jax_devices, "_several_devices", lambda: True)
    assert _jax_devices.host_device() == (cpu, True)
    y = ap.convert(a, "jax")
    assert (y.committed, y.devices(), _pointer(y)) == (False, {cpu}, a.ctypes.data)
    with jax.default_device("gpu"):
        assert _jax_devices.host_device() == (cpu, False)
        y = ap.convert(a, "jax")
        assert (y.committed, y.devices(), _pointer(y)) == (True, {cpu}, a.ctypes.data)
    monkeypatch.setattr(_jax_devices, "_several_devices", lambda: False)
    assert _jax_devices.host_device() == (cpu, False)
    assert ap.convert(a, "jax").committed
    np.testing.assert_array_equal(np.asarray(y), a)


def test_jax_only_dtypes_stack_within_jax(be) -> None:
    # int4, float8 and PRNG keys went through numpy: numpy's DLPack refused int4 with a raw
    # BufferError, np.asarray of keys raised TypeError (stack_slices, slice_by_slice).
    import jax
    import jax.numpy as jnp

    import arrayport as ap

    small = (jnp.arange(12).reshape(3, 4) % 7).astype(jnp.int4)
    eight = jnp.linspace(0, 1, 12).reshape(3, 4).astype(jnp.float8_e4m3fn)
    for a in (small, eight):
        got = be.stack([a, a + 1])
        assert got.dtype == a.dtype
        assert got.shape == (2, 3, 4)
        assert bool((got[1] == a + 1).all())
    keys = jax.random.split(jax.random.key(0), (3, 4))
    stacked = ap.stack_slices([keys, keys])
    assert stacked.dtype == keys.dtype
    assert bool((jax.random.key_data(stacked[0]) == jax.random.key_data(keys)).all())
    passed = ap.process_slices(jnp.stack([small, small]), lambda s: s)
    assert passed.dtype == small.dtype


def test_cpu_stacks_go_through_numpy_whatever_the_dtype(be, monkeypatch) -> None:
    # jnp.stack compiles for every number of slices (1,000 float8 slices took 6.7 s): on
    # the CPU every dtype, keys included (as their key data), stacks through numpy.
    import jax
    import jax.numpy as jnp

    def compiled(*args, **kwargs):
        raise AssertionError("jnp.stack called on the CPU")

    slices = [jnp.full((2, 3), i, jnp.float32) for i in range(5)]
    keys = jax.random.split(jax.random.key(1), (2, 3))
    eight = jnp.linspace(0, 1, 6).reshape(2, 3).astype(jnp.float8_e5m2)
    monkeypatch.setattr(jnp, "stack", compiled)
    for parts in (slices, [s.astype(jnp.bfloat16) for s in slices], [eight] * 3, [keys] * 2):
        got = be.stack(parts)
        assert got.dtype == parts[0].dtype
        assert got.shape == (len(parts), 2, 3)
    assert be.stack(slices)[4].tolist() == [[4.0] * 3] * 2


def test_int4_slices_on_two_cpu_devices_stack_as_float32_ones_do() -> None:
    # int4 slices on two CPU devices raised jax's ValueError (float32 ones were stacked).
    code = textwrap.dedent(
        """
        import jax, jax.numpy as jnp
        from arrayport.backends import jax as be
        one = jax.devices("cpu")[1]
        small = jnp.ones((2, 2), jnp.int4)
        mixed = [small, jax.device_put(small, one)]
        print(be.stack(mixed).dtype, be.stack(mixed).shape)
        """
    )
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    done = python_c(code, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["int4 (2, 2, 2)"]


def _compact_sources() -> list:
    """Compact host memory in another axis order than row-major, 64-byte aligned and
    writable: (name, array, address of its memory, its values)."""
    import torch

    from arrayport._host import aligned_empty

    b = aligned_empty((64, 48), np.dtype("float32"))
    b[...] = np.arange(b.size, dtype=np.float32).reshape(b.shape)
    f = aligned_empty((64, 48), np.dtype("float32")).T  # a Fortran-ordered (48, 64) array
    f[...] = np.arange(f.size, dtype=np.float32).reshape(f.shape)
    c = aligned_empty((4, 1, 6), np.dtype("float32"))
    c[...] = np.arange(24, dtype=np.float32).reshape(4, 1, 6)
    t = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    channels_last = t.contiguous(memory_format=torch.channels_last)
    sources = [
        ("numpy .T", b.T, b.ctypes.data),
        ("numpy Fortran", f, None),
        ("numpy 3-D with a size-1 axis", c.transpose(2, 1, 0), c.ctypes.data),
        ("torch .T", torch.arange(64.0).reshape(8, 8).T, None),
        ("torch channels_last", channels_last, None),
        ("torch permute", torch.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1), None),
    ]
    out = []
    for name, x, address in sources:
        if isinstance(x, np.ndarray):
            out.append((name, x, address or x.ctypes.data, x.copy()))
        else:
            if x.data_ptr() % 64:  # torch's allocator aligns these; skip if one does not
                continue
            out.append((name, x, x.data_ptr(), x.numpy().copy()))
    return out


def test_compact_memory_in_another_axis_order_is_shared_on_the_cpu() -> None:
    # jax's CPU import shares any compact axis order (a custom layout); arrayport copied
    # everything that was not row-major, saying "jax imports only compact row-major memory".
    pytest.importorskip("torch")
    import jax

    import arrayport as ap

    cases = _compact_sources()
    assert len(cases) >= 4
    for name, x, address, values in cases:
        route = ap.plan(x, "jax")
        assert route.zero_copy, (name, route.reason)
        for copy in (None, False):  # planned and cached conversions alike
            z = ap.convert(x, "jax", copy=copy)
            assert _pointer(z) == address, name
            np.testing.assert_array_equal(np.asarray(z), values, err_msg=name)
        np.testing.assert_array_equal(np.asarray(jax.jit(lambda v: v * 2 + 1)(z)), values * 2 + 1)
        np.testing.assert_array_equal(np.asarray(z.sum(axis=0)), values.sum(axis=0))
        # Aliased as a row-major share is: a write to the source shows through.
        index = (0,) * values.ndim
        x[index] = -7
        assert float(z[index]) == -7.0, name


def test_memory_with_gaps_steps_or_broadcasts_is_still_copied() -> None:
    import arrayport as ap
    from arrayport._host import aligned_empty

    b = aligned_empty((8, 16), np.dtype("float32"))
    b[...] = np.arange(128, dtype=np.float32).reshape(8, 16)
    for x in (b[:, ::2], b.T[::2], b[:, :8].T, np.broadcast_to(b[0], (4, 16))):
        route = ap.plan(x, "jax")
        assert (route.method, route.zero_copy) == ("host-copy", False)
        z = ap.convert(x, "jax")
        assert _pointer(z) != b.ctypes.data
        np.testing.assert_array_equal(np.asarray(z), x)
        with pytest.raises(ap.CopyRequiredError):
            ap.convert(x, "jax", copy=False)


def test_cached_routes_keep_compact_and_strided_layouts_apart() -> None:
    # Both are "not row-major"; a route cached for one must not serve the other: the
    # strided one would be planned shared and copied, or the transposed one copied.
    import arrayport as ap
    from arrayport._host import aligned_empty

    b = aligned_empty((8, 32), np.dtype("float32"))
    b[...] = np.arange(256, dtype=np.float32).reshape(8, 32)
    c = aligned_empty((8, 16), np.dtype("float32"))
    c[...] = -b[:, :16]
    strided, transposed = b[:, ::2].T, c.T  # both (16, 8) float32, aligned and writable
    for _ in range(2):
        for x, shared in ((strided, False), (transposed, True)):
            assert ap.plan(x, "jax").zero_copy is shared
            z = ap.convert(x, "jax")
            assert (_pointer(z) == x.ctypes.data) is shared
            np.testing.assert_array_equal(np.asarray(z), x)


@pytest.mark.parametrize("target", ["numpy", "torch", "tensorflow"])
def test_a_shared_transposed_array_converts_on_with_an_honest_route(target) -> None:
    # The array jax makes from a transposed share has a custom layout (ADR 0074): numpy
    # shares it with its strides, the others copy it, and each plan says so.
    torch = pytest.importorskip("torch")
    if target == "tensorflow":
        pytest.importorskip("tensorflow")
    import arrayport as ap

    t = torch.arange(48.0).reshape(6, 8).T
    z = ap.convert(t, "jax")
    route = ap.plan(z, target)
    out = ap.convert(z, target)
    np.testing.assert_array_equal(ap.convert(out, "numpy"), t.numpy())
    if target == "numpy":
        assert route.zero_copy
        assert out.ctypes.data == _pointer(z) == t.data_ptr()
    else:
        assert not route.zero_copy
        with pytest.raises(ap.CopyRequiredError):
            ap.convert(z, target, copy=False)
