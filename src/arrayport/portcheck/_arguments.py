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
import functools
import inspect
import warnings

import numpy as np

from arrayport.portcheck._hints import (
    ARGUMENT_HINTS,
    MISSING_ARGUMENT_HINTS,
    hint_for_dtype,
)
from arrayport.portcheck._standard import Signature, Standard

__all__ = ["argument_findings", "numpy_attribute", "numpy_parameters", "pad_hint"]

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


def numpy_attribute(path: str) -> object:
    """The object numpy name ``path`` (``"numpy.linalg.norm"``) names, or None; numpy's
    warnings for removed or deprecated names (``np.object``) are not shown."""
    obj: object = np
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for part in path.split(".")[1:]:
            try:
                obj = getattr(obj, part)
            except (AttributeError, ImportError):  # not a numpy name, or a removed one
                return None
    return obj


# The positional parameters of numpy's C functions, as numpy 2.4 gives them: before 2.4
# they have no signature (inspect.signature raises), and the hints about loosely spelled
# dtypes passed positionally (np.zeros(3, "f4")) would say less.
_C_PARAMETERS: dict[str, tuple[str, ...]] = {
    "numpy.arange": ("start_or_stop", "stop", "step"),
    "numpy.array": ("object", "dtype"),
    "numpy.asanyarray": ("a", "dtype", "order"),
    "numpy.asarray": ("a", "dtype", "order"),
    "numpy.ascontiguousarray": ("a", "dtype"),
    "numpy.asfortranarray": ("a", "dtype"),
    "numpy.bincount": ("x", "weights", "minlength"),
    "numpy.can_cast": ("from_", "to", "casting"),
    "numpy.concat": ("arrays", "axis", "out"),
    "numpy.concatenate": ("arrays", "axis", "out"),
    "numpy.copyto": ("dst", "src", "casting", "where"),
    "numpy.dot": ("a", "b", "out"),
    "numpy.empty": ("shape", "dtype", "order"),
    "numpy.empty_like": ("prototype", "dtype", "order", "subok", "shape"),
    "numpy.frombuffer": ("buffer", "dtype", "count", "offset"),
    "numpy.fromfile": ("file", "dtype", "count", "sep", "offset"),
    "numpy.fromiter": ("iter", "dtype", "count"),
    "numpy.inner": ("a", "b"),
    "numpy.lexsort": ("keys", "axis"),
    "numpy.packbits": ("a", "axis", "bitorder"),
    "numpy.putmask": ("a", "mask", "values"),
    "numpy.ravel_multi_index": ("multi_index", "dims", "mode", "order"),
    "numpy.unpackbits": ("a", "axis", "count", "bitorder"),
    "numpy.unravel_index": ("indices", "shape", "order"),
    "numpy.vdot": ("a", "b"),
    "numpy.where": ("condition", "x", "y"),
    "numpy.zeros": ("shape", "dtype", "order"),
}


