"""The arguments of an ndarray method call, checked as those of NumPy's function.

NumPy's methods that share a standard function's name take the function's parameters
after the array: ``x.sum(0, where=m)`` is ``np.sum(x, 0, where=m)``, ``x.std(0, None, None,
1)`` passes ``ddof``. :func:`method_argument_findings` checks ``x.m(args, kw)`` as
``np.m(x, args, kw)`` through :func:`~arrayport.portcheck._arguments.argument_findings`, so
a method reports the same ``(where=)``, ``(dtype=)`` and ``(positional)`` findings, with
the same hints, as the function. ``x.ptp(...)`` (removed in NumPy 2) gets the hint of
``np.ptp(x, ...)``.
"""

from __future__ import annotations

import ast

from arrayport.portcheck._arguments import argument_findings
from arrayport.portcheck._call_hints import partition_hint, ptp_hint
from arrayport.portcheck._standard import Standard

__all__ = ["FUNCTION_METHODS", "method_argument_findings", "method_call_hint"]

#: One finding on the call: (name, message, replacement).
_Found = tuple[str, str, str | None]

#: ndarray methods whose parameters are those of the numpy function of the same name after
#: its first (not reshape and transpose, which take ``*shape`` and ``*axes``, nor astype,
#: whose parameters differ from np.astype's).
FUNCTION_METHODS = frozenset(
    {
        *("all", "any", "argmax", "argmin", "argsort", "clip", "conj", "max", "mean", "min"),
        *("nonzero", "prod", "repeat", "round", "searchsorted", "sort", "squeeze", "std"),
        *("sum", "take", "var"),
    }
)


#: What the method hints that depend on the arguments already say (x.round(2), x.std(ddof=1),
#: x.take(i, 0)): see :func:`~arrayport.portcheck._hints.hint_for_method_call`.
_SAID_BY_METHOD_HINTS = ("(positional)", "(decimals=)", "(ddof=)", "(axis=)", "(order=)")


def _as_function_call(call: ast.Call, receiver: ast.expr, attr: str) -> ast.Call:
    """``np.attr(receiver, *call.args, **call.keywords)``, placed where ``call`` is."""
    func = ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr=attr, ctx=ast.Load())
    return ast.copy_location(
        ast.Call(func=func, args=[receiver, *call.args], keywords=call.keywords), call
    )


def _itemset_hint(call: ast.Call) -> str:
    """``x.itemset(i, j, v)`` or ``x.itemset((i, j), v)`` is ``x[i, j] = v``; a single int
    indexes the flattened array."""
    args = call.args
    flat = "x[i, j, ...] = v (one int i in x.itemset(i, v) indexes the flattened x)"
    if len(args) < 2 or any(isinstance(a, ast.Starred) for a in args):
        return flat
    *index, value = args
    if len(index) == 1 and isinstance(index[0], ast.Tuple):
        index = list(index[0].elts)
    elif len(index) == 1:
        return flat
    return f"x[{', '.join(ast.unparse(i) for i in index)}] = {ast.unparse(value)}"


def method_call_hint(attr: str, call: ast.Call, receiver: ast.expr) -> str | None:
    """The hint for ``receiver.attr(...)`` that depends on its arguments, if any: NumPy 2
    removed ``x.ptp()`` (``np.ptp(x)`` stays) and ``x.itemset()``; ``x.partition(-2)``
    counts kth from the end, which array-api-extra's partition does not."""
    if attr == "ptp":
        return ptp_hint(_as_function_call(call, receiver, attr))
    if attr == "itemset":
        return _itemset_hint(call)
    if attr in ("partition", "argpartition"):  # x.partition(-2), x.argpartition([1, 2])
        hint, _ = partition_hint(attr, _as_function_call(call, receiver, attr), "xpx")
        if hint == "xpx":
            return None  # the attribute's hint says it
        assert hint is not None
        if attr == "partition":  # in place
            call_text, _, note = hint.partition(" (")
            shown = ast.unparse(receiver)
            hint = f"{shown} = {call_text} (ndarray.partition works in place; {note}"
        return hint
    return None


def method_argument_findings(
    call: ast.Call, receiver: ast.expr, attr: str, std: Standard, method_hint: str | None
) -> list[_Found]:
    """The findings about the arguments of ``receiver.attr(...)`` (``call``), named after
    the method (``.sum(where=)``). Not the axis ``x.squeeze()`` lacks (the method's hint
    says), nor, where the method already has a hint for its arguments, ``method_hint``
    (``x.round(2)``, ``x.take(i, 0)``), what that hint says of them."""
    if attr not in FUNCTION_METHODS or attr not in std.signatures:
        return []
    found: list[_Found] = []
    path = f"numpy.{attr}"
    as_function = _as_function_call(call, receiver, attr)
    for name, message, hint in argument_findings(as_function, path, std):
        said = method_hint is not None and (
            hint == method_hint or name.endswith(_SAID_BY_METHOD_HINTS)
        )
        refused = attr == "sort" and name.endswith("(axis=None)")  # by ndarray.sort too
        if name.endswith("(too few arguments)") or said or refused:
            continue
        found.append(
            (
                "." + name.removeprefix("numpy."),
                f"x.{attr}(...) is {path}(x, ...): {message}",
                hint,
            )
        )
    return found
