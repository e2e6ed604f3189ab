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
* **writes through attributes** (``x.flat = v``, ``z.real[:] = 2``; see
  :mod:`arrayport.portcheck._writes`);
* **dtypes spelled as strings, Python types or structured dtypes** (``dtype="d"``,
  ``dtype=float``, ``dtype=object``, ``np.finfo(float)``, ``np.astype(x, "f4")``);
* **arguments** a standard function does not take in the standard (``np.ones(n,
  order="C")``, ``np.mean(x, 0)`` where the standard's ``axis`` is keyword-only), or
  requires and the call lacks (``np.where(cond)``), checked against the signatures of
  array-api-strict's functions (see :mod:`arrayport.portcheck._arguments`).

What a name holds (a numpy alias, an array, a dtype, ...) is tracked as the walk goes by
:class:`~arrayport.portcheck._scopes.ScopeTracker`, which the checker subclasses.
"""

from __future__ import annotations

import ast
from types import ModuleType
from typing import cast

from arrayport.portcheck._arguments import argument_findings, numpy_attribute
from arrayport.portcheck._astype import astype_argument_findings, astype_hint
from arrayport.portcheck._axes import TRANSPOSE_OF_3D
from arrayport.portcheck._bindings import _is_self_attribute
from arrayport.portcheck._call_hints import call_hint
from arrayport.portcheck._dtype_compare import dtype_comparison_findings, kind_comparison_hints
from arrayport.portcheck._finding import Finding
from arrayport.portcheck._hints import (
    STANDARD_DTYPES,
    hint_for_attribute,
    hint_for_function,
    hint_for_method_call,
)
from arrayport.portcheck._info import info_field_finding
from arrayport.portcheck._method_arguments import method_argument_findings, method_call_hint
from arrayport.portcheck._numbers import number_kind
from arrayport.portcheck._receivers import shape_assignment_hint, with_dtype, with_receiver
from arrayport.portcheck._scopes import ScopeTracker
from arrayport.portcheck._standard import Standard
from arrayport.portcheck._ufunc_methods import ufunc_method_finding
from arrayport.portcheck._writes import ASSIGNED, subscript_targets, subscript_write

__all__ = ["Finding", "find_nonstandard"]


def find_nonstandard(tree: ast.AST, path: str, std: Standard) -> list[Finding]:
    """Every non-standard NumPy use in the parsed module ``tree`` (each finding once)."""
    checker = _Checker(path, std)
    checker.collect(tree)
    checker.visit(tree)
    return sorted(set(checker.findings))


#: What a finding in an annotation Python evaluates (not under ``from __future__ import
#: annotations``) adds to its message, and its replacement.
_IN_ANNOTATION = "in an annotation, evaluated when the def or the module runs"
_ANNOTATION_HINT = (
    "a type of your own (typing.Any, or a Protocol of the methods used): the standard "
    "defines no array or dtype types to annotate with"
)
#: Builtins that iterate over their arguments (len() is checked on its own).
_ITERATING = frozenset({"list", "tuple", "zip", "enumerate", "sorted"})


class _Checker(ScopeTracker):
    """The walk that reports non-standard uses: call :meth:`collect`, then :meth:`visit`."""

    def __init__(self, path: str, std: Standard) -> None:
        super().__init__(std)
        self.path = path
        self.calls: dict[int, ast.Call] = {}  # id of a called attribute -> its call
        self.kind_hints: dict[int, str] = {}  # id of a compared dtype.kind -> its hint
        self.findings: list[Finding] = []
        self.written: set[int] = set()  # ids of x.flat in x.flat[i] = v: reported as writes
        self.assigned: dict[int, ast.expr] = {}  # id of an assignment target -> its value
        self.in_annotation = 0  # how many annotations the walk is in

    def report(self, node: ast.AST, name: str, message: str, replacement: str | None) -> None:
        # An attribute's own line, where a black-style chain puts .attr (not its value's).
        line = getattr(node, "end_lineno" if isinstance(node, ast.Attribute) else "lineno", 0)
        if self.in_annotation:  # x: np.ndarray, where Python evaluates it
            message, replacement = f"{message} ({_IN_ANNOTATION})", _ANNOTATION_HINT
        self.findings.append(Finding(self.path, line, name, message, replacement))

    def _visit_annotation(self, node: ast.expr) -> None:
        self.in_annotation += 1
        super()._visit_annotation(node)
        self.in_annotation -= 1

    # -- uses
    def visit_Name(self, node: ast.Name) -> None:
        path = self.alias(node.id)
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
        elif isinstance(node.func, ast.Name) and node.func.id == "isinstance":
            self._isinstance_dtype(node)
        elif isinstance(node.func, ast.Name) and node.func.id == "len":
            self._len_of_array(node)
        elif isinstance(node.func, ast.Name) and node.func.id in _ITERATING:
            for arg in [] if self._shadowed(node.func.id) else node.args:
                self._iterated(node, arg)
        self.calls[id(node.func)] = node  # read when node.func is visited
        self.generic_visit(node)

    def _check_arguments(self, node: ast.Call, path: str) -> None:
        for found in argument_findings(node, path, self.std, self._number_kind):
            self.report(node, *found)

    def _number_kind(self, node: ast.expr) -> str | None:
        """Whether ``node`` is a Python number computed in place (``2 * np.pi``,
        ``len(x)``), and which: see :func:`~arrayport.portcheck._numbers.number_kind`."""
        return number_kind(node, self.resolve, lambda name: not self._shadowed(name), self._sized)

    def _sized(self, node: ast.expr) -> bool:
        """Whether ``node.size`` is an int: ``node`` is an array, or a name not known to hold
        anything else (``x.size`` of a parameter; not ``img.size`` of an image)."""
        if isinstance(node, ast.Name) and self.alias(node.id) is None:
            other = node.id in self.modules or node.id in ("self", "cls")
            return not other and self._kind_of_name(node.id) in (None, "array")
        return self._is_array_expr(node)

    def _isinstance_dtype(self, node: ast.Call) -> None:
        """``isinstance(v, np.float64)``: a NumPy scalar type; the standard's dtypes are not
        classes, and its functions return 0-D arrays, never NumPy scalars."""
        if len(node.args) != 2 or self._shadowed("isinstance"):
            return
        types = node.args[1]
        for t in types.elts if isinstance(types, ast.Tuple) else [types]:
            self._scalar_type(node, t, "isinstance(..., {})")

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        """``case np.float64():``, the isinstance check of a match statement."""
        self._scalar_type(node, node.cls, "case {}()")
        self.generic_visit(node)

    def _scalar_type(self, node: ast.AST, cls: ast.expr, shown: str) -> None:
        """Report ``cls``, checked against as a class, if it is NumPy's scalar type of a
        standard dtype (``shown`` formats the finding's name with its numpy name)."""
        path = self.resolve(cls)
        dtype = path.partition(".")[2] if path is not None and path.count(".") == 1 else ""
        if dtype in STANDARD_DTYPES:
            self.report(
                node,
                shown.format(path),
                f"{path} as a class is NumPy's scalar type; the standard's dtypes are not "
                "classes and its results are 0-D arrays (never an instance of it)",
                f"x.dtype == xp.{dtype} (on an array)",
            )

    def _len_of_array(self, node: ast.Call) -> None:
        """``len(x)`` of a known array: the standard's arrays have no ``__len__``."""
        if len(node.args) == 1 and not self._shadowed("len") and self._is_array_expr(node.args[0]):
            self.report(
                node,
                "len()",
                "len() of an array is NumPy's: the standard's arrays have no __len__",
                f"{ast.unparse(node.args[0])}.shape[0]",
            )

    def _iterated(self, node: ast.AST, iterable: ast.expr) -> None:
        """``for row in x``, ``a, b = x``, ``list(x)`` of an array known to have two or
        more axes: the standard defines iteration for 1-D arrays only (since 2024.12), and
        array-api-strict refuses the others. An array whose axes the source does not show
        is not reported (it may well be 1-D)."""
        if self._min_axes(iterable) >= 2 and self._is_array_expr(iterable):
            self.report(
                node,
                "iteration",
                "iterating over an array of two or more axes is NumPy's: the standard "
                "defines iteration for 1-D arrays only (since 2024.12; array-api-strict "
                "refuses the others)",
                "xp.unstack(x) (a tuple of the rows), or x[i, ...] for i in range(x.shape[0])",
            )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self.resolve(node)
        if path is not None:
            self._numpy_name(node, path)
            return  # the inner parts of np.random.rand are not separate uses
        if isinstance(node.ctx, ast.Load) and id(node) not in self.written:
            self._info_attribute(node)
            self._array_attribute(node, self.calls.pop(id(node), None))
            if node.attr == "T" and self._min_axes(node.value) >= 3:
                why, transposed = TRANSPOSE_OF_3D
                self.report(node, ".T", why, with_receiver(transposed, node.value))
        elif (
            isinstance(node.ctx, ast.Store)
            and node.attr in ASSIGNED
            and self._is_array_expr(node.value)
        ):
            message, hint = ASSIGNED[node.attr]
            if node.attr == "shape":  # a.shape = (3, 2): a = xp.reshape(a, (3, 2), copy=False)
                value = self.assigned.get(id(node))
                hint = shape_assignment_hint(node.value, value) or hint
            self.report(node, f".{node.attr} =", message, with_receiver(hint, node.value))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._written_through(target, node.value, None)
            self.assigned[id(target)] = node.value  # read when the target is visited
        super().visit_Assign(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._written_through(node.target, node.value, node.op)
        self.generic_visit(node)

    def _written_through(self, target: ast.expr, value: ast.expr, op: ast.operator | None) -> None:
        """``x.flat[i] = v``, ``z.real[:] = 2``, ``z.imag[m] += 1``: writes into x through
        an index of its attribute (reported as such, not as a read of the attribute)."""
        for attr, index, nested in subscript_targets(target):
            receiver = attr.value
            if attr.attr == "flat":  # reported on any receiver, as reading x.flat is
                known = not self._foreign_receiver(receiver) and not self._is_own_object(receiver)
            else:
                known = self._is_array_expr(receiver)  # other objects have .real too
            if known and self.resolve(attr) is None:
                self.written.add(id(attr))
                shown = value if index is target else None  # not a, b = ... (one of them)
                message, hint = subscript_write(attr.attr, receiver, index.slice, shown, op)
                if nested:  # z.real[m][0] = 1: the hint's index would be the outer one only
                    message, hint = f"{message} (through a nested index: no hint)", None
                self.report(attr, f".{attr.attr}[...] =", message, hint)

    def visit_Compare(self, node: ast.Compare) -> None:
        """``x.dtype == "float32"``, ``x.dtype in ("float32", float)``, ``str(x.dtype) ==
        "float16"``: true under NumPy, False under the standard (silently)."""

        def is_dtype(o: ast.expr) -> bool:  # not another library's (df["a"].dtype)
            return (
                isinstance(o, ast.Attribute)
                and o.attr == "dtype"
                and not self._module_rooted(o.value)
            )

        for found in dtype_comparison_findings(node, is_dtype, self._shadowed("str")):
            self.report(node, *found)
        for attr, hint in kind_comparison_hints(node, self._is_dtype_kind):
            self.kind_hints[id(attr)] = hint  # read when the attribute is visited
        self.generic_visit(node)

    def _is_dtype_kind(self, node: ast.expr) -> bool:
        """Whether ``node`` is ``x.dtype.kind`` or ``t.kind`` of a name holding a dtype."""
        if not isinstance(node, ast.Attribute) or node.attr != "kind":
            return False
        value = node.value
        return (isinstance(value, ast.Attribute) and value.attr == "dtype") or (
            isinstance(value, ast.Name) and self._kind_of_name(value.id) == "dtype"
        )

    def _info_attribute(self, node: ast.Attribute) -> None:
        """``np.finfo(t).tiny``: fields of NumPy's finfo and iinfo the standard's lack."""
        if isinstance(node.value, ast.Call):
            kind = (self.resolve(node.value.func) or "").removeprefix("numpy.")
            found = info_field_finding(kind, node.attr)
            if found is not None:
                self.report(node, *found)

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
            found = ufunc_method_finding(head, parts[1], std.extra) if len(parts) > 1 else None
            if found is not None:
                self.report(node, *found)
            return
        else:
            submodule = isinstance(numpy_attribute(f"numpy.{head}"), ModuleType)
            shown = parts[:2] if submodule and len(parts) > 1 else parts[:1]
            name = "numpy." + ".".join(shown)
            if submodule:
                why = f"numpy.{head} is not part of the array API standard"
            else:
                why = f"{name} is not in the array API standard {std.version}"
        key = name.removeprefix("numpy.")
        hint = hint_for_function(key, std.extra)
        call = self.calls.get(id(node))
        if call is not None:
            hint, note = call_hint(key, call, hint)
            why += note
        self.report(node, name, why, hint)

    def _is_own_object(self, value: ast.expr) -> bool:
        """Whether ``value`` is ``self``, ``cls``, ``super()``, an array API namespace (also
        one kept on ``self``, or a parameter named like the file's numpy alias, which
        hides it: ``def f(x, np)``) or its ``linalg`` or ``fft`` extension, or an instance
        of a class the file defines: its attributes are not ndarray's."""
        while isinstance(value, ast.Attribute) and value.attr in self.std.extensions:
            value = value.value  # xp.linalg.diagonal: a function of the namespace xp
        if isinstance(value, ast.Name):
            if value.id in self.numpy_names and self._shadowed(value.id):
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
            if isinstance(value, ast.Attribute) and self._module_rooted(value.value):
                return  # another library's dtype (df["a"].dtype.kind), as in visit_Compare
            hint = self.kind_hints.pop(id(node), None)  # x.dtype.kind == "c": that kind's
            self.report(
                node,
                f".dtype.{attr}",
                f"dtype.{attr} is NumPy's; the standard's dtype objects only compare equal",
                hint or with_dtype(hint_for_attribute(attr, std.namespace), value),
            )
            return
        if self._foreign_receiver(value):
            return  # json.dumps, scipy.ndimage.sum, df.astype: not ndarray's attributes
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
            specific = hint_for_method_call(attr, len(call.args), keywords)
            hint = method_call_hint(attr, call, value) or specific or hint
            for found in method_argument_findings(call, value, attr, std, specific):
                self.report(node, *found)  # on the line of .attr, where a chain puts it
        why = f"ndarray.{attr} is not in the array API standard"
        if call is not None and attr == "astype":
            astype = astype_hint(call, self.resolve)
            if astype is not None:
                hint, note = astype
                why += note
            for found in astype_argument_findings(call):
                self.report(node, *found)
        self.report(node, f".{attr}", why, with_receiver(hint, value))