@functools.cache
def numpy_parameters(path: str) -> tuple[str, ...] | None:
    """The names of the positional parameters of numpy callable ``path``, in order (a
    ufunc's outputs are named ``out``); None when NumPy does not say."""
    obj = numpy_attribute(path)
    if obj is None:
        return None
    try:
        params = list(inspect.signature(obj).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        if isinstance(obj, np.ufunc):
            return (*(f"x{i + 1}" for i in range(obj.nin)), *("out",) * obj.nout)
        return _C_PARAMETERS.get(path)
    names: list[str] = []
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        names.append(p.name)
    return tuple(names)


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
    params = numpy_parameters(path) if path != "numpy.dtype" else None
    dtype_params = _DTYPE_PARAMETERS | _FUNCTION_DTYPE_PARAMETERS.get(name, frozenset())
    for arg, param in zip(node.args, params or (), strict=False):
        if isinstance(arg, ast.Starred):
            break
        if param in dtype_params or (name == "isdtype" and param == "kind"):
            kind = name == "isdtype" and param == "kind"
            found.append(_dtype_finding(path, arg, param, keyword=False, kind=kind))
    return [f for f in found if f is not None]


def _positional_finding(path: str, name: str, sig: Signature, n_given: int) -> _Found:
    """The finding for more positional arguments than the standard's ``name`` takes.

    Each surplus argument is matched to NumPy's parameter at its place. Where every one is
    a keyword of the standard's function, the hint lists them in NumPy's order (the order
    the arguments are given in: ``np.diff(x, 1, 0)`` is ``n=1, axis=0``), then the
    standard's other keywords; else it names only those that are, and the message says
    which of NumPy's are not (a hint of :data:`ARGUMENT_HINTS` says what to write for
    them)."""
    n = sig.max_positional or 0
    message = f"{path} takes at most {n} positional argument(s) in the standard; {n_given} given"
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
        if special is None and (sig.keywords is None or param in sig.keywords):
            mapped.append(param)
            continue
        notes.append(
            f"NumPy's {place} argument, {param}, is not a parameter of the standard's {name}"
        )
        if special is not None:
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


#: Standard functions whose NumPy counterpart computes an integer argument in float64,
#: besides the ufuncs without an integer loop (read from NumPy: ``np.sqrt``, ``np.exp``).
_FLOAT_OF_INT = frozenset({"mean", "std", "var", "linalg.vector_norm"})


def _computes_in_float(path: str, place: int) -> bool:
    """Whether NumPy's ``path`` computes an integer given at ``place`` in floating point
    (``np.sqrt(2)`` is float64; ``np.abs(2)`` stays an integer)."""
    if path.removeprefix("numpy.") in _FLOAT_OF_INT:
        return True
    ufunc = numpy_attribute(path)
    if not isinstance(ufunc, np.ufunc) or place >= ufunc.nin:
        return False
    integers = (np.dtype(np.int64),) * ufunc.nin + (None,) * ufunc.nout
    try:
        resolved = ufunc.resolve_dtypes(integers)
    except (TypeError, ValueError):  # no loop for integers: NumPy refuses them too
        return False
    return resolved[place].kind in "fc"


def _is_int_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _python_value(node: ast.expr) -> str | None:
    """``"number"`` or ``"list"`` if ``node`` is a Python number or a list or tuple
    written in place (``2.0``, ``-1``, ``[a, b]``, ``(n, 1)``, a comprehension), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)):
        return "number"
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        return "list"
    return None


def _python_value_findings(node: ast.Call, path: str, sig: Signature) -> list[_Found]:
    """Python numbers, lists and tuples passed where the standard's function takes arrays
    (``np.sqrt(2.0)``, ``np.max([a, b])``, ``np.take(x, [0, 2])``), or numbers in every
    required place that takes an array or a number (``np.where(c, 1.0, 0.0)``,
    ``np.maximum(1, 2)``): NumPy converts them, the standard refuses them."""
    name = path.removeprefix("numpy.")
    found: list[_Found] = []
    required = sig.takes[: len(sig.required)]
    numbers = 0
    for i, (arg, takes) in enumerate(zip(node.args, sig.takes, strict=False)):
        if isinstance(arg, ast.Starred):
            return found
        value = _python_value(arg)
        if value is None or takes not in ("array", "scalar"):
            continue
        if takes == "scalar" and value == "number":
            numbers += i < len(required)
            continue
        shown = ast.unparse(arg)
        shown = shown if len(shown) <= 24 else "..."
        # np.sqrt(2) is float64; xp.asarray(2) is an integer array (refused by sqrt, or
        # computed in float32 by torch).
        as_float = _is_int_literal(arg) and _computes_in_float(path, i)
        number = f"xp.asarray({shown}, dtype=xp.float64)" if as_float else f"xp.asarray({shown})"
        what, hint = {
            "number": ("a Python number", f"{number} (or the math module)"),
            "list": (
                "a Python list or tuple",
                f"xp.asarray({shown}), or xp.stack for a list of arrays",
            ),
        }[value]
        message = f"the standard's {name} takes arrays, not {what} ({shown}); NumPy converts it"
        found.append((f"{path}(Python {value})", message, hint))
    if numbers >= 2 and numbers == required.count("scalar"):
        found.append(
            (
                f"{path}(Python numbers)",
                f"the standard's {name} refuses Python numbers in all of "
                f"{', '.join(sig.required[i] for i, t in enumerate(required) if t == 'scalar')}"
                "; NumPy converts them",
                "xp.asarray(value, dtype=...) for one of them",
            )
        )
    return found


def argument_findings(node: ast.Call, path: str, std: Standard) -> list[_Found]:
    """What to report about the arguments of ``node``, a call of numpy name ``path``."""
    found = _dtype_findings(node, path)
    name = path.removeprefix("numpy.")
    sig = std.signatures.get(name)
    if sig is None:
        return found  # not a standard function (reported as a name) or not a numpy call
    found += _python_value_findings(node, path, sig)
    starred = any(isinstance(a, ast.Starred) for a in node.args)
    if sig.max_positional is not None and not starred and len(node.args) > sig.max_positional:
        found.append(_positional_finding(path, name, sig, len(node.args)))
    given = {kw.arg for kw in node.keywords}
    missing = [p for p in sig.required[len(node.args) :] if p not in given]
    if missing and not starred and None not in given:  # no *args or **kwargs
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
        if kw.arg is not None and kw.arg not in sig.keywords:
            found.append(
                (
                    f"{path}({kw.arg}=)",
                    f"the standard's {name} has no {kw.arg} parameter",
                    ARGUMENT_HINTS.get((name, kw.arg)),
                )
            )
    return found


def pad_hint(node: ast.Call, hint: str) -> tuple[str | None, str]:
    """``hint`` (array-api-extra's pad) for ``np.pad`` call ``node`` and what to add to the
    message: xpx.pad supports mode="constant" only, so another mode gets no hint."""
    modes = [kw.value for kw in node.keywords if kw.arg == "mode"] + node.args[2:3]
    if not modes:
        return hint, ""
    mode = modes[0]
    if not isinstance(mode, ast.Constant):
        return f"{hint}, if mode is 'constant' (the only mode it supports)", ""
    if mode.value == "constant":
        return hint, ""
    return None, (
        f"; array-api-extra's pad supports mode='constant' only, not mode={mode.value!r} "
        "(no standard equivalent)"
    )
