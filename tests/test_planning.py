"""_planning: the Route record, the full plan in route order, and the cached planner that
stores a full plan only when its key is sound (ADR 0045)."""

from __future__ import annotations

import importlib
import pickle

import numpy as np
import pytest

import arrayport as ap
from arrayport import _planning
from arrayport._plan_cache import clear_plan_cache
from tests.conftest import skip_unless_installed
from tests.test_convert import HAVE, MT, every_source_array, run_python


def test_route_is_public_in_convert_and_pickles_by_that_name() -> None:
    convert_module = importlib.import_module("arrayport.convert")
    assert ap.Route is convert_module.Route is _planning.Route
    assert ap.Route.__module__ == "arrayport.convert"
    r = ap.plan(np.zeros(3), "numpy")
    data = pickle.dumps(r)
    assert b"_planning" not in data  # no private module path stored in a pickle
    assert pickle.loads(data) == r


# --- the plain identity: what convert returns as it is, planned alike (ADR 0054) ----------


@skip_unless_installed(MT.TENSORFLOW)
def test_tf_string_tensor_identity_agrees_between_plan_and_convert() -> None:
    import tensorflow as tf

    x = tf.constant(["a", "b"])
    route = ap.plan(x, "tensorflow")
    assert (route.method, route.zero_copy) == ("identity", True)
    assert ap.convert(x, "tensorflow") is x
    with pytest.raises(ap.UnsupportedArrayError, match=r"tf\.strings\.to_number"):
        ap.convert(x, "numpy")


@skip_unless_installed(MT.TORCH)
def test_torch_meta_tensor_identity_agrees_between_plan_and_convert() -> None:
    # The first convert raised DeviceError, later ones returned the tensor, plan raised.
    run_python(
        """
        import arrayport as ap, torch
        m = torch.empty(3, device="meta")
        for _ in range(3):
            assert ap.convert(m, "torch") is m
            route = ap.plan(m, "torch")
            assert (route.method, route.zero_copy) == ("identity", True)
            assert "meta" in route.reason
        for call in (ap.convert, ap.plan):  # anything that reads its data: refused
            for kwargs in ({"device": "cpu"}, {"copy": True}):
                try:
                    call(m, "torch", **kwargs)
                except ap.DeviceError:
                    pass
                else:
                    raise AssertionError(kwargs)
        """
    )


@skip_unless_installed(MT.JAX)
def test_sharded_jax_identity_agrees_between_plan_and_convert() -> None:
    # The first convert raised UnsupportedArrayError, later ones returned the array, plan
    # raised. Two CPU devices stand in for a mesh of GPUs.
    run_python(
        """
        import os
        os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
        import arrayport as ap, numpy as np, jax, jax.numpy as jnp
        from jax.sharding import Mesh, NamedSharding, PartitionSpec
        mesh = Mesh(np.array(jax.devices("cpu")[:2]), ("x",))
        s = jax.device_put(jnp.arange(8.0), NamedSharding(mesh, PartitionSpec("x")))
        assert len(s.devices()) == 2
        for _ in range(3):
            assert ap.convert(s, "jax") is s
            route = ap.plan(s, "jax")
            assert (route.method, route.zero_copy) == ("identity", True)
            assert "sharded over 2 devices" in route.reason
        for call in (ap.convert, ap.plan):  # a conversion still needs one device
            try:
                call(s, "numpy")
            except ap.UnsupportedArrayError as exc:
                assert "gather" in str(exc)
            else:
                raise AssertionError("converted")
        """
    )


# --- the full plan and the cache it fills -------------------------------------------------


def _route_or_error(x, target: str, copy):
    try:
        return ap.plan(x, target, copy=copy)
    except ap.ArrayportError as exc:
        return type(exc), str(exc)


def test_cached_routes_equal_routes_planned_in_full() -> None:
    """A route found in the cache (filled by other arrays with the same key) is the route a
    full plan of this very array gives."""
    cases = list(every_source_array())
    for target in sorted(HAVE):
        for copy in (None, True, False):
            fresh = []
            for _, _, _, x in cases:
                clear_plan_cache()
                fresh.append(_route_or_error(x, target, copy))
            clear_plan_cache()
            for _ in range(2):  # the second pass is all cache hits
                for (source, dtype, layout, x), want in zip(cases, fresh, strict=True):
                    got = _route_or_error(x, target, copy)
                    assert got == want, (source, target, dtype, layout, copy)


@pytest.mark.parametrize("target", sorted(HAVE - {"pyclesperanto"}))
def test_identity_planned_in_full_shares(target: str) -> None:
    # An explicit device sends an identity through the full plan, not the plain shortcut.
    x = ap.convert(np.arange(6.0, dtype=np.float32), target)
    route = ap.plan(x, target, device="cpu")
    assert (route.method, route.zero_copy) == ("identity", True)
    assert ap.convert(x, target, device="cpu") is x


