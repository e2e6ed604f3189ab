"""The arguments of a NumPy call the standard would read differently, or not at all.

For a call of a numpy function, :func:`argument_findings` reports dtypes spelled as strings
or Python types (``dtype="d"``, ``np.finfo(float)``, ``dtype=object``) and, for the
functions the standard has too (checked against array-api-strict's signatures), arguments
it does not take (``order=``), positional arguments it takes only by keyword and required
arguments the call lacks.

Positional arguments are matched to NumPy's own parameters (read from NumPy's signature
of the function), never to the standard's parameters at the same place:
``np.linalg.matrix_rank(A, 1e-3)`` passes NumPy's absolute ``tol``, not the standard's
relative ``rtol``, and ``np.reshape(a, s, "F")`` passes ``order``, not ``copy``.
"""

from __future__ import annotations

import ast

from arrayport.portcheck._call_hints import default_findings
from arrayport.portcheck._hints import (
    ARGUMENT_HINTS,
    MISSING_ARGUMENT_HINTS,
    SQUEEZE,
    hint_for_dtype,
)
from arrayport.portcheck._numpy_signatures import numpy_attribute, numpy_parameters
from arrayport.portcheck._python_values import Numbers, python_value_findings, tuple_fix
from arrayport.portcheck._renames import RENAMES
from arrayport.portcheck._standard import Signature, Standard

__all__ = ["argument_findings", "numpy_attribute", "numpy_parameters"]

#: One finding on the call: (name, message, replacement).
_Found = tuple[str, str, str | None]

#: Python types NumPy accepts as dtypes, and their standard dtype where there is one.
_PYTHON_DTYPES = frozenset({"bool", "int", "float", "complex", "object", "str", "bytes"})
#: NumPy parameters (by name) that take a dtype, in any function; and per function.
_DTYPE_PARAMETERS = frozenset({"dtype", "int_type"})
_FUNCTION_DTYPE_PARAMETERS = {"can_cast": frozenset({"from_", "to"})}
#: What isdtype's ``kind`` may be as a string, and the kind each Python type means there.
_DTYPE_KINDS = frozenset(
    {
        "bool",
        "signed integer",
        "unsigned integer",
        "integral",
        "real floating",
        "complex floating",
        "numeric",
    }
)
_PYTHON_KINDS = {
    "bool": "xp.bool",
    "int": '"integral" (the kind; or the xp integer dtype meant)',
    "float": '"real floating" (the kind; or the xp floating dtype meant)',
    "complex": '"complex floating" (the kind; or the xp complex dtype meant)',
}
_NO_DTYPE = (
    "; it has no dtype for {shown} (no standard equivalent: its dtypes are bool and numeric only)"
)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _loose_dtype(node: ast.expr) -> str | None:
    """How ``node`` spells a dtype if it is a string (``"d"``), a Python type (``float``)
    or a structured dtype literal (``[("x", "f4")]``), else None."""
    if (isinstance(node, ast.Constant) and isinstance(node.value, str)) or (
        isinstance(node, ast.Name) and node.id in _PYTHON_DTYPES
    ):
        return ast.unparse(node)
    if isinstance(node, (ast.List, ast.Tuple, ast.Dict)):
        return {ast.List: "[...]", ast.Tuple: "(...)", ast.Dict: "{...}"}[type(node)]
    return None


def _dtype_finding(
    path: str, node: ast.expr, parameter: str, *, keyword: bool, kind: bool = False
) -> _Found | None:
    """The finding for a dtype argument spelled loosely, or None."""
    shown = _loose_dtype(node)
    if shown is None:
        return None
    if kind and isinstance(node, ast.Constant) and node.value in _DTYPE_KINDS:
        return None  # isdtype(dt, "real floating"): the standard's kinds are strings
    if kind and isinstance(node, ast.Tuple):  # a tuple of kinds and dtypes is standard
        found = (_dtype_finding(path, e, parameter, keyword=keyword, kind=True) for e in node.elts)
        return next((f for f in found if f is not None), None)
    name = f"{path}({parameter}={shown})" if keyword else f"{path}({shown})"
    if shown[0] in "[({":
        why = "structured dtypes are NumPy's; the standard has none (no standard equivalent)"
        return name, why, None
    why = "the standard takes dtype objects, not strings or Python types"
    value = node.value if isinstance(node, ast.Constant) else None
    if kind and isinstance(node, ast.Name) and node.id in _PYTHON_KINDS:
        return name, why, _PYTHON_KINDS[node.id]
    hint = hint_for_dtype(value if isinstance(value, str) else shown, isinstance(value, str))
    if hint is None:
        return name, why + _NO_DTYPE.format(shown=shown), None
    return name, why, hint if keyword else hint.removeprefix("dtype=")


