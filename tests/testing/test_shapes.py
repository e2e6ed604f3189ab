"""arrayport.testing._shapes: the shapes arrays() is given, checked and refused where the
memory type cannot hold them."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrayport import InvalidOptionError, MemoryType
from arrayport.testing import as_numpy
from arrayport.testing._shapes import CLE_MAX_DIMS, check_held_shape, fixed_shape
from arrayport.testing.strategies import arrays, shapes_for
from tests.conftest import skip_unless_installed


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


# --- shapes drawn by a strategy, and shapes_for's limits (an audit of the kit, round 5) ---


def _draws(strategy: Any, n: int = 8) -> list[Any]:
    got: list[Any] = []

    @settings(max_examples=n, database=None, deadline=None)
    @given(x=strategy)
    def draw(x: Any) -> None:
        got.append(x)

    draw()
    return got


@pytest.mark.parametrize(
    ("shape", "sizes"),
    [
        (st.integers(1, 4), {(1,), (2,), (3,), (4,)}),
        (st.just(np.int64(3)), {(3,)}),
    ],
    ids=["integers", "numpy int"],
)
def test_a_shape_strategy_may_draw_one_size(shape: Any, sizes: set[tuple[int, ...]]) -> None:
    # A strategy drawing an int crashed with TypeError: 'int' object is not iterable,
    # where a fixed int (and hypothesis' own arrays) makes it a 1-D shape.
    drawn = _draws(arrays("numpy", dtype="float32", shape=shape, layout=()))
    assert {x.shape for x in drawn} <= sizes
    assert drawn


@pytest.mark.parametrize("bad", [None, -2, np.int64(-1), 2.5, True], ids=repr)
def test_a_drawn_value_that_is_no_shape_is_an_invalid_option(bad: Any) -> None:
    # Was a bare TypeError from inside the draw.
    with pytest.raises(InvalidOptionError, match=r"sizes must be ints >= 0"):
        _draws(arrays("numpy", dtype="float32", shape=st.just(bad)), n=1)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_a_drawn_int_is_checked_against_what_pyclesperanto_holds() -> None:
    x = _draws(arrays("pyclesperanto", dtype="float32", shape=st.just(3)), n=1)[0]
    assert as_numpy(x).shape == (3,)
    with pytest.raises(InvalidOptionError, match="pyclesperanto holds 1- to 3-D arrays"):
        _draws(arrays("pyclesperanto", dtype="float32", shape=st.just(0)), n=1)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"max_dims": 5}, "max_dims from 1 to 3 and max_side >= 1"),
        ({"max_dims": 0}, "max_dims from 1 to 3 and max_side >= 1"),
        ({"max_side": 0}, "max_dims from 1 to 3 and max_side >= 1"),
    ],
    ids=repr,
)
def test_shapes_for_refuses_shapes_pyclesperanto_cannot_hold_when_built(
    options: dict[str, Any], said: str
) -> None:
    # Built fine; then every draw failed (arrays: "not shape (1, 1, 1, 1)") or hypothesis
    # raised InvalidArgument ("min_side=1 is larger than max_side=0").
    with pytest.raises(
        InvalidOptionError,
        match=r"^shapes_for\('pyclesperanto', .*\): pyclesperanto holds 1- to 3-D arrays"
        rf" with no empty axis; give {re.escape(said)}$",
    ):
        shapes_for("pyclesperanto", **options)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"max_dims": -1}, "max_dims takes an int >= 0, not -1"),
        ({"max_side": 2.5}, "max_side takes an int >= 0, not 2.5"),
        ({"max_dims": True}, "max_dims takes an int >= 0, not True"),
        ({"max_dims": 33}, "max_dims=33"),  # hypothesis draws at most 32 dimensions
    ],
    ids=repr,
)
def test_shapes_for_refuses_what_is_no_limit_when_built(options: dict[str, Any], said: str) -> None:
    with pytest.raises(InvalidOptionError, match=r"^shapes_for\('numpy', .*" + re.escape(said)):
        shapes_for("numpy", **options)


def test_shapes_for_takes_the_limits_a_memory_type_holds() -> None:
    # A numpy integer limit was hypothesis' InvalidArgument in the first draw.
    assert all(len(s) <= 5 for s in _draws(shapes_for("numpy", max_dims=np.int64(5))))
    assert all(s == () for s in _draws(shapes_for("numpy", max_dims=0)))
    assert all(0 not in s and len(s) <= 2 for s in _draws(shapes_for("pyclesperanto", max_dims=2)))


def test_the_shapes_for_that_the_refusal_names_is_importable_from_the_kit() -> None:
    # The refusal said "draw shapes it holds with shapes_for('pyclesperanto')", which
    # arrayport.testing did not export (AttributeError): only .strategies had it.
    import arrayport.testing as kit

    with pytest.raises(InvalidOptionError) as info:
        check_held_shape(MemoryType.PYCLESPERANTO, (2, 2, 2, 2), (2, 2, 2, 2))
    said = re.search(r"draw shapes it holds with (shapes_for\('pyclesperanto'\))$", str(info.value))
    assert said is not None, str(info.value)
    assert "shapes_for" in kit.__all__
    strategy = eval(said.group(1), {"shapes_for": kit.shapes_for})  # noqa: S307
    assert kit.shapes_for is shapes_for

    @settings(max_examples=20, database=None, deadline=None)
    @given(strategy)
    def held(shape: tuple[int, ...]) -> None:
        check_held_shape(MemoryType.PYCLESPERANTO, shape, shape)  # never refused

    held()
