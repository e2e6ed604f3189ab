"""What each name holds, as far as the source shows: the port-check walk's name tracking.

:class:`ScopeTracker` learns from the file's imports which names are numpy, a numpy
submodule or a numpy name (``import numpy as xnp``, ``from numpy import pad``) and which
are other modules, and which classes the file defines. As it walks, it records for each
Python scope what each name bound there holds: an "array" (assigned from NumPy, or a
parameter annotated as an ndarray), "arrays" (a tuple or list of them, ``np.split(x,
3)``), a "dtype", an array API "namespace" (``xp = array_namespace(x)``, or a parameter
named ``xp`` or ``namespace``), an "object" (an instance of a class the file defines), or
unknown (None); what NumPy calls return is in :mod:`arrayport.portcheck._results`, and
the least number of axes an array has, in :mod:`arrayport.portcheck._axes`. Names
are scoped as Python scopes them: a binding hides the same name in enclosing scopes,
``global`` and ``nonlocal`` are followed, a class body's names are not seen in its methods,
and a walrus in a comprehension binds in the enclosing function.

Which names a function binds (read from its syntax before the walk enters it) and the
record of a scope are in :mod:`arrayport.portcheck._bindings`; what an expression
evaluates to, in :mod:`arrayport.portcheck._kinds`. The checks are in
:mod:`arrayport.portcheck._checker`, whose visitor subclasses this one.
"""

from __future__ import annotations

import ast
from types import ModuleType
from typing import cast

from arrayport.portcheck._annotations import annotation_kind, lazy_annotations
from arrayport.portcheck._arguments import numpy_attribute
from arrayport.portcheck._axes import ArrayAxes
from arrayport.portcheck._bindings import (
    _callee_name,
    _is_self_attribute,
    _local_names,
    _outside_functions,
    _Scope,
    _target_names,
    from_array_library,
    numpy_binding,
    scipy_binding,
    star_aliases,
)
from arrayport.portcheck._kinds import ExpressionKinds
from arrayport.portcheck._standard import Standard

__all__ = ["ScopeTracker"]

#: Parameter names that by convention hold an array API namespace (``def f(x, xp)``,
#: ``def f(x, namespace)``): ``namespace.sum(x)`` is a function of it, not ndarray.sum.
_NAMESPACE_PARAMETERS = frozenset({"xp", "namespace"})


