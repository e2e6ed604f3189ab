"""Tests of arrayport.stack: stack_slices, unstack_slices, process_slices."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import INSTALLED, forbid_pyclesperanto_joins, skip_unless_installed

CLE = MemoryType.PYCLESPERANTO


def _slices(
    n: int = 3, shape: tuple[int, int] = (4, 5), dtype: Any = np.float32
) -> list[np.ndarray]:
    rng = np.random.default_rng(n)
    return [(rng.standard_normal(shape) * 100).astype(dtype) for _ in range(n)]


def _to(mt: MemoryType, a: np.ndarray) -> Any:
    return ap.convert(a, mt)


def _host(x: Any) -> np.ndarray:
    return np.asarray(ap.convert(x, "numpy"))


_TYPES = [
    pytest.param(mt, marks=skip_unless_installed(mt))
    for mt in (
        MemoryType.NUMPY,
        MemoryType.TORCH,
        MemoryType.JAX,
        MemoryType.TENSORFLOW,
        MemoryType.PYCLESPERANTO,
    )
]


# --- stack_slices ------------------------------------------------------------------------


@pytest.mark.parametrize("mt", _TYPES)
def test_stack_slices_of_one_memory_type_stays_in_it(mt: MemoryType) -> None:
    slices = _slices()
    out = ap.stack_slices([_to(mt, s) for s in slices])
    assert ap.detect_memory_type(out) is mt
    assert tuple(out.shape) == (3, 4, 5)
    np.testing.assert_array_equal(_host(out), np.stack(slices))


@pytest.mark.parametrize("target", _TYPES)
def test_stack_slices_of_mixed_memory_types_gives_one(target: MemoryType) -> None:
    slices = _slices(n=len(INSTALLED))
    sources = [mt for mt in INSTALLED if mt not in (MemoryType.CUPY, MemoryType.DASK)]
    mixed = [_to(sources[i % len(sources)], s) for i, s in enumerate(slices)]
    out = ap.stack_slices(mixed, target)
    assert ap.detect_memory_type(out) is target
    np.testing.assert_array_equal(_host(out), np.stack(slices))
    # By default the first slice decides.
    assert ap.detect_memory_type(ap.stack_slices(mixed)) is ap.detect_memory_type(mixed[0])


def test_stack_slices_accepts_any_iterable() -> None:
    slices = _slices()
    np.testing.assert_array_equal(ap.stack_slices(iter(slices)), np.stack(slices))
    np.testing.assert_array_equal(ap.stack_slices(tuple(slices), "numpy"), np.stack(slices))


def test_stack_slices_of_an_empty_list_is_an_arrayport_error() -> None:
    with pytest.raises(ap.ArrayportError, match="no arrays"):
        ap.stack_slices([])
    with pytest.raises(ap.InvalidOptionError):
        ap.stack_slices([], "torch")


def test_stack_slices_refuses_other_shapes_ndims_dtypes_and_non_arrays() -> None:
    a = np.zeros((4, 5), np.float32)
    with pytest.raises(ap.InvalidOptionError, match=r"item 1 .*\(4, 6\)"):
        ap.stack_slices([a, np.zeros((4, 6), np.float32)])
    with pytest.raises(ap.InvalidOptionError, match="2-D"):
        ap.stack_slices([np.zeros((2, 4, 5), np.float32)])
    with pytest.raises(ap.DtypeConversionError, match=r"float64.*float32|float32.*float64"):
        ap.stack_slices([a, a.astype(np.float64)])
    with pytest.raises(ap.UnsupportedArrayError, match="item 1"):
        ap.stack_slices([a, [[0.0] * 5] * 4])
    with pytest.raises(ap.InvalidOptionError, match="not a memory type"):
        ap.stack_slices([a], "matlab")


@skip_unless_installed(MemoryType.TORCH)
def test_stack_slices_puts_the_stack_on_the_requested_device() -> None:
    out = ap.stack_slices(_slices(), "torch", device="cpu")
    assert str(out.device) == "cpu"
    with pytest.raises(ap.DeviceError):
        ap.stack_slices(_slices(), "numpy", device="cuda:0")


@skip_unless_installed(CLE)
def test_pyclesperanto_stack_is_one_buffer_written_once_per_slice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyclesperanto as cle

    # The stack must be written one slice at a time into one buffer, never built by
    # pairwise concatenation (nor by cle.copy_slice, whose kernel goes through float32).
    forbid_pyclesperanto_joins(monkeypatch)

    slices = _slices(n=5)
    on_device = [cle.push(s) for s in slices]
    np.testing.assert_array_equal(_host(ap.stack_slices(on_device)), np.stack(slices))
    out = ap.stack_slices(slices, CLE)  # host slices: written straight into their planes
    assert ap.detect_memory_type(out) is CLE
    np.testing.assert_array_equal(_host(out), np.stack(slices))
    mixed = [on_device[0], slices[1], on_device[2], slices[3], slices[4]]
    np.testing.assert_array_equal(_host(ap.stack_slices(mixed, CLE)), np.stack(slices))


@skip_unless_installed(CLE)
@pytest.mark.parametrize("dtype", ["int32", "uint32"])
def test_pyclesperanto_stacks_keep_32_bit_integers_beyond_float32(dtype: str) -> None:
    import pyclesperanto as cle

    # pyclesperanto's indexing and copy_slice run kernels through float32: 2**31 - 1 came
    # back as -2**31 (int32) or 2**31 (uint32), 2**24 + 1 as 2**24.
    stack = np.array([[[2**31 - 1, 2**24 + 1]], [[2**24 + 3, 7]], [[5, 2**30 + 1]]], dtype)
    on_device = cle.push(stack)
    planes = ap.unstack_slices(on_device)
    assert [_host(p).tolist() for p in planes] == [s.tolist() for s in stack]
    np.testing.assert_array_equal(_host(ap.stack_slices(planes)), stack)
    np.testing.assert_array_equal(_host(ap.process_slices(on_device, lambda p: p)), stack)
    same = ap.memory_type("pyclesperanto", slice_by_slice=True)(lambda p: p)
    np.testing.assert_array_equal(same(stack), stack)


@skip_unless_installed(CLE)
def test_pyclesperanto_stack_refuses_dtypes_it_cannot_hold() -> None:
    with pytest.raises(ap.UnsupportedDtypeError, match="float64"):
        ap.stack_slices(_slices(dtype=np.float64), CLE)


@skip_unless_installed(CLE)
def test_pyclesperanto_stack_widens_bool_losslessly() -> None:
    masks = [np.array([[True, False], [False, True]]), np.array([[False, False], [True, True]])]
    out = ap.stack_slices(masks, CLE)
    np.testing.assert_array_equal(_host(out), np.stack(masks).astype(np.uint8))


@skip_unless_installed(CLE)
def test_pyclesperanto_stack_over_max_buffer_raises_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyclesperanto as cle

    from arrayport.backends import pyclesperanto as be

    # A device that holds at most 64 bytes per buffer stands for PoCL's 4 GiB limit (a
    # real oversized buffer raises CL_INVALID_BUFFER_SIZE, or "succeeds" and aborts the
    # process on a later push): each slice fits alone, the stack does not.
    on_device = [cle.push(s) for s in _slices(n=2, shape=(4, 4))]  # before the limit
    monkeypatch.setattr(be, "max_buffer_bytes", lambda device: 64)

    def create(*args: Any, **kwargs: Any) -> Any:
        msg = "allocated a buffer beyond the device's maximum buffer size"
        raise AssertionError(msg)

    monkeypatch.setattr(cle, "create", create)
    for slices in (_slices(n=2, shape=(4, 4)), on_device):
        with pytest.raises(ap.OutOfMemoryError, match="maximum buffer size") as info:
            ap.stack_slices(slices, CLE)
        assert info.value.requested_bytes == 128
        assert "split the array" in str(info.value)  # the remedy convert gives
    # float16 is held as float32: the widened size is what counts (64 bytes as float16).
    halves = _slices(n=2, shape=(4, 4), dtype=np.float16)
    with pytest.raises(ap.OutOfMemoryError) as info:
        ap.stack_slices(halves, CLE)
    assert info.value.requested_bytes == 128


# --- unstack_slices ----------------------------------------------------------------------


@pytest.mark.parametrize("mt", _TYPES)
def test_unstack_slices_gives_the_2d_slices(mt: MemoryType) -> None:
    stack = np.stack(_slices())
    parts = ap.unstack_slices(_to(mt, stack))
    assert len(parts) == 3
    for part, expected in zip(parts, stack, strict=True):
        assert ap.detect_memory_type(part) is mt
        assert tuple(part.shape) == (4, 5)
        np.testing.assert_array_equal(_host(part), expected)


@skip_unless_installed(CLE)
def test_unstack_slices_of_one_pixel_pyclesperanto_planes_are_arrays() -> None:
    # pyclesperanto indexes a one-element plane to a Python float.
    stack = np.arange(3, dtype=np.float32).reshape(3, 1, 1)
    parts = ap.unstack_slices(ap.convert(stack, CLE))
    for part, expected in zip(parts, stack, strict=True):
        assert ap.detect_memory_type(part) is CLE
        assert tuple(part.shape) == (1, 1)
        np.testing.assert_array_equal(_host(part), expected)


def test_unstack_slices_are_views_in_numpy() -> None:
    stack = np.stack(_slices())
    parts = ap.unstack_slices(stack)
    parts[1][0, 0] = 12345.0
    assert stack[1, 0, 0] == 12345.0


@skip_unless_installed(MemoryType.TORCH)
def test_unstack_slices_are_views_in_torch() -> None:
    import torch

    stack = torch.zeros((2, 3, 3))
    ap.unstack_slices(stack)[1][2, 2] = 7.0
    assert float(stack[1, 2, 2]) == 7.0


def test_unstack_slices_refuses_other_ndims_and_non_arrays() -> None:
    with pytest.raises(ap.InvalidOptionError, match="3-D"):
        ap.unstack_slices(np.zeros((4, 5)))
    with pytest.raises(ap.UnsupportedArrayError):
        ap.unstack_slices([[[0.0]]])


def test_unstack_then_stack_round_trips() -> None:
    stack = np.stack(_slices())
    np.testing.assert_array_equal(ap.stack_slices(ap.unstack_slices(stack)), stack)


# --- process_slices ----------------------------------------------------------------------


@pytest.mark.parametrize("mt", _TYPES)
def test_process_slices_runs_fn_per_slice_and_restacks(mt: MemoryType) -> None:
    stack = np.stack(_slices())
    seen: list[tuple[int, ...]] = []

    def fn(s: Any, offset: float, *, scale: float) -> Any:
        seen.append(tuple(s.shape))
        return s * scale + offset

    out = ap.process_slices(_to(mt, stack), fn, 1.0, scale=2.0)
    assert seen == [(4, 5)] * 3
    assert ap.detect_memory_type(out) is mt
    np.testing.assert_allclose(_host(out), stack * 2.0 + 1.0, rtol=1e-6)


@skip_unless_installed(MemoryType.TORCH)
def test_process_slices_restacks_in_the_input_memory_type() -> None:
    # fn returns torch; the stack came in as numpy, so it goes back as numpy.
    stack = np.stack(_slices())
    out = ap.process_slices(stack, lambda s: ap.convert(s, "torch") + 1)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, stack + 1, rtol=1e-6)


def test_process_slices_tuple_and_non_array_results() -> None:
    stack = np.stack(_slices())
    doubled, negated = ap.process_slices(stack, lambda s: (s * 2, -s))
    np.testing.assert_array_equal(doubled, stack * 2)
    np.testing.assert_array_equal(negated, -stack)
    sums = ap.process_slices(stack, lambda s: float(s.sum()))
    assert sums == pytest.approx([float(s.sum()) for s in stack], rel=1e-5)
    profiles = ap.process_slices(stack, lambda s: s.sum(axis=0))  # 1-D per slice
    assert profiles.shape == (3, 5)


def test_process_slices_refuses_an_empty_or_2d_stack() -> None:
    with pytest.raises(ap.InvalidOptionError, match="no slice"):
        ap.process_slices(np.zeros((0, 4, 4)), lambda s: s)
    with pytest.raises(ap.InvalidOptionError, match=r"^process_slices takes a 3-D"):
        ap.process_slices(np.zeros((4, 4)), lambda s: s)


def test_numpy_scalar_results_are_stacked_like_other_frameworks_0d_results() -> None:
    # numpy's s.sum() is a numpy scalar; torch's, jax's ... are 0-d arrays: one rule.
    stack = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    sums = ap.process_slices(stack, lambda s: s.sum())
    assert isinstance(sums, np.ndarray)
    np.testing.assert_array_equal(sums, [6.0, 22.0, 38.0])
    labelled = ap.process_slices(stack, lambda s: (s.max(), "label"))
    np.testing.assert_array_equal(labelled[0], [3.0, 7.0, 11.0])
    assert labelled[1] == ["label"] * 3  # not arrays: a list, one per slice


def test_a_list_of_numpy_scalars_per_slice_is_a_list_of_stacks() -> None:
    # A list of numpy reductions per slice came back as one list per slice (the places
    # were not seen as arrays), a tuple or a torch list as stacks (finding 4).
    stack = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    sums, maxima = ap.process_slices(stack, lambda s: [s.sum(), s.max()])
    assert isinstance(sums, np.ndarray)
    assert sums.dtype == np.float32
    np.testing.assert_array_equal(sums, [6.0, 22.0, 38.0])
    np.testing.assert_array_equal(maxima, [3.0, 7.0, 11.0])
    sliced = ap.memory_type("numpy", slice_by_slice=True)(lambda s: [s.sum(), s.max()])
    np.testing.assert_array_equal(sliced(stack)[1], [3.0, 7.0, 11.0])
    # Mixed with strings, or other dtypes per slice: one list per slice, as before.
    mixed = ap.process_slices(stack, lambda s: [s.sum(), "x"])
    assert isinstance(mixed, list)
    assert [r[1] for r in mixed] == ["x"] * 3


@skip_unless_installed(CLE)
def test_process_slices_of_one_pixel_pyclesperanto_planes_restacks_arrays() -> None:
    stack = np.arange(3, dtype=np.float32).reshape(3, 1, 1)
    seen: list[tuple[MemoryType, tuple[int, ...]]] = []

    def same(s: Any) -> Any:
        seen.append((ap.detect_memory_type(s), tuple(s.shape)))
        return s

    out = ap.process_slices(ap.convert(stack, CLE), same)
    assert seen == [(CLE, (1, 1))] * 3
    assert ap.detect_memory_type(out) is CLE
    np.testing.assert_array_equal(_host(out), stack)


@skip_unless_installed(CLE)
def test_slice_by_slice_on_one_pixel_pyclesperanto_planes_restacks_arrays() -> None:
    seen: list[tuple[MemoryType, tuple[int, ...]]] = []

    @ap.memory_type("pyclesperanto", slice_by_slice=True)
    def same(s: Any, mask: Any) -> Any:
        seen.append((ap.detect_memory_type(mask), tuple(mask.shape)))
        return s

    stack = np.arange(3, dtype=np.float32).reshape(3, 1, 1)
    out = same(stack, np.ones_like(stack))  # the mask of the stack's shape is sliced too
    assert seen == [(CLE, (1, 1))] * 3
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, stack)


def test_slice_by_slice_refuses_an_empty_stack() -> None:
    @ap.memory_type("numpy", slice_by_slice=True)
    def same(s: Any) -> Any:
        return s

    with pytest.raises(ap.InvalidOptionError, match="no slice to run on"):
        same(np.zeros((0, 3, 3), np.float32))


def test_stack_slices_refuses_what_is_not_a_list() -> None:
    with pytest.raises(
        ap.InvalidOptionError, match=r"^stack_slices takes a list of 2-D arrays, not int 5$"
    ):
        ap.stack_slices(5)  # type: ignore[arg-type]


def test_stack_slices_refuses_one_array_in_place_of_a_list() -> None:
    with pytest.raises(
        ap.InvalidOptionError, match=r"got one numpy array of shape \(3, 4\); pass \[x\]"
    ):
        ap.stack_slices(np.zeros((3, 4)))


def test_process_slices_refuses_a_function_that_is_not_callable() -> None:
    with pytest.raises(
        ap.InvalidOptionError,
        match=(
            r"^process_slices\(stack, fn\): fn must be callable "
            r"\(it is called on each 2-D slice\), not 5 \(int\)$"
        ),
    ):
        ap.process_slices(np.zeros((2, 3, 4)), 5)  # type: ignore[arg-type]


def test_process_slices_names_the_slices_whose_results_differ_in_shape() -> None:
    stack = np.zeros((2, 3, 4))
    expected = (
        r"^process_slices: fn returned shape \(1, 4\) for slice 0 but \(3, 4\) for slice 1; "
        r"it must return one shape for every slice to be restacked \(for one result per "
        r"slice instead, return it inside a list, `return \[crop\]`, which comes back as one "
        r"list per slice while the shapes differ: crops of one shape in "
        r"every slice are restacked, `\[stack\]`; a dict, `return \{'crop': crop\}`, always "
        r"comes back one per slice, its arrays as the function made them\)$"
    )
    calls: list[int] = []

    def first_slice_cut(s: np.ndarray) -> np.ndarray:
        calls.append(0)
        return s[:1] if len(calls) == 1 else s

    with pytest.raises(ap.InvalidOptionError, match=expected):
        ap.process_slices(stack, first_slice_cut)


@skip_unless_installed(CLE)
@pytest.mark.parametrize("dtype", ["int32", "uint32"])
def test_pyclesperanto_restacks_1d_results_on_the_host_exactly(dtype: str) -> None:
    from arrayport.backends import get_backend

    # Not 2-D slices: stacked on the host once and pushed once (JOINS_ON_HOST).
    stack = np.array([[[2**31 - 1, 2**24 + 1]], [[2**24 + 3, 7]], [[5, 2**30 + 1]]], dtype)
    take = get_backend(CLE).take
    rows = ap.process_slices(ap.convert(stack, CLE), lambda p: take(p, (0,)))  # 1-D rows
    assert ap.detect_memory_type(rows) is CLE
    assert _host(rows).dtype == dtype
    assert _host(rows).tolist() == stack[:, 0, :].tolist()


@skip_unless_installed(CLE)
def test_pyclesperanto_restack_of_3d_results_is_refused_as_4d() -> None:
    stack = ap.convert(np.ones((2, 1, 2), np.float32), CLE)
    with pytest.raises(ap.ConversionError, match="not 4-D"):
        ap.process_slices(stack, lambda p: p.reshape((1, 1, 2)))


@skip_unless_installed(CLE)
def test_scalar_results_of_pyclesperanto_slices_restack_to_one_dimension() -> None:
    # Each 0-d result was pushed alone first, which pyclesperanto refuses ("cannot hold
    # 0-d arrays"), though the (n,) stack it makes is fine.
    import pyclesperanto as cle

    planes = (np.arange(24).reshape(2, 3, 4) + 2**31 - 24).astype(np.int32)
    got = ap.process_slices(cle.push(planes), lambda s: np.asarray(cle.pull(s)).max())
    assert ap.detect_memory_type(got) is CLE
    np.testing.assert_array_equal(cle.pull(got), planes.max(axis=(1, 2)))


@skip_unless_installed(MemoryType.TORCH)
def test_per_slice_named_results_of_torch_are_restacked_as_themselves() -> None:
    # torch's named results (torch.return_types.max) take one sequence: restack built them
    # with type(first)(*parts), a TypeError, in process_slices and slice_by_slice alike.
    import torch

    stack = torch.arange(24.0).reshape(2, 3, 4)
    out = ap.process_slices(stack, lambda p: p.max(dim=0))
    assert type(out) is torch.return_types.max
    torch.testing.assert_close(out.values, stack.max(dim=1).values)
    torch.testing.assert_close(out.indices, stack.max(dim=1).indices)

    @ap.memory_type("torch", slice_by_slice=True)
    def column_max(a: Any) -> Any:
        return a.max(dim=0)

    got = column_max(np.arange(24.0, dtype=np.float32).reshape(2, 3, 4))
    assert type(got) is torch.return_types.max
    np.testing.assert_array_equal(
        ap.convert(got.values, "numpy"), [[8, 9, 10, 11], [20, 21, 22, 23]]
    )


def test_stacking_dask_slices_of_unknown_shape_names_the_remedy() -> None:
    pytest.importorskip("dask.array")
    import dask.array as da

    from arrayport.errors import InvalidOptionError

    x = da.from_array(np.arange(24.0).reshape(2, 3, 4), chunks=(1, 3, 2))
    first, second = x[0][x[0, :, 0] > 2], x[1][x[1, :, 0] > 2]  # shapes (nan, 4)
    with pytest.raises(InvalidOptionError, match="compute_chunk_sizes"):
        ap.stack_slices([first, second])
    with pytest.raises(InvalidOptionError, match="item 1 has a shape"):
        ap.stack_slices([x[0], second])


def test_unstacking_a_dask_stack_of_unknown_length_names_the_remedy() -> None:
    pytest.importorskip("dask.array")
    import dask.array as da

    from arrayport.errors import InvalidOptionError

    keep = da.from_array(np.array([True, False, True, True]), chunks=2)
    stack = da.from_array(np.ones((4, 2, 2)), chunks=2)[keep]  # (nan, 2, 2)
    for call in (lambda: ap.unstack_slices(stack), lambda: ap.process_slices(stack, abs)):
        with pytest.raises(InvalidOptionError, match="compute_chunk_sizes"):
            call()


def test_process_slices_passes_keywords_named_like_its_own_parameters() -> None:
    def scale(s, fn=1.0, stack=0.0):
        return s * fn + stack

    out = ap.process_slices(np.ones((2, 2, 2)), scale, fn=2.0, stack=1.0)
    np.testing.assert_array_equal(out, np.full((2, 2, 2), 3.0))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_np_matrix_slices_and_results_are_refused_with_the_remedy() -> None:
    # np.stack kept np.matrix and failed with numpy's own "shape too large to be a matrix".
    m = np.matrix(np.ones((2, 2)))
    with pytest.raises(ap.UnsupportedArrayError, match=r"stack_slices: item 0: np.matrix"):
        ap.stack_slices([m, m])
    with pytest.raises(ap.UnsupportedArrayError, match=r"fn's result for slice 0: np.matrix"):
        ap.process_slices(np.ones((2, 2, 2)), np.asmatrix)
    np.testing.assert_array_equal(ap.stack_slices([np.asarray(m)] * 2), np.ones((2, 2, 2)))


@skip_unless_installed(MemoryType.JAX)
def test_many_jax_slices_stack_on_the_host_with_exact_values() -> None:
    # jnp.stack of N operands compiled anew for every N: 3,000 slices took 5.7 s.
    import jax

    slices = [np.full((4, 4), i, np.float32) for i in range(300)]
    out = ap.stack_slices(slices, "jax")
    assert isinstance(out, jax.Array)
    np.testing.assert_array_equal(np.asarray(out), np.stack(slices))
    again = ap.stack_slices([jax.numpy.asarray(s) for s in slices[:7]], "jax")
    np.testing.assert_array_equal(np.asarray(again), np.stack(slices[:7]))


# --- second-round audit -------------------------------------------------------------------


@pytest.mark.parametrize(
    "mt",
    [
        MemoryType.NUMPY,
        pytest.param(MemoryType.TORCH, marks=skip_unless_installed(MemoryType.TORCH)),
    ],
)
def test_one_output_buffer_returned_for_every_slice_is_refused(mt: MemoryType) -> None:
    # Each slice was written into one buffer, returned each time: every plane of the stack
    # held the last slice's values, without an error.
    stack = np.arange(12.0, dtype=np.float32).reshape(3, 2, 2)
    buf = ap.convert(np.empty((2, 2), np.float32), mt)
    xp = ap.namespace(buf)

    def doubled(p: Any) -> Any:
        buf[...] = xp.asarray(p) * 2
        return buf

    with pytest.raises(
        ap.InvalidOptionError,
        match=r"^process_slices: fn returned the same array .* slice 0 and slice 1",
    ):
        ap.process_slices(ap.convert(stack, mt), doubled)
    sliced = ap.memory_type(mt, slice_by_slice=True)(doubled)
    with pytest.raises(ap.InvalidOptionError, match=r"^slice_by_slice: fn returned the same array"):
        sliced(stack)
    if mt is MemoryType.NUMPY:  # a new view of the reused buffer is the same memory too
        views = ap.memory_type("numpy", slice_by_slice=True)(
            lambda p: np.multiply(p, 2, out=buf)[...]
        )
        with pytest.raises(ap.InvalidOptionError, match="the same array"):
            views(stack)
    # A fresh array per slice is stacked.
    np.testing.assert_array_equal(ap.process_slices(stack, lambda p: p * 2), stack * 2)


@skip_unless_installed(MemoryType.JAX)
def test_one_immutable_array_returned_for_every_slice_is_stacked() -> None:
    import jax.numpy as jnp

    same = jnp.ones((2, 2))
    out = ap.process_slices(jnp.zeros((3, 2, 2)), lambda p: same)
    np.testing.assert_array_equal(_host(out), np.ones((3, 2, 2)))


def test_lists_of_arrays_per_slice_are_restacked_and_placed_like_tuples() -> None:
    # A list per slice stayed a list of per-slice lists: a torch-declared function's
    # tensors reached a numpy caller, where the unsliced call's list was placed.
    pytest.importorskip("torch")

    @ap.memory_type("torch", slice_by_slice=True)
    def halves(p: Any) -> list[Any]:
        return [p * 0.5, p * 2]

    x = np.arange(12.0, dtype=np.float32).reshape(3, 2, 2)
    out = halves(x)
    assert isinstance(out, list)
    assert len(out) == 2
    assert all(isinstance(o, np.ndarray) for o in out)
    np.testing.assert_array_equal(out[0], x * 0.5)
    np.testing.assert_array_equal(out[1], x * 2)
    # Lists of numbers stay one list per slice.
    assert ap.process_slices(x, lambda p: [float(p.min()), float(p.max())]) == [
        [0.0, 3.0],
        [4.0, 7.0],
        [8.0, 11.0],
    ]


def test_numpy_scalars_that_are_not_numbers_come_back_as_a_list() -> None:
    # np.str_ and np.datetime64 per slice became 0-d arrays and were refused as arrays
    # holding no numbers, where str per slice gave a list.
    x = np.arange(8.0).reshape(2, 2, 2)
    labels = ap.process_slices(x, lambda p: np.str_("bright" if p.max() > 3 else "dark"))
    assert labels == ["dark", "bright"]
    days = ap.process_slices(x, lambda p: np.datetime64("2026-01-01"))
    assert days == [np.datetime64("2026-01-01")] * 2


def test_results_that_hold_no_numbers_are_refused_with_their_slice() -> None:
    x = np.arange(8.0).reshape(2, 2, 2)
    with pytest.raises(
        ap.UnsupportedArrayError, match=r"^process_slices: fn's result for slice 0: "
    ):
        ap.process_slices(x, lambda p: np.array(["a", "b"]))


@skip_unless_installed(MemoryType.TENSORFLOW)
def test_symbolic_tensors_of_unknown_extent_are_refused_by_name() -> None:
    # int(None) of an unknown extent raised a raw TypeError.
    import tensorflow as tf

    calls = {
        "unstack": lambda t: ap.unstack_slices(t),
        "process": lambda t: ap.process_slices(t, lambda p: p),
    }
    for call in calls.values():

        @tf.function(input_signature=[tf.TensorSpec((None, 4, 5), tf.float32)])
        def traced(t: Any, call: Any = call) -> Any:
            return call(t)

        with pytest.raises(ap.UnsupportedArrayError, match="symbolic tensors"):
            traced(tf.zeros((2, 4, 5)))

    @tf.function(input_signature=[tf.TensorSpec((None, 5), tf.float32)])
    def stacked(t: Any) -> Any:
        return ap.stack_slices([t, t])

    with pytest.raises(ap.UnsupportedArrayError, match="symbolic tensors"):
        stacked(tf.zeros((4, 5)))


@skip_unless_installed(MemoryType.JAX)
def test_process_slices_under_jax_jit_is_refused_by_name() -> None:
    # device_of(stack) raised jax's own ConcretizationTypeError.
    import jax
    import jax.numpy as jnp

    with pytest.raises(ap.UnsupportedArrayError, match="traced jax array"):
        jax.jit(lambda s: ap.process_slices(s, lambda p: p * 2))(jnp.ones((2, 3, 3)))


def test_read_only_results_shared_by_slices_are_stacked() -> None:
    # The reused-buffer refusal took in buffers never written again: a broadcast stack's
    # views and a frozen constant returned for blank slices.
    broadcast = np.broadcast_to(np.arange(12.0).reshape(1, 4, 3), (3, 4, 3))
    np.testing.assert_array_equal(ap.process_slices(broadcast, lambda p: p), broadcast)
    blank = np.zeros((4, 3))
    blank.flags.writeable = False
    out = ap.process_slices(np.zeros((3, 4, 3)), lambda p: blank)
    np.testing.assert_array_equal(out, np.zeros((3, 4, 3)))
    writable = np.zeros((4, 3))
    with pytest.raises(ap.InvalidOptionError, match="writeable = False"):
        ap.process_slices(np.zeros((3, 4, 3)), lambda p: writable)


def test_lists_of_arrays_of_data_dependent_shapes_stay_one_list_per_slice() -> None:
    x = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    crops = ap.process_slices(x, lambda p: [p[:4, :4], p[:2, :2]] if p[0, 0] else [p[:2, :2], p])
    assert [[c.shape for c in r] for r in crops] == [[(2, 2), (4, 4)], [(4, 4), (2, 2)]]


def test_bfloat16_scalars_per_slice_are_stacked() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.arange(12).reshape(3, 2, 2).astype(ml_dtypes.bfloat16)
    out = ap.process_slices(x, lambda p: p.max())
    assert isinstance(out, np.ndarray)
    assert out.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(out.astype(np.float32), [3.0, 7.0, 11.0])


def test_restack_gives_per_slice_lists_the_type_asked_for_and_stacks_as_before() -> None:
    # slice_by_slice under an OOM policy marks the lists of one result per slice
    # (arrayport._split.Rows) so that its split joins them in order; a list of stacks (one
    # per place in a list result) is not such a list, and stays a plain list.
    from arrayport._split import Rows
    from arrayport.stack import restack

    planes = [np.full((2, 2), float(i)) for i in range(3)]
    numbers = restack([1.0, 2.0, 3.0], None, None, "slice_by_slice", Rows)
    assert type(numbers) is Rows
    assert numbers == [1.0, 2.0, 3.0]
    pairs = restack([(p, float(p[0, 0])) for p in planes], None, None, "slice_by_slice", Rows)
    assert type(pairs) is tuple
    assert pairs[0].shape == (3, 2, 2)
    assert type(pairs[1]) is Rows
    stacks = restack([[p, p] for p in planes], None, None, "slice_by_slice", Rows)
    assert type(stacks) is list
    assert [s.shape for s in stacks] == [(3, 2, 2), (3, 2, 2)]
    crops = restack([[p[: i + 1]] for i, p in enumerate(planes)], None, None, "x", Rows)
    assert type(crops) is Rows
    assert [type(c) for c in crops] == [list, list, list]
    assert type(restack([1.0, 2.0], None, None, "process_slices")) is list  # by default


@pytest.mark.parametrize(
    ("returned", "where"),
    [
        (lambda buf, p: [buf, float(p.mean())], r" \(at result\[0\]\)"),
        (lambda buf, p: {"img": buf}, r" \(at result\['img'\]\)"),
        (lambda buf, p: None if p[0, 0] == 0 else buf, ""),
    ],
    ids=["list", "dict", "none"],
)
def test_one_buffer_returned_in_results_that_are_not_stacked_is_refused(
    returned: Any, where: str
) -> None:
    # The refusal ran only where every result was an array: the buffer in a list beside a
    # number, in a dict, or beside None for other slices held the last slice's values in
    # every entry, without an error.
    stack = np.arange(12.0, dtype=np.float32).reshape(3, 2, 2)
    buf = np.empty((2, 2), np.float32)

    def doubled(p: Any) -> Any:
        np.multiply(p, 2, out=buf)
        return returned(buf, p)

    first = 0 if where else 1  # slice 0 returns None in the third case
    match = rf"^process_slices: fn returned the same array .* slice {first} and slice {first + 1}"
    with pytest.raises(ap.InvalidOptionError, match=match + where + ":"):
        ap.process_slices(stack, doubled)
    sliced = ap.memory_type("numpy", slice_by_slice=True)(doubled)
    with pytest.raises(ap.InvalidOptionError, match=r"^slice_by_slice: fn returned the same"):
        sliced(stack)
    # New arrays per slice come back as before.
    fresh = ap.process_slices(stack, lambda p: returned(p * 2, p))
    assert len(fresh) == 3


@skip_unless_installed(MemoryType.TORCH)
def test_torch_views_of_one_buffer_are_refused_and_views_of_the_stack_are_not() -> None:
    # torch results were compared by object only: a new view of the one buffer written for
    # each slice (out[0], out.view(...)) gave the last slice's values in every plane.
    import torch

    stack = torch.arange(12.0).reshape(3, 2, 2)
    out = torch.empty((1, 2, 2))

    def doubled(p: Any) -> Any:
        torch.mul(p[None], 2, out=out)
        return out[0]

    with pytest.raises(ap.InvalidOptionError, match=r"same array .* slice 0 and slice 1"):
        ap.process_slices(stack, doubled)
    with pytest.raises(ap.InvalidOptionError, match=r"^slice_by_slice: fn returned the same"):
        ap.memory_type("torch", slice_by_slice=True)(doubled)(stack.numpy())
    # An expanded stack's slices are one memory: returned as they are, they are not a
    # buffer of fn's, and are stacked (by process_slices and slice_by_slice).
    expanded = torch.arange(4.0).reshape(1, 2, 2).expand(3, 2, 2)
    got = ap.process_slices(expanded, lambda p: p)
    np.testing.assert_array_equal(got.numpy(), expanded.numpy())
    got = ap.memory_type("torch", slice_by_slice=True)(lambda p: p)(expanded)
    np.testing.assert_array_equal(got.numpy(), expanded.numpy())
    np.testing.assert_array_equal(ap.process_slices(stack, lambda p: p * 2), stack * 2)


# --- audit round 4 ---------------------------------------------------------------------


def test_numpy_scalars_in_results_that_are_not_restacked_come_back_as_returned() -> None:
    # They came back as 0-d arrays (array(17, dtype=uint8)) beside None, which the
    # function never returned; the unsliced call returns np.uint8(17).
    stack = np.arange(18, dtype=np.uint8).reshape(2, 3, 3)

    def bright_max(s: Any) -> Any:
        return s.max() if s.max() > 9 else None

    for got in (
        ap.process_slices(stack, bright_max),
        ap.memory_type("numpy", slice_by_slice=True)(bright_max)(stack),
    ):
        assert got[0] is None
        assert type(got[1]) is np.uint8
        assert got[1] == 17
    # Restacked, they are the 0-d arrays they stand for, as before.
    sums = ap.process_slices(stack, lambda s: s.max())
    assert isinstance(sums, np.ndarray)
    assert sums.tolist() == [8, 17]


def test_a_split_call_gives_back_numpy_scalars_and_0d_arrays_as_the_slices_did() -> None:
    # A piece that stacked its slices' numpy scalars is cut back into numpy scalars, a
    # piece of 0-d arrays into 0-d arrays, when the pieces decided differently.
    from arrayport.testing import inject_oom

    def total(s: Any) -> Any:
        if s[0, 0] < 24:
            return s.sum() if s[0, 0] < 12 else np.asarray(s.sum())
        return None

    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0, min_split=1)
    f = ap.memory_type("numpy", slice_by_slice=True, oom=policy)(total)
    x = np.arange(5 * 3 * 4, dtype=np.float32).reshape(5, 3, 4)
    unsplit = f(x)
    with inject_oom("numpy", times=1):
        split = f(x)
    assert [type(v).__name__ for v in unsplit] == ["float32", "ndarray", "NoneType"] + [
        "NoneType"
    ] * 2
    assert [type(v) for v in split] == [type(v) for v in unsplit]
    assert [None if v is None else float(v) for v in split] == [
        None if v is None else float(v) for v in unsplit
    ]


# --- audit of stacks (finding 3): process_slices' restack refusals ---------------------


@skip_unless_installed(CLE)
def test_results_the_stacks_memory_type_cannot_hold_are_refused_as_process_slices() -> None:
    # The refusal read as a plain convert "from numpy" of an array never passed, naming
    # neither process_slices nor fn nor what to do; every slice has run by then.
    import pyclesperanto as cle

    stack = ap.convert(np.ones((3, 4, 5), np.float32), CLE)

    def as_float64(s: Any) -> Any:
        return cle.pull(s).astype(np.float64)

    def twice(s: Any) -> Any:  # one 3-D result per slice: a 4-D stack
        return cle.pull(s)[None].repeat(2, 0)

    for fn, error in ((as_float64, ap.UnsupportedDtypeError), (twice, ap.ConversionError)):
        with pytest.raises(error) as info:
            ap.process_slices(stack, fn)
        message = str(info.value)
        assert message.startswith(f"process_slices: the results of {fn.__qualname__} (fn) ")
        assert "cannot be restacked as pyclesperanto, the memory type of the stack" in message
        assert "arrayport.convert_dtype(result, 'float32') inside fn" in message
        assert "lambda s: fn(arrayport.convert(s, 'pyclesperanto'))" in message
    # numpy's reductions of a uint8 slice give uint64, which pyclesperanto cannot hold.
    with pytest.raises(ap.UnsupportedDtypeError, match=r"^process_slices: .*uint64") as info:
        ap.process_slices(
            ap.convert(np.ones((3, 4, 5), np.uint8), CLE), lambda s: cle.pull(s).sum()
        )
    assert info.value.dtype == "uint64"  # the original error's class and attributes
    # The remedy it gives works: fn still gets pyclesperanto slices, restacked as numpy.
    got = ap.process_slices(ap.convert(stack, "numpy"), lambda s: twice(ap.convert(s, CLE)))
    assert isinstance(got, np.ndarray)
    assert got.shape == (3, 2, 4, 5)


@skip_unless_installed(MemoryType.JAX)
def test_float64_results_of_a_jax_stack_are_refused_as_process_slices() -> None:
    import jax

    if jax.config.jax_enable_x64:
        pytest.skip("needs jax without 64-bit mode")
    stack = ap.convert(np.ones((3, 4, 5), np.float32), "jax")
    with pytest.raises(
        ap.UnsupportedDtypeError, match=r"^process_slices: the results of .*<lambda> \(fn\)"
    ):
        ap.process_slices(stack, lambda s: np.asarray(s).astype(np.float64))
