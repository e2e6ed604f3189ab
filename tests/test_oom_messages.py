"""Tests of arrayport._oom_messages: what OOMPolicy says when it gives up, and when a
split's results cannot be joined. The paths that lead there are tested in
test_oom_recovery.py and test_split.py."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from arrayport import MemoryType, OOMPolicy, OutOfMemoryError
from arrayport._oom_messages import gave_up, name, unjoinable
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