def _dtype_findings(node: ast.Call, path: str) -> list[_Found]:
    found = [
        _dtype_finding(path, kw.value, "dtype", keyword=True)
        for kw in node.keywords
        if kw.arg == "dtype"
    ]
    name = path.rpartition(".")[2]
    if path == "numpy.result_type":  # *arrays_and_dtypes: a string or a type is a dtype there
        loose = (a for a in node.args if isinstance(a, (ast.Constant, ast.Name)))
        found += (_dtype_finding(path, a, "", keyword=False) for a in loose)
    params = numpy_parameters(path) if path != "numpy.dtype" else None
    dtype_params = _DTYPE_PARAMETERS | _FUNCTION_DTYPE_PARAMETERS.get(name, frozenset())
    for arg, param in zip(node.args, params or (), strict=False):
        if isinstance(arg, ast.Starred):
            break
        if param in dtype_params or (name == "isdtype" and param == "kind"):
            kind = name == "isdtype" and param == "kind"
            found.append(_dtype_finding(path, arg, param, keyword=False, kind=kind))
    return [f for f in found if f is not None]


def _positional_finding(path: str, name: str, sig: Signature, args: list[ast.expr]) -> _Found:
    """The finding for more positional arguments than the standard's ``name`` takes
    (``path`` is NumPy's name for it: ``numpy.concatenate`` for ``concat``).

    Each surplus argument is matched to NumPy's parameter at its place. Where every one is
    a keyword of the standard's function, the hint lists them in NumPy's order (the order
    the arguments are given in: ``np.diff(x, 1, 0)`` is ``n=1, axis=0``), then the
    standard's other keywords; else it names only those that are, and the message says
    which of NumPy's are not (a hint of :data:`ARGUMENT_HINTS` says what to write for
    them, unless the argument is None, NumPy's default; NumPy's ``out`` is assigned)."""
    n, n_given = sig.max_positional or 0, len(args)
    message = f"{path} takes at most {n} positional argument(s) in the standard; {n_given} given"
    if path.removeprefix("numpy.") != name:
        message = (
            f"{path} is the standard's {name}, which takes at most {n} positional "
            f"argument(s); {n_given} given"
        )
    params = numpy_parameters(path) or ()
    mapped: list[str] = []  # NumPy's parameter is the standard's keyword of that name
    hints: list[str] = []
    notes: list[str] = []
    for i in range(n, n_given):
        place = _ordinal(i + 1)
        if i >= len(params):
            notes.append(f"port-check cannot tell which of NumPy's parameters the {place} is")
            continue
        param = params[i]
        special = ARGUMENT_HINTS.get((name, param))
        if param == "out":
            special = _out(name, args[i])
        if special is None and (sig.keywords is None or param in sig.keywords):
            mapped.append(param)
            continue
        notes.append(
            f"NumPy's {place} argument, {param}, is not a parameter of the standard's {name}"
        )
        arg = args[i]
        default = isinstance(arg, ast.Constant) and arg.value is None
        if special is not None and not default:
            hints.append(special)
    which = {0: "for every argument", 1: "after the first argument"}.get(
        n, f"after the first {n} arguments"
    )
    if mapped and not notes:
        others = [k for k in sig.keyword_only if k not in mapped]
        names = ", ".join(f"{k}=" for k in (*mapped, *others))
        hints.insert(0, f"keywords {which} ({names})")
    elif mapped:
        hints.insert(0, f"keywords {which} ({', '.join(f'{k}=' for k in mapped)})")
    message += "".join(f"; {note}" for note in notes)
    return f"{path}(positional)", message, "; ".join(hints) or None


