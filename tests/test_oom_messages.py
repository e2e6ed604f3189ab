"""Tests of arrayport._oom_messages: what OOMPolicy says when it gives up, and when a
split's results cannot be joined. The paths that lead there are tested in
test_oom_recovery.py and test_split.py."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from arrayport import MemoryType, OOMPolicy, OutOfMemoryError
from arrayport._oom_messages import gave_up, name, piece_note, unjoinable
from arrayport._oom_recognition import Site
from arrayport._oom_recovery import Execution
from arrayport.devices import CPU
from arrayport.testing import inject_oom


def _fn(x: np.ndarray) -> np.ndarray:
    return x


def test_name_prefers_the_qualified_name_and_copes_without_one() -> None:
    assert name(_fn) == "_fn"
    assert name(functools.partial(_fn)).startswith("functools.partial(")


def test_unjoinable_names_the_call_the_reason_and_what_to_do() -> None:
    text = unjoinable("the pieces differ", 1, _fn)
    assert text.startswith("OOMPolicy(split_axis=1) split the call of _fn after running out")
    assert "cannot join the pieces' results: the pieces differ." in text
    assert "declare split_axis on an axis the function maps row by row" in text
    assert "split_axis=None" in text


def test_gave_up_says_what_was_tried_and_only_remedies_not_tried() -> None:
    execution = Execution(OOMPolicy(retries=1, split_axis=0, min_split=2), _fn, attempts=3)
    execution.split_used = True
    execution.notes.append("the pieces that fitted all had 2 rows along axis 0")
    execution.unchecked = True
    last = MemoryError("Unable to allocate 1.00 KiB for an array with shape (1024,)")
    execution.last_type, execution.last_device = MemoryType.NUMPY, CPU
    error = gave_up(execution, Site(MemoryType.NUMPY, CPU), last)
    assert isinstance(error, OutOfMemoryError)
    assert (error.memory_type, error.device, error.attempts) == (MemoryType.NUMPY, CPU, 3)
    text = str(error)
    assert text.startswith("numpy ran out of memory on cpu in _fn")
    assert "3 attempts, releasing cached memory between them, splitting along axis 0" in text
    assert "Try OOMPolicy(min_split=1) rather than 2" in text
    assert "split_axis=..." not in text  # declared already
    assert "fallback='numpy'" not in text  # on the host: no help


def test_gave_up_without_a_split_offers_one() -> None:
    with inject_oom("numpy", times=1), pytest.raises(OutOfMemoryError) as info:
        OOMPolicy(retries=0, release=False).run(_fn, np.ones(3))
    assert "Try OOMPolicy(split_axis=...) if the function works slice by slice" in str(info.value)
    assert "min_split" not in str(info.value)


def test_gave_up_says_why_a_declared_split_was_dropped() -> None:
    # A slice_by_slice call that is not sliced keeps no split; the error suggested the
    # split_axis the policy declared.
    from arrayport._slicing import sliced_policy

    policy = sliced_policy(OOMPolicy(retries=0, split_axis=0), (np.ones((2, 2)),), {})
    execution = Execution(policy, _fn, attempts=1)
    last = MemoryError("Unable to allocate 1.00 KiB for an array with shape (1024,)")
    execution.last_type, execution.last_device = MemoryType.NUMPY, CPU
    text = str(gave_up(execution, Site(MemoryType.NUMPY, CPU), last))
    assert "gave up after 1 attempt, no split (the declared split_axis=0 was not used: " in text
    assert "the first array argument is 2-D" in text
    assert "split_axis=..." not in text


def test_dask_block_names_the_block_and_the_remedy_each_block_rule_has() -> None:
    # A block's final OutOfMemoryError named the function only (the key was in the
    # worker's log), and its remedies left out dask's own: smaller blocks.
    from arrayport._oom_messages import dask_block
    from arrayport.dispatch import FunctionContract

    def contract(**rule: object) -> FunctionContract:
        return FunctionContract(MemoryType.NUMPY, **rule)  # type: ignore[arg-type, unused-ignore]

    split = dask_block("f", contract(blockwise=True), (2, 0), (64, 32))
    assert split.startswith("arrayport: f ran out of memory on the dask block at index (2, 0)")
    assert "(shape (64, 32))" in split
    assert "rechunk the dask input (x.rechunk(...))" in split
    stack = dask_block("f", contract(slice_by_slice=True), (1, 0, 0), (4, 64, 64))
    assert "fewer slices per block" in stack
    assert "x.rechunk({0: 1})" in stack
    # A block of one slice cannot have fewer: the note said x.rechunk({0: 1}) there too.
    single = dask_block("f", contract(slice_by_slice=True), (3, 0, 0), (1, 64, 64))
    assert "that block holds one whole slice, the least slice_by_slice runs on" in single
    assert "give the workers more memory" in single
    assert "rechunk" not in single
    plane = dask_block("f", contract(slice_by_slice=True), (0, 0), (64, 64))
    assert "slices a 3-D stack only, so that block is the whole array" in plane
    whole = dask_block("f", contract(whole_array=True), None, (64, 64))
    assert "dask block (shape (64, 64))" in whole  # no index: none was given
    assert "whole_array=True that block is the whole array: declare depth=" in whole


def test_piece_note_names_the_arrays_cut() -> None:
    # The note named only the arrays passed whole: a (256,) table cut with the columns of
    # a (4, 256) image went unmentioned beside numpy's IndexError on its half.
    def gradient(x: np.ndarray, w: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.gradient(x * w, axis=0) + k.sum()  # needs 2 rows

    x, w, k = np.ones((3, 3)), np.ones((3, 1)), np.ones(2)
    with inject_oom("numpy", times=1), pytest.raises(ValueError, match="too small") as info:
        OOMPolicy(retries=0, split_axis=0, release=False).run(gradient, x, w, k)
    (note,) = info.value.__notes__
    assert note.startswith("arrayport: raised on a piece of 1 row along axis 0")
    assert "after it ran out of memory, cutting the arrays of shape (3, 3), (3, 1);" in note
    assert "passed whole to every piece: the array of shape (2,)" in note
    # Without the split's Cut: the note names no cut arrays.
    assert piece_note(_fn, 2, 0, []) == (
        "arrayport: raised on a piece of 2 rows along axis 0: OOMPolicy(split_axis=0) split "
        "the call of _fn after it ran out of memory"
    )


def test_why_a_call_is_not_split_names_the_arrays_and_the_remedy() -> None:
    from arrayport._oom_messages import lines_up, not_first, origin

    table = lines_up(1, (5,), 0, (2, 3, 5), -1, 5)
    assert table.startswith("could not split: array argument 2, of shape (5,), has fewer ")
    assert "than array argument 1, of shape (2, 3, 5), which sets the split" in table
    assert "Give it the shape (1, 1, 5) if it runs along the axis" in table
    assert "another length than 5, or with another split_axis" in table
    both = origin(0, (3,), 0, [(1, (8, 5)), (2, (8, 5, 2))])
    assert (
        "array argument 2, of shape (8, 5), and array argument 3, of shape (8, 5, 2), were" in both
    )
    stack = not_first(0, (1, 4, 4), 1, (2, 4, 4), 0, sliced=True)
    assert stack == (
        "could not split: the stack of this slice_by_slice call, array argument 1, of shape "
        "(1, 4, 4), has 1 slice"
    )
