"""Tests of arrayport._placement: array arguments converted onto the declared memory type
and one device, results placed as ``output`` says, and the dtype policy on the primary
output (through the decorator)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import INSTALLED, skip_unless_installed


def _float_image(shape: tuple[int, ...] = (8, 8), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _ident(x: Any) -> Any:
    return x


@skip_unless_installed(MemoryType.TORCH)
def test_keyword_and_container_arguments_are_converted_others_untouched() -> None:
    import torch

    got: dict[str, Any] = {}
    options = {"k": np.ones(2)}  # dicts are not looked into

    @ap.memory_type("torch")
    def f(image: Any, others: Any, *, mask: Any, n: int, name: str, opts: Any) -> Any:
        got.update(image=image, others=others, mask=mask, n=n, name=name, opts=opts)
        return image

    a = _float_image()
    f(a, [a + 1, 5, (a,)], mask=(a > 0), n=3, name="s", opts=options)
    assert isinstance(got["image"], torch.Tensor)
    assert isinstance(got["mask"], torch.Tensor)
    assert got["mask"].dtype == torch.bool
    assert isinstance(got["others"], list)
    assert isinstance(got["others"][0], torch.Tensor)
    assert got["others"][1] == 5
    assert isinstance(got["others"][2], tuple)  # only one level down
    assert isinstance(got["others"][2][0], np.ndarray)
    assert got["n"] == 3
    assert got["name"] == "s"
    assert got["opts"] is options


@skip_unless_installed(MemoryType.TORCH)
def test_a_list_argument_without_arrays_is_the_callers_own_list() -> None:
    @ap.memory_type("torch")
    def logged(x: Any, log: list[str]) -> Any:
        log.append("called")
        return x

    for x in (np.arange(3.0), ap.convert(np.arange(3.0), "torch")):  # converted, or not
        log: list[str] = []
        logged(x, log)
        assert log == ["called"]


@skip_unless_installed(MemoryType.TORCH)
def test_tuple_and_namedtuple_arguments_keep_their_type() -> None:
    import collections

    Pair = collections.namedtuple("Pair", "a b")
    got: list[Any] = []

    @ap.memory_type("torch", output="declared")
    def f(pair: Any, seq: Any) -> None:
        got.extend([pair, seq])

    a = _float_image()
    f(Pair(a, 2), (a, a))
    assert type(got[0]) is Pair
    assert type(got[0].a).__module__.startswith("torch")
    assert got[0].b == 2
    assert type(got[1]) is tuple


@pytest.mark.skipif(
    not {MemoryType.TORCH, MemoryType.JAX, MemoryType.TENSORFLOW} <= set(INSTALLED),
    reason="needs torch, jax and tensorflow",
)
def test_arguments_of_several_memory_types_are_all_converted() -> None:
    import jax.numpy as jnp
    import tensorflow as tf
    import torch

    kinds: list[type] = []

    @ap.memory_type("torch")
    def total(a: Any, b: Any, c: Any) -> Any:
        kinds.extend(type(v) for v in (a, b, c))
        return a + b + c

    a = _float_image(seed=1)
    b = jnp.asarray(_float_image(seed=2))
    c = tf.constant(_float_image(seed=3))
    out = total(a, b, c)
    assert all(k is torch.Tensor for k in kinds)
    assert isinstance(out, np.ndarray)  # the first array argument was numpy
    np.testing.assert_allclose(out, a + np.asarray(b) + c.numpy(), rtol=1e-6)
    # The first array argument decides where the result goes.
    out_jax = total(b, a, c)
    assert type(out_jax).__module__.startswith("jax")


@skip_unless_installed(MemoryType.TORCH)
def test_output_declared_and_output_memory_type() -> None:
    import torch

    a = _float_image()
    declared = ap.memory_type("torch", output="declared")(lambda x: x + 1)
    assert isinstance(declared(a), torch.Tensor)
    to_numpy = ap.memory_type("torch", output="numpy")(lambda x: x + 1)
    t = torch.from_numpy(a.copy())
    out = to_numpy(t)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, a + 1)


@skip_unless_installed(MemoryType.TORCH)
def test_every_array_in_a_tuple_or_list_result_goes_back() -> None:
    @ap.memory_type("torch")
    def split(x: Any) -> Any:
        return x[0], [x[1], "tag"], 3, x.sum()

    a = _float_image((3, 4))
    first, middle, n, total = split(a)
    assert isinstance(first, np.ndarray)
    assert isinstance(middle, list)  # only one level of the result is placed
    assert n == 3
    assert isinstance(total, np.ndarray)
    np.testing.assert_array_equal(first, a[0])
    assert float(total) == pytest.approx(float(a.sum()), rel=1e-5)


@skip_unless_installed(MemoryType.TORCH)
def test_non_array_results_pass_through() -> None:
    sentinel = object()

    @ap.memory_type("torch")
    def stats(x: Any) -> Any:
        return {"mean": float(x.mean()), "obj": sentinel}

    result = stats(np.ones((2, 2), np.float32))
    assert result == {"mean": 1.0, "obj": sentinel}
    assert ap.memory_type("torch")(lambda x: None)(np.ones(2)) is None


def test_use_device_is_per_thread_and_a_bare_cuda_device_follows_it() -> None:
    from arrayport._placement import resolve_device
    from arrayport.devices import current_device_index

    seen: dict[str, Any] = {}
    device = ap.memory_type("torch", device="cuda")(_ident).contract.device

    def other() -> None:
        seen["other"] = (current_device_index(), resolve_device(device))

    with ap.use_device(3):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        seen["here"] = (current_device_index(), resolve_device(device))
    assert seen == {"other": (0, ap.Device("cuda", 0)), "here": (3, ap.Device("cuda", 3))}


@skip_unless_installed(MemoryType.TORCH)
def test_preserve_input_converts_the_primary_output_back_by_value() -> None:
    halve = ap.memory_type("torch")(lambda x: x / 2)
    out = halve(np.array([10, 21, 30, 255], np.uint8))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [5, 10, 15, 128])  # round half to even


@skip_unless_installed(MemoryType.TORCH)
def test_native_output_and_fixed_dtypes() -> None:
    a = np.array([10, 20, 30], np.uint8)
    native = ap.memory_type("torch", dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)(
        lambda x: x / 2
    )
    out = native(a)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [5.0, 10.0, 15.0])
    as_float = ap.memory_type("numpy", dtype_conversion=ap.DtypeConversion.FLOAT32)(lambda x: x)
    assert as_float(a).dtype == np.float32
    minmax = ap.memory_type(
        "numpy", dtype_conversion=ap.DtypeConversion.UINT8, scaling=ap.Scaling.MINMAX
    )(lambda x: x.astype(np.float64))
    np.testing.assert_array_equal(minmax(a), [0, 128, 255])


@skip_unless_installed(MemoryType.TORCH)
@pytest.mark.parametrize("output", ["input", "declared", "torch", "numpy"])
def test_minmax_stretches_whatever_the_dtype_and_wherever_the_result_goes(output: str) -> None:
    # Once, a result already of the input's dtype skipped the policy only where it came
    # back to the input's memory type: [11, 21, 31] here, [0, 128, 255] elsewhere.
    a = np.array([10, 20, 30], np.uint8)
    plus_one = ap.memory_type("torch", output=output)(lambda x: x + 1)
    stretch = plus_one.options(scaling=ap.Scaling.MINMAX)
    np.testing.assert_array_equal(ap.convert(stretch(a), "numpy"), [0, 128, 255])
    np.testing.assert_array_equal(ap.convert(plus_one(a), "numpy"), [11, 21, 31])
    f = np.array([1.0, 3.0, 5.0], np.float32)
    for conversion in (ap.DtypeConversion.PRESERVE_INPUT, ap.DtypeConversion.FLOAT32):
        same = stretch.options(dtype_conversion=conversion)(f)
        np.testing.assert_array_equal(ap.convert(same, "numpy"), [0.0, 0.5, 1.0])


@skip_unless_installed(MemoryType.TORCH)
def test_torch_named_tuple_results_are_placed_and_converted() -> None:
    import torch

    a = np.array([[1, 7], [5, 3]], np.int16)
    peak = ap.memory_type("torch")(lambda t: (t * 1.5).max(dim=0))
    found = peak(a)
    assert type(found) is torch.return_types.max  # a struct sequence, rebuilt as itself
    assert isinstance(found.values, np.ndarray)
    assert isinstance(found.indices, np.ndarray)
    assert found.values.dtype == np.int16  # the primary output gets the dtype policy
    np.testing.assert_array_equal(found.values, [8, 10])  # 7.5 and 10.5, half to even
    np.testing.assert_array_equal(found.indices, [1, 0])


def test_dtype_conversion_applies_to_the_first_element_of_a_tuple_only() -> None:
    @ap.memory_type("numpy")
    def both(x: Any) -> tuple[Any, Any]:
        return x * 1.5, x * 1.5

    first, second = both(np.array([2, 4], np.int16))
    assert first.dtype == np.int16
    np.testing.assert_array_equal(first, [3, 6])
    assert second.dtype == np.float64


def test_preserve_input_refuses_what_it_cannot_hold_by_value() -> None:
    # VALUE scaling clips out-of-range values; it never wraps around.
    grow = ap.memory_type("numpy")(lambda x: x.astype(np.float32) * 1000)
    np.testing.assert_array_equal(grow(np.array([0, 1, 3], np.uint8)), [0, 255, 255])


# -- the quick shares (ADR 0048) ---------------------------------------------------------


@skip_unless_installed(MemoryType.TORCH)
def test_quick_shares_are_taken_and_agree_with_the_planned_path() -> None:
    import torch

    from arrayport._placement import _QUICK

    seen: list[Any] = []

    def double_in_place(x: Any) -> Any:
        seen.append(x)
        x *= 2
        return x

    quick_fn = ap.memory_type("torch")(double_in_place)
    planned_fn = quick_fn.options(device="cpu")  # a declared device takes the planner
    for fn in (quick_fn, quick_fn, planned_fn):  # the second call has the pair cached
        a = np.arange(6.0).reshape(2, 3)
        out = fn(a)
        assert isinstance(seen[-1], torch.Tensor)
        assert type(out) is np.ndarray
        np.testing.assert_array_equal(a, np.arange(6.0).reshape(2, 3) * 2)  # shared in
        assert np.shares_memory(out, a)  # and shared back out
    assert _QUICK[MemoryType.NUMPY, MemoryType.TORCH] is not None
    assert _QUICK[MemoryType.TORCH, MemoryType.NUMPY] is not None


@skip_unless_installed(MemoryType.TORCH)
def test_quick_path_leaves_what_it_declines_to_the_planner() -> None:
    import torch

    @ap.memory_type("torch")
    def double_in_place(x: Any) -> Any:
        x *= 2
        return x

    double_in_place(np.ones(2))  # caches the quick pair
    ro = np.arange(4.0)
    ro.flags.writeable = False
    np.testing.assert_array_equal(double_in_place(ro), [0, 2, 4, 6])
    np.testing.assert_array_equal(ro, [0, 1, 2, 3])  # a copy went in: never a writable alias
    np.testing.assert_array_equal(double_in_place(np.arange(4.0)[::-1]), [6, 4, 2, 0])
    np.testing.assert_array_equal(double_in_place(np.arange(3, dtype=">f8")), [0, 2, 4])

    @ap.memory_type("torch")
    def with_grad(x: Any) -> Any:
        return x.requires_grad_(True) * 1  # a tensor .numpy() refuses: the planner detaches

    out = with_grad(np.ones(3, np.float32))
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, [1, 1, 1])
    assert torch.is_tensor(ap.memory_type("torch", output="declared")(with_grad)(np.ones(2)))


@skip_unless_installed(MemoryType.TORCH)
def test_quick_path_shares_a_repeated_argument_once() -> None:
    got: list[Any] = []

    @ap.memory_type("torch")
    def f(x: Any, y: Any, z: Any) -> Any:
        got.extend([x, y, z])
        return x

    a, b = np.ones(3), np.zeros(3)
    for _ in range(2):
        got.clear()
        f(a, b, a)
        assert got[0] is got[2]
        assert got[0] is not got[1]


@skip_unless_installed(MemoryType.TORCH)
def test_quick_path_still_feeds_metrics() -> None:
    f = ap.memory_type("torch")(_ident)
    a = np.ones(4)
    f(a)
    f(a)  # the pair is cached: without metrics this call would take the quick shares
    with ap.metrics.collecting() as metrics:
        f(a)
        snap = metrics.snapshot()
    assert snap["conversions"] == 2
    assert snap["pairs"] == {"numpy->torch": 1, "torch->numpy": 1}


@skip_unless_installed(MemoryType.TORCH)
def test_a_remembered_round_trip_still_checks_each_call() -> None:
    import torch

    @ap.memory_type("torch")
    def f(x: Any) -> Any:
        return x * 2

    for _ in range(3):  # planned, then quick, then the remembered round trip
        np.testing.assert_array_equal(f(np.arange(3.0)), [0, 2, 4])
    assert f._round_trip is not None
    ro = np.arange(3.0)
    ro.flags.writeable = False
    np.testing.assert_array_equal(f(ro), [0, 2, 4])  # declined by the quick share: planned
    t = f(torch.arange(3.0))  # another input type: the general path
    assert isinstance(t, torch.Tensor)
    assert t.tolist() == [0, 2, 4]
    # A result of another type than remembered is placed, not shared back blindly.
    g = ap.memory_type("torch")(lambda x: x if x.shape[0] > 1 else x.numpy())
    for _ in range(3):
        g(np.ones(2))
    assert g._round_trip is not None
    out = g(np.ones(1))
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, [1.0])


def test_numpy_scalar_results_are_placed_and_converted_like_0d_arrays() -> None:
    # numpy's reductions return numpy scalars, not 0-d arrays: they once skipped both the
    # output placement and the dtype policy.
    total = ap.memory_type("numpy", dtype_conversion=ap.DtypeConversion.FLOAT32)(lambda x: x.sum())
    got = total(np.ones(3))
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.float32
    assert got.shape == ()
    assert got == 3
    # Preserved as it is (a scalar) where nothing is to be done.
    kept = ap.memory_type("numpy")(lambda x: x.max())(np.arange(4.0))
    assert type(kept) is np.float64
    assert kept == 3
    # The same declared policy whichever framework computes: PRESERVE_INPUT clips a
    # uint8 sum of 300 to 255 on numpy as on torch.
    on_numpy = ap.memory_type("numpy")(lambda x: x.sum())(np.ones(300, np.uint8))
    assert on_numpy.dtype == np.uint8
    assert on_numpy == 255


@skip_unless_installed(MemoryType.TORCH)
def test_numpy_scalar_results_go_back_to_the_input_memory_type() -> None:
    import torch

    peak = ap.memory_type("numpy")(lambda x: x.max())
    got = peak(torch.arange(4.0))
    assert isinstance(got, torch.Tensor)
    assert got.shape == ()
    assert got.item() == 3
    pair = ap.memory_type("numpy")(lambda x: (x.sum(), x.min()))(torch.ones(3))
    assert all(isinstance(v, torch.Tensor) for v in pair)
    out = ap.memory_type("numpy", output="torch")(lambda x: x.max())(np.arange(3.0))
    assert isinstance(out, torch.Tensor)
    assert out.item() == 2


def test_stream_hook_is_the_backends_call_stream_looked_up_once() -> None:
    from arrayport import _placement
    from arrayport.backends import get_backend

    assert _placement.stream_hook(MemoryType.NUMPY) is None  # host memory: no stream
    assert MemoryType.NUMPY in _placement._STREAM_HOOKS
    if MemoryType.TORCH in INSTALLED:
        hook = _placement.stream_hook(MemoryType.TORCH)
        assert hook is get_backend(MemoryType.TORCH).call_stream
        assert _placement.stream_hook(MemoryType.TORCH) is hook


@skip_unless_installed(MemoryType.JAX)
@pytest.mark.parametrize("transform", ["jit", "grad", "vmap"])
def test_a_traced_jax_argument_gets_arrayport_s_refusal_not_jax_s(transform: str) -> None:
    # The conversion refused the tracer, then the OOM recovery asked the tracer for its
    # device to place a result, and jax's ConcretizationTypeError replaced the refusal.
    import jax
    import jax.numpy as jnp

    @ap.memory_type("numpy")
    def ident(a: Any) -> Any:
        return a

    transforms = {
        "jit": jax.jit(ident),
        "grad": jax.grad(lambda x: ident(x).sum()),
        "vmap": jax.vmap(ident),
    }
    with pytest.raises(ap.UnsupportedArrayError, match="traced jax array"):
        transforms[transform](jnp.arange(3.0))


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize(
    ("conversion", "want"),
    [
        (ap.DtypeConversion.PRESERVE_INPUT, np.array([[0, 0], [255, 255]], np.uint8)),
        (ap.DtypeConversion.FLOAT32, np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)),
        (ap.DtypeConversion.UINT16, np.array([[0, 0], [65535, 65535]], np.uint16)),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_a_bool_result_placed_into_pyclesperanto_is_scaled_as_bool(
    conversion: ap.DtypeConversion, want: np.ndarray
) -> None:
    # pyclesperanto holds bool as uint8 0 and 1: placed first, the result was read by UNIT
    # as 0 and 1/255 (True -> 1 in uint8, 1/255 in float32, 257 in uint16), where numpy
    # input gave 255, 1.0 and 65535. The policy now runs before that placement.
    import pyclesperanto as cle

    @ap.memory_type("numpy", scaling=ap.Scaling.UNIT, dtype_conversion=conversion)
    def mask(x: Any) -> Any:
        return np.asarray(x) > 2

    a = np.array([[1, 2], [3, 4]], np.uint8)
    on_numpy = mask(a)
    on_cle = mask(cle.push(a))
    assert ap.detect_memory_type(on_cle) is MemoryType.PYCLESPERANTO
    np.testing.assert_array_equal(on_numpy, want)
    assert on_numpy.dtype == want.dtype
    np.testing.assert_array_equal(cle.pull(on_cle), want)
    assert np.dtype(on_cle.dtype) == want.dtype
    declared = mask.options(output=MemoryType.PYCLESPERANTO)(a)
    np.testing.assert_array_equal(cle.pull(declared), want)


@pytest.mark.parametrize("kind", [MemoryType.JAX, MemoryType.PYCLESPERANTO], ids=str)
def test_a_float64_result_gets_the_inputs_dtype_before_it_is_refused(kind: MemoryType) -> None:
    # float32 input from jax (64-bit mode off) or pyclesperanto, a numpy function returning
    # float64: placing the float64 result raised UnsupportedDtypeError, though
    # PRESERVE_INPUT asks for float32, which both hold.
    if kind not in INSTALLED:
        pytest.skip(f"{kind.value} is not installed")
    if kind is MemoryType.JAX:
        import jax

        if jax.config.jax_enable_x64:
            pytest.skip("jax holds float64 in 64-bit mode")

    @ap.memory_type("numpy")
    def scale(x: Any) -> Any:
        return np.asarray(x, dtype=np.float64) * 1.5

    x = ap.convert(np.ones((2, 2), np.float32), kind)
    out = scale(x)
    assert ap.detect_memory_type(out) is kind
    np.testing.assert_array_equal(ap.convert(out, "numpy"), np.full((2, 2), 1.5, np.float32))
    fixed = scale.options(dtype_conversion=ap.DtypeConversion.FLOAT32)(x)
    assert ap.convert(fixed, "numpy").dtype == np.float32
    with pytest.raises(ap.UnsupportedDtypeError, match="float64"):  # asked for: refused
        scale.options(dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)(x)


@skip_unless_installed(MemoryType.TORCH)
def test_quick_arguments_classify_what_the_type_cache_lost() -> None:
    # Another thread may empty the type cache between the scan and the quick shares: an
    # array then looked like no array and reached the function unconverted.
    import torch

    from arrayport._arguments import KINDS
    from arrayport._placement import quick_arguments

    x = np.arange(3.0)
    KINDS.pop(np.ndarray, None)
    out = quick_arguments((x,), MemoryType.TORCH)
    assert out is not None
    assert isinstance(out[0], torch.Tensor)


@skip_unless_installed(MemoryType.TENSORFLOW)
def test_a_symbolic_result_of_the_inputs_dtype_needs_no_dtype_conversion() -> None:
    # Inside tf.function, a tensorflow-declared call on a captured numpy array with
    # output="declared" was refused: the policy described the symbolic result to convert
    # float32 to float32.
    import tensorflow as tf

    @ap.memory_type("tensorflow", output="declared")
    def double(x: Any) -> Any:
        return x * 2

    captured = np.arange(3, dtype=np.float32)
    out = tf.function(lambda: double(captured))()
    np.testing.assert_array_equal(out.numpy(), [0.0, 2.0, 4.0])


@skip_unless_installed(MemoryType.TORCH)
def test_a_parameter_input_s_result_of_the_same_dtype_keeps_autograd() -> None:
    # The "nothing to do" check compared Python types (Parameter against Tensor) and then
    # dtype names torch has not got: the result went through the policy, which detached it
    # (and refused a sparse result a plain tensor's call returned as it was).
    import torch

    @ap.memory_type("torch")
    def double(x: Any) -> Any:
        return x * 2

    @ap.memory_type("torch", dtype_conversion=ap.DtypeConversion.FLOAT32)
    def linear(x: Any) -> Any:
        return x * 2

    @ap.memory_type("torch")
    def sparse(x: Any) -> Any:
        return x.detach().to_sparse()

    weight = torch.nn.Parameter(torch.ones(3))
    out = double(weight)
    assert out.requires_grad
    out.sum().backward()
    assert weight.grad is not None
    assert weight.grad.tolist() == [2.0, 2.0, 2.0]
    assert linear(weight).requires_grad
    assert linear(torch.ones(3, requires_grad=True)).requires_grad
    assert sparse(weight).layout == torch.sparse_coo


# --- jax arguments jax places itself: tracers, sharded arrays ----------------------------


@skip_unless_installed(MemoryType.JAX)
def test_tuple_results_of_jax_functions_work_under_jax_transformations() -> None:
    # Placing a tuple asked the first argument, a tracer, for its device: jax's
    # ConcretizationTypeError under jit, scan, vmap and eval_shape.
    import jax
    import jax.numpy as jnp

    @ap.memory_type("jax")
    def step(carry: Any, x: Any) -> Any:
        return carry + x, carry * x

    @ap.memory_type("jax")
    def pair(x: Any) -> Any:
        return [x * 2, x.sum()]

    x = jnp.arange(4.0)
    eager = step(jnp.float32(1), x)
    for got in (jax.jit(step)(jnp.float32(1), x), jax.vmap(step, (None, 0))(jnp.float32(1), x)):
        np.testing.assert_array_equal(np.asarray(got[0]), np.asarray(eager[0]))
        np.testing.assert_array_equal(np.asarray(got[1]), np.asarray(eager[1]))
    carry, ys = jax.lax.scan(step, jnp.float32(0), x)
    assert float(carry) == 6.0
    np.testing.assert_array_equal(np.asarray(ys), [0.0, 0.0, 2.0, 9.0])
    assert [s.shape for s in jax.eval_shape(step, jnp.float32(0), x)] == [(4,), (4,)]
    doubled, total = jax.jit(pair)(x)
    assert (float(total), np.asarray(doubled).tolist()) == (6.0, [0.0, 2.0, 4.0, 6.0])


@skip_unless_installed(MemoryType.JAX)
def test_a_tracer_beside_arguments_that_move_is_left_to_jax() -> None:
    # grad(loss)(params, numpy_data), a numpy default or device="cpu" under jit asked the
    # tracer for its device: jax's ConcretizationTypeError.
    import jax
    import jax.numpy as jnp

    @ap.memory_type("jax")
    def loss(w: Any, data: Any) -> Any:
        return ((data * w) ** 2).sum()

    @ap.memory_type("jax", device="cpu")
    def double(x: Any) -> Any:
        return x * 2

    @ap.memory_type("jax")
    def scaled(x: Any, k: Any = np.full(3, 2, np.float32)) -> Any:  # noqa: B008
        return x * k

    w, data = jnp.ones(3), np.arange(3, dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(jax.grad(loss)(w, data)), [0.0, 2.0, 8.0])
    np.testing.assert_array_equal(np.asarray(jax.grad(loss, 1)(w, data)), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(np.asarray(jax.jit(double)(w)), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(np.asarray(jax.jit(scaled)(w)), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(
        np.asarray(jax.vmap(loss, (0, None))(jnp.ones((2, 3)), data)), [5.0, 5.0]
    )


@skip_unless_installed(MemoryType.JAX)
def test_a_sharded_jax_argument_beside_one_that_moves_stays_sharded() -> None:
    from tests._subprocess import python_words

    script = (
        "import os\n"
        "os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=2'\n"
        "import numpy as np, arrayport as ap, jax, jax.numpy as jnp\n"
        "from jax.sharding import Mesh, NamedSharding, PartitionSpec as P\n"
        "mesh = Mesh(np.array(jax.devices('cpu')[:2]), ('i',))\n"
        "xs = jax.device_put(jnp.arange(4.0), NamedSharding(mesh, P('i')))\n"
        "add = ap.memory_type('jax')(lambda a, b: a + b)\n"
        "out = add(xs, np.ones(4, np.float32))\n"
        "print(type(out).__name__, len(out.devices()), np.asarray(out).tolist())\n"
    )
    assert python_words(script) == ["ArrayImpl", "2", "[1.0,", "2.0,", "3.0,", "4.0]"]


@skip_unless_installed(MemoryType.TORCH)
def test_inputs_moved_before_a_move_ran_out_are_not_kept_by_the_error(monkeypatch) -> None:
    # The error's frames kept convert_arguments' `put` closure and its dict of inputs
    # already moved: each retry of the OOM policy held one more copy of them (1, 2, 3).
    import gc
    import weakref

    import arrayport._placement as placement

    copies: list[Any] = []
    alive: list[int] = []
    real_convert, real_to_target = placement.convert, placement._to_target

    def tracked(a: Any, target: Any, **kw: Any) -> Any:
        out = real_convert(a, target, **kw)
        copies.append(weakref.ref(out))
        return out

    def spy(a: Any, target: Any, on: Any) -> Any:
        if a.shape[-1] == 1 << 48:  # the input whose copy cannot be made
            alive.append(sum(ref() is not None for ref in copies))
        return real_to_target(a, target, on)

    monkeypatch.setattr(placement, "convert", tracked)
    monkeypatch.setattr(placement, "_to_target", spy)

    @ap.memory_type("torch", oom=ap.OOMPolicy(retries=2))
    def first_of(x: Any, y: Any) -> Any:
        return x

    x = np.ones((100, 100), ">f4")  # big-endian: copied into torch
    y = np.broadcast_to(np.zeros(1, ">f4"), (100, 1 << 48))
    gc.disable()  # only the policy's own release collects, as between collections
    try:
        with pytest.raises(ap.OutOfMemoryError):
            first_of(x, y)
    finally:
        gc.enable()
    assert alive == [1, 1, 1]  # the current attempt's copy of x only


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@skip_unless_installed(MemoryType.TORCH)
def test_a_fallbacks_widened_bool_is_placed_then_read_by_value() -> None:
    # A torch function with a pyclesperanto fallback: a result the fallback left as
    # pyclesperanto's uint8 0/1 (the bool input, widened) is placed and then read by value
    # under PRESERVE_INPUT, whatever the scaling; a torch uint8 result, which no fallback
    # made, is scaled as it is without a fallback (Scaling.UNIT: 1 is 1/255, False).
    import pyclesperanto as cle
    import torch

    from arrayport._placement import convert_dtype, place_with_policy
    from arrayport._results import OF_THE_RESULT

    policy = ap.OOMPolicy(fallback="pyclesperanto")
    f = ap.memory_type("torch", scaling=ap.Scaling.UNIT, oom=policy)(_ident)
    assert f._bool_stand_in is OF_THE_RESULT
    assert ap.memory_type("torch", scaling="unit")(_ident)._bool_stand_in is None
    assert f.options(dtype_conversion="float32")._bool_stand_in is None
    mask = np.array([[True, False, True]])
    widened = cle.push(mask.astype(np.uint8))
    for output, kind in (("input", MemoryType.NUMPY), ("torch", MemoryType.TORCH)):
        contract = f.options(output=output).contract
        got = place_with_policy(
            widened, contract, mask, MemoryType.NUMPY, moved=True, bool_stand_in=OF_THE_RESULT
        )
        assert ap.detect_memory_type(got) is kind
        np.testing.assert_array_equal(ap.convert(got, "numpy"), mask)
    made = torch.from_numpy(mask.astype(np.uint8))
    unit = (ap.DtypeConversion.PRESERVE_INPUT, ap.Scaling.UNIT)
    assert not convert_dtype(made, mask, *unit, OF_THE_RESULT).any()

    def as_uint8(x: Any) -> Any:
        return x.to(torch.uint8)

    with_fallback = ap.memory_type("torch", scaling="unit", oom=policy)(as_uint8)
    without = ap.memory_type("torch", scaling="unit")(as_uint8)
    np.testing.assert_array_equal(with_fallback(mask), without(mask))
    assert not with_fallback(mask).any()
