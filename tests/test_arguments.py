"""Tests of arrayport._arguments: which arguments of a call are arrays (top level, and one
level down in lists, tuples and namedtuples), in which order, and mapping over them."""

from __future__ import annotations

import collections
import os
import sys
from typing import Any

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport._arguments import (
    CONTAINER,
    CONVERT,
    DASK_INPUT,
    KINDS,
    NO_CONVERSION,
    array_type,
    arrays,
    is_tuple,
    kind_of,
    map_arrays,
    scan,
)
from tests.conftest import skip_unless_installed

Pair = collections.namedtuple("Pair", "a b")


class ListSubclass(list[Any]):
    """Not a container to look into: only list, tuple and namedtuple are."""


def test_types_made_at_run_time_are_not_kept_for_good() -> None:
    # Every argument type stayed in KINDS: a class defined per call (with all it
    # references: 500 such classes holding 2 MiB each kept 1 GB alive) or a namedtuple per
    # call grew the process without bound.
    import gc
    import weakref

    from arrayport._arguments import MAX_TYPES

    first = type("Opts", (), {})
    alive = weakref.ref(first)
    kind_of(first())
    del first
    for _ in range(MAX_TYPES):
        kind_of(type("Opts", (), {})())
    gc.collect()
    assert alive() is None
    assert len(KINDS) <= MAX_TYPES
    assert kind_of(np.zeros(1)) is MemoryType.NUMPY  # worked out again after emptying


def test_kinds_are_classified_once_per_type() -> None:
    a = np.zeros(2)
    assert kind_of(a) is MemoryType.NUMPY
    assert KINDS[np.ndarray] is MemoryType.NUMPY
    assert kind_of([a]) == CONTAINER
    assert kind_of((a,)) == CONTAINER
    assert kind_of(Pair(a, 1)) == CONTAINER
    for not_array in (1, 2.5, "s", None, {"a": a}, np.float64(1.0), ListSubclass([a])):
        assert kind_of(not_array) is None
        assert array_type(not_array) is None
    assert array_type([a]) is None  # a container is not an array
    assert array_type(a) is MemoryType.NUMPY


def test_arrays_in_order_top_level_and_one_level_down() -> None:
    a, b, c, d, e = (np.full(1, i) for i in range(5))
    deep = [[e]]
    found = list(arrays((1, [None, a, (e,)], b, Pair(c, "x"), {"k": e}, deep), {"kw": d, "n": 3}))
    assert [x for x, _ in found] == [a, b, c, d]
    assert {mt for _, mt in found} == {MemoryType.NUMPY}
    assert list(arrays((ListSubclass([a]),), {})) == []


def test_map_arrays_rebuilds_containers_and_passes_everything_else_on() -> None:
    a = np.arange(3.0)
    options = {"k": a}
    deep = [[a]]

    def neg(x: Any) -> Any:
        return -x

    args, kwargs = map_arrays(([a, 1], Pair(a, "b"), (a,), "s"), {"o": options, "d": deep}, neg)
    assert type(args[0]) is list
    np.testing.assert_array_equal(args[0][0], -a)
    assert args[0][1] == 1
    assert type(args[1]) is Pair
    np.testing.assert_array_equal(args[1].a, -a)
    assert args[1].b == "b"
    assert type(args[2]) is tuple
    assert args[3] == "s"
    assert kwargs["o"] is options  # dicts are not looked into
    assert kwargs["d"][0] is deep[0]  # two levels down: passed on as it is
    assert kwargs["d"][0][0] is a


def test_map_arrays_passes_containers_it_changes_nothing_in_as_they_are() -> None:
    a = np.arange(3.0)
    log: list[str] = []  # a function may fill the caller's list: it must get that list
    holder = [a, "x"]
    args, kwargs = map_arrays((log, holder), {"t": (1, a)}, lambda x: x)
    assert args[0] is log
    assert args[1] is holder
    assert kwargs["t"][1] is a
    args, _ = map_arrays((holder,), {}, lambda x: -x)
    assert args[0] is not holder  # rebuilt around the new array ...
    assert holder[0] is a  # ... and the caller's list left as it was


