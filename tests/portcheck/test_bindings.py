"""Tests of the scope rules read from the syntax: which names a function binds."""

from __future__ import annotations

import ast
import textwrap

from arrayport.portcheck._bindings import _local_names, _Scope, _target_names


def function(source: str) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda:
    """The first function or lambda in ``source``."""
    tree = ast.parse(textwrap.dedent(source))
    return next(
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    )


def target(source: str) -> ast.expr:
    assign = ast.parse(source).body[0]
    assert isinstance(assign, ast.Assign)
    return assign.targets[0]


def test_target_names_unpack_tuples_lists_and_stars() -> None:
    assert list(_target_names(target("a = 1"))) == ["a"]
    assert list(_target_names(target("a, (b, *c), [d] = x"))) == ["a", "b", "c", "d"]
    # Attributes and subscripts bind no name.
    assert list(_target_names(target("self.a, x[0] = 1, 2"))) == []


def test_parameters_of_every_kind_are_bound() -> None:
    bound, *_ = _local_names(function("def f(a, /, b, *args, c, **kw): pass"))
    assert bound == {"a", "b", "args", "c", "kw"}


def test_every_binding_in_the_body_is_bound_wherever_it_is() -> None:
    bound, *_ = _local_names(
        function(
            """
            def f():
                use(late)
                for i, (j, *k) in x:
                    with open(p) as fh:
                        try:
                            late = 1
                        except E as err:
                            pass
                match v:
                    case [first, *rest]:
                        pass
                    case {"k": 1, **others}:
                        pass
                    case Point(x=named):
                        pass
            """
        )
    )
    expected = {"late", "i", "j", "k", "fh", "err", "first", "rest", "others", "named"}
    assert expected <= bound
    assert not {"use", "x", "open", "p", "E", "v", "Point"} & bound  # only read


def test_nested_scopes_bind_their_own_name_only() -> None:
    bound, *_ = _local_names(
        function(
            """
            def f():
                def inner(a):
                    b = 1
                class C:
                    c = 1
                g = lambda d: (e := d)
                squares = [n * n for n in range(3) if (w := n)]
            """
        )
    )
    # A walrus in a comprehension binds in the function; its loop variable does not.
    assert bound == {"inner", "C", "g", "squares", "w"}


def test_global_nonlocal_and_import_only_names() -> None:
    bound, declared_global, declared_nonlocal, imported = _local_names(
        function(
            """
            def f(np):
                global counter
                nonlocal total
                import numpy as np
                import numpy.linalg, os.path
                from numpy import pi
                pi = 3
                from numpy.fft import fft
                from scipy import sparse as sp
            """
        )
    )
    assert (declared_global, declared_nonlocal) == ({"counter"}, {"total"})
    assert {"np", "numpy", "os", "pi", "fft", "sp"} <= bound
    # np is also a parameter and pi is also assigned; imports of anything but numpy bind
    # like assignments: only numpy and fft are bound by numpy imports alone, each to the
    # numpy name it holds.
    assert imported == {"numpy": "numpy", "fft": "numpy.fft.fft"}


def test_a_lambda_binds_its_parameters_and_walrus_targets() -> None:
    bound, *_ = _local_names(function("f = lambda x, *, y=1: (z := x + y)"))
    assert bound == {"x", "y", "z"}


def test_a_scope_starts_empty() -> None:
    scope = _Scope("function")
    assert scope.kind == "function"
    assert scope.names == {}
    assert scope.declared_global == scope.declared_nonlocal == set()
    assert scope.imported == {}
    assert _Scope("module").names is not scope.names  # each scope has its own tables
