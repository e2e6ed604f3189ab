"""Which names a Python scope binds, read from the syntax: the port-check walk's scope rules.

Before the walk in :mod:`arrayport.portcheck._scopes` enters a function, :func:`_local_names`
reads from its syntax every name the function binds: its parameters and the bindings in
its body, but not those inside nested functions, lambdas, classes or comprehensions (a
nested function or class binds its own name, and a walrus in a comprehension binds in the
function); the names it declares ``global`` and ``nonlocal``; and those bound only by its
imports. A binding anywhere in a function makes the name local everywhere in it, before
and after the binding, as in Python. :func:`_target_names` gives the names an assignment
target binds, and :class:`_Scope` is the record of one scope the walk keeps.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
from collections.abc import Callable, Iterator, Mapping

_Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_Comprehension = ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp


def _target_names(target: ast.expr) -> Iterator[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``)."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from _target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


def numpy_binding(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> str | None:
    """The dotted numpy name ``alias`` of an import statement binds (``import numpy.linalg``
    binds numpy; ``... as la`` the submodule), or None for an import of anything else."""
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        numpy = node.level == 0 and (module == "numpy" or module.startswith("numpy."))
        return f"{module}.{alias.name}" if numpy and alias.name != "*" else None
    if alias.name == "numpy" or alias.name.startswith("numpy."):
        return alias.name if alias.asname else "numpy"
    return None


#: Libraries whose function calls return arrays (their own, or NumPy's: scipy, skimage):
#: names bound from those calls are not taken for other objects (``x = da.from_array(a);
#: x.astype(int)`` and ``r = solve_banded(...); r.reshape(s)`` are still reported). Their
#: classes' instances are objects (``Rotation.from_quat(q).mean()``).
_ARRAY_LIBRARIES = frozenset(
    {
        "array_api_strict",
        "cupy",
        "dask",
        "jax",
        "jaxlib",
        "scipy",
        "skimage",
        "sparse",
        "tensorflow",
        "torch",
        "xarray",
    }
)


def from_array_library(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> bool:
    """Whether an import binds a name from one of :data:`_ARRAY_LIBRARIES`."""
    source = alias.name if isinstance(node, ast.Import) else node.module or ""
    return source.partition(".")[0] in _ARRAY_LIBRARIES


def scipy_binding(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> str | None:
    """The dotted scipy name an import binds (``import scipy as sp``: scipy; ``from
    scipy.sparse import csr_array``: scipy.sparse.csr_array), or None for another import."""
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        scipy = node.level == 0 and module.partition(".")[0] == "scipy"
        return f"{module}.{alias.name}" if scipy and alias.name != "*" else None
    if alias.name.partition(".")[0] != "scipy":
        return None
    return alias.name if alias.asname else "scipy"


#: Names in scipy.sparse whose calls return no sparse array or matrix: the linalg and
#: csgraph submodules' functions return ndarrays, find a tuple of them; is* a bool (and
#: the private modules' are not judged).
_NOT_SPARSE = frozenset({"linalg", "csgraph", "find", "get_index_dtype", "save_npz"})
#: Methods of a SciPy sparse array or matrix that return one whatever their arguments
#: (x.diagonal(), x.sum(axis=0), x.mean(), x.toarray(), x.todense() and x @ v return
#: ndarrays, np.matrix or scalars): conversions, copies, elementwise math, multiply (by
#: anything, a dense array too), the rows and columns of a matrix.
SPARSE_METHODS = frozenset(
    {
        *("tocsr", "tocsc", "tocoo", "tolil", "todia", "todok", "tobsr", "asformat"),
        *("astype", "copy", "transpose", "conj", "conjugate", "reshape", "power"),
        *("multiply", "sorted_indices", "asfptype", "getrow", "getcol", "getH"),
        *("sqrt", "sin", "tan", "sinh", "tanh", "arcsin", "arctan", "arcsinh", "arctanh"),
        *("expm1", "log1p", "floor", "ceil", "trunc", "rint", "sign", "deg2rad", "rad2deg"),
    }
)
#: Methods whose result is sparse only where their argument is a number or sparse: with a
#: dense array, x.maximum(a), x.minimum(a) and x.dot(a) are dense.
SPARSE_WITH_SPARSE_METHODS = frozenset({"maximum", "minimum", "dot"})
#: Reductions whose result is sparse along an axis (x.max(axis=0)), a scalar without one.
SPARSE_ALONG_AXIS_METHODS = frozenset({"max", "min", "nanmax", "nanmin"})
#: Attributes of a sparse value that are sparse (x.real; x.data is an ndarray).
SPARSE_ATTRIBUTES = frozenset({"T", "real", "imag"})


def sparse_constructor(func: ast.expr, scipy_names: Mapping[str, str]) -> bool:
    """Whether callee ``func`` is a function or class of scipy.sparse that returns a
    sparse array or matrix (``csc_array``, ``sp.sparse.diags_array``, ``sparse.kron``),
    ``scipy_names`` being the file's scipy imports (local name -> dotted name)."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in scipy_names:
        return False
    path = [*scipy_names[func.id].split("."), *reversed(parts)]
    if path[:2] != ["scipy", "sparse"] or len(path) < 3:
        return False
    # Private modules' helpers (scipy.sparse._sputils) may return what they are given.
    return path[2] not in _NOT_SPARSE and not path[2].startswith(("is", "_"))


