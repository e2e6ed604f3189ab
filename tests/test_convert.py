"""plan() and convert(): every installed pair, dtype and layout, with honest zero_copy.

Sharing is checked against the frameworks' own pointers (numpy views, torch storage, jax
``unsafe_buffer_pointer`` after ``block_until_ready``, tensorflow through DLPack), never
through arrayport's own code.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest

import arrayport as ap
from arrayport._host import aligned_empty
from arrayport.backends import get_backend
from tests.conftest import CPU_TYPES, INSTALLED, skip_unless_installed

MT = ap.MemoryType
HAVE = {mt.value for mt in CPU_TYPES}
DTYPES = (
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
LAYOUTS = (
    "contiguous",
    "unaligned",
    "transposed",
    "step2",
    "negative",
    "size1",
    "0d",
    "empty",
    "readonly",
    "bigendian",
)
CLE_DTYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "float32"}
#: Dtypes pyclesperanto stores widened, losslessly: the name -> what it stores.
CLE_WIDENED = {"bool": "uint8", "float16": "float32", "bfloat16": "float32"}
X64 = {"int64", "uint64", "float64", "complex128"}


def np_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def sample(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """Distinct, exactly representable values (negative ones for signed types)."""
    n = int(np.prod(shape))
    r = np.arange(n).reshape(shape)
    if dtype == np.bool_:
        return r % 3 == 0
    if dtype.kind == "c":
        return (r + 1j * (r + 0.5)).astype(dtype)
    if dtype.kind == "u":
        return (r % 100).astype(dtype)
    if dtype.kind == "i":
        return (r % 100 - 20).astype(dtype)
    return (r * 0.5 - 3).astype(dtype)


def aligned(a: np.ndarray) -> np.ndarray:
    out = aligned_empty(a.shape, a.dtype)
    out[...] = a
    return out


def numpy_layout(dtype: np.dtype, layout: str) -> np.ndarray:
    v = sample(dtype, (8, 12))
    if layout == "contiguous":
        return aligned(v[:4, :6])
    if layout == "unaligned":
        u = aligned_empty((25,), dtype)[1:]
        u[...] = sample(dtype, (24,))
        return u.reshape(4, 6)
    if layout == "transposed":
        return aligned(v[:6, :4]).T
    if layout == "step2":
        return aligned(v)[::2, ::2]
    if layout == "negative":
        return aligned(v[:4, :6])[::-1, ::-1]
    if layout == "size1":
        return aligned(sample(dtype, (1, 6, 1)))
    if layout == "0d":
        return aligned(sample(dtype, (1,))).reshape(())
    if layout == "empty":
        return np.zeros((0, 3), dtype)
    if layout == "readonly":
        r = aligned(v[:4, :6])
        r.flags.writeable = False
        return r
    if layout == "bigendian":
        return v[:4, :6].astype(dtype.newbyteorder(">"))
    raise AssertionError(layout)


def make(mt: str, a: np.ndarray, layout: str = "contiguous"):
    """An array of memory type ``mt`` with a's values, built by the framework's own calls;
    torch keeps the layout where torch can express it. None: not expressible."""
    c = np.array(a, order="C")
    if c.dtype.byteorder == ">" and mt != "numpy":
        return None
    if mt == "numpy":
        return a
    if mt == "torch":
        import torch

        if layout in ("negative", "bigendian"):
            return None
        if c.dtype.name == "bfloat16":
            t = torch.from_numpy(c.view(np.int16)).view(torch.bfloat16).clone()
        else:
            t = torch.from_numpy(c.copy())
        if layout == "transposed":
            t = t.T.contiguous().T
        elif layout == "step2":
            big = torch.zeros((2 * t.shape[0], 2 * t.shape[1]), dtype=t.dtype)
            big[::2, ::2] = t
            t = big[::2, ::2]
        elif layout == "unaligned":
            big = torch.zeros((c.size + 1,), dtype=t.dtype)
            big[1:] = t.reshape(-1)
            t = big[1:].reshape(t.shape)
        return t
    if layout not in ("contiguous", "size1", "0d", "empty"):
        return None
    if mt == "jax":
        import jax.numpy as jnp

        if c.dtype.name in X64:
            return None
        return jnp.asarray(c)
    if mt == "tensorflow":
        import tensorflow as tf

        return tf.convert_to_tensor(c)
    if mt == "pyclesperanto":
        import pyclesperanto as cle

        if c.dtype.name not in CLE_DTYPES or c.ndim == 0 or c.size == 0:
            return None
        return cle.push(c)
    raise AssertionError(mt)


def to_numpy(y) -> np.ndarray:
    """Values of any array, by the frameworks' own calls."""
    if isinstance(y, np.ndarray):
        return y
    mod = type(y).__module__.partition(".")[0]
    if mod == "torch":
        import torch

        # .cpu(): from pyclesperanto on a GPU's OpenCL device, data goes to a CUDA device.
        y = y.detach().cpu().resolve_conj().resolve_neg()
        if y.dtype == torch.bfloat16:
            return y.view(torch.int16).numpy().view(np_dtype("bfloat16"))
        return y.numpy()
    if mod in ("jax", "jaxlib"):
        return np.asarray(y)
    if mod == "tensorflow":
        import tensorflow as tf

        if y.dtype == tf.bfloat16:
            return tf.bitcast(y, tf.uint16).numpy().view(np_dtype("bfloat16"))
        return y.numpy()
    import pyclesperanto as cle

    return np.asarray(cle.pull(y))


