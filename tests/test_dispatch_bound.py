"""Tests of arrayport._dispatch_bound: a dispatched method bound to its instance."""

from __future__ import annotations

import inspect
import pickle
import weakref
from typing import Any

import numpy as np
import pytest

import arrayport as ap


class Ops:
    """A class with dispatched methods (module level: its instances pickle)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    @ap.memory_type("numpy")
    def add(self, a: Any, b: Any = 0) -> Any:
        """Add ``b``, times the gain."""
        return a + b * self.gain

    @classmethod
    @ap.memory_type("numpy")
    def twice(cls, a: Any) -> Any:
        return a * 2


def test_options_of_a_bound_method_keep_the_instance() -> None:
    # ops.add.options(...) lost ops: x became self and y became a ([10, 20], or an
    # AttributeError naming the array).
    ops, x, y = Ops(gain=2.0), np.array([1.0, 2.0]), np.array([10.0, 20.0])
    assert ops.add(x, y).tolist() == [21.0, 42.0]
    declared = ops.add.options(output="declared")
    assert declared(x, y).tolist() == [21.0, 42.0]
    assert declared(x).tolist() == [1.0, 2.0]
    assert declared.contract.output == "declared"
    assert declared.__self__ is ops
    assert ops.add.contract.output == "input"  # the method itself is unchanged
    native = ops.add.options(dtype_conversion=ap.DtypeConversion.NATIVE_OUTPUT)
    assert native(np.arange(3, dtype=np.uint8), 1.5).dtype == np.float64
    assert ops.add(np.arange(3, dtype=np.uint8), 1.5).dtype == np.uint8  # the policy
    # A classmethod binds the class, from the class and from an instance.
    for bound in (Ops.twice, Ops().twice):
        assert bound.options(output="declared")(x).tolist() == [2.0, 4.0]
        assert bound.options(output="declared").__self__ is Ops


def test_a_bound_method_is_what_a_bound_method_is() -> None:
    ops = Ops()
    bound = ops.add
    assert bound.__self__ is ops
    assert bound.__func__ is Ops.__dict__["add"]
    assert bound.__wrapped__ is Ops.__dict__["add"].__wrapped__
    assert (bound.__name__, bound.__qualname__) == ("add", "Ops.add")
    assert bound.__doc__ == "Add ``b``, times the gain."
    # The type's module stays a string (arrayport reads type(x).__module__ of arguments).
    assert type(bound).__module__ == "arrayport._dispatch_bound"
    assert list(inspect.signature(bound).parameters) == ["a", "b"]
    assert bound.contract is Ops.__dict__["add"].contract
    assert bound == ops.add
    assert hash(bound) == hash(ops.add)
    assert bound != Ops().add
    assert bound != bound.options(output="declared")
    assert repr(bound).startswith("<bound method Ops.add of <")
    assert weakref.WeakMethod(bound)() == bound  # rebuilt as type(bound)(func, obj)
    # Pickled as the function bound again: the method, and a variant with its options.
    back = pickle.loads(pickle.dumps(bound))
    assert back.__func__ is Ops.__dict__["add"]
    assert back(np.ones(2), 1).tolist() == [2.0, 2.0]
    variant = pickle.loads(pickle.dumps(bound.options(output="declared")))
    assert variant.contract.output == "declared"
    assert variant(np.ones(2), np.ones(2)).tolist() == [2.0, 2.0]


def test_a_dispatched_classmethod_pickles_bound_to_its_class() -> None:
    # pickle looked Ops.twice up, found it bound (not the function) and refused it, so a
    # spawn pool could not take a dispatched classmethod (audit a20).
    for method in (Ops.twice, Ops(2.0).twice):
        back = pickle.loads(pickle.dumps(method))
        assert back == Ops.twice
        assert back(np.arange(3)).tolist() == [0, 2, 4]
    variant = pickle.loads(pickle.dumps(Ops.twice.options(output="declared")))
    assert variant.contract.output == "declared"
    assert variant(np.arange(3)).tolist() == [0, 2, 4]


def test_a_bound_call_gives_what_the_unbound_call_gives() -> None:
    # The bound call's own fast path (one array after the instance), its general path (more
    # arguments, keywords) and a variant's: the instance each time, the dtype policy after.
    seen: list[Any] = []

    class Probe:
        @ap.memory_type("numpy", dtype_conversion=ap.DtypeConversion.UINT8)
        def scaled(self, a: Any, b: Any = 0.0, *, k: float = 1.0) -> Any:
            seen.append(self)
            return a * k + b

    probe, x = Probe(), np.arange(4.0)
    for args, kwargs in [((x,), {}), ((x, 1.0), {}), ((x,), {"k": 2.0})]:
        got, want = probe.scaled(*args, **kwargs), Probe.scaled(probe, *args, **kwargs)
        assert got.dtype == want.dtype == np.uint8
        np.testing.assert_array_equal(got, want)
    assert probe.scaled.options(output="declared")(x, k=3.0).tolist() == [0, 3, 6, 9]
    assert len(seen) == 7
    assert all(s is probe for s in seen)


def test_a_bound_method_passed_as_an_argument_is_an_ordinary_argument() -> None:
    # A __module__ property made type(obj.method).__module__ a property object: scanning
    # the arguments (and convert) failed with AttributeError.
    ops, x = Ops(gain=3.0), np.arange(3.0)

    @ap.memory_type("numpy")
    def apply(a: Any, f: Any) -> Any:
        return f(a, 1.0)

    assert apply(x, ops.add).tolist() == [3.0, 4.0, 5.0]
    with pytest.raises(ap.UnsupportedArrayError):
        ap.convert(ops.add, "numpy")
    assert pickle.loads(pickle.dumps(type(ops.add))) is type(ops.add)