@skip_unless_installed(MT.JAX)
def test_a_route_planned_while_jax_x64_flips_is_not_cached() -> None:
    # Another thread turning jax's x64 flag on while a plan is made (simulated by a hook
    # in numpy's describe): the route, planned for 64-bit mode, was cached under the key
    # read with x64 off, so afterwards int64 arrays went into jax unrefused (truncated to
    # int32 in jax's later operations).
    run_python(
        """
        import numpy as np, jax
        import arrayport as ap
        from arrayport.backends import numpy as npb

        a = np.array([2**40 + 1, 3], dtype=np.int64)
        ap.convert(np.zeros(2, np.float32), "jax")  # backends loaded: the keyed path
        real = npb.describe

        def describe(x):
            jax.config.update("jax_enable_x64", True)  # as another thread would
            return real(x)

        npb.describe = describe
        ap.convert(a, "jax")
        npb.describe = real
        jax.config.update("jax_enable_x64", False)
        for call in (ap.convert, ap.plan):
            try:
                call(a, "jax")
            except ap.UnsupportedDtypeError:
                pass
            else:
                raise AssertionError(f"{call.__name__} took int64 into jax with x64 off")
        """
    )


# --- empty arrays: the cache key does not tell their extents ------------------------------


@pytest.mark.parametrize("source", [MT.TORCH, MT.JAX, MT.TENSORFLOW])
def test_a_cached_empty_plan_does_not_answer_for_extents_numpy_cannot_describe(
    source: MT,
) -> None:
    # The key of (2, 0, 2) is the key of (2**40, 0, 2**40): once the small one's route
    # was cached, the big one took it, and numpy's "array is too big" came out raw (or a
    # DLPack route converted what a full plan refuses: history decided).
    from arrayport._plan_cache import _plan_key, _plans

    if source.value not in HAVE:
        pytest.skip(f"{source.value} is not installed")
    if source is MT.TENSORFLOW:
        import tensorflow as tf

        small, big = tf.zeros([2, 0, 2]), tf.zeros([2**40, 0, 2**40])
    else:
        lib = pytest.importorskip("torch" if source is MT.TORCH else "jax.numpy")
        small, big = lib.zeros((2, 0, 2)), lib.zeros((2**40, 0, 2**40))
    for target in sorted(HAVE - {source.value, "pyclesperanto"}):
        for copy in (None, True):
            clear_plan_cache()
            for _ in range(3):  # the second call stores the plan, the third reads it
                ap.plan(small, target, copy=copy)
                ap.convert(small, target, copy=copy)
            pkey = _plan_key(small, source, MT(target), None, copy)
            assert pkey is not None
            assert pkey not in _plans  # convert's hot path does not answer empty arrays
            assert _planning._empty_key(pkey) in _plans
            for call in (ap.plan, ap.convert):
                with pytest.raises(ap.ConversionError, match="even though the array is empty"):
                    call(big, target, copy=copy)
            assert tuple(ap.convert(small, target, copy=copy).shape) == (2, 0, 2)


# --- reasons: why not a share, structural first --------------------------------------------


@skip_unless_installed(MT.DASK)
@skip_unless_installed(MT.TORCH)
def test_a_source_with_nothing_to_share_gives_that_reason_not_its_immutability() -> None:
    # dask -> torch said "no DLPack share: the dask source is immutable and torch has no
    # read-only arrays; no host share: (the same)", as if a writable graph could be shared.
    import dask.array as da

    x = da.from_array(np.arange(4.0), chunks=2)
    route = ap.plan(x, "torch")
    assert route.reason.startswith(
        "no DLPack share: dask has no DLPack the other side can use; "
        "no host share: dask exposes no host view of this array"
    )
    assert "immutable" not in route.reason
    with pytest.raises(ap.CopyRequiredError, match="dask has no DLPack") as info:
        ap.convert(x, "torch", copy=False)
    assert "immutable" not in str(info.value)
    if "jax" in HAVE:  # where a share exists, immutability is the reason, on both counts
        import jax.numpy as jnp

        reason = ap.plan(jnp.arange(4.0), "torch").reason
        assert reason.count("the jax source is immutable and torch has no read-only arrays") == 2


@pytest.mark.parametrize(
    "a",
    [
        np.array(["2020-01-01"], "datetime64[D]"),
        np.array([1, "a"], object),
        np.array(["ab"]),
        np.array([b"ab"]),
        np.zeros(2, "i4,f8"),
        np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    ],
    ids=["datetime64", "object", "str", "bytes", "structured", "recarray"],
)
def test_numpy_arrays_that_hold_no_numbers_are_their_own_identity_and_copy(a) -> None:
    # Refused before ("hold no numbers arrayport can move between frameworks") though
    # nothing moves between frameworks: ap.convert(x, "numpy") broke on datetimes.
    assert ap.convert(a, "numpy") is a
    assert ap.plan(a, "numpy").method == "identity"
    assert ap.plan(a, "numpy", copy=True).method == "copy"
    c = ap.convert(a, "numpy", copy=True)
    assert c is not a
    assert c.dtype == a.dtype
    assert c.tolist() == a.tolist()
    if a.dtype != object:
        assert not np.shares_memory(c, a)
    # Every other framework still refuses them by name.
    if "dask" in HAVE:
        with pytest.raises(ap.UnsupportedArrayError, match="hold no numbers"):
            ap.convert(a, "dask")
    # A masked array stays refused within numpy too.
    with pytest.raises(ap.UnsupportedArrayError, match="mask"):
        ap.convert(np.ma.array(a), "numpy")