def _by_position(node: ast.Call, path: str, sig: Signature) -> dict[str, int]:
    """The keywords of ``node`` that name a parameter the standard's function takes by
    position only (``np.take(x, indices=i)``), each with its place there. A keyword is
    matched by NumPy's place for it (NumPy's ``a`` is the standard's ``x``)."""
    params = numpy_parameters(path) or ()
    places: dict[str, int] = {}
    for kw in node.keywords:
        if kw.arg is None or (sig.keywords is not None and kw.arg in sig.keywords):
            continue
        if kw.arg in sig.positional_only:
            places[kw.arg] = sig.positional_only.index(kw.arg)
        elif kw.arg in params and params.index(kw.arg) < len(sig.positional_only):
            places[kw.arg] = params.index(kw.arg)
    return places


def _positional_only_finding(
    node: ast.Call, path: str, name: str, sig: Signature, keyword: str, places: dict[str, int]
) -> _Found:
    """``np.take(x, indices=i)``: the standard has ``indices``, by position only."""
    place = places[keyword]
    shown = sig.positional_only[place]
    called = shown if shown == keyword else f"{shown} (NumPy's {keyword})"
    message = (
        f"the standard's {name} takes {called} by position only (its {_ordinal(place + 1)} "
        "argument): pass it by position"
    )
    given = {places[kw.arg]: kw.value for kw in node.keywords if kw.arg in places}
    values: list[ast.expr] = []
    for i in range(len(sig.positional_only)):
        if i < len(node.args) and not isinstance(node.args[i], ast.Starred):
            values.append(node.args[i])
        elif i in given and len(node.args) <= i:
            values.append(given[i])
        else:
            break
    if len(values) < max(places.values()) + 1:
        return f"{path}({keyword}=)", message, None
    accepted = sig.keywords or frozenset()  # others are reported on their own
    rest = [f"{kw.arg}={ast.unparse(kw.value)}" for kw in node.keywords if kw.arg in accepted]
    given_args = (*values, *node.args[len(values) :])
    takes = [*sig.takes, *[""] * len(given_args)]  # a list where it takes a tuple: the tuple
    args = [tuple_fix(v, takes[i]) or ast.unparse(v) for i, v in enumerate(given_args)] + rest
    return f"{path}({keyword}=)", message, f"xp.{name}({', '.join(args)})"


#: What to write for NumPy's ``axis=None`` where the standard's axis is an int.
_AXIS_NONE_HINTS = {
    "sort": "xp.sort(xp.reshape(x, (-1,))) (NumPy's axis=None sorts the flattened x)",
    "argsort": "xp.argsort(xp.reshape(x, (-1,))) (NumPy's axis=None sorts the flattened x)",
    "squeeze": SQUEEZE,
    "take_along_axis": (
        "xp.take_along_axis(xp.reshape(x, (-1,)), indices, axis=0) (NumPy's axis=None works "
        "on the flattened x, with 1-D indices)"
    ),
}


def _axis_none_finding(node: ast.Call, path: str, name: str, sig: Signature) -> _Found | None:
    """``np.sort(x, axis=None)`` (or None at NumPy's place for axis): the standard's axis
    is an int (or a tuple of them) there, never None."""
    if not sig.int_axis:
        return None
    params = numpy_parameters(path) or ()
    given = [kw.value for kw in node.keywords if kw.arg == "axis"]
    if not given and "axis" in params and params.index("axis") < len(node.args):
        before = node.args[: params.index("axis") + 1]
        given = [] if any(isinstance(a, ast.Starred) for a in before) else [before[-1]]
    if not given or not (isinstance(given[0], ast.Constant) and given[0].value is None):
        return None
    message = (
        f"the standard's {name} does not take axis=None (NumPy's every axis, or the flattened "
        "array): it needs the axis given"
    )
    return f"{path}(axis=None)", message, _AXIS_NONE_HINTS.get(name)


#: (standard function, parameter, NumPy's string) -> what to write for it ("{0}": the call's
#: first argument).
_CHOICE_HINTS = {
    ("linalg.qr", "mode", "r"): "xp.linalg.qr({0}).R (NumPy's mode='r' is the reduced R)"
}


