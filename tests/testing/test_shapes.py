"""arrayport.testing._shapes: the shapes arrays() is given, checked and refused where the
memory type cannot hold them."""

from __future__ import annotations

import re

import numpy as np
import pytest

from arrayport import InvalidOptionError, MemoryType
from arrayport.testing._shapes import CLE_MAX_DIMS, check_held_shape, fixed_shape


def test_fixed_shapes_become_python_ints() -> None:
    assert fixed_shape(np.int64(3)) == (3,)
    assert fixed_shape([np.int32(2), 3]) == (2, 3)
    assert all(type(n) is int for n in fixed_shape(np.array([2, 1])))
    for bad in (-1, (2, 1.5), True, "ab"):
        with pytest.raises(InvalidOptionError, match="sizes must be ints >= 0"):
            fixed_shape(bad)


def test_held_shapes() -> None:
    assert CLE_MAX_DIMS == 3
    for shape in [(1,), (2, 3), (4, 1, 5)]:
        check_held_shape(MemoryType.PYCLESPERANTO, shape, shape)
    for shape in [(), (0,), (2, 0, 2), (1, 1, 1, 1)]:
        said = "arrays('pyclesperanto', shape='given'): pyclesperanto holds 1- to 3-D arrays"
        with pytest.raises(
            InvalidOptionError, match=f"^{re.escape(said)} .* not shape {re.escape(repr(shape))};"
        ):
            check_held_shape(MemoryType.PYCLESPERANTO, shape, "given")
    for mt in (MemoryType.NUMPY, MemoryType.TORCH, MemoryType.DASK):
        check_held_shape(mt, (), ())
        check_held_shape(mt, (0, 1, 2, 3, 4), ())
