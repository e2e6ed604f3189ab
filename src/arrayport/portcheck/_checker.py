"""The AST walk that finds NumPy uses outside the array API standard.

Source is parsed, never executed. Three kinds of use are reported:

* **names** reached through numpy (``np.concatenate``, ``np.random.rand``, a
  ``from numpy import pad`` name), after following import aliases;
* **array attributes** the standard lacks (``x.astype``, ``x.flatten()``, ``x.dtype.kind``).
  The receiver's type is unknown to an AST, so names that other Python objects share
  (``d.copy()``, ``names.sort()``, ``z.real``) are reported only on variables seen assigned
  from NumPy in the same function, or parameters annotated as ndarrays;
* **calls of dtypes** (``np.float32(1)``): the standard's dtypes are not callable;
* **dtypes spelled as strings or Python types** (``dtype="d"``, ``dtype=float``);
* **arguments** a standard function does not take in the standard (``np.ones(n,
  order="C")``, ``np.mean(x, 0)`` where the standard's ``axis`` is keyword-only), checked
  against the signatures of array-api-strict's functions.
"""

from __future__ import annotations

import ast
import dataclasses
from types import ModuleType

import numpy as np

from arrayport.portcheck._hints import hint_for_attribute, hint_for_function
from arrayport.portcheck._standard import Signature, Standard

__all__ = ["Finding", "find_nonstandard"]

_DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)
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


def _keywords_hint(sig: Signature) -> str:
    """The replacement for surplus positional arguments; like every replacement it reads
    after "use" ("...; use keywords after the first argument (axis=, keepdims=)")."""
    n = sig.max_positional
    which = {0: "for every argument", 1: "after the first argument"}.get(
        n or 0, f"after the first {n} arguments"
    )
    names = ", ".join(f"{k}=" for k in sig.keyword_only)
    return f"keywords {which}" + (f" ({names})" if names else "")


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str, std: Standard) -> None:
        self.path = path
        self.std = std
        self.aliases: dict[str, str] = {}  # local name -> dotted numpy name
        self.modules: set[str] = set()  # local names bound by other imports
        self.methods: set[str] = set()  # names the file defines as methods of its classes
        # Per scope: local names known to hold a numpy array ("array") or dtype ("dtype").
        self.scopes: list[dict[str, str]] = [{}]
        self.findings: list[Finding] = []

    # -- set-up: imports and class methods anywhere in the file apply to the whole file.
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
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.methods.add(item.name)

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
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        known: dict[str, str] = {}
        if not isinstance(node, ast.Lambda):
            for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                if arg.annotation is not None and self._is_array_annotation(arg.annotation):
                    known[arg.arg] = "array"
        self.scopes.append(known)
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def _is_array_annotation(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Subscript):
            node = node.value
        return self.resolve(node) in _ARRAY_ANNOTATIONS

    def _kind_of_name(self, name: str) -> str | None:
        return self.scopes[-1].get(name) or self.scopes[0].get(name)

    def _kind(self, node: ast.expr) -> str | None:
        """'array', 'dtype' or 'namespace' when ``node`` certainly evaluates to one, else None."""
        if isinstance(node, ast.Attribute) and node.attr == "dtype":
            return "dtype"
        if isinstance(node, ast.Call) and "namespace" in _callee_name(node.func):
            return "namespace"  # xp = array_namespace(x): xp.max is a function, not a method
        if isinstance(node, ast.Call) and self.resolve(node.func) in _DTYPE_FACTORIES:
            return "dtype"
        return "array" if self._is_array_expr(node) else None

    def _is_array_expr(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return self._kind_of_name(node.id) == "array"
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
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            for t in names:
                if isinstance(t, ast.Name):
                    if kind is None or (len(names) > 1 and kind == "dtype"):
                        self.scopes[-1].pop(t.id, None)
                    else:
                        self.scopes[-1][t.id] = kind

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
        if path is not None and path.count(".") == 1 and path.partition(".")[2] in _DTYPES:
            dtype = path.partition(".")[2]
            self.report(
                node,
                path,
                f"calling {path} builds a NumPy scalar; the standard's dtypes are not callable",
                f"xp.asarray(value, dtype=xp.{dtype})",
            )
        elif path is not None:
            self._check_arguments(node, path)
        self.generic_visit(node)

    def _check_arguments(self, node: ast.Call, path: str) -> None:
        for kw in node.keywords:
            if kw.arg == "dtype" and _is_loose_dtype(kw.value):
                self.report(
                    node,
                    f"{path}(dtype={ast.unparse(kw.value)})",
                    "the standard takes dtype objects, not strings or Python types",
                    "dtype=xp.float64 (or the xp dtype meant)",
                )
        sig = self.std.signatures.get(path.removeprefix("numpy."))
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
                _keywords_hint(sig),
            )
        if sig.keywords is None:
            return
        for kw in node.keywords:
            if kw.arg is not None and kw.arg not in sig.keywords:
                self.report(
                    node,
                    f"{path}({kw.arg}=)",
                    f"the standard's {path.removeprefix('numpy.')} has no {kw.arg} parameter",
                    None,
                )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self.resolve(node)
        if path is not None:
            self._numpy_name(node, path)
            return  # the inner parts of np.random.rand are not separate uses
        if isinstance(node.ctx, ast.Load):
            self._array_attribute(node)
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

    def _array_attribute(self, node: ast.Attribute) -> None:
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
        if isinstance(value, ast.Name) and (
            value.id in ("self", "cls", "xp") or self._kind_of_name(value.id) == "namespace"
        ):
            return  # a class's own method, or an array API namespace's function
        if attr in self.methods:
            return  # the file defines a method of that name: the receiver may be its class
        if attr in std.array_only_methods or (
            attr in std.array_ambiguous_methods and self._is_array_expr(value)
        ):
            self.report(
                node,
                f".{attr}",
                f"ndarray.{attr} is not in the array API standard",
                hint_for_attribute(attr, std.namespace),
            )
