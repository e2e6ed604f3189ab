"""backends/_cle_stack (2-D planes stacked in one pyclesperanto buffer, on PoCL here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.backends import _cle_stack
from arrayport.backends._cle_transfer import oversize_error
from arrayport.errors import OutOfMemoryError
from tests.conftest import forbid_pyclesperanto_joins, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.PYCLESPERANTO)

# int32 values a float32 kernel changes (2**31 - 1 comes back as -2**31, 2**24 + 1 as 2**24).
PLANES = np.array([[[2**31 - 1, 2**24 + 1]], [[2**24 + 3, -(2**31)]], [[5, 2**30 + 1]]], np.int32)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import pyclesperanto as backend

    backend.load()
    return backend


def test_checks_the_size_then_allocates_once_then_copies_each_plane_once(
    be, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyclesperanto as cle

    forbid_pyclesperanto_joins(monkeypatch)  # nor cle.copy_slice's float32 kernel
    events: list[tuple[Any, ...]] = []
    like = cle.push(PLANES[1])
    device = be.device_of(like)

    def check_size(nbytes: int, dtype: np.dtype[Any], dev: Any) -> None:
        events.append(("check", nbytes, dtype.name, dev))

    def create(*args: Any, **kwargs: Any) -> Any:
        events.append(("create", args[0]))
        return cle.create(*args, **kwargs)

    def planes() -> Iterator[Any]:
        for i, plane in enumerate([PLANES[0], like, PLANES[2]]):  # host, device, host
            events.append(("plane", i))
            yield plane

    out = _cle_stack.stack_planes(planes(), like, 3, device, create, check_size)
    assert events == [
        ("check", 3 * 2 * 4, "int32", device),
        ("create", (3, 1, 2)),
        ("plane", 0),
        ("plane", 1),
        ("plane", 2),
    ]
    assert np.dtype(out.dtype) == "int32"
    assert be.to_numpy(out).tolist() == PLANES.tolist()


def test_an_oversized_stack_is_refused_before_allocating_or_reading_a_plane(be) -> None:
    import pyclesperanto as cle

    like = cle.push(PLANES[0])
    device = be.device_of(like)

    def too_big(nbytes: int, dtype: np.dtype[Any], dev: Any) -> None:
        raise oversize_error(nbytes, dtype.name, nbytes - 1, MemoryType.PYCLESPERANTO, dev)

    def planes() -> Iterator[Any]:
        pytest.fail("a plane was read before the size check")
        yield like

    with pytest.raises(OutOfMemoryError, match="24 bytes of int32"):
        _cle_stack.stack_planes(planes(), like, 3, device, pytest.fail, too_big)
