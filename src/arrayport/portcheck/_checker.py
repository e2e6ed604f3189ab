"""The AST walk that finds NumPy uses outside the array API standard.

Source is parsed, never executed. Three kinds of use are reported:

* **names** reached through numpy (``np.concatenate``, ``np.random.rand``, a
  ``from numpy import pad`` name), after following import aliases;
* **array attributes** the standard lacks (``x.astype``, ``x.flatten()``, ``x.dtype.kind``).
  The receiver's type is unknown to an AST, so names that other Python objects share
  (``d.copy()``, ``names.sort()``, ``z.real``) are reported only on variables seen assigned
  from NumPy in the same function, or parameters annotated as ndarrays; methods
  (``.max``, ``.astype``) are reported where they are called (``np.iinfo(t).max`` is not
  one) or read from a known array. Names are scoped as Python scopes them: a parameter or
  local variable hides a module-level array of the same name;
* **calls of dtypes** (``np.float32(1)``): the standard's dtypes are not callable;
* **dtypes spelled as strings or Python types** (``dtype="d"``, ``dtype=float``);
* **arguments** a standard function does not take in the standard (``np.ones(n,
  order="C")``, ``np.mean(x, 0)`` where the standard's ``axis`` is keyword-only), or
  requires and the call lacks (``np.where(cond)``), checked against the signatures of
  array-api-strict's functions.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from types import ModuleType

import numpy as np

from arrayport.portcheck._hints import (
    ARGUMENT_HINTS,
    MISSING_ARGUMENT_HINTS,
    ROUND_DECIMALS,
    STANDARD_DTYPES,
    hint_for_attribute,
    hint_for_dtype,
    hint_for_function,
    hint_for_method_call,
)
from arrayport.portcheck._standard import Signature, Standard

__all__ = ["Finding", "find_nonstandard"]

#: numpy callables that return something other than an array (so their result is not a
#: "known array" for the ambiguous attributes).
_NOT_ARRAY_FACTORIES = frozenset(
    {
        "default_rng",
        "RandomState",
        "Generator",
        "errstate",
        "vectorize",
        "nditer",
        "dtype",
        "finfo",
        "iinfo",
        "printoptions",
        "get_printoptions",
        "geterr",
        "seterr",
        "poly1d",
    }
)
_DTYPE_FACTORIES = frozenset({"numpy.dtype", "numpy.promote_types", "numpy.result_type"})
_ARRAY_ANNOTATIONS = frozenset({"numpy.ndarray", "numpy.typing.NDArray", "numpy.typing.ArrayLike"})


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One use of NumPy outside the array API standard.

    Attributes
    ----------
    path : str
        The file.
    line : int
        The 1-based line number.
    name : str
        What was used: ``"numpy.concatenate"``, ``".astype"``, ``".dtype.kind"``.
    message : str
        Why it is reported.
    replacement : str or None
        The standard (or array-api-extra) replacement, when there is one.
    """

    path: str
    line: int
    name: str
    message: str
    replacement: str | None

    def as_dict(self) -> dict[str, object]:
        """The finding as a JSON-ready dict with keys path, line, name, message, replacement."""
        return dataclasses.asdict(self)


def find_nonstandard(tree: ast.AST, path: str, std: Standard) -> list[Finding]:
    """Every non-standard NumPy use in the parsed module ``tree`` (one per line and name)."""
    checker = _Checker(path, std)
    checker.collect(tree)
    checker.visit(tree)
    return sorted(set(checker.findings))


