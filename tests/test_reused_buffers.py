"""Tests of arrayport._reused_buffers: one output buffer returned for several slices is
refused before it is restacked (through process_slices in test_stack.py too)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport._reused_buffers import refuse_reused
from arrayport.errors import InvalidOptionError
from tests.conftest import skip_unless_installed


def test_one_writable_buffer_for_two_slices_is_refused_with_both_named() -> None:
    out = np.zeros(3)
    with pytest.raises(InvalidOptionError, match=r"same array .* for slice 0 and slice 2"):
        refuse_reused([out, np.ones(3), out], "process_slices")
    view = np.zeros(6)
    with pytest.raises(InvalidOptionError, match="slice 0 and slice 1"):
        refuse_reused([view[:3], view[:3]], "slice_by_slice")  # one memory, two objects


def test_new_arrays_read_only_ones_and_non_numbers_pass() -> None:
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    refuse_reused([np.zeros(3), np.zeros(3), frozen, frozen], "process_slices")
    # np.broadcast_arrays' views count as read-only, without numpy's FutureWarning (an
    # error under -W error) from reading flags.writeable.
    import warnings

    view, _ = np.broadcast_arrays(np.arange(3.0), np.zeros((2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refuse_reused([view, view], "slice_by_slice")
    refuse_reused([np.zeros(0), np.zeros(0)], "process_slices")  # no memory to share


def test_views_of_one_torch_buffer_are_refused_and_meta_tensors_pass() -> None:
    # torch was compared by object only, so a new view per slice slipped through.
    torch = pytest.importorskip("torch")
    out = torch.zeros((1, 3))
    with pytest.raises(InvalidOptionError, match="slice 0 and slice 1") as caught:
        refuse_reused([out[0], out[0]], "process_slices")
    # A tensor has no read-only flag to offer: copies are the way out.
    assert "x.clone()" in str(caught.value)
    assert "writeable" not in str(caught.value)
    with pytest.raises(InvalidOptionError, match="slice 0 and slice 1"):
        refuse_reused([out.view(3), out.view(3)], "process_slices")
    refuse_reused([out[0, :1], out[0, 1:]], "process_slices")  # other elements
    with pytest.raises(InvalidOptionError, match="slice 0 and slice 1"):
        refuse_reused([out[0, :2], out[0, 1:]], "process_slices")  # element 1 in both
    # Meta tensors all have data pointer 0; nothing to compare but the objects.
    meta = [torch.empty((2, 2), device="meta") for _ in range(2)]
    refuse_reused(meta, "process_slices")
    # Over the memory of the stack the slices came from: not fn's buffer.
    expanded = torch.ones((1, 3)).expand(2, 3)
    refuse_reused([expanded[0], expanded[1]], "process_slices", (expanded,))
    with pytest.raises(InvalidOptionError):
        refuse_reused([expanded[0], expanded[1]], "process_slices")


def test_buffers_in_results_that_are_not_arrays_are_refused_at_their_place() -> None:
    # Only results that were all arrays were compared.
    from arrayport._reused_buffers import refuse_reused_within

    buf = np.zeros(3)
    with pytest.raises(InvalidOptionError, match=r"slice 1 and slice 2 \(at result\[0\]\)"):
        refuse_reused_within([[np.ones(3)], [buf, 1.0], [buf]], "process_slices")
    with pytest.raises(InvalidOptionError, match=r"slice 0 and slice 1 \(at result\['a'\]\)"):
        refuse_reused_within([{"a": buf}, {"a": buf}], "process_slices")
    with pytest.raises(InvalidOptionError, match=r"slice 1 and slice 3:"):
        refuse_reused_within([None, buf, None, buf], "process_slices")
    # One buffer at two places of one slice, or new arrays: nothing reused across slices.
    refuse_reused_within([[buf, buf], [np.ones(3), 2], None, "x"], "process_slices")


def test_a_writable_plane_given_to_every_slice_and_returned_is_refused_for_torch() -> None:
    # A (1, H, W) argument gives every slice its one plane; the exemption for the input's
    # memory let a function writing into it and returning it through (numpy refused it).
    torch = pytest.importorskip("torch")
    import arrayport as ap

    @ap.memory_type("torch", slice_by_slice=True)
    def doubled(s: Any, scratch: Any) -> Any:
        torch.mul(s, 2, out=scratch)
        return scratch

    stack = torch.arange(48, dtype=torch.float32).reshape(3, 4, 4)
    with pytest.raises(InvalidOptionError, match="same array"):
        doubled(stack, torch.empty(1, 4, 4))
    # An expanded stack's own planes, returned as they are, still pass.
    same = ap.memory_type("torch", slice_by_slice=True)(lambda s: s)
    assert same(stack[:1].expand(3, 4, 4)).shape == (3, 4, 4)


def test_numpy_scalars_in_per_slice_lists_are_not_arrays() -> None:
    from arrayport._reused_buffers import refuse_reused_within

    ids = [[np.int64(i), np.int64(i)] for i in range(3)]
    refuse_reused_within(ids, "process_slices")  # nothing to refuse, nothing raised inside


def test_a_buffer_reused_at_any_depth_is_refused_naming_its_path() -> None:
    # Only one level into each result was compared: [(out, 1)] per slice came back with
    # the last slice's values in every entry (audit round 3, finding 1).
    import arrayport as ap
    from arrayport._reused_buffers import refuse_reused_within

    buf = np.zeros(3)
    with pytest.raises(InvalidOptionError, match=r"slice 0 and slice 1 \(at result\[0\]\[0\]\)"):
        refuse_reused_within([[(buf, 1)], [(buf, 2)]], "process_slices")
    with pytest.raises(InvalidOptionError, match=r"\(at result\['a'\]\['b'\]\)"):
        refuse_reused_within([{"a": {"b": buf}}, {"a": {"b": buf}}], "process_slices")
    with pytest.raises(InvalidOptionError, match=r"\(at result\['a'\]\[0\]\)"):
        refuse_reused_within([{"a": [buf]}, {"a": [buf]}], "process_slices")
    with pytest.raises(InvalidOptionError, match=r"\(at result\[0\]\[0\]\)"):
        refuse_reused_within([[[buf], None], [[buf], None]], "process_slices")
    loop: list[Any] = [np.ones(3)]
    loop.append(loop)  # a list holding itself is walked once
    refuse_reused_within([loop, [[np.ones(3)], None]], "process_slices")

    out = np.empty((2, 2), np.float32)

    def into_out(s: Any) -> Any:
        np.multiply(s, 10, out=out)
        return [(out, 1)]

    x = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    with pytest.raises(InvalidOptionError, match=r"same array.*\(at result\[0\]\[0\]\)"):
        ap.process_slices(x, into_out)
    sliced = ap.memory_type("numpy", slice_by_slice=True)(into_out)
    with pytest.raises(InvalidOptionError, match=r"slice_by_slice.*\(at result\[0\]\[0\]\)"):
        sliced(x)
    # New arrays at every depth pass.
    fresh = ap.process_slices(x, lambda s: {"a": [(s * 10, 1)]})
    assert [r["a"][0][0][0, 0] for r in fresh] == [0.0, 40.0, 80.0]


def test_results_over_a_writable_stride_0_numpy_stack_are_refused() -> None:
    # A version exempting any result over a stride-0 stack let an in-place writer through:
    # `s *= 2; return s` gave every slice the last one's values (8, 8, 8 for 1, 1, 1).
    # An identity function on such a stack is refused too: numpy cannot tell the two.
    import arrayport as ap

    plane = np.ones((2, 2))
    stack = np.lib.stride_tricks.as_strided(plane, (3, 2, 2), (0, *plane.strides))
    assert stack.flags.writeable

    def doubled_in_place(s: Any) -> Any:
        s *= 2
        return s

    with pytest.raises(InvalidOptionError, match="same array"):
        ap.process_slices(stack, doubled_in_place)
    # A writable plane given to every slice, written and returned, is still refused.
    scratch = np.empty((1, 3, 4))

    def doubled(s: Any, buf: Any) -> Any:
        np.multiply(s, 2, out=buf)
        return buf

    with pytest.raises(InvalidOptionError, match="same array"):
        ap.memory_type("numpy", slice_by_slice=True)(doubled)(np.ones((3, 3, 4)), scratch)


# --- audit round 4 ---------------------------------------------------------------------


def _bright_values(out: Any) -> Any:
    def bright_values(s: Any) -> Any:
        v = s[s > 4]
        out[: v.shape[0]] = v
        return [out[: v.shape[0]]]  # a crop of the one buffer, its size the data's

    return bright_values


@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_crops_of_one_buffer_of_data_dependent_sizes_are_refused(framework: str) -> None:
    # Results were told apart by (start, shape, strides): crops of one scratch buffer of
    # other lengths per slice got through, slice 0 holding slice 1's values ([9, 9, 7]
    # for [5, 6, 7]).
    import arrayport as ap

    xp = pytest.importorskip(framework)
    stack = xp.asarray(np.array([[[1, 5], [6, 7]], [[9, 9], [1, 1]]], dtype=np.float32))
    scratch = xp.asarray(np.empty(16, dtype=np.float32))
    fn = _bright_values(scratch)
    match = r"same array \(one buffer, or views of it that share memory\) for slice 0 and slice 1"
    with pytest.raises(InvalidOptionError, match=match + r" \(at result\[0\]\)"):
        ap.process_slices(stack, fn)
    with pytest.raises(InvalidOptionError, match=r"^slice_by_slice: .*" + match):
        ap.memory_type(framework, slice_by_slice=True)(fn)(stack)
    # A new crop per slice comes back as the function made it.
    fresh = ap.process_slices(stack, lambda s: [s[s > 4]])
    assert [np.asarray(r[0]).tolist() for r in fresh] == [[5.0, 6.0, 7.0], [9.0, 9.0]]


def test_overlapping_windows_of_one_buffer_are_refused_and_disjoint_ones_pass() -> None:
    # Windows of one shape at other offsets of a (4, 2) buffer were stacked, each slice
    # holding its successor's first row: [[0, 4], [4, 8], [8, 10]] for [[0, 2], ...].
    import arrayport as ap

    buf = np.empty((4, 2), np.float32)
    calls = iter(range(3))

    def ring(s: Any) -> Any:
        i = next(calls)
        view = buf[i : i + 2]
        view[...] = s
        return view

    stack = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    with pytest.raises(InvalidOptionError, match="for slice 0 and slice 1:"):
        ap.process_slices(stack, ring)
    # Windows that share no element pass, interleaved ones too (their byte ranges
    # overlap, their elements do not).
    wide = np.zeros((2, 6))
    refuse_reused([wide[:, 0:2], wide[:, 2:4], wide[:, 4:6]], "process_slices")
    refuse_reused([wide[:, 0::3], wide[:, 1::3], wide[:, 2::3]], "process_slices")
    with pytest.raises(InvalidOptionError, match="for slice 1 and slice 2:"):
        refuse_reused([np.ones(2), wide[:, 0::2], wide[:, 2::3]], "process_slices")
    # The order of the results does not hide an overlap (they are sorted by address).
    with pytest.raises(InvalidOptionError, match="for slice 0 and slice 2:"):
        refuse_reused([wide[1, 3:], np.ones(3), wide[1, :4]], "process_slices")


@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_views_of_the_stacks_own_slices_pass_whatever_its_layout(framework: str) -> None:
    # The byte ranges of a transposed (Fortran-ordered) stack's slices interleave; their
    # views are not one buffer, and are stacked as they are.
    import arrayport as ap

    xp = pytest.importorskip(framework)
    volume = xp.asarray(np.arange(60, dtype=np.float32).reshape(5, 4, 3))
    stack = volume.permute(2, 1, 0) if framework == "torch" else volume.transpose(2, 1, 0)
    expected = np.asarray(stack)
    got = ap.process_slices(stack, lambda s: s)
    np.testing.assert_array_equal(np.asarray(got), expected)
    got = ap.process_slices(stack, lambda s: s[1:, :2])  # crops of each slice
    np.testing.assert_array_equal(np.asarray(got), expected[:, 1:, :2])
    got = ap.memory_type(framework, slice_by_slice=True)(lambda s: [s[s > 30]])(stack)
    assert [np.asarray(r[0]).tolist() for r in got] == [
        [v for v in expected[i].ravel().tolist() if v > 30] for i in range(3)
    ]
    # The stack's first plane given to every slice, written and returned: refused.
    plane = stack[:1]

    def into_plane(s: Any, p: Any) -> Any:
        p[...] = s
        return p[0]

    with pytest.raises(InvalidOptionError, match="same array"):
        ap.memory_type(framework, slice_by_slice=True)(into_plane)(stack, plane)


def _counting_solver_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from arrayport import _reused_buffers

    calls: list[int] = []
    real = _reused_buffers._shares

    def counted(a: Any, b: Any) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(_reused_buffers, "_shares", counted)
    return calls


def test_views_of_a_transposed_stack_s_own_slices_need_no_overlap_solver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Their byte ranges all overlap: compared pairwise, 3000 slices were millions of
    # solver calls. They are compared by their start instead.
    import arrayport as ap

    calls = _counting_solver_calls(monkeypatch)
    stack = np.zeros((4, 4, 3000), np.uint8).transpose(2, 0, 1)
    assert ap.process_slices(stack, lambda s: s).shape == (3000, 4, 4)
    assert not calls


def test_planes_of_a_channel_last_output_buffer_are_marked_not_compared_pairwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A function writing each slice into its own plane of a buffer it keeps (channel-last):
    # every plane's byte range overlaps every other's, and pairwise comparison took 3 s for
    # 1000 slices (n squared). Large groups are decided by marking each element's owner.
    import arrayport as ap

    calls = _counting_solver_calls(monkeypatch)
    n = 1000
    x = np.arange(n * 64, dtype=np.float32).reshape(n, 8, 8)
    out = np.empty((8, 8, n), np.float32).transpose(2, 0, 1)
    counter = iter(range(n))

    def into(s: Any) -> Any:
        k = next(counter)
        out[k] = s * 2
        return out[k]

    np.testing.assert_array_equal(ap.process_slices(x, into), x * 2)
    assert not calls
    # The marking still refuses two slices sharing a plane, naming them.
    shared = np.empty((8, 8, 40), np.float32).transpose(2, 0, 1)

    again = iter(range(n))

    def into_shared(s: Any) -> Any:
        k = next(again)
        shared[0 if k == 37 else k] = s
        return shared[0 if k == 37 else k]

    with pytest.raises(InvalidOptionError, match="for slice 0 and slice 37"):
        ap.process_slices(x[:40], into_shared)


def test_few_planes_of_a_large_buffer_are_compared_pairwise_not_marked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Marking allocates an owner entry per element of the buffer: 64 planes of 512 x 512
    # took 0.6 s and 160 MiB marked, against 0.03 s for 2,016 solver calls.
    calls = _counting_solver_calls(monkeypatch)
    big = np.zeros((512, 512, 64), np.float32)
    refuse_reused([big[..., i] for i in range(64)], "t")
    assert len(calls) == 64 * 63 // 2


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_reshapes_and_squeezes_of_one_opencl_buffer_are_refused() -> None:
    # pyclesperanto results were compared as objects: reshape and squeeze wrap the same
    # OpenCL buffer in a new object, so a reused (1, h, w) output returned squeezed passed
    # and every slice got the last slice's values.
    import pyclesperanto as cle

    buf = cle.create((1, 4, 5), dtype=np.float32)
    with pytest.raises(InvalidOptionError, match="slice 0 and slice 1") as caught:
        refuse_reused([buf.squeeze(), buf.squeeze()], "process_slices")
    assert "x.copy()" in str(caught.value)
    with pytest.raises(InvalidOptionError, match="slice 1 and slice 2"):
        refuse_reused([cle.create((4, 5)), buf.reshape((4, 5)), buf.reshape((20,))], "f")
    with pytest.raises(InvalidOptionError, match="slice 0 and slice 2"):
        refuse_reused([buf.ravel(), cle.create((1, 4, 5)), buf], "slice_by_slice")
    # Buffers of their own (copies, new arrays of one shape) pass.
    refuse_reused([buf.squeeze(), buf.copy().squeeze(), cle.create((4, 5))], "f")


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_opencl_images_are_compared_as_objects() -> None:
    # An image has no DLPack export to name its buffer by: the object is what is compared.
    import pyclesperanto as cle

    image = cle.create((4, 5), dtype=np.float32, mtype="image")
    with pytest.raises(InvalidOptionError, match="slice 0 and slice 1"):
        refuse_reused([image, image], "process_slices")
    other = cle.create((4, 5), dtype=np.float32, mtype="image")
    refuse_reused([image, other], "process_slices")


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_process_slices_and_slice_by_slice_refuse_a_squeezed_opencl_output_buffer() -> None:
    # The audit's case: every slice came back with the last slice's values, no error.
    import pyclesperanto as cle

    import arrayport as ap

    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    buf = cle.create((1, 4, 5), dtype=np.float32)

    def into_buffer(s: Any) -> Any:
        cle.add_image_and_scalar(s, output_image=buf, scalar=1)
        return buf.squeeze()

    with pytest.raises(InvalidOptionError, match="slice 0 and slice 1"):
        ap.process_slices(cle.push(a), into_buffer)
    with pytest.raises(InvalidOptionError, match="slice 0 and slice 1"):
        ap.memory_type("pyclesperanto", slice_by_slice=True)(into_buffer)(a)

    def fresh(s: Any) -> Any:
        return cle.add_image_and_scalar(s, scalar=1).squeeze()

    out = ap.process_slices(cle.push(a), fresh)
    np.testing.assert_array_equal(np.asarray(ap.convert(out, "numpy")), a + 1)
