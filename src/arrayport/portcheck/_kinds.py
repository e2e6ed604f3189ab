"""What an expression certainly evaluates to: an array, arrays, a dtype, an array API
namespace or another library's object, as far as the source shows.

:class:`ExpressionKinds` is a mixin of :class:`arrayport.portcheck._scopes.ScopeTracker`,
which supplies what it reads: the file's imports (``modules``, ``array_modules``), the
classes it defines, :meth:`resolve` (the numpy name an expression refers to) and
:meth:`_kind_of_name` (what a name holds where the walk is).
"""

from __future__ import annotations

import ast
from typing import cast

from arrayport.portcheck._bindings import (
    SPARSE_ALONG_AXIS_METHODS,
    SPARSE_ATTRIBUTES,
    SPARSE_METHODS,
    SPARSE_WITH_SPARSE_METHODS,
    _callee_name,
    _names_a_class,
    root_of,
    sparse_constructor,
)
from arrayport.portcheck._numbers import number_kind
from arrayport.portcheck._results import (
    _ARRAY_ONLY_RESULTS,
    _ARRAYS_FACTORIES,
    _ARRAYS_METHODS,
    _DTYPE_FACTORIES,
    _NOT_ARRAY_FACTORIES,
    _NOT_ARRAY_METHODS,
    call_result,
)
from arrayport.portcheck._standard import Standard

__all__ = ["ExpressionKinds"]

#: Operators whose result is sparse where both operands are SciPy sparse arrays.
_SPARSE_OPERATORS = (ast.MatMult, ast.Add, ast.Sub, ast.Mult)
#: Operators whose result is sparse where the left operand is sparse and the right one a
#: number (and for ``*`` the other way round too: ``2 * D``; ``2 / D`` raises).
_SCALED_OPERATORS = (ast.Mult, ast.Div, ast.Pow)
#: Builtins that give a sparse value of a sparse first argument (``abs(D)``, ``round(D)``).
_SPARSE_BUILTINS = frozenset({"abs", "round", "pow"})
#: Kinds a plain name passes on to the name it is assigned to (arrays and sparse values
#: are passed on by the checks below).
_PASSED_ON = frozenset({"namespace", "object", "dtype"})
#: Attributes of an array that are arrays themselves: its transposes, real and imaginary parts.
_ARRAY_ATTRIBUTES = frozenset({"T", "mT", "real", "imag"})