def _callee_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_loose_dtype(node: ast.expr) -> bool:
    """A dtype spelled as a string ("d", "float32") or a Python type (float, int, ...)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, ast.Name) and node.id in ("bool", "int", "float", "complex")


def _keywords_hint(sig: Signature) -> str | None:
    """The replacement for surplus positional arguments; like every replacement it reads
    after "use" ("...; use keywords after the first argument (axis=, keepdims=)").
    None when the standard function takes no further argument at all."""
    n = sig.max_positional
    if sig.keywords is not None and not sig.keywords - set(sig.required[: n or 0]):
        return None
    which = {0: "for every argument", 1: "after the first argument"}.get(
        n or 0, f"after the first {n} arguments"
    )
    names = ", ".join(f"{k}=" for k in sig.keyword_only)
    return f"keywords {which}" + (f" ({names})" if names else "")


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


def _local_names(node: _Function) -> tuple[set[str], set[str], set[str]]:
    """The names a function binds (parameters and every binding in its body, nested
    scopes excepted), and those it declares ``global`` and ``nonlocal``."""
    args = node.args
    bound = {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if a is not None
    }
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    stack: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
    while stack:
        item = stack.pop()
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
            bound.update((a.asname or a.name).partition(".")[0] for a in item.names)
        elif isinstance(item, (ast.MatchAs, ast.MatchStar)) and item.name:
            bound.add(item.name)
        elif isinstance(item, ast.MatchMapping) and item.rest:
            bound.add(item.rest)
        stack.extend(ast.iter_child_nodes(item))
    return bound, declared_global, declared_nonlocal


@dataclasses.dataclass
class _Scope:
    """A Python scope: what is known of the names it binds.

    ``names`` maps each name bound here to "array", "dtype", "namespace" or "object" (an
    instance of a class the file defines), or to None when its kind is unknown; a name
    bound here hides the same name in the enclosing scopes.
    """

    kind: str  # "module", "class", "function" or "comprehension"
    names: dict[str, str | None] = dataclasses.field(default_factory=dict)
    declared_global: set[str] = dataclasses.field(default_factory=set)
    declared_nonlocal: set[str] = dataclasses.field(default_factory=set)


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str, std: Standard) -> None:
        self.path = path
        self.std = std
        self.aliases: dict[str, str] = {}  # local name -> dotted numpy name
        self.modules: set[str] = set()  # local names bound by other imports
        self.classes: set[str] = set()  # classes the file defines (not ndarray subclasses)
        self.scopes: list[_Scope] = [_Scope("module")]
        self.calls: dict[int, ast.Call] = {}  # id of a called attribute -> its call
        self.findings: list[Finding] = []

    # -- set-up: imports and classes anywhere in the file apply to the whole file.
    def collect(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "numpy" or a.name.startswith("numpy."):
                        # "import numpy.linalg" binds "numpy"; "as la" binds the submodule.
                        self.aliases[a.asname or "numpy"] = a.name if a.asname else "numpy"
                    else:
                        self.modules.add(a.asname or a.name.partition(".")[0])
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                numpy = node.level == 0 and (module == "numpy" or module.startswith("numpy."))
                for a in node.names:
                    if numpy and a.name != "*":
                        self.aliases[a.asname or a.name] = f"{module}.{a.name}"
                    elif not numpy:
                        self.modules.add(a.asname or a.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and not any(
                self.resolve(base) is not None for base in node.bases
            ):
                self.classes.add(node.name)

    def report(self, node: ast.AST, name: str, message: str, replacement: str | None) -> None:
        line = getattr(node, "lineno", 0)
        self.findings.append(Finding(self.path, line, name, message, replacement))

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted numpy name ``node`` refers to, or None."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    # -- scopes
    def _bind(self, name: str, kind: str | None, *, walrus: bool = False) -> None:
        """Record that ``name`` now holds a value of ``kind`` in the scope it belongs to."""
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

    def _bind_target(self, target: ast.expr, kind: str | None) -> None:
        names = list(_target_names(target))
        for name in names:
            # Unpacking one dtype gives no dtype; unpacking an array gives arrays (rows).
            self._bind(name, None if len(names) > 1 and kind == "dtype" else kind)

    def _kind_of_name(self, name: str) -> str | None:
        for depth, scope in enumerate(reversed(self.scopes)):
            if depth and scope.kind == "class":
                continue  # a class body's names are not visible in its methods
            if name in scope.declared_global:
                return self.scopes[0].names.get(name)
            if name in scope.names and name not in scope.declared_nonlocal:
                return scope.names[name]
        return None

    def _annotation_kind(self, node: ast.expr | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, ast.Subscript):
            node = node.value
        if self.resolve(node) in _ARRAY_ANNOTATIONS:
            return "array"
        if isinstance(node, ast.Name) and node.id in self.classes:
            return "object"
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
        if not isinstance(node, ast.Lambda):
            outer += [*node.decorator_list, *(a.annotation for a in every_arg if a.annotation)]
            if node.returns is not None:
                outer.append(node.returns)
        for item in outer:
            self.visit(item)
        bound, declared_global, declared_nonlocal = _local_names(node)
        scope = _Scope("function", dict.fromkeys(bound), declared_global, declared_nonlocal)
        for a in every_arg:
            scope.names[a.arg] = self._annotation_kind(a.annotation)
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
        self.scopes.append(_Scope("comprehension"))
        for i, gen in enumerate(node.generators):
            if i:
                self.visit(gen.iter)
            self._bind_target(gen.target, None)
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

    def _kind(self, node: ast.expr) -> str | None:
        """What ``node`` certainly evaluates to ('array', 'dtype', 'namespace' or 'object',
        an instance of a class the file defines), else None."""
        if isinstance(node, ast.Attribute) and node.attr == "dtype":
            return "dtype"
        if isinstance(node, ast.Call) and "namespace" in _callee_name(node.func):
            return "namespace"  # xp = array_namespace(x): xp.max is a function, not a method
        if isinstance(node, ast.Call) and self.resolve(node.func) in _DTYPE_FACTORIES:
            return "dtype"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in self.classes
            and self._kind_of_name(node.func.id) is None
        ):
            return "object"
        if isinstance(node, ast.NamedExpr):
            return self._kind(node.value)
        return "array" if self._is_array_expr(node) else None

    def _is_array_expr(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return self._kind_of_name(node.id) == "array"
        if isinstance(node, ast.NamedExpr):
            return self._is_array_expr(node.value)
        if isinstance(node, ast.Call):
            path = self.resolve(node.func)
            if path is not None:
                return path.rpartition(".")[2] not in _NOT_ARRAY_FACTORIES
            func = node.func
            return (
                isinstance(func, ast.Attribute)
                and self._is_array_expr(func.value)
                and (
                    func.attr in self.std.array_only_methods
                    or func.attr in self.std.array_ambiguous_methods
                )
            )
        if isinstance(node, ast.BinOp):
            return self._is_array_expr(node.left) or self._is_array_expr(node.right)
        if isinstance(node, (ast.UnaryOp, ast.Subscript)):
            inner = node.operand if isinstance(node, ast.UnaryOp) else node.value
            return self._is_array_expr(inner)
        return False

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        kind = self._kind(node.value)
        for target in node.targets:
            self.visit(target)
            self._bind_target(target, kind)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)
        kind = self._annotation_kind(node.annotation)
        if node.value is not None:
            kind = kind or self._kind(node.value)
        if node.value is not None or kind is not None:
            self._bind_target(node.target, kind)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind(node.target.id, self._kind(node.value), walrus=True)

    def _loop(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._bind_target(node.target, None)
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
        self.generic_visit(node)

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

    # -- uses
    def visit_Name(self, node: ast.Name) -> None:
        path = self.aliases.get(node.id)
        if path is not None and isinstance(node.ctx, ast.Load):
            self._numpy_name(node, path)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        numpy = node.level == 0 and (node.module or "").split(".")[0] == "numpy"
        if numpy and any(a.name == "*" for a in node.names):
            self.report(
                node,
                f"from {node.module} import *",
                "a star import hides which NumPy names the module uses; import them by name",
                None,
            )

    def visit_Call(self, node: ast.Call) -> None:
        path = self.resolve(node.func)
        if path is not None and path.count(".") == 1 and path.partition(".")[2] in STANDARD_DTYPES:
            dtype = path.partition(".")[2]
            self.report(
                node,
                path,
                f"calling {path} builds a NumPy scalar; the standard's dtypes are not callable",
                f"xp.asarray(value, dtype=xp.{dtype})",
            )
        elif path is not None:
            self._check_arguments(node, path)
        if isinstance(node.func, ast.Attribute):
            self.calls[id(node.func)] = node
        self.generic_visit(node)

    def _check_arguments(self, node: ast.Call, path: str) -> None:
        for kw in node.keywords:
            if kw.arg == "dtype" and _is_loose_dtype(kw.value):
                spelled = kw.value.value if isinstance(kw.value, ast.Constant) else None
                shown = ast.unparse(kw.value)
                hint = hint_for_dtype(
                    spelled if isinstance(spelled, str) else shown, isinstance(spelled, str)
                )
                self.report(
                    node,
                    f"{path}(dtype={shown})",
                    "the standard takes dtype objects, not strings or Python types"
                    + ("" if hint else f"; it has no dtype for {shown}"),
                    hint,
                )
        name = path.removeprefix("numpy.")
        sig = self.std.signatures.get(name)
        if sig is None:
            return  # not a standard function (reported as a name) or not a numpy call
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        if sig.max_positional is not None and not starred and len(node.args) > sig.max_positional:
            self.report(
                node,
                f"{path}(positional)",
                f"{path} takes at most "
                f"{sig.max_positional} positional argument(s) in the standard; "
                f"{len(node.args)} given",
                ROUND_DECIMALS if name == "round" else _keywords_hint(sig),
            )
        given = {kw.arg for kw in node.keywords}
        missing = [p for p in sig.required[len(node.args) :] if p not in given]
        if missing and not starred and None not in given:  # no *args or **kwargs
            self.report(
                node,
                f"{path}(too few arguments)",
                f"the standard's {name} requires {', '.join(sig.required)}; "
                f"{', '.join(missing)} missing",
                MISSING_ARGUMENT_HINTS.get(name, f"xp.{name}({', '.join(sig.required)})"),
            )
        if sig.keywords is None:
            return
        for kw in node.keywords:
            if kw.arg is not None and kw.arg not in sig.keywords:
                self.report(
                    node,
                    f"{path}({kw.arg}=)",
                    f"the standard's {name} has no {kw.arg} parameter",
                    ARGUMENT_HINTS.get((name, kw.arg)),
                )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self.resolve(node)
        if path is not None:
            self._numpy_name(node, path)
            return  # the inner parts of np.random.rand are not separate uses
        if isinstance(node.ctx, ast.Load):
            self._array_attribute(node, self.calls.pop(id(node), None))
        self.generic_visit(node)

    def _numpy_name(self, node: ast.AST, path: str) -> None:
        parts = path.split(".")[1:]
        if not parts:
            return  # the numpy module itself (e.g. passed as xp=np)
        head = parts[0]
        std = self.std
        if head in std.extensions:
            if len(parts) == 1 or parts[1] in std.extensions[head]:
                return
            name = f"numpy.{head}.{parts[1]}"
            why = f"{name} is not in the standard's {head} extension"
        elif head in std.namespace:
            return
        else:
            submodule = isinstance(getattr(np, head, None), ModuleType)
            shown = parts[:2] if submodule and len(parts) > 1 else parts[:1]
            name = "numpy." + ".".join(shown)
            if submodule:
                why = f"numpy.{head} is not part of the array API standard"
            else:
                why = f"{name} is not in the array API standard {std.version}"
        key = name.removeprefix("numpy.")
        self.report(node, name, why, hint_for_function(key, std.extra))

    def _is_own_object(self, value: ast.expr) -> bool:
        """Whether ``value`` is ``self``, ``cls``, ``super()``, an array API namespace or
        an instance of a class the file defines: its attributes are not ndarray's."""
        if isinstance(value, ast.Name):
            return value.id in ("self", "cls", "xp") or self._kind_of_name(value.id) in (
                "namespace",
                "object",
            )
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            return value.func.id == "super" or self._kind(value) == "object"
        return False

    def _array_attribute(self, node: ast.Attribute, call: ast.Call | None) -> None:
        attr, value = node.attr, node.value
        std = self.std
        dtype_value = (isinstance(value, ast.Attribute) and value.attr == "dtype") or (
            isinstance(value, ast.Name) and self._kind_of_name(value.id) == "dtype"
        )
        if dtype_value and attr in std.dtype_attributes:
            self.report(
                node,
                f".dtype.{attr}",
                f"dtype.{attr} is NumPy's; the standard's dtype objects only compare equal",
                hint_for_attribute(attr, std.namespace),
            )
            return
        root = value
        while isinstance(root, (ast.Attribute, ast.Call, ast.Subscript)):
            root = root.func if isinstance(root, ast.Call) else root.value
        if isinstance(root, ast.Name) and root.id in self.modules:
            return  # json.dumps, math.prod, scipy.ndimage.sum: module functions, not methods
        if self._is_own_object(value):
            return  # a class's own method, or an array API namespace's function
        if attr in std.array_only_methods:
            # A method name read without a call (np.iinfo(t).max, info.min) is an
            # attribute of something else unless the receiver is known to be an array.
            report = call is not None or attr not in std.array_methods
            report = report or self._is_array_expr(value)
        else:
            report = attr in std.array_ambiguous_methods and self._is_array_expr(value)
        if not report:
            return
        hint = hint_for_attribute(attr, std.namespace)
        if call is not None:
            keywords = frozenset(kw.arg for kw in call.keywords if kw.arg is not None)
            hint = hint_for_method_call(attr, len(call.args), keywords) or hint
        self.report(
            node,
            f".{attr}",
            f"ndarray.{attr} is not in the array API standard",
            hint,
        )
