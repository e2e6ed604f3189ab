"""_stack_host: a slice_by_slice call whose stack its function's memory type cannot hold
(pyclesperanto, 3-D per slice) kept on the host for placement (audit round 3, finding 3)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from tests.conftest import skip_unless_installed

CLE = MemoryType.PYCLESPERANTO


@skip_unless_installed(CLE)
def test_a_pyclesperanto_function_returning_3d_per_slice_is_placed_from_the_host() -> None:
    import pyclesperanto as cle

    def doubled(s: Any) -> Any:
        return cle.push(np.stack([cle.pull(s)] * 2))

    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    expected = np.stack([np.stack([s, s]) for s in x])
    for output in ("numpy", "input"):
        got = ap.memory_type("pyclesperanto", slice_by_slice=True, output=output)(doubled)(x)
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, expected)
    # output="declared" promises a pyclesperanto array, which cannot be 4-D: refused by
    # name, with the remedy (it was a ConversionError naming neither).
    declared = ap.memory_type("pyclesperanto", slice_by_slice=True, output="declared")(doubled)
    with pytest.raises(ap.InvalidOptionError, match=r"slice_by_slice.*output='numpy'"):
        declared(x)
    # Results its memory type holds are restacked there as before.
    same = ap.memory_type("pyclesperanto", slice_by_slice=True, output="declared")(
        lambda s: cle.add_image_and_scalar(s, scalar=1)
    )
    assert ap.detect_memory_type(same(x)) is CLE


@skip_unless_installed(CLE)
def test_a_pyclesperanto_caller_is_told_output_numpy_where_its_stack_cannot_go_back() -> None:
    import pyclesperanto as cle

    def doubled(s: Any) -> Any:
        return cle.push(np.stack([cle.pull(s)] * 2))

    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    sliced = ap.memory_type("pyclesperanto", slice_by_slice=True)(doubled)
    # A pyclesperanto caller's output="input" cannot take the 4-D stack back: the hint names
    # the option that works (it named output='declared', which refuses it in turn).
    with pytest.raises(ap.ConversionError, match=r"not 4-D; .*\(output='numpy' returns") as info:
        sliced(cle.push(x))
    assert "declared" not in str(info.value)
    got = sliced.options(output="numpy")(cle.push(x))
    np.testing.assert_array_equal(got, np.stack([np.stack([s, s]) for s in x]))


def test_refuse_declared_refuses_only_stacks_kept_on_the_host() -> None:
    from arrayport._stack_host import refuse_declared

    refuse_declared(np.zeros((2, 2, 3, 4)))  # a numpy stack the function made: passed
    refuse_declared((np.zeros(2), None))


@skip_unless_installed(CLE)
def test_a_split_sliced_call_keeps_the_joined_host_stack_and_refuses_it_when_declared() -> None:
    import pyclesperanto as cle

    from arrayport.testing import inject_oom

    def doubled(s: Any) -> Any:
        return cle.push(np.stack([cle.pull(s)] * 2))

    x = np.arange(48, dtype=np.float32).reshape(4, 3, 4)
    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0)
    to_numpy = ap.memory_type("pyclesperanto", slice_by_slice=True, output="numpy", oom=policy)
    with inject_oom("pyclesperanto", times=1):
        got = to_numpy(doubled)(x)
    np.testing.assert_array_equal(got, np.stack([np.stack([s, s]) for s in x]))
    declared = to_numpy(doubled).options(output="declared")
    with inject_oom("pyclesperanto", times=1), pytest.raises(ap.InvalidOptionError):
        declared(x)


@skip_unless_installed(CLE)
def test_a_split_calls_kept_stack_is_described_by_the_whole_stacks_shape() -> None:
    # The joined stack was remembered with its first piece's words: "their stack of shape
    # (1, 2, 3, 4)" for a (4, 2, 3, 4) stack (audit round 4, finding 3).
    import pyclesperanto as cle

    from arrayport.testing import inject_oom

    def doubled(s: Any) -> Any:
        return cle.push(np.stack([cle.pull(s)] * 2))

    x = np.arange(48, dtype=np.float32).reshape(4, 3, 4)
    policy = ap.OOMPolicy(retries=0, release=False, split_axis=0, min_split=1)
    declared = ap.memory_type("pyclesperanto", slice_by_slice=True, output="declared", oom=policy)(
        doubled
    )
    with inject_oom("pyclesperanto", times=1), pytest.raises(ap.InvalidOptionError) as info:
        declared(x)
    assert "their stack of shape (4, 2, 3, 4) cannot be" in str(info.value)
    assert "shape (2, 3, 4) per slice" in str(info.value)