def _names_a_class(func: ast.expr) -> bool:
    """Whether a callee passes through a capitalised name (``Rotation.from_quat``,
    ``KDTree``): by PEP 8 a class, whose instances are objects even in array libraries."""
    while isinstance(func, (ast.Attribute, ast.Call, ast.Subscript)):
        if isinstance(func, ast.Attribute) and func.attr[:1].isupper():
            return True
        func = func.func if isinstance(func, ast.Call) else func.value
    return isinstance(func, ast.Name) and func.id[:1].isupper()


def _callee_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def root_of(node: ast.expr) -> ast.expr:
    """The name (or other expression) a chain of attributes, calls and subscripts starts
    from: ``Image`` for ``Image.open(p).convert("L")``."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _local_names(node: _Function) -> tuple[set[str], set[str], set[str], dict[str, str]]:
    """The names a function binds (parameters and every binding in its body, nested
    scopes excepted), those it declares ``global`` and ``nonlocal``, and those of the
    bound names only imports of numpy bind (another import binds like an assignment), or
    an import of numpy in an ``except`` clause (``try: import cupy as xp`` / ``except
    ImportError: import numpy as xp``: the fallback is followed, as at module level)."""
    args = node.args
    bound = {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if a is not None
    }
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    imported: dict[str, str] = {}
    fallbacks: set[str] = set()  # names imports of numpy bind in an except clause
    stack: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
    handled: list[ast.AST] = []  # the nodes to walk inside except clauses
    while stack or handled:
        in_handler = bool(handled)
        item = (handled or stack).pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(item.name)
            continue  # its body is its own scope (decorators and defaults bind nothing)
        if isinstance(item, ast.Lambda):
            continue
        if isinstance(item, _Comprehension):
            # Its loop variables are its own; a walrus in it binds in the function.
            bound.update(
                n.target.id
                for n in ast.walk(item)
                if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)
            )
            continue
        if isinstance(item, ast.Global):
            declared_global.update(item.names)
        elif isinstance(item, ast.Nonlocal):
            declared_nonlocal.update(item.names)
        elif isinstance(item, ast.Name) and not isinstance(item.ctx, ast.Load):
            bound.add(item.id)
        elif isinstance(item, ast.ExceptHandler) and item.name:
            bound.add(item.name)
        elif isinstance(item, (ast.Import, ast.ImportFrom)):
            # An import of numpy binds the file's numpy alias; any other import shadows it
            # like an assignment ("from scipy import sparse as np" in a function).
            for a in item.names:
                name = (a.asname or a.name).partition(".")[0]
                path = numpy_binding(item, a)
                if path is None:
                    bound.add(name)
                else:
                    imported[name] = path
                    if in_handler:
                        fallbacks.add(name)
        elif isinstance(item, (ast.MatchAs, ast.MatchStar)) and item.name:
            bound.add(item.name)
        elif isinstance(item, ast.MatchMapping) and item.rest:
            bound.add(item.rest)
        handler = in_handler or isinstance(item, ast.ExceptHandler)
        (handled if handler else stack).extend(ast.iter_child_nodes(item))
    only = {n: path for n, path in imported.items() if n not in bound or n in fallbacks}
    return bound | set(imported), declared_global, declared_nonlocal, only


@dataclasses.dataclass
class _Scope:
    """A Python scope: what is known of the names it binds.

    ``names`` maps each name bound here to "array", "arrays" (a tuple or list of arrays),
    "dtype", "namespace", "object" (an instance of a class the file defines) or "sparse"
    (a SciPy sparse array or matrix), or to None when its kind is unknown; a name bound
    here hides the same name in the enclosing scopes.
    """

    kind: str  # "module", "class", "function" or "comprehension"
    names: dict[str, str | None] = dataclasses.field(default_factory=dict)
    declared_global: set[str] = dataclasses.field(default_factory=set)
    declared_nonlocal: set[str] = dataclasses.field(default_factory=set)
    # Names bound here only by imports of numpy, and the dotted numpy name each holds.
    imported: dict[str, str] = dataclasses.field(default_factory=dict)
    # Names holding an array of at least this many axes (2 or more), as the source shows.
    axes: dict[str, int] = dataclasses.field(default_factory=dict)


def _is_self_attribute(node: ast.expr) -> bool:
    """Whether ``node`` is ``self.<name>`` or ``cls.<name>``."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    )