def memory(y) -> np.ndarray | None:
    """A numpy view of y's memory (frameworks' own calls), None where there is no host memory
    (pyclesperanto's arrays, and a GPU's: from pyclesperanto on a GPU's OpenCL device, data
    goes to a CUDA device)."""
    if isinstance(y, np.ndarray):
        return y
    mod = type(y).__module__.partition(".")[0]
    if mod == "torch":
        import torch

        if y.device.type != "cpu":
            return None
        if y.is_conj() or y.is_neg():
            y = y._neg_view() if y.is_neg() else y  # pragma: no cover - not produced
        if y.dtype == torch.bfloat16:
            return y.detach().view(torch.int16).numpy()
        return y.detach().resolve_conj().numpy() if not y.is_conj() else None
    if mod in ("jax", "jaxlib"):
        if any(d.platform != "cpu" for d in y.devices()):
            return None
        y.block_until_ready()
        v = np.asarray(y)
        if v.size and v.ctypes.data != y.unsafe_buffer_pointer():
            # A custom layout (ADR 0074, 0082: a transposed source shared): np.asarray
            # copied it into row-major order; numpy's DLPack import keeps its strides.
            v = np.from_dlpack(y)
        assert v.size == 0 or v.ctypes.data == y.unsafe_buffer_pointer()
        return v
    if mod == "tensorflow":
        import tensorflow as tf

        if "GPU" in y.device:
            return None
        if y.dtype == tf.bfloat16:
            y = tf.bitcast(y, tf.uint16)
        return np.from_dlpack(y)
    return None


def shares(x, y) -> bool:
    if x is y:
        return True
    a, b = memory(x), memory(y)
    if a is None or b is None or a.size == 0 or b.size == 0:
        return False
    return bool(np.may_share_memory(a, b))


def expected(a: np.ndarray, target: str) -> np.ndarray:
    want = np.array(a)
    if target == "pyclesperanto" and want.dtype.name in CLE_WIDENED:
        want = want.astype(CLE_WIDENED[want.dtype.name])
    return want


def refused_dtype(target: str, dtype: str) -> bool:
    if target == "pyclesperanto":
        return dtype not in CLE_DTYPES | set(CLE_WIDENED)
    if target == "jax":
        import jax

        return dtype in X64 and not jax.config.jax_enable_x64
    return False


def check_case(source: str, target: str, dtype: str, layout: str, copy: bool | None) -> None:
    a = numpy_layout(np_dtype(dtype), layout)
    x = make(source, a, layout)
    if x is None:
        return
    if refused_dtype(target, dtype):
        with pytest.raises(ap.UnsupportedDtypeError, match=dtype):
            ap.plan(x, target, copy=copy)
        with pytest.raises(ap.UnsupportedDtypeError, match=dtype):
            ap.convert(x, target, copy=copy)
        return
    if target == "pyclesperanto" and layout in ("0d", "empty"):
        with pytest.raises(ap.ConversionError):
            ap.convert(x, target, copy=copy)
        return
    try:
        route = ap.plan(x, target, copy=copy)
    except ap.CopyRequiredError:
        assert copy is False
        with pytest.raises(ap.CopyRequiredError):
            ap.convert(x, target, copy=copy)
        return
    y = ap.convert(x, target, copy=copy)
    assert ap.detect_memory_type(y) == MT(target)
    got, want = to_numpy(y), expected(a, target)
    assert got.dtype.name == want.dtype.name
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.astype(want.dtype.newbyteorder("=")), want)
    shared = shares(x, y) or (want.size == 0 and route.zero_copy and copy is not True)
    assert shared == route.zero_copy, route
    if copy is True:
        assert not shared
        assert y is not x
    if copy is False:
        assert route.zero_copy
    immutable = source in ("jax", "tensorflow") or (source == "numpy" and layout == "readonly")
    if shared and immutable and x is not y:
        assert (isinstance(y, np.ndarray) and not y.flags.writeable) or target in (
            "jax",
            "tensorflow",
        ), "writable alias of read-only memory"


PAIRS = [(s.value, t.value) for s in CPU_TYPES for t in CPU_TYPES]