class ExpressionKinds:
    """What expressions evaluate to; the attributes and the two methods below are
    supplied by the subclass (:class:`~arrayport.portcheck._scopes.ScopeTracker`)."""

    std: Standard
    modules: set[str]  # local names bound by imports of modules other than numpy
    array_modules: set[str]  # those of them from array libraries (torch, scipy)
    classes: set[str]  # classes the file defines
    scipy_names: dict[str, str]  # local names bound by imports from scipy -> dotted name

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted numpy name ``node`` refers to, or None."""
        raise NotImplementedError

    def _kind_of_name(self, name: str) -> str | None:
        """What ``name`` holds where the walk is."""
        raise NotImplementedError

    def _shadowed(self, name: str) -> bool:
        """Whether a function, class or comprehension around the walk binds ``name``."""
        raise NotImplementedError

    def _kind(self, node: ast.expr) -> str | None:
        """What ``node`` certainly evaluates to ('array', 'arrays' (a tuple or list of
        arrays), 'dtype', 'namespace', 'object', an instance of a class the file
        defines, or 'sparse', a SciPy sparse array or matrix), else None."""
        if isinstance(node, ast.Attribute) and node.attr == "dtype":
            return "dtype"
        if isinstance(node, ast.Name) and self._kind_of_name(node.id) in _PASSED_ON:
            return self._kind_of_name(node.id)  # backend = xp: a namespace too
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
        if self._is_sparse(node):
            return "sparse"  # csc_array(a): its .sum() and .diagonal() are not ndarray's
        foreign = isinstance(node, ast.Call) and self.resolve(node.func) is None
        if foreign and self._module_rooted(node) and not self._is_array_expr(node):
            root = root_of(node)
            array_module = isinstance(root, ast.Name) and root.id in self.array_modules
            if not array_module or _names_a_class(cast(ast.Call, node).func):
                # Image.open(p).convert("L"), pd.read_csv(f), Rotation.random(3): not arrays
                return "object"
        if self._is_arrays_expr(node):
            return "arrays"
        return "array" if self._is_array_expr(node) else None

    def _is_arrays_expr(self, node: ast.expr) -> bool:
        """Whether ``node`` is a tuple or list of arrays (``np.split(x, 3)``)."""
        if isinstance(node, ast.Name):
            return self._kind_of_name(node.id) == "arrays"
        if isinstance(node, ast.NamedExpr):
            return self._is_arrays_expr(node.value)
        if not isinstance(node, ast.Call):
            return False
        path = self.resolve(node.func)
        if path is not None:
            last = path.rpartition(".")[2]
            return last in _ARRAYS_FACTORIES or call_result(last, node) == "arrays"
        func = node.func
        return isinstance(func, ast.Attribute) and func.attr in _ARRAYS_METHODS

    def _module_rooted(self, node: ast.expr) -> bool:
        """Whether ``node`` is reached from a module other than numpy (``pd.read_csv(f)``,
        ``json.loads(s)["a"]``), or from a name bound to such an object (``df.astype``)."""
        root = root_of(node)
        if not isinstance(root, ast.Name):
            return False
        return root.id in self.modules or self._kind_of_name(root.id) == "object"

    def _is_sparse(self, node: ast.expr) -> bool:
        """Whether ``node`` is a SciPy sparse array or matrix: built by scipy.sparse
        (``csc_array(a)``, ``sp.sparse.diags_array(d)``), a name holding one, or what SciPy
        gives of one as a sparse value: ``.T``, ``-D``, ``D[0]``, a sparse method's result
        (``.tocsr()``, ``.multiply(x)``, ``.maximum(0)``), ``abs(D)``, a product, sum or
        comparison of two (``D @ L``), ``D * 2``, ``D / len(x)``, ``D ** 2``, ``D > 0``. Not
        what is dense: ``D.toarray()``, ``D.sum()``, ``D @ x``, ``D[i, j]``, ``D[D > 0]``."""
        if isinstance(node, ast.Name):
            return self._kind_of_name(node.id) == "sparse"
        if isinstance(node, ast.NamedExpr):
            return self._is_sparse(node.value)
        if isinstance(node, ast.Attribute) and node.attr in SPARSE_ATTRIBUTES:
            return self._is_sparse(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self._is_sparse(node.operand)
        if isinstance(node, ast.Subscript):
            return self._sparse_index(node.slice) and self._is_sparse(node.value)
        if isinstance(node, ast.BinOp):
            return self._sparse_operation(node)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            order = not isinstance(node.ops[0], (ast.Is, ast.IsNot, ast.In, ast.NotIn))
            other = node.comparators[0]  # D > 0, D != L (D > x is dense)
            return order and self._is_sparse(node.left) and self._sparse_or_number(other)
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Name) and func.id in _SPARSE_BUILTINS and node.args:
            builtin = self.resolve(func) is None and not self._shadowed(func.id)
            return builtin and self._is_sparse(node.args[0])  # abs(D), not np.abs(D)
        if isinstance(func, ast.Attribute) and self._sparse_method(func.attr, node):
            return self._is_sparse(func.value)
        return sparse_constructor(func, self.scipy_names)

    def _sparse_operation(self, node: ast.BinOp) -> bool:
        """Whether ``node`` is sparse: ``D @ L``, ``D + L``, ``D * 2``, ``2 * D``, ``D ** 2``."""
        left, right, op = node.left, node.right, node.op
        scaled = isinstance(op, _SCALED_OPERATORS)
        if not scaled and not isinstance(op, _SPARSE_OPERATORS):
            return False
        if self._is_sparse(left):  # once: a chain D * a * b is walked once per operator
            if isinstance(op, _SPARSE_OPERATORS) and self._is_sparse(right):
                return True  # D @ L @ D (D @ x is dense)
            return scaled and self._is_number(right)
        return isinstance(op, ast.Mult) and self._is_number(left) and self._is_sparse(right)

    def _sparse_method(self, attr: str, call: ast.Call) -> bool:
        """Whether method ``attr`` of a sparse value, called as ``call``, gives one."""
        if attr in SPARSE_METHODS:
            return True
        args = [*call.args, *(k.value for k in call.keywords)]
        if attr in SPARSE_WITH_SPARSE_METHODS:  # D.maximum(0), D.dot(L); not D.dot(x)
            return len(args) == 1 and self._sparse_or_number(args[0])
        if attr in SPARSE_ALONG_AXIS_METHODS:  # D.max(axis=0); D.max() is a number
            axis = call.args[0] if call.args else None
            axis = next((k.value for k in call.keywords if k.arg == "axis"), axis)
            return axis is not None and not (isinstance(axis, ast.Constant) and axis.value is None)
        return False

    def _sparse_index(self, index: ast.expr) -> bool:
        """Whether indexing a sparse value with ``index`` gives one: a row, a slice, rows
        (``D[0]``, ``D[:, j]``, ``D[rows]``); not an element or elements (``D[i, j]``,
        ``D[rows, cols]``) or what a mask selects (``D[D > 0]``)."""
        if isinstance(index, ast.Tuple):
            return any(isinstance(elt, ast.Slice) for elt in index.elts)
        return not isinstance(index, ast.Compare) and not self._is_sparse(index)

    def _sparse_or_number(self, node: ast.expr) -> bool:
        return self._is_number(node) or self._is_sparse(node)

    def _is_number(self, node: ast.expr) -> bool:
        """Whether ``node`` certainly is a Python number (``2``, ``-0.5``, ``len(x)``)."""
        builtin = lambda name: not self._shadowed(name)  # noqa: E731
        return number_kind(node, self.resolve, builtin, self._is_array_expr) is not None

    def _sparse_items(self, node: ast.expr) -> bool:
        """Whether ``node`` is a list or tuple written out of sparse values (``[D, L]``)."""
        items = node.elts if isinstance(node, (ast.List, ast.Tuple)) else []
        return bool(items) and all(self._is_sparse(item) for item in items)

    def _item_kind(self, node: ast.expr) -> str | None:
        """What a loop over ``node`` binds: arrays (``np.split(x, 3)``), sparse values
        (``[D, L]``), or None when that is not known."""
        if self._is_arrays_expr(node):
            return "array"
        return "sparse" if self._sparse_items(node) else None

    def _foreign_receiver(self, node: ast.expr) -> bool:
        """Whether ``node`` is another library's module (``json``, ``scipy.ndimage``) or
        object (``df``, ``df["a"]``, ``pd.read_csv(f)``, ``KDTree(x)``, a SciPy sparse
        array), whose attributes are not ndarray's; not the result of an array library's
        call (``cdist(a, b)``)."""
        if self._is_sparse(node):
            return True
        if not self._module_rooted(node):
            return False
        chain, root = node, root_of(node)
        while isinstance(chain, ast.Attribute):
            chain = chain.value
        if isinstance(chain, ast.Name) or cast(ast.Name, root).id not in self.array_modules:
            return True  # json.dumps, scipy.ndimage.sum, df.astype, pd.read_csv(f).x
        return self._kind(node) == "object"

    def _is_array_expr(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return self._kind_of_name(node.id) == "array"
        if isinstance(node, ast.NamedExpr):
            return self._is_array_expr(node.value)
        if isinstance(node, ast.Attribute) and node.attr in _ARRAY_ATTRIBUTES:
            return self._is_array_expr(node.value)  # x.T, x.real (not a sparse D.T: no array)
        if isinstance(node, ast.Call):
            path = self.resolve(node.func)
            if path is not None:
                last = path.rpartition(".")[2]
                if last in _NOT_ARRAY_FACTORIES or last in _ARRAYS_FACTORIES:
                    return False
                return call_result(last, node) is None  # not np.where(c), np.gradient(f)
            func = node.func
            if not isinstance(func, ast.Attribute):
                return False
            attr = func.attr
            if attr in _NOT_ARRAY_METHODS or attr in _ARRAYS_METHODS:
                return False  # x.tolist(), x.item(), x.sort(): no array
            if attr in _ARRAY_ONLY_RESULTS and not self._foreign_receiver(func.value):
                return True  # x.astype(int): only an ndarray has astype (not pd.read_csv(f))
            return self._is_array_expr(func.value) and (
                attr in self.std.array_only_methods or attr in self.std.array_ambiguous_methods
            )
        if isinstance(node, ast.BinOp):
            return self._is_array_expr(node.left) or self._is_array_expr(node.right)
        subscript = isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice)
        if subscript and self._is_arrays_expr(cast(ast.Subscript, node).value):
            return True  # np.split(x, 3)[0]
        if isinstance(node, (ast.UnaryOp, ast.Subscript)):
            inner = node.operand if isinstance(node, ast.UnaryOp) else node.value
            return self._is_array_expr(inner)
        return False