def _outside_functions(tree: ast.AST) -> list[ast.AST]:
    """The nodes of ``tree`` outside function and lambda bodies (class bodies included)."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _module_bindings(tree: ast.AST) -> set[str]:
    """The names the module scope of ``tree`` binds: its assignments, defs, classes and
    imports, and the names its functions declare ``global``; not those bound in class
    bodies, function bodies and lambdas (but the def's and class's own names, and a walrus
    in their decorators, defaults or bases), nor a comprehension's loop variables (but a
    walrus in a comprehension, which binds in the module)."""
    bound = {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]  # (node, inside a comprehension)
    while stack:
        node, in_comprehension = stack.pop()
        children: list[ast.AST] = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.ClassDef):
            bound.add(node.name)
            children = [*node.decorator_list, *node.bases, *node.keywords]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                bound.add(node.name)
            decorators = [] if isinstance(node, ast.Lambda) else node.decorator_list
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            children = [*decorators, *defaults]
        in_comprehension = in_comprehension or isinstance(node, _Comprehension)
        if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            bound.add(node.target.id)  # in a comprehension too
        elif in_comprehension:
            pass  # a comprehension's loop variables are its own
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(
                (a.asname or a.name).partition(".")[0] for a in node.names if a.name != "*"
            )
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        stack.extend((child, in_comprehension) for child in children)
    return bound


def star_aliases(tree: ast.AST, attribute: Callable[[str], object]) -> dict[str, str]:
    """The names ``from numpy import *`` (or a numpy submodule's) at module level gives the
    module, each with the dotted numpy name it holds: the module's ``__all__``, less the
    names Python's builtins have (``sum``, ``round``, ``bool``: their uses are read as the
    builtins') and those the module scope binds itself (a def, an assignment, another
    import, a ``global`` in a function; not a class body's names nor a comprehension's loop
    variables), whose binding may come after the star import; none
    where another library's star import may rebind them (``from pylab import *``).
    ``attribute`` gives the object a dotted numpy name names."""
    outside = _outside_functions(tree)
    starred = [
        n for n in outside if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
    ]
    stars = [
        n.module or ""
        for n in starred
        if n.level == 0 and (n.module or "").partition(".")[0] == "numpy"
    ]
    if not stars or len(stars) < len(starred):  # another library's star may rebind them
        return {}
    bound = _module_bindings(tree)
    found: dict[str, str] = {}
    for module in stars:
        names = getattr(attribute(module), "__all__", ())
        for name in names if isinstance(names, (list, tuple)) else ():
            public = isinstance(name, str) and not name.startswith("_")
            if public and name not in bound and not hasattr(builtins, name):
                found[name] = f"{module}.{name}"
    return found
