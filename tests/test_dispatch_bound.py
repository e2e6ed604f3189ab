"""Tests of arrayport._dispatch_bound: a dispatched method bound to its instance."""

from __future__ import annotations

import inspect
import pickle
import sys
import warnings
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


def blend(cls: Any, a: Any, b: Any = None) -> Any:
    """The mean of ``a`` and ``b`` (``a`` alone without it), times the class's ``k``: with
    the class lost, ``x`` is taken as ``cls`` and ``y`` as ``a``, a plain wrong answer."""
    return (a if b is None else (a + b) / 2) * cls.k


def negate(a: Any) -> Any:
    return -a


class Scaled:
    """A dispatched classmethod in each order (module level: they pickle)."""

    k = 1.0

    @ap.memory_type("numpy")
    @classmethod
    def above(cls, a: Any, b: Any = None) -> Any:
        return blend(cls, a, b)

    @classmethod
    @ap.memory_type("numpy")
    def below(cls, a: Any, b: Any = None) -> Any:
        return blend(cls, a, b)

    declared = above.options(output="declared")  # a variant made in the class body


class Doubled(Scaled):
    k = 2.0


X, Y = np.array([0.0, 10.0]), np.array([2.0, 2.0])


def test_above_classmethod_it_binds_the_class_it_is_read_from() -> None:
    # memory_type above @classmethod was refused, and below it, 3.13's classmethod gave
    # Python's own bound method: Cls.method.options(...) lost the class and x became cls.
    function = Scaled.__dict__["above"]
    assert isinstance(function, ap.dispatch.DispatchedFunction)
    for owner, cls in [
        (Scaled, Scaled),
        (Scaled(), Scaled),
        (Doubled, Doubled),
        (Doubled(), Doubled),
    ]:
        want = [1.0 * cls.k, 6.0 * cls.k]
        method = owner.above
        assert (method.__self__, method.__func__) == (cls, function)
        assert method(X, Y).tolist() == want
        assert method(X).tolist() == [0.0, 10.0 * cls.k]
        assert list(inspect.signature(method).parameters) == ["a", "b"]
        assert repr(method).startswith(
            f"<bound method Scaled.above of <class '{__name__}.{cls.__name__}'>"
        )
        variant = method.options(output="declared")
        assert (variant.__self__, variant.contract.output) == (cls, "declared")
        assert variant(X, Y).tolist() == want
        assert owner.declared.__self__ is cls
        assert owner.declared(X, Y).tolist() == want
        for made in (method, variant, owner.declared):  # pickled: bound to the class again
            back = pickle.loads(pickle.dumps(made))
            assert back.__self__ is cls
            assert back.contract == made.contract
            assert back(X, Y).tolist() == want
    assert pickle.loads(pickle.dumps(function)) is function


def test_a_static_or_class_methods_function_pickled_by_value_keeps_its_kind() -> None:
    # Not found by its name (decorated by a call): by value it became a plain method's
    # function, which a class then bound to its instance, or did not bind to the class.
    by_class = pickle.loads(pickle.dumps(ap.memory_type("numpy")(classmethod(blend))))
    by_static = pickle.loads(pickle.dumps(ap.memory_type("numpy")(staticmethod(negate))))
    holder = type("Holder", (), {"k": 2.0, "mean": by_class, "neg": by_static})
    for owner in (holder, holder()):
        assert owner.mean(X, Y).tolist() == [2.0, 12.0]
        assert owner.mean.__self__ is holder
        assert owner.neg(X).tolist() == [-0.0, -10.0]


def test_above_classmethod_a_class_defined_in_a_function_is_bound_too() -> None:
    # Also decorated twice (the outer contract around the inner), and from a subclass.
    def make() -> tuple[type, type]:
        class Local:
            k = 1.0
            once = ap.memory_type("numpy")(classmethod(blend))
            twice = ap.memory_type("numpy", output="declared")(once)

        class Sub(Local):
            k = 3.0

        return Local, Sub

    for cls in make():
        want = [1.0 * cls.k, 6.0 * cls.k]
        for owner in (cls, cls()):
            for name in ("once", "twice"):
                method = getattr(owner, name)
                assert method.__self__ is cls
                assert method(X, Y).tolist() == want
                assert method.options(output="declared")(X, Y).tolist() == want
                assert method.options(output="declared").__self__ is cls


def test_below_classmethod_options_bind_the_defining_class_on_every_python() -> None:
    # On 3.13 Scaled.below.options(...) gave an unbound variant: (x, y) became (cls, a),
    # [2, 2] instead of [1, 6], no error.
    for owner in (Scaled, Scaled()):
        variant = owner.below.options(output="declared")
        assert variant.__self__ is Scaled
        assert variant(X, Y).tolist() == [1.0, 6.0]
        assert pickle.loads(pickle.dumps(variant))(X, Y).tolist() == [1.0, 6.0]
    # Documented limits of that order on 3.13+ (docs/concepts.md): Python hands no class,
    # so the one that defines the classmethod is bound, never a subclass, and one defined
    # in a function is not found (its variant is unbound: pass the class).
    plain = sys.version_info >= (3, 13)
    sub = Doubled.below.options(output="declared")
    assert sub.__self__ is (Scaled if plain else Doubled)
    assert sub(X, Y).tolist() == ([1.0, 6.0] if plain else [2.0, 12.0])

    def make() -> type:
        class Local:
            k = 1.0
            below = classmethod(ap.memory_type("numpy")(blend))

        return Local

    local = make()
    variant = local.below.options(output="declared")
    if plain:
        assert isinstance(variant, ap.dispatch.DispatchedFunction)
        assert variant(local, X, Y).tolist() == [1.0, 6.0]
    else:
        assert variant(X, Y).tolist() == [1.0, 6.0]


def test_a_bound_method_kept_on_a_class_is_not_bound_again() -> None:
    # BoundDispatched is a functools.partial: on 3.13 reading one stored as a class
    # attribute warned (FutureWarning) that it would bind, and 3.14 binds it: the instance
    # it was read from became the first argument.
    ops = Ops(gain=2.0)

    class Pipeline:
        step = ops.add

    pipeline = Pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pipeline.step is Pipeline.__dict__["step"]
        assert pipeline.step(np.array([1.0, 2.0]), 1.0).tolist() == [3.0, 4.0]
    assert ops.add.__get__(pipeline, Pipeline) == ops.add
    assert ops.add.__get__(pipeline, Pipeline).__self__ is ops


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
