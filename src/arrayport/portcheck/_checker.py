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

What a name holds (a numpy alias, an array, a dtype, ...) is tracked as the walk goes by
:class:`~arrayport.portcheck._scopes.ScopeTracker`, which the checker subclasses.
"""

from __future__ import annotations

import ast
import dataclasses
from types import ModuleType
from typing import cast

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
from arrayport.portcheck._scopes import ScopeTracker, _is_self_attribute
from arrayport.portcheck._standard import Signature, Standard

__all__ = ["Finding", "find_nonstandard"]


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


class _Checker(ScopeTracker):
    """The walk that reports non-standard uses: call :meth:`collect`, then :meth:`visit`."""

    def __init__(self, path: str, std: Standard) -> None:
        super().__init__(std)
        self.path = path
        self.calls: dict[int, ast.Call] = {}  # id of a called attribute -> its call
        self.findings: list[Finding] = []

    def report(self, node: ast.AST, name: str, message: str, replacement: str | None) -> None:
        line = getattr(node, "lineno", 0)
        self.findings.append(Finding(self.path, line, name, message, replacement))

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
        """Whether ``value`` is ``self``, ``cls``, ``super()``, an array API namespace (also
        one kept on ``self``, or a parameter named like the file's numpy alias, which
        hides it: ``def f(x, np)``) or an instance of a class the file defines: its
        attributes are not ndarray's."""
        if isinstance(value, ast.Name):
            if value.id in self.aliases and self._shadowed(value.id):
                return True
            return value.id in ("self", "cls", "xp") or self._kind_of_name(value.id) in (
                "namespace",
                "object",
            )
        if _is_self_attribute(value):
            attr = cast(ast.Attribute, value).attr
            return attr.lstrip("_") == "xp" or attr in self.namespace_attributes
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
