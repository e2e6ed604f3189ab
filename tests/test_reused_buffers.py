"""Tests of arrayport._reused_buffers: one output buffer returned for several slices is
refused before it is restacked (through process_slices in test_stack.py too)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arrayport._reused_buffers import refuse_reused
from arrayport.errors import InvalidOptionError


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
    refuse_reused([out[0, :2], out[0, 1:]], "process_slices")  # other elements
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
