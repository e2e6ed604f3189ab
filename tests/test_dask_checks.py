"""_dask_checks: what dispatch on dask input checks at call time, before any block runs."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.errors import InvalidOptionError
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.DASK)


def test_fits_a_block_tries_every_block_shape_with_its_halo() -> None:
    from arrayport._dask_checks import _fits_a_block

    chunks = ((16, 16, 16, 16), (16, 16, 16, 16))
    assert _fits_a_block((16,), chunks, None)  # a row of one block
    assert not _fits_a_block((5, 5), chunks, None)  # a kernel fits no block
    assert not _fits_a_block((18,), chunks, None)
    assert _fits_a_block((18,), chunks, {0: 1, 1: 1})  # a block with its halo on one side
    assert _fits_a_block((20,), chunks, {0: 2, 1: 2})  # ... and on both


def test_whole_args_refused_only_where_a_block_would_decide() -> None:
    import dask.array as da

    from arrayport._dask_checks import check_whole_args

    x = da.zeros((64, 64), chunks=16)
    check_whole_args("f", x, [np.ones((5, 5)), np.ones(64)[None, :1], np.float64(2.0)], None)
    with pytest.raises(InvalidOptionError, match="does against a block"):
        check_whole_args("f", x, [np.ones(16)], None)
    with pytest.raises(InvalidOptionError, match="ambiguous"):
        check_whole_args("f", x, [np.ones(64)], None)
    unknown = x[x[:, 0] > 1]  # rows of unknown number
    with pytest.raises(InvalidOptionError, match="compute_chunk_sizes"):
        check_whole_args("f", unknown, [np.ones((2, 1))], None)


def test_whole_slices_rechunks_only_what_cuts_a_slice() -> None:
    import dask.array as da

    from arrayport._dask_checks import whole_slices

    stack = da.zeros((4, 32, 32), chunks=(1, 32, 32))
    assert whole_slices("f", [stack])[0] is stack
    cut = whole_slices("f", [da.zeros((4, 32, 32), chunks=(2, 8, 16))])[0]
    assert cut.chunks == ((2, 2), (32,), (32,))
    plane = whole_slices("f", [da.zeros((32, 32), chunks=8)])[0]
    assert plane.chunks == ((32,), (32,))