@pytest.mark.parametrize(("source", "target"), PAIRS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_pair_and_layout_float32(source: str, target: str, layout: str) -> None:
    for copy in (None, True, False):
        check_case(source, target, "float32", layout, copy)


@pytest.mark.parametrize(("source", "target"), PAIRS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_pair_and_dtype(source: str, target: str, dtype: str) -> None:
    for copy in (None, True, False):
        check_case(source, target, dtype, "contiguous", copy)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    source=st.sampled_from(sorted(HAVE)),
    target=st.sampled_from(sorted(HAVE)),
    dtype=st.sampled_from(DTYPES),
    layout=st.sampled_from(LAYOUTS),
    copy=st.sampled_from([None, True, False]),
)
def test_round_trip_property(source: str, target: str, dtype: str, layout: str, copy) -> None:
    """Any installed pair, dtype and layout: exact values, dtype and shape; honest zero_copy;
    and back again."""
    check_case(source, target, dtype, layout, copy)
    a = numpy_layout(np_dtype(dtype), layout)
    x = make(source, a, layout)
    if x is None or refused_dtype(target, dtype) or refused_dtype(source, dtype):
        return
    if target == "pyclesperanto" and (layout in ("0d", "empty") or dtype in CLE_WIDENED):
        return
    back = ap.convert(ap.convert(x, target), source)
    np.testing.assert_array_equal(to_numpy(back), np.array(a))


# --- routes and their reasons -------------------------------------------------------------


def test_identity_returns_the_same_object() -> None:
    a = np.arange(3.0)
    assert ap.convert(a, "numpy") is a
    assert ap.convert(a, MT.NUMPY, copy=False) is a
    r = ap.plan(a, "numpy")
    assert (r.method, r.zero_copy, r.steps) == ("identity", True, ())


def test_copy_true_same_type_gives_fresh_buffer() -> None:
    a = np.arange(3.0)
    b = ap.convert(a, "numpy", copy=True)
    assert b is not a
    assert not np.shares_memory(a, b)
    assert ap.plan(a, "numpy", copy=True).method == "copy"


def test_invalid_copy_and_target() -> None:
    with pytest.raises(ap.InvalidOptionError, match="copy"):
        ap.convert(np.zeros(2), "numpy", copy="yes")  # type: ignore[arg-type]
    with pytest.raises(ap.InvalidOptionError, match="numpy"):
        ap.convert(np.zeros(2), "matlab")
    with pytest.raises(ap.InvalidOptionError):
        ap.convert(np.zeros(2), ["numpy"])  # type: ignore[arg-type]


def test_target_accepts_enum_and_any_case() -> None:
    a = np.zeros(2)
    assert ap.convert(a, MT.NUMPY) is a
    assert ap.convert(a, "NumPy") is a


@skip_unless_installed(MT.TORCH)
def test_readonly_memmap(tmp_path) -> None:
    path = tmp_path / "m.dat"
    m = np.memmap(path, dtype="float32", mode="w+", shape=(4, 4))
    m[...] = np.arange(16).reshape(4, 4)
    m.flush()
    ro = np.memmap(path, dtype="float32", mode="r", shape=(4, 4))
    t = ap.convert(ro, "torch")
    t.zero_()
    np.testing.assert_array_equal(np.asarray(ro), np.arange(16).reshape(4, 4))
    assert ap.convert(ro, "numpy") is ro
    rw = np.memmap(path, dtype="float32", mode="r+", shape=(4, 4))
    r = ap.plan(rw, "torch")
    assert r.zero_copy
    assert np.shares_memory(ap.convert(rw, "torch").numpy(), rw)


@skip_unless_installed(MT.TORCH)
def test_torch_requires_grad_conj_and_neg() -> None:
    import torch

    g = torch.arange(4.0, requires_grad=True)
    y = ap.convert(g, "numpy")
    assert ap.plan(g, "numpy").zero_copy
    np.testing.assert_array_equal(y, [0, 1, 2, 3])
    c = torch.tensor([1 + 2j, 3 - 4j]).conj()
    r = ap.plan(c, "numpy")
    assert not r.zero_copy
    np.testing.assert_array_equal(ap.convert(c, "numpy"), [1 - 2j, 3 + 4j])
    n = torch._neg_view(torch.tensor([1.0, -2.0]))
    assert n.is_neg()
    np.testing.assert_array_equal(ap.convert(n, "numpy"), [-1.0, 2.0])
    if "jax" in HAVE:
        np.testing.assert_array_equal(np.asarray(ap.convert(c, "jax")), [1 - 2j, 3 + 4j])


@skip_unless_installed(MT.TORCH)
def test_torch_uint_storage_dtypes_are_exact() -> None:
    import torch

    for name in ("uint16", "uint32", "uint64"):
        big = np.iinfo(name).max
        a = np.array([0, 1, big], dtype=name)
        t = ap.convert(a, "torch")
        assert t.dtype == getattr(torch, name)
        np.testing.assert_array_equal(ap.convert(t, "numpy"), a)


@skip_unless_installed(MT.TORCH)
def test_sparse_torch_is_refused() -> None:
    import torch

    s = torch.eye(3).to_sparse()
    with pytest.raises(ap.UnsupportedArrayError, match="to_dense"):
        ap.convert(s, "numpy")


@skip_unless_installed(MT.JAX)
def test_jax_tracer_is_refused_inside_jit() -> None:
    import jax

    seen = []

    def f(x):
        with pytest.raises(ap.UnsupportedArrayError, match="traced"):
            ap.convert(x, "numpy")
        seen.append(True)
        return x

    jax.jit(f)(jax.numpy.ones(3))
    assert seen


@skip_unless_installed(MT.JAX)
def test_jax_x64_off_refuses_64_bit_with_remedy() -> None:
    import jax

    if jax.config.jax_enable_x64:
        pytest.skip("x64 enabled in this process")
    for name in X64:
        with pytest.raises(ap.UnsupportedDtypeError, match="jax_enable_x64"):
            ap.convert(np.zeros(2, name), "jax")


def run_python(code: str) -> None:
    """Run ``code`` in a fresh interpreter (for process-wide settings); fail on non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_jax_x64_on_converts_64_bit_exactly() -> None:
    if "jax" not in HAVE:
        pytest.skip("jax not installed")
    run_python(
        """
        import arrayport as ap, numpy as np, jax
        jax.config.update('jax_enable_x64', True)
        for name in ('int64', 'uint64', 'float64', 'complex128'):
            a = np.array([2**53 + 1, 3], dtype=name) if name != 'complex128' else np.array([1+2j])
            y = ap.convert(a, 'jax')
            assert str(y.dtype) == name, (y.dtype, name)
            np.testing.assert_array_equal(np.asarray(y), a)
            np.testing.assert_array_equal(ap.convert(y, 'numpy'), a)
        """
    )


@skip_unless_installed(MT.PYCLESPERANTO)
def test_pyclesperanto_from_strided_views_and_back() -> None:
    a = np.arange(5 * 7 * 9, dtype="float32").reshape(5, 7, 9)[::2, ::-1, 1::3]
    c = ap.convert(a, "pyclesperanto")
    back = ap.convert(c, "numpy")  # pyclesperanto's own pull (ADR 0049)
    np.testing.assert_array_equal(back, a)
    assert back.flags.writeable
    if MT.JAX in INSTALLED:  # jax needs the 64-byte boundary: the aligned slab reader
        np.testing.assert_array_equal(np.asarray(ap.convert(c, "jax")), a)


@skip_unless_installed(MT.PYCLESPERANTO)
def test_pyclesperanto_over_max_buffer_raises_before_pushing(monkeypatch) -> None:
    from arrayport.backends import pyclesperanto as be

    monkeypatch.setattr(be, "max_buffer_bytes", lambda device: 100)
    with pytest.raises(ap.OutOfMemoryError, match="maximum buffer size") as info:
        ap.convert(np.zeros(26, "float32"), "pyclesperanto")
    assert info.value.requested_bytes == 104
    # float16 is widened to float32 first: the widened size is what counts.
    with pytest.raises(ap.OutOfMemoryError):
        ap.convert(np.zeros(26, "float16"), "pyclesperanto")


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([1, 2], "numpy.asarray"),
        ((1, 2), "numpy.asarray"),
        (3, "scalar"),
        (2.5, "scalar"),
        (b"abc", "frombuffer"),
        (None, "None"),
        (np.float32(1), "0-d array"),
        ("text", "not an array"),
    ],
)
def test_non_arrays_are_refused_with_a_remedy(value, match: str) -> None:
    with pytest.raises(ap.UnsupportedArrayError, match=match):
        ap.convert(value, "numpy")
    with pytest.raises(ap.UnsupportedArrayError, match=match):
        ap.plan(value, "numpy")


@pytest.mark.parametrize(
    "a",
    [
        np.ma.masked_array([1, 2], mask=[0, 1]),
        np.array(["a", "b"]),
        np.array([object(), 1], dtype=object),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.zeros(2, dtype=[("a", "i4"), ("b", "f4")]),
    ],
    ids=["masked", "str", "object", "datetime", "structured"],
)
def test_unconvertible_numpy_arrays(a: np.ndarray) -> None:
    for target in HAVE:
        if target == "numpy" and not isinstance(a, np.ma.MaskedArray):
            assert ap.convert(a, target) is a  # numpy holds its own dtypes
            continue
        with pytest.raises(ap.UnsupportedArrayError, match=r"first|mask"):
            ap.convert(a, target)


def _numpy_outsiders() -> list[np.ndarray]:
    """numpy arrays of numbers no other framework holds: longdouble, and ml_dtypes' float8
    (e5m2 has kind "f", which once reached the buffer protocol and raised ValueError)."""
    out = [np.arange(4, dtype=np.longdouble), np.arange(4, dtype=np.clongdouble)]
    try:
        import ml_dtypes
    except ImportError:
        return out
    return [*out, *(np.zeros(4, getattr(ml_dtypes, n)) for n in ("float8_e5m2", "float8_e4m3fn"))]


@pytest.mark.parametrize("a", _numpy_outsiders(), ids=lambda a: str(a.dtype))
def test_numpy_dtypes_no_other_framework_holds_stay_in_numpy(a: np.ndarray) -> None:
    assert ap.plan(a, "numpy").method == "identity"
    assert ap.convert(a, "numpy") is a
    fresh = ap.convert(a, "numpy", copy=True)
    assert fresh.dtype == a.dtype
    assert fresh.tobytes() == a.tobytes()
    assert not np.shares_memory(fresh, a)
    for target in sorted(HAVE - {"numpy"}):
        for call in (ap.plan, ap.convert):
            with pytest.raises(ap.UnsupportedDtypeError, match="between frameworks") as info:
                call(a, target)
            assert info.value.dtype == a.dtype.name


@skip_unless_installed(MT.TORCH)
def test_torch_dtypes_numpy_lacks_are_refused_whatever_was_imported_first() -> None:
    # np.dtype("float8_e5m2") resolves only once ml_dtypes is imported: the refusal must not
    # depend on that (it once was a TypeError from Tensor.numpy() after the import).
    run_python(
        """
        import arrayport as ap, torch
        def outcome():
            x = torch.zeros(4, dtype=torch.float8_e5m2)
            for call in (ap.plan, ap.convert):
                try:
                    call(x, "numpy")
                except ap.UnsupportedDtypeError as exc:
                    assert "between frameworks" in str(exc), exc
                else:
                    raise AssertionError("converted")
            assert ap.convert(x, "torch") is x
        outcome()
        import ml_dtypes
        outcome()
        """
    )


@skip_unless_installed(MT.JAX)
def test_jax_sub_byte_arrays_are_refused_not_shared_by_an_unpacking_copy() -> None:
    # np.asarray of a jax int4 array unpacks it into a new buffer: a "host share" to numpy
    # would have claimed zero_copy for a copy (and ignored copy=False).
    import jax.numpy as jnp

    # From host values: the XLA of older jaxlib (0.4.34) compiles no int4 iota (jnp.arange).
    x = jnp.array(list(range(8)), dtype=jnp.int4)
    for copy in (None, False, True):
        with pytest.raises(ap.UnsupportedDtypeError, match="int4"):
            ap.plan(x, "numpy", copy=copy)
    assert ap.plan(x, "jax").method == "identity"
    assert ap.convert(x, "jax") is x


@skip_unless_installed(MT.JAX)
def test_jax_prng_keys_stay_in_jax_and_are_refused_elsewhere_with_key_data() -> None:
    # np.dtype(key<fry>) raised a raw TypeError from describe, for every target, jax too.
    import jax

    for k in (jax.random.key(0), jax.random.split(jax.random.key(1), 3)):
        assert ap.convert(k, "jax") is k
        assert ap.convert(k, "jax") is k  # the cached fast path too
        assert ap.plan(k, "jax").method == "identity"
        assert ap.convert(k, "jax", device="cpu") is k  # the full plan's identity
        fresh = ap.convert(k, "jax", copy=True)
        assert ap.plan(k, "jax", copy=True).method == "copy"
        assert fresh is not k
        assert fresh.dtype == k.dtype
        np.testing.assert_array_equal(jax.random.key_data(fresh), jax.random.key_data(k))
        for target in sorted(HAVE - {"jax"}):
            for call in (ap.plan, ap.convert):
                with pytest.raises(ap.UnsupportedDtypeError, match=r"jax\.random\.key_data") as e:
                    call(k, target)
                assert (e.value.dtype, e.value.source, e.value.target) == (
                    str(k.dtype),
                    MT.JAX,
                    MT(target),
                )
        # The remedy works: the key data is plain uint32.
        data = ap.convert(jax.random.key_data(k), "numpy")
        assert data.dtype == np.uint32


@skip_unless_installed(MT.JAX)
def test_deleted_jax_array_is_refused_by_plan_and_convert_on_every_call() -> None:
    # The first convert raised jax's RuntimeError (through plan's device lookup), later
    # ones returned the deleted array, and plan raised RuntimeError every time.
    run_python(
        """
        import arrayport as ap, jax.numpy as jnp
        import pytest
        x = jnp.arange(4.0)
        x.delete()
        for _ in range(3):
            for call in (ap.convert, ap.plan):
                with pytest.raises(ap.UnsupportedArrayError, match="deleted.*returned"):
                    call(x, "jax")
        """
    )
    import jax
    import jax.numpy as jnp

    live = jnp.arange(4.0)
    assert ap.convert(live, "jax") is live  # this type's fast path is warm here
    donated = jax.jit(lambda a: a + 1, donate_argnums=0)
    x = jnp.arange(4.0)
    y = donated(x)
    if not x.is_deleted():
        pytest.skip("this jax backend ignores donation")
    for target in sorted(HAVE):
        for call in (ap.convert, ap.plan):
            with pytest.raises(ap.UnsupportedArrayError, match="donat"):
                call(x, target)
    np.testing.assert_array_equal(ap.convert(y, "numpy"), [1.0, 2.0, 3.0, 4.0])


@skip_unless_installed(MT.TENSORFLOW)
def test_tf_variable_is_refused_with_convert_to_tensor_hint() -> None:
    import tensorflow as tf

    with pytest.raises(ap.UnsupportedArrayError, match="convert_to_tensor"):
        ap.convert(tf.Variable([1.0, 2.0]), "numpy")


@pytest.mark.parametrize("device", ["cuda:0", 0, 3, "cuda:7", "tpu", -1, True, 1.5, "opencl:x"])
def test_numpy_target_rejects_devices(device) -> None:
    with pytest.raises(ap.DeviceError):
        ap.convert(np.zeros(2), "numpy", device=device)


@pytest.mark.parametrize("target", sorted(HAVE - {"pyclesperanto"}))
def test_device_cpu_and_missing_gpus(target: str) -> None:
    a = np.arange(4.0, dtype="float32")
    assert ap.plan(a, target, device="cpu").device == ap.Device("cpu")
    if target != "numpy":
        with pytest.raises(ap.DeviceError):
            ap.convert(a, target, device="cuda:63")
        with pytest.raises(ap.DeviceError):
            ap.plan(a, target, device="opencl:0")


@skip_unless_installed(MT.PYCLESPERANTO)
def test_pyclesperanto_devices() -> None:
    a = np.arange(4.0, dtype="float32")
    assert ap.plan(a, "pyclesperanto").device.kind == "opencl"
    assert ap.plan(a, "pyclesperanto", device="opencl:0").device == ap.Device("opencl", 0)
    with pytest.raises(ap.DeviceError, match="opencl"):
        ap.convert(a, "pyclesperanto", device="opencl:99")
    with pytest.raises(ap.DeviceError):
        ap.convert(a, "pyclesperanto", device="cuda:0")


# --- concurrency and bookkeeping ----------------------------------------------------------


def test_threads_share_the_type_cache_safely() -> None:
    errors: list[BaseException] = []
    arrays = [make(mt, np.arange(4.0, dtype="float32")) for mt in HAVE]
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(50):
                for x in arrays:
                    for t in HAVE:
                        if t == "pyclesperanto" or x is None:
                            continue
                        np.testing.assert_array_equal(to_numpy(ap.convert(x, t)), [0, 1, 2, 3])
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[0]


def test_metrics_record_conversions() -> None:
    ap.metrics.reset()
    ap.metrics.enable()
    try:
        a = np.arange(3.0)
        ap.convert(a, "numpy")
        ap.convert(a, "numpy", copy=True)
    finally:
        ap.metrics.disable()
    snap = ap.metrics.snapshot()
    assert snap["conversions"] == 2
    assert snap["routes"].get("identity") == 1


@skip_unless_installed(MT.DASK)
def test_metrics_count_the_result_of_a_dask_array_of_unknown_size() -> None:
    # Chunks of unknown size (boolean indexing) give nbytes nan: 0 bytes were counted.
    import dask.array as da

    x = da.arange(10, chunks=5, dtype=np.float64)
    y = x[x > 2]
    assert np.isnan(y.nbytes)
    with ap.metrics.collecting() as m:
        out = ap.convert(y, "numpy")
    np.testing.assert_array_equal(out, np.arange(3.0, 10.0))
    snap = m.snapshot()
    assert (snap["bytes_copied"], snap["bytes_shared"]) == (56, 0)


def test_route_is_frozen_and_printable() -> None:
    r = ap.plan(np.zeros(2), "numpy")
    with pytest.raises(AttributeError):
        r.method = "x"  # type: ignore[misc]
    assert "numpy -> numpy" in str(r)


def test_backends_cover_every_installed_type() -> None:
    for mt in INSTALLED:
        assert get_backend(mt).MEMORY_TYPE is mt
    assert "arrayport" in sys.modules


# --- the plan cache (ADR 0045) ------------------------------------------------------------


def every_source_array():
    """(source, dtype, layout, array) for every installed CPU type, dtype and layout."""
    for source in sorted(HAVE):
        for dtype in DTYPES:
            for layout in LAYOUTS:
                x = make(source, numpy_layout(np_dtype(dtype), layout), layout)
                if x is not None:
                    yield source, dtype, layout, x


def test_route_keys_equal_the_key_of_the_full_description() -> None:
    """Each backend's cheap key says exactly what describe() says (or declines)."""
    from arrayport._host import route_key_of

    keyed = 0
    for source, dtype, layout, x in every_source_array():
        be = get_backend(source)
        for address in (False, True):
            key = be.route_key(x, address)
            if key is not None:
                keyed += 1
                assert key == route_key_of(be.describe(x), address), (source, dtype, layout)
    assert keyed > 100


@skip_unless_installed(MT.TORCH)
def test_numpy_and_torch_share_by_their_own_calls() -> None:
    import torch

    a = aligned(np.arange(12, dtype="float32").reshape(3, 4))
    r = ap.plan(a, "torch")
    assert (r.method, r.zero_copy) == ("host-share", True)
    t = ap.convert(a, "torch")
    assert t.data_ptr() == a.ctypes.data
    g = torch.arange(4.0, requires_grad=True)
    r = ap.plan(g, "numpy")
    assert (r.method, r.zero_copy) == ("host-share", True)
    y = ap.convert(g, "numpy")
    assert y.ctypes.data == g.data_ptr()
    assert g.requires_grad  # the caller's tensor is untouched


@pytest.mark.parametrize("source", sorted(HAVE - {"numpy", "pyclesperanto", "dask"}))
def test_host_copies_into_numpy_are_64_byte_aligned(source: str) -> None:
    # arrayport's host copies start on 64 bytes so that jax and tensorflow can later share
    # them; numpy's own allocations often sit 16 bytes off.
    for n in (3, 17, 1000, 4099):
        x = ap.convert(np.arange(n, dtype=np.float32), source)
        y = ap.convert(x, "numpy", copy=True)
        assert y.ctypes.data % 64 == 0, (source, n)
        np.testing.assert_array_equal(y, np.arange(n, dtype=np.float32))


@skip_unless_installed(MT.TORCH)
def test_out_of_host_memory_while_copying_is_arrayports_error() -> None:
    # A real allocation failure: the copy route's staging buffer under an address-space
    # limit (numpy's _ArrayMemoryError escaped convert, naming the buffer's internal shape).
    script = textwrap.dedent(
        """
        import resource
        import arrayport as ap
        import numpy as np
        import torch

        torch.ones(1)
        a = np.ones((64, 1 << 20), np.float32)  # 256 MiB, read-only: torch must copy it
        a.flags.writeable = False
        status = open("/proc/self/status").read().split("VmSize:")[1].split()[0]
        room = int(status) * 1024 + (64 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (room, resource.RLIM_INFINITY))
        try:
            ap.convert(a, "torch")
        except ap.OutOfMemoryError as exc:
            assert isinstance(exc.__cause__, MemoryError), exc.__cause__
            assert exc.requested_bytes and exc.requested_bytes >= 256 << 20, exc
            print("OutOfMemoryError:", exc)
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
        assert ap.convert(a[:2], "torch").shape == (2, 1 << 20)  # usable afterwards
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "OutOfMemoryError: out of host memory converting an array of shape (64, 1048576)" in (
        proc.stdout
    )


@skip_unless_installed(MT.PYCLESPERANTO)
def test_plan_refuses_an_array_beyond_the_opencl_buffer_limit_as_convert_does() -> None:
    # convert raised OutOfMemoryError before pushing; plan said "host-copy".
    from arrayport.backends import pyclesperanto as be

    small = ap.convert(np.ones(4, np.float32), "pyclesperanto")
    limit = be.max_buffer_bytes(be.device_of(small))
    assert limit is not None
    huge = np.broadcast_to(np.float32(1), (limit // 4 + 1,))  # no memory behind it
    with pytest.raises(ap.OutOfMemoryError, match="maximum"):
        ap.plan(huge, "pyclesperanto")
    flags = np.broadcast_to(np.True_, (limit + 1,))  # bool is stored widened to uint8
    with pytest.raises(ap.OutOfMemoryError):
        ap.plan(flags, "pyclesperanto")
    assert ap.plan(np.ones(4, np.float32), "pyclesperanto").method == "host-copy"


@skip_unless_installed(MT.DASK)
def test_a_dask_array_that_runs_out_computing_says_so() -> None:
    import dask.array as da

    def too_big(b: np.ndarray) -> np.ndarray:
        np.empty(1 << 62, np.uint8)  # a real MemoryError, at once
        return b

    lazy = da.ones((4, 4), chunks=4).map_blocks(too_big, dtype=float)
    with pytest.raises(ap.OutOfMemoryError, match=r"computing a dask array of shape \(4, 4\)") as e:
        ap.convert(lazy, "numpy")
    assert "4.0 EiB asked for" in str(e.value)


@skip_unless_installed(MT.DASK)
def test_a_dask_array_whose_mapped_function_runs_out_names_it_not_the_conversion() -> None:
    # The error blamed the conversion ("convert it in parts, or let a decorated function's
    # OOMPolicy(split_axis=...) split it") for a function's allocation in a block.
    import dask
    import dask.array as da

    def too_big(b: np.ndarray) -> np.ndarray:
        np.empty(1 << 62, np.uint8)  # a real MemoryError, at once
        return b

    lazy = da.ones((4, 4), chunks=2).map_blocks(too_big, dtype=float)
    with dask.config.set(scheduler="synchronous"), pytest.raises(ap.OutOfMemoryError) as e:
        ap.convert(lazy, "numpy")
    message = str(e.value)
    assert "computing a dask array of shape (4, 4) to numpy (4.0 EiB asked for)" in message
    assert "raised in too_big (test_convert.py:" in message
    assert "not by the conversion" in message
    assert "x.rechunk(...)" in message
    assert "OOMPolicy" in message
    cause = e.value.__cause__
    assert isinstance(cause, MemoryError)  # the function's own: numpy's
    assert not isinstance(cause, ap.OutOfMemoryError)


@pytest.mark.parametrize("target", ["numpy", "torch", "jax", "tensorflow"])
def test_a_broadcast_arrays_view_converts_without_numpy_s_warning_or_a_writable_alias(
    target: str,
) -> None:
    # np.broadcast_arrays' views (numpy's WARN_ON_WRITE bit) failed under -W error with
    # numpy's FutureWarning raised at arrayport's own flag reads, and torch got them as a
    # writable stride-0 tensor: one write changed both rows.
    import warnings

    if target != "numpy":
        pytest.importorskip(target)
    view, _ = np.broadcast_arrays(np.arange(3, dtype=np.float32), np.zeros((2, 3), np.float32))
    expected = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):  # planned, then from the plan cache
            out = ap.convert(view, target)
            host = np.asarray(ap.convert(out, "numpy"))
            np.testing.assert_array_equal(host, expected)
    if target == "torch":
        assert not ap.plan(view, "torch").zero_copy
        out[0, 0] = 99.0
        np.testing.assert_array_equal(view, expected)  # a copy: the source is unchanged
        with pytest.raises(ap.CopyRequiredError, match="read-only"):
            ap.convert(view, "torch", copy=False)


@pytest.mark.parametrize("target", ["torch", "jax", "tensorflow"])
@pytest.mark.parametrize("shape", [(0, 3), (2, 0, 3), (3, 0)])
def test_empty_numpy_arrays_share_without_a_copy(target: str, shape: tuple[int, ...]) -> None:
    # numpy gives np.zeros((0, 3)) strides (0, 0); jax and tensorflow import empty arrays
    # of any strides, so copy=False must not refuse the most ordinary empty array.
    if target not in HAVE:
        pytest.skip(f"{target} not installed")
    x = np.zeros(shape, np.float32)
    route = ap.plan(x, target, copy=False)
    assert route.zero_copy
    out = ap.convert(x, target, copy=False)
    assert tuple(out.shape) == shape


def test_a_programs_own_memory_error_from_a_dask_graph_is_not_out_of_memory() -> None:
    # A MemoryError subclass (a cache quota) raised by a block became arrayport's
    # OutOfMemoryError ("out of host memory computing a dask array"), which the OOM
    # policy then retried and split; the docs say such errors are never retried.
    da = pytest.importorskip("dask.array")

    class QuotaExceeded(MemoryError):
        pass

    def block(b: np.ndarray) -> np.ndarray:
        raise QuotaExceeded("cache quota reached")

    x = da.ones(4, chunks=2).map_blocks(block, dtype=float)
    with pytest.raises(QuotaExceeded):
        ap.convert(x, "numpy")


@skip_unless_installed(MT.TORCH)
def test_torch_keys_tell_compact_permuted_tensors_from_strided_ones() -> None:
    # torch's cheap key reads _host.c_contiguous: a channels_last or transposed tensor
    # (compact, shared into jax on the CPU) and a strided one (copied) key apart, and each
    # key equals the key of the full description (ADR 0082).
    import torch

    from arrayport._host import route_key_of

    be = get_backend(MT.TORCH)
    base = torch.zeros(2, 3, 8, 8)
    cases = [
        (base, True),
        (base.contiguous(memory_format=torch.channels_last), None),
        (base.permute(3, 2, 1, 0), None),
        (base[..., ::2], False),
        (base[..., :4].transpose(0, 1), False),
    ]
    for t, contiguity in cases:
        for address in (False, True):
            key = be.route_key(t, address)
            assert key is not None
            assert key[5] is contiguity, t.stride()
            assert key == route_key_of(be.describe(t), address)