def _choice_findings(node: ast.Call, path: str, name: str, sig: Signature) -> list[_Found]:
    """A string the standard's parameter does not list (``np.linalg.qr(a, mode="r")``):
    array-api-strict's qr returns the rows of R as Q and R for it, silently."""
    if not sig.choices:
        return []
    params = numpy_parameters(path) or ()
    given = [(kw.arg, kw.value) for kw in node.keywords if kw.arg is not None]
    for arg, param in zip(node.args, params, strict=False):
        if isinstance(arg, ast.Starred):
            break
        given.append((param, arg))
    found: list[_Found] = []
    for param, value in given:
        choices = sig.choices.get(param)
        if choices is None or not isinstance(value, ast.Constant):
            continue
        if not isinstance(value.value, str) or value.value in choices:
            continue
        first = ast.unparse(node.args[0]) if node.args else "x"
        hint = _CHOICE_HINTS.get((name, param, value.value))
        listed = " or ".join(repr(c) for c in choices)
        message = f"the standard's {name} takes {param}={listed}, not {value.value!r}"
        found.append((f"{path}({param}={value.value!r})", message, hint and hint.format(first)))
    return found


def argument_findings(
    node: ast.Call, path: str, std: Standard, numbers: Numbers = None
) -> list[_Found]:
    """What to report about the arguments of ``node``, a call of numpy name ``path``;
    ``numbers`` says which expressions are Python numbers (``2 * np.pi``), if any."""
    found = _dtype_findings(node, path) + default_findings(node, path)
    numpy_name = path.removeprefix("numpy.")
    name = RENAMES.get(numpy_name, numpy_name)  # np.concatenate is checked as concat
    sig = std.signatures.get(name)
    if sig is None:
        return found  # not a standard function (reported as a name) or not a numpy call
    found += python_value_findings(node, path, sig, numbers, name=name)
    found += _choice_findings(node, path, name, sig)
    starred = any(isinstance(a, ast.Starred) for a in node.args)
    if sig.max_positional is not None and not starred and len(node.args) > sig.max_positional:
        found.append(_positional_finding(path, name, sig, node.args))
    axis_none = _axis_none_finding(node, path, name, sig)
    if axis_none is not None:
        found.append(axis_none)
    given = {kw.arg for kw in node.keywords}
    places = _by_position(node, path, sig)
    missing = [
        p
        for i, p in enumerate(sig.required)
        if i >= len(node.args) and p not in given and i not in places.values()
    ]
    # No *args or **kwargs; a renamed function's hint says what NumPy's defaults mean
    # (np.transpose(x) reverses the axes permute_dims requires).
    if missing and not starred and None not in given and name == numpy_name:
        found.append(
            (
                f"{path}(too few arguments)",
                f"the standard's {name} requires {', '.join(sig.required)}; "
                f"{', '.join(missing)} missing",
                MISSING_ARGUMENT_HINTS.get(name, f"xp.{name}({', '.join(sig.required)})"),
            )
        )
    if sig.keywords is None:
        return found
    for kw in node.keywords:
        if kw.arg in places and (name, kw.arg) not in ARGUMENT_HINTS:
            found.append(_positional_only_finding(node, path, name, sig, kw.arg, places))
        elif kw.arg is not None and kw.arg not in sig.keywords:
            found.append(
                (
                    f"{path}({kw.arg}=)",
                    f"the standard's {name} has no {kw.arg} parameter",
                    ARGUMENT_HINTS.get((name, kw.arg))
                    or (_out(name, kw.value) if kw.arg == "out" else None),
                )
            )
    return found


def _out(name: str, out: ast.expr) -> str:
    """The standard has no ``out=`` anywhere: the result is assigned to ``out`` instead
    (``np.power(t, 3, t)`` changes ``t``, which a port that drops ``out`` does not)."""
    shown = ast.unparse(out) if isinstance(out, (ast.Name, ast.Attribute)) else "out"
    return (
        f"{shown}[...] = xp.{name}(...) (jax and tensorflow arrays are immutable: there, "
        f"{shown} = xp.{name}(...))"
    )