def test_struct_sequences_are_tuples_to_look_into() -> None:
    a = np.arange(2.0)
    size = os.terminal_size((a, "rows"))  # a struct sequence: a tuple with field names
    assert kind_of(size) == CONTAINER
    assert is_tuple(size)
    assert [x for x, _ in arrays((size,), {})] == [a]
    (mapped,), _ = map_arrays((size,), {}, lambda x: -x)
    assert type(mapped) is os.terminal_size
    np.testing.assert_array_equal(mapped.columns, -a)
    assert mapped.lines == "rows"
    # Hidden fields beyond the items (os.stat_result) or no constructor (sys.version_info):
    # not rebuildable from their items, so not looked into.
    assert kind_of(os.stat(".")) is None
    assert kind_of(sys.version_info) is None
    assert not is_tuple([a])


@skip_unless_installed(MemoryType.TORCH)
def test_scan_finds_the_first_array_and_what_the_call_needs() -> None:
    import torch

    t = torch.zeros(2)
    a = np.zeros(2)
    assert scan([1, t], MemoryType.TORCH, False) == (t, MemoryType.TORCH, NO_CONVERSION)
    first, kind, needs = scan(["s", [a, t]], MemoryType.TORCH, False)
    assert (first is a, kind, needs) == (True, MemoryType.NUMPY, CONVERT)
    # Only one level down: an array two levels deep is not seen.
    assert scan([[[a]]], MemoryType.TORCH, False) == (None, None, NO_CONVERSION)


@skip_unless_installed(MemoryType.DASK)
def test_scan_sends_dask_input_to_the_dask_helper() -> None:
    import dask.array as da

    d = da.zeros(4, chunks=2)
    a = np.zeros(2)
    assert scan([a, [d]], MemoryType.NUMPY, False)[2] == DASK_INPUT
    assert scan([d], MemoryType.DASK, False)[2] == NO_CONVERSION


@pytest.mark.parametrize("container", [list, tuple])
def test_scan_and_arrays_agree(container: type) -> None:
    a, b = np.zeros(1), np.ones(1)
    args = (3, container([a, "x"]), b)
    first, _, _ = scan(args, MemoryType.NUMPY, False)
    assert first is next(arrays(args, {}))[0]


@skip_unless_installed(MemoryType.TENSORFLOW)
def test_tensorflow_objects_holding_array_data_are_refused_not_passed_through() -> None:
    import tensorflow as tf

    from arrayport.errors import UnsupportedArrayError

    refused = {
        "Variable": tf.Variable([1.0, 2.0]),
        "RaggedTensor": tf.ragged.constant([[1], [2, 3]]),
        "SparseTensor": tf.sparse.from_dense(tf.constant([[0, 1]])),
    }
    remedies = {
        "Variable": "convert_to_tensor",
        "RaggedTensor": "to_tensor",
        "SparseTensor": "to_dense",
    }
    for name, obj in refused.items():
        for _ in range(2):  # refused every time: never cached as "not an array"
            with pytest.raises(UnsupportedArrayError, match=remedies[name]):
                scan([np.ones(2), obj], MemoryType.NUMPY, False)
    # Other tensorflow objects are arguments like any other.
    assert kind_of(tf.float32) is None
    assert kind_of(tf.constant([1.0])) is MemoryType.TENSORFLOW


@skip_unless_installed(MemoryType.JAX)
def test_jax_float0_gradients_are_refused_not_passed_through() -> None:
    import jax

    from arrayport.errors import UnsupportedArrayError

    zero = jax.grad(lambda x, i: x * 1.0, argnums=(0, 1), allow_int=True)(1.0, 3)[1]
    if type(zero) is np.ndarray:  # older jax (0.4.34): a plain ndarray, refused when moved
        import arrayport as ap

        with pytest.raises(UnsupportedArrayError, match="float0"):
            ap.convert(zero, "numpy", copy=True)
    else:
        with pytest.raises(UnsupportedArrayError, match="float0"):
            kind_of(zero)
    assert kind_of(np.float32(3.0)) is None  # a numpy scalar argument passes through


@skip_unless_installed(MemoryType.DASK)
def test_a_dask_delayed_argument_passes_through_untouched() -> None:
    # Delayed makes up any attribute, "chunks" too: its type was cached as a dask array and
    # every call given one crashed in the dask hand-off (IndexError: list index out of range).
    import dask

    import arrayport as ap
    from arrayport._arguments import classify

    config = dask.delayed({"a": 1})
    assert classify(config) is None
    got = []

    @ap.memory_type("numpy")
    def f(x: Any, cfg: Any = None) -> Any:
        got.append(cfg)
        return x + 1

    np.testing.assert_array_equal(f(np.arange(3), cfg=config), [1, 2, 3])
    np.testing.assert_array_equal(f(np.arange(3), config), [1, 2, 3])
    assert got == [config, config]
