"""What the Python array API standard contains, read from array-api-strict at run time.

port-check never keeps its own list of standard names: a hand-kept list drifts from the
standard, and the standard grows every year. The names come from the namespace of
``array_api_strict`` (the reference implementation of the standard), its ``linalg`` and
``fft`` extensions, and the attributes of its array class. What *is* hand-kept is only
the table of hints (:data:`HINTS`): what to write instead of a non-standard NumPy name.
The table gives replacements; it never decides whether a name is standard.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import inspect
import re
from collections.abc import Mapping
from types import ModuleType

import numpy as np

from arrayport.errors import BackendUnavailableError

__all__ = ["REMOVED_METHODS", "Signature", "Standard", "standard"]

#: Names array-api-strict exports that are its own helpers, not part of the standard.
_STRICT_HELPERS = frozenset(
    {
        "ArrayAPIStrictFlags",
        "Device",
        "get_array_api_strict_flags",
        "reset_array_api_strict_flags",
        "set_array_api_strict_flags",
    }
)

#: Array attributes common enough on non-array Python objects (``d.copy()``,
#: ``pattern.flags``, ``image.resize``, ``queue.put``, ``json.dump``) that port-check reports
#: them only on names it has seen assigned from NumPy. The builtin types' attributes are
#: added to this set at run time (``list.sort``, ``complex.real``, ``memoryview.nbytes``,
#: ``memoryview.tolist``, ...).
_GENERIC_ATTRIBUTES = frozenset(
    {
        "base",
        "choose",
        "compress",
        "ctypes",
        "data",
        "dump",
        "dumps",
        "fill",
        "flags",
        "put",
        "resize",
        "view",
    }
)

#: Functions of an extension the standard has since a version but that array-api-strict
#: leaves out of the extension's ``__all__`` while defining them: 2.6 defines linalg.eig and
#: linalg.eigvals (added in the 2025.12 standard) but does not list them, as the standard's
#: own page did not at first (data-apis/array-api#991). Taken when the extension has them
#: and array-api-strict implements that version or a later one.
_UNLISTED = {"linalg": {"eig": "2025.12", "eigvals": "2025.12"}}

#: ndarray methods NumPy 2 removed, still in code written for NumPy 1.x (``x.ptp()``), as
#: the legacy function names are (:mod:`arrayport.portcheck._legacy_hints`).
REMOVED_METHODS = frozenset({"ptp", "itemset", "newbyteorder"})


@dataclasses.dataclass(frozen=True)
class Standard:
    """The names of the array API standard and the NumPy names it lacks.

    Attributes
    ----------
    version : str
        The standard's version array-api-strict is set to (``"2025.12"``, ...): its newest
        unless ``ARRAY_API_STRICT_API_VERSION`` names an older one.
    namespace : frozenset of str
        Functions, constants and dtypes of the main namespace in that version (not those
        array-api-strict refuses to call for it).
    extensions : dict of str to frozenset of str
        Names of each extension module (``"linalg"``, ``"fft"``).
    array_attributes : frozenset of str
        Attributes and methods of the standard's array object.
    array_only_methods : frozenset of str
        ndarray attributes the standard lacks and that are reported on any object.
    array_ambiguous_methods : frozenset of str
        ndarray attributes the standard lacks but that other Python objects have too
        (``copy``, ``sort``, ``real``, ...): reported only on names known to hold arrays.
    array_methods : frozenset of str
        Which of those ndarray attributes are methods (``max``, ``astype``) rather than data
        (``nbytes``, ``real``). A method is reported only where it is called (``x.max()``)
        unless the receiver is known to be an array: ``np.iinfo(t).max`` is not a method.
    dtype_attributes : frozenset of str
        Attributes of ``numpy.dtype`` (the standard's dtype objects have none).
    extra : frozenset of str
        Functions array-api-extra offers (empty when it is not installed).
    signatures : dict of str to Signature
        For each standard function (``"mean"``, ``"linalg.vector_norm"``), what it accepts.
    """

    version: str
    namespace: frozenset[str]
    extensions: dict[str, frozenset[str]]
    array_attributes: frozenset[str]
    array_only_methods: frozenset[str]
    array_ambiguous_methods: frozenset[str]
    dtype_attributes: frozenset[str]
    extra: frozenset[str]
    signatures: dict[str, Signature]
    array_methods: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Signature:
    """What a standard function accepts: ``max_positional`` (None: any number),
    ``keywords`` (None: any keyword), ``keyword_only``, the keyword-only parameters in
    the order the standard declares them, ``required``, the positional parameters
    without a default (``where`` needs ``condition, x1, x2``), and ``takes``, what each
    positional parameter accepts as its annotation says: ``"array"`` (arrays only),
    ``"scalar"`` (an array or a Python scalar), ``"arrays"`` (a list or tuple of arrays)
    ``"tuple"`` (a tuple of ints only: reshape's ``shape``, tile's ``repetitions``),
    ``"int_or_tuple"`` (an int or a tuple of ints: sum's and squeeze's ``axis``),
    ``"number"`` (a Python number only, a float or complex one among them: full's
    ``fill_value``, linspace's ``start``) or ``""`` (not said); ``named_takes`` says the same
    of every parameter that may be passed by keyword (diff's keyword-only ``prepend``).
    ``positional_only`` names the parameters that may not be passed by keyword (take's ``x,
    indices``), in order; ``int_axis`` says whether its ``axis`` takes ints only, not None
    (sort's, squeeze's); ``choices`` gives the strings a parameter annotated
    ``Literal[...]`` takes (qr's ``mode``: ``"reduced"``, ``"complete"``)."""

    max_positional: int | None
    keywords: frozenset[str] | None
    keyword_only: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    takes: tuple[str, ...] = ()
    named_takes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    positional_only: tuple[str, ...] = ()
    int_axis: bool = False
    choices: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


_SCALAR_TYPES = re.compile(r"\b(bool|int|float|complex)\b")
_SEQUENCE_TYPES = re.compile(r"\b(list|tuple|Sequence)\b")
_INT_TUPLE = re.compile(r"(typing\.)?[Tt]uple\[int, \.\.\.\]")
#: Words of an annotation that name no type: ``Optional[int]``, ``<class 'int'>``.
_NOT_TYPES = frozenset({"typing", "Union", "Optional", "None", "NoneType", "class"})
_LITERAL = re.compile(r"Literal\[([^\]]*)\]")
#: Parameters whose strings the standard lists, where array-api-strict's annotation does not.
_CHOICES = {"linalg.qr": {"mode": ("reduced", "complete")}}


def _takes(annotation: object) -> str:
    """What a parameter annotated ``annotation`` accepts (see :class:`Signature`)."""
    text = annotation if isinstance(annotation, str) else str(annotation)
    if _INT_TUPLE.fullmatch(text):
        return "tuple"  # reshape's shape: not an int, nor a list
    if annotation is inspect.Parameter.empty:
        return ""
    rest = _INT_TUPLE.sub("", text)
    types = set(re.findall(r"[A-Za-z_]\w*", rest)) - _NOT_TYPES
    if rest != text and types == {"int"}:
        return "int_or_tuple"  # sum's axis: not a list
    if types and types <= {"bool", "int", "float", "complex"} and types & {"float", "complex"}:
        return "number"  # full's fill_value: not a list (an int may be an axis: ints are not)
    if "Array" not in text:
        return ""
    if "Nested" in text or "DType" in text:
        return ""  # anything array-like (asarray's NestedSequence), or a dtype (finfo)
    if _SEQUENCE_TYPES.search(text):
        return "arrays"
    return "scalar" if _SCALAR_TYPES.search(text) else "array"


def _signature(fn: object) -> Signature | None:
    try:
        params = inspect.signature(fn).parameters.values()  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a builtin without a signature: accept anything
        return None
    kinds = [p.kind for p in params]
    positional = (
        None
        if inspect.Parameter.VAR_POSITIONAL in kinds
        else sum(
            k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for k in kinds
        )
    )
    keywords = (
        None
        if inspect.Parameter.VAR_KEYWORD in kinds
        else frozenset(
            p.name
            for p in params
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        )
    )
    keyword_only = tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)
    required = tuple(
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )
    takes = tuple(
        _takes(p.annotation)
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )
    named_takes = {
        p.name: _takes(p.annotation)
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    positional_only = tuple(p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_ONLY)
    choices = {}
    for p in params:
        literal = _LITERAL.search(str(p.annotation))
        if literal is not None:
            choices[p.name] = tuple(re.findall(r"""['"]([^'"]*)['"]""", literal.group(1)))
    axis = next((p for p in params if p.name == "axis"), None)
    int_axis = (
        axis is not None
        and axis.kind is not inspect.Parameter.POSITIONAL_ONLY
        and axis.annotation is not inspect.Parameter.empty
        and axis.default is not None
        and not re.search(r"\b(None|Optional|Any)\b", str(axis.annotation))
    )
    return Signature(
        positional,
        keywords,
        keyword_only,
        required,
        takes,
        named_takes,
        positional_only,
        int_axis,
        choices,
    )


def _signatures(module: ModuleType, names: frozenset[str], prefix: str) -> dict[str, Signature]:
    found: dict[str, Signature] = {}
    for name in names:
        obj = getattr(module, name, None)
        if callable(obj) and not isinstance(obj, type):
            sig = _signature(obj)
            if sig is not None:
                listed = {**_CHOICES.get(prefix + name, {}), **sig.choices}
                found[prefix + name] = dataclasses.replace(sig, choices=listed)
    return found


def _extension_names(
    module: ModuleType, unlisted: Mapping[str, str], version: str
) -> frozenset[str]:
    """The names of the extension ``module``: its ``__all__``, and those of ``unlisted`` (name
    -> the standard's version that added it) it defines for the standard ``version``."""
    # Versions are "YYYY.MM": compared as strings they order as dates.
    added = {n for n, since in unlisted.items() if since <= version and hasattr(module, n)}
    return frozenset(module.__all__) | added


_VERSION = re.compile(r"\d{4}\.\d{2}")


def _required_version(fn: object) -> str | None:
    """The standard's version array-api-strict requires for calling ``fn``, or None: its
    ``requires_api_version(v)`` wrapper keeps ``v`` in its closure (a cell named
    ``version``), and raises when the version set (``ARRAY_API_STRICT_API_VERSION``) is older.
    None where the wrapper is not found so: ``fn`` is then taken as standard."""
    found: str | None = None
    for _ in range(8):  # a few wrappers deep at most
        code, cells = getattr(fn, "__code__", None), getattr(fn, "__closure__", None)
        for name, cell in zip(getattr(code, "co_freevars", ()), cells or (), strict=False):
            try:
                value = cell.cell_contents if name == "version" else None
            except ValueError:  # an empty cell
                continue
            if isinstance(value, str) and _VERSION.fullmatch(value):
                found = max(found or value, value)
        fn = getattr(fn, "__wrapped__", None)
        if fn is None:
            break
    return found


def _gated(module: ModuleType, names: frozenset[str], version: str) -> frozenset[str]:
    """``names`` less those of ``module``'s functions that need a standard newer than
    ``version`` (array-api-strict lists every version's functions, and refuses the newer
    ones at call time)."""
    newer = {n for n in names if (_required_version(getattr(module, n, None)) or "") > version}
    return names - newer


_INSTALL = "'arrayport[cli]' (array-api-strict and array-api-extra)"


def _import(name: str) -> ModuleType:
    """``name`` imported, or :class:`BackendUnavailableError` saying whether it is not
    installed or is installed but fails to import (whatever it raised, ``SystemExit``
    included), as ``arrayport.backends._util._import`` tells them apart."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:  # found, but a module it needs is missing
            raise _broken(name, exc) from exc
        msg = (
            f"arrayport port-check reads the array API standard from {name}, which is not "
            f"installed; install it with: pip install {_INSTALL}"
        )
        raise BackendUnavailableError(msg) from exc
    # A broken or mismatched install, or a module that shadows it, may raise anything.
    except (Exception, SystemExit) as exc:
        raise _broken(name, exc) from exc


def _broken(name: str, exc: BaseException) -> BackendUnavailableError:
    """The error for ``name``, found but failing with ``exc`` while imported."""
    failed = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else "failed"
    try:
        spec = importlib.util.find_spec(name)
    except Exception:  # only to name the file: a top-level name runs no module code
        spec = None
    where = f" from {spec.origin}" if spec is not None and spec.origin else ""
    return BackendUnavailableError(
        f"arrayport port-check reads the array API standard from {name}, which is installed "
        f"but importing it{where} {failed} ({type(exc).__name__}: {exc}); reinstall it "
        f"(or remove a module of that name that shadows it) with: pip install "
        f"--force-reinstall {_INSTALL}"
    )


@functools.cache
def standard() -> Standard:
    """The array API standard as array-api-strict implements it (read once, then cached):
    the version it is set to when first called (``ARRAY_API_STRICT_API_VERSION``, or its
    newest), without the functions it refuses to call in that version.

    Raises
    ------
    BackendUnavailableError
        If array-api-strict is not installed, or fails to import.
    """
    xp = _import("array_api_strict")
    # The version set for array-api-strict (its newest unless ARRAY_API_STRICT_API_VERSION
    # or set_array_api_strict_flags says otherwise): a function added later is not standard.
    version = str(xp.__array_api_version__)
    namespace = _gated(xp, frozenset(xp.__all__) - _STRICT_HELPERS, version)
    # __all__ names the extension modules but they are loaded lazily: ask for them.
    extensions: dict[str, frozenset[str]] = {
        ext: _gated(
            getattr(xp, ext),
            _extension_names(getattr(xp, ext), _UNLISTED.get(ext, {}), version),
            version,
        )
        for ext in ("linalg", "fft")
        if ext in namespace
    }
    array_attributes = frozenset(dir(type(xp.asarray(0))))
    ndarray = {n for n in dir(np.ndarray) if not n.startswith("_")} | REMOVED_METHODS
    numpy_only = ndarray - array_attributes
    builtins = (list, dict, str, bytes, bytearray, memoryview, set, tuple, int, float, complex)
    builtin = set().union(*(dir(t) for t in builtins))
    ambiguous = (numpy_only & builtin) | (numpy_only & _GENERIC_ATTRIBUTES)
    signatures = _signatures(xp, namespace, "")
    for ext, names in extensions.items():
        signatures.update(_signatures(getattr(xp, ext), names, f"{ext}."))
    try:
        # A module shadowing array-api-extra may have no __all__: as if not installed.
        extra = frozenset(getattr(importlib.import_module("array_api_extra"), "__all__", ()))
    # Broken (one that does not match its array-api-compat raises AttributeError or
    # TypeError), or ending the import with SystemExit: as if not installed, the scan goes on.
    except (Exception, SystemExit):  # hints then name no array-api-extra function
        extra = frozenset()
    return Standard(
        version=version,
        namespace=namespace,
        extensions=extensions,
        array_attributes=array_attributes,
        array_only_methods=frozenset(numpy_only - ambiguous),
        array_ambiguous_methods=frozenset(ambiguous),
        dtype_attributes=frozenset(n for n in dir(np.dtype) if not n.startswith("_")),
        extra=extra,
        signatures=signatures,
        array_methods=frozenset(n for n in numpy_only if callable(getattr(np.ndarray, n, None)))
        | REMOVED_METHODS,
    )
