"""Tests of the scope rules read from the syntax: which names a function binds."""

from __future__ import annotations

import ast
import textwrap

from arrayport.portcheck import check_source
from arrayport.portcheck._arguments import numpy_attribute
from arrayport.portcheck._bindings import _local_names, _Scope, _target_names, star_aliases


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


def test_a_star_import_is_hidden_only_by_names_the_module_scope_binds() -> None:
    # A method named transpose or a comprehension variable named amax hid the numpy name
    # for the whole module: y = transpose(a) and z = amax(a) went unreported.
    tree = ast.parse(
        textwrap.dedent(
            """
            from numpy import *
            class Image:
                def transpose(self):
                    copy = 1
                    return self
                pad = 2
            def f():
                global stack
                stack = None
                mean = 3
            n = sum(1 for amax in range(3))
            m = [(ptp := v) for v in range(3)]
            g = lambda diff=(vstack := 1): diff
            @decorate(kron := 1)
            def h(outer=(inner := 1)):
                pass
            try:
                pass
            except ValueError as cumsum:
                pass
            """
        )
    )
    aliases = star_aliases(tree, numpy_attribute)
    assert {"transpose", "copy", "pad", "mean", "amax", "diff"} <= set(aliases)
    # Bound in the module scope: a global of a function, walrus targets (a comprehension's
    # too), the defs and classes, an except clause's name.
    bound = {"stack", "ptp", "vstack", "kron", "inner", "cumsum", "h", "f", "g", "n", "m"}
    assert not bound & set(aliases)
    source = "from numpy import *\nclass Image:\n    def transpose(self): ...\n"
    source += "y = transpose(a)\nn = sum(1 for amax in range(3))\nz = amax(a)\n"
    found = [(f.line, f.name) for f in check_source(source)]
    assert found == [(1, "from numpy import *"), (4, "numpy.transpose"), (6, "numpy.amax")]


def test_an_import_of_numpy_in_an_except_clause_is_the_functions_fallback() -> None:
    # try: import cupy as xp / except ImportError: import numpy as xp was followed at
    # module level but not in a function: xp.concatenate there went unreported.
    bound, _, _, imported = _local_names(
        function(
            """
            def f(a, b):
                try:
                    import cupy as xp
                except ImportError:
                    import numpy as xp
                try:
                    import numpy as np
                except ImportError:
                    np = None
                return xp.concatenate([a, b])
            """
        )
    )
    assert {"xp", "np"} <= bound
    assert imported == {"xp": "numpy"}  # np = None in the except clause: not numpy alone
    body = "try:\n    import cupy as xp\nexcept ImportError:\n    import numpy as xp\n"
    body += "y = xp.concatenate([a, b])\n"
    function_source = "def f(a, b):\n" + textwrap.indent(body, "    ") + "    return y\n"
    assert [(f.line, f.name) for f in check_source(body)] == [(5, "numpy.concatenate")]
    assert [(f.line, f.name) for f in check_source(function_source)] == [(6, "numpy.concatenate")]
    # Rebound after the fallback: no longer numpy from there on.
    rebound = function_source.replace("    return y\n", "    xp = other\n    xp.concatenate(c)\n")
    assert [(f.line, f.name) for f in check_source(rebound)] == [(6, "numpy.concatenate")]