class ScopeTracker(ExpressionKinds, ArrayAxes, ast.NodeVisitor):
    """A node visitor that tracks what the names of a parsed module hold as it walks.

    Call :meth:`collect` on the module, then :meth:`visit` it. The visitors here bind names
    and visit every sub-expression in the order Python evaluates them, so a subclass's
    ``visit_Name``, ``visit_Call`` or ``visit_Attribute`` sees each use with the scopes as
    they stand there, and :meth:`_kind_of_name` says what a name holds at that point.
    """

    def __init__(self, std: Standard) -> None:
        self.std = std
        self.aliases: dict[str, str] = {}  # local name -> dotted numpy name (the module's)
        self.numpy_names: set[str] = set()  # names any import in the file binds to numpy
        self.modules: set[str] = set()  # local names bound by other imports
        self.array_modules: set[str] = set()  # those of them from array libraries (torch)
        self.cupy_names: set[str] = set()  # those from cupy (cp, or get_array_module)
        self.scipy_names: dict[str, str] = {}  # those from scipy -> the dotted name
        self.classes: set[str] = set()  # classes the file defines (not ndarray subclasses)
        # Attributes of self/cls the file assigns a namespace to (self._xp = array_namespace(x)).
        self.namespace_attributes: set[str] = set()
        self.assigned_aliases: set[str] = set()  # module-level names assigned numpy (xp = np)
        self.scopes: list[_Scope] = [_Scope("module")]
        self.in_handler = 0  # how many except clauses the walk is in
        self.lazy_annotations = False  # from __future__ import annotations: none runs

    # -- set-up: imports and classes anywhere in the file apply to the whole file.
    def collect(self, tree: ast.AST) -> None:
        # The module's own imports give the file's aliases; a function's imports are its
        # own (see _local_names), read when the walk enters it.
        outside = {id(node) for node in _outside_functions(tree)}
        self.lazy_annotations = lazy_annotations(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    path = numpy_binding(node, a)
                    name = (a.asname or a.name).partition(".")[0]
                    if path is None and a.name != "*":
                        self.modules.add(name)
                        if from_array_library(node, a):
                            self.array_modules.add(name)
                        source = a.name if isinstance(node, ast.Import) else node.module
                        if source == "cupy":
                            self.cupy_names.add(name)
                        if (scipy := scipy_binding(node, a)) is not None:
                            self.scipy_names[name] = scipy
                    elif path is not None:
                        self.numpy_names.add(name)
                        if id(node) in outside:
                            self.aliases[name] = path
        # from numpy import *: its names the module uses and does not bind itself.
        self.aliases.update(star_aliases(tree, numpy_attribute))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and not any(
                self.resolve(base) is not None for base in node.bases
            ):
                self.classes.add(node.name)

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted numpy name ``node`` refers to, or None."""
        if isinstance(node, ast.Name):
            return self.alias(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    # -- scopes
    def _bind(self, name: str, kind: str | None, *, walrus: bool = False, axes: int = 0) -> None:
        """Record that ``name`` now holds a value of ``kind`` in the scope it belongs to (an
        array of ``axes`` axes or more, when that is known)."""
        scope = self.scopes[-1]
        if walrus:  # a walrus in a comprehension binds in the enclosing function
            scope = next(s for s in reversed(self.scopes) if s.kind != "comprehension")
        if name in scope.declared_global:
            scope = self.scopes[0]
        elif name in scope.declared_nonlocal:
            outer = [s for s in self.scopes[:-1] if s.kind == "function" and name in s.names]
            if not outer:
                return
            scope = outer[-1]
        scope.names[name] = kind
        scope.axes.pop(name, None)
        if axes and kind == "array":
            scope.axes[name] = axes
        module_code = all(s.kind in ("module", "comprehension") for s in self.scopes)
        if scope is self.scopes[0] and module_code and not self.in_handler:
            # def concatenate(...) after from numpy import concatenate: the module's own from
            # here on (not in an except clause: a fallback for a failed import).
            self.aliases.pop(name, None)
            self.assigned_aliases.discard(name)

    def _bind_value(self, target: ast.expr, value: ast.expr, kind: str | None) -> None:
        """Bind ``target`` to ``value``, of ``kind``, with the axes ``value`` has."""
        if isinstance(target, ast.Name) and kind == "array":
            self._bind(target.id, kind, axes=self._min_axes(value))
        else:
            self._bind_target(target, kind)

    def _bind_target(self, target: ast.expr, kind: str | None) -> None:
        if kind == "arrays" and isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:  # q, r = np.linalg.qr(a); first, *rest = np.split(x, 3)
                starred = isinstance(elt, ast.Starred)
                self._bind_target(
                    cast(ast.Starred, elt).value if starred else elt,
                    "arrays" if starred else "array",
                )
            return
        names = list(_target_names(target))
        for name in names:
            # Unpacking one dtype gives no dtype; unpacking an array gives arrays (rows).
            self._bind(name, None if len(names) > 1 and kind == "dtype" else kind)

    def alias(self, name: str) -> str | None:
        """The dotted numpy name ``name`` holds where the walk is: a numpy import in the
        nearest function binding it, or the file's, unless a binding of another kind (a
        parameter, an assignment, another module's import) hides it."""
        for depth, scope in enumerate(reversed(self.scopes)):
            if scope.kind == "module" or name in scope.declared_global:
                break
            if depth and scope.kind == "class":
                continue  # a class body's names are not visible in its methods
            if name in scope.names and name not in scope.declared_nonlocal:
                return scope.imported.get(name)
        return self.aliases.get(name)

    def _shadowed(self, name: str) -> bool:
        """Whether an enclosing function, class or comprehension binds ``name`` other than
        by an import (a parameter ``np``, say), hiding the file's numpy alias there."""
        for depth, scope in enumerate(reversed(self.scopes)):
            if scope.kind == "module" or name in scope.declared_global:
                return False
            if depth and scope.kind == "class":
                continue  # a class body's names are not visible in its methods
            if name in scope.names and name not in scope.declared_nonlocal:
                return name not in scope.imported
        return False

    def _kind_of_name(self, name: str) -> str | None:
        for depth, scope in enumerate(reversed(self.scopes)):
            if depth and scope.kind == "class":
                continue  # a class body's names are not visible in its methods
            if name in scope.declared_global:
                return self.scopes[0].names.get(name)
            if name in scope.names and name not in scope.declared_nonlocal:
                return scope.names[name]
        return None

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        # Decorators, defaults and annotations are evaluated in the enclosing scope.
        outer: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        every_arg = [
            a
            for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
            if a is not None
        ]
        annotations = [] if isinstance(node, ast.Lambda) else [a.annotation for a in every_arg]
        if not isinstance(node, ast.Lambda):
            outer += node.decorator_list
            annotations.append(node.returns)
        for item in outer:
            self.visit(item)
        for annotation in annotations:
            if annotation is not None:
                self._visit_annotation(annotation)
        bound, declared_global, declared_nonlocal, imported = _local_names(node)
        scope = _Scope(
            "function", dict.fromkeys(bound), declared_global, declared_nonlocal, imported
        )
        # def f(x, lib=np): lib is numpy unless the caller passes another (the default is
        # evaluated here, in the enclosing scope).
        positional = [*args.posonlyargs, *args.args]
        with_defaults = positional[len(positional) - len(args.defaults) :]
        pairs = zip(
            [*with_defaults, *args.kwonlyargs], [*args.defaults, *args.kw_defaults], strict=True
        )
        for a, default in pairs:
            path = None if default is None else self._numpy_module(default)
            if path is not None:
                scope.imported[a.arg] = path
        for a in every_arg:
            kind = annotation_kind(a.annotation, self.resolve, self.classes)
            if kind is None and a.arg in _NAMESPACE_PARAMETERS:
                kind = "namespace"
            scope.names[a.arg] = kind
        self.scopes.append(scope)
        if isinstance(node, ast.Lambda):
            self.visit(node.body)
        else:
            for stmt in node.body:
                self.visit(stmt)
        self.scopes.pop()
        if not isinstance(node, ast.Lambda):
            self._bind(node.name, None)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for item in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(item)
        self.scopes.append(_Scope("class"))
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()
        self._bind(node.name, None)

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        # The first iterable is evaluated in the enclosing scope, the rest in the new one.
        self.visit(node.generators[0].iter)
        self._iterated(node, node.generators[0].iter)
        self.scopes.append(_Scope("comprehension"))
        for i, gen in enumerate(node.generators):
            if i:
                self.visit(gen.iter)
                self._iterated(node, gen.iter)
            self._bind_target(gen.target, "sparse" if self._sparse_items(gen.iter) else None)
            self.visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        parts = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
        for part in parts:
            self.visit(part)
        self.scopes.pop()

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_GeneratorExp = _comprehension
    visit_DictComp = _comprehension

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        kind = self._kind(node.value)
        for target in node.targets:
            if isinstance(target, (ast.Tuple, ast.List)):
                self._iterated(node, node.value)  # a, b = x
            self.visit(target)
            self._bind_value(target, node.value, kind)
            if kind == "namespace" and _is_self_attribute(target):
                self.namespace_attributes.add(cast(ast.Attribute, target).attr)
        # xp = np (or np.linalg): an alias of numpy there, as an import is; at module level
        # (try: import cupy as xp / except ImportError: xp = np) the file's alias.
        path, scope = self._numpy_module(node.value), self.scopes[-1]
        module = path is not None
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if scope.kind == "function":
            for name in names:  # xp = array_namespace(a) after def f(a, xp=np): not numpy
                if module:
                    scope.imported[name] = cast(str, path)
                else:
                    scope.imported.pop(name, None)
        elif scope.kind == "module":
            for name in names:
                if module:
                    self.aliases[name] = cast(str, path)
                    self.assigned_aliases.add(name)
                # xp = np, then xp = cupy: no longer numpy (_bind dropped it, but not in an
                # except clause, where only an assigned alias is dropped).
                elif name in self.assigned_aliases:
                    del self.aliases[name]
                    self.assigned_aliases.discard(name)

    def _numpy_module(self, node: ast.expr) -> str | None:
        """The numpy module ``node`` evaluates to (``np``, ``np.linalg``), also in a branch
        of a conditional (``cp if cp is not None else np``) or as what CuPy's
        ``get_array_module(x)`` returns for a NumPy array; else None."""
        if isinstance(node, ast.IfExp):
            return self._numpy_module(node.body) or self._numpy_module(node.orelse)
        if isinstance(node, ast.Call) and _callee_name(node.func) == "get_array_module":
            # CuPy's (cp.get_array_module(x), or imported from cupy), not one of the file's
            # own nor cupyx.scipy's (which returns a SciPy module).
            func = node.func
            root = func if isinstance(func, ast.Name) else cast(ast.Attribute, func).value
            cupy = isinstance(root, ast.Name) and root.id in self.cupy_names
            return "numpy" if cupy else None
        path = self.resolve(node)
        return path if path is not None and isinstance(numpy_attribute(path), ModuleType) else None

    def _visit_annotation(self, node: ast.expr) -> None:
        """Visit an annotation Python evaluates: not under ``from __future__ import
        annotations`` (nor a string, nor a local variable's in a function: never run)."""
        if not self.lazy_annotations:
            self.visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self.scopes[-1].kind != "function":
            self._visit_annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)
        kind = annotation_kind(node.annotation, self.resolve, self.classes)
        if node.value is not None:
            kind = kind or self._kind(node.value)
        if node.value is not None:
            self._bind_value(node.target, node.value, kind)
        elif kind is not None:
            self._bind_target(node.target, kind)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        kind = self._kind(node.value)
        self._bind(node.target.id, kind, walrus=True, axes=self._min_axes(node.value))

    def _iterated(self, node: ast.AST, iterable: ast.expr) -> None:
        """Called where ``iterable`` is iterated (a loop, unpacking); the checker reports."""

    def _loop(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._iterated(node, node.iter)
        # for piece in np.split(x, 3): each piece is an array; for H in [D, L]: sparse
        self._bind_target(node.target, self._item_kind(node.iter))
        self.visit(node.target)
        for stmt in (*node.body, *node.orelse):
            self.visit(stmt)

    visit_For = _loop
    visit_AsyncFor = _loop

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._bind_target(node.optional_vars, None)
            self.visit(node.optional_vars)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name, None)
        self.in_handler += 1
        self.generic_visit(node)
        self.in_handler -= 1

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind(node.name, None)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name, None)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._bind(node.rest, None)
        self.generic_visit(node)
