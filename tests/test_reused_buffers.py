"""Tests of arrayport._reused_buffers: one output buffer returned for several slices is
refused before it is restacked (through process_slices in test_stack.py too)."""

from __future__ import annotations

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
