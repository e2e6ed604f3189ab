"""The backend registry: memory type → backend module, and detection without imports.

A memory type is detected from ``type(x).__module__``: its root must name a framework that
is *already* in ``sys.modules`` (an array of it exists, so importing it costs nothing), and
the backend's ``is_array`` confirms. The answer is cached per type, so detection of a
known type is one dictionary lookup.

No framework is imported here. Backend modules themselves import their framework only in
``load()``.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any, cast

import numpy as np

from arrayport.backends._protocol import Backend
from arrayport.backends._util import unimportable
from arrayport.errors import BackendUnavailableError, NoNamespaceError, UnsupportedArrayError
from arrayport.memory_types import MemoryType, as_memory_type

__all__ = [
    "Backend",
    "array_like_refusal",
    "installed_memory_types",
    "available_memory_types",
    "cached_memory_type",
    "detect_memory_type",
    "get_backend",
    "namespace",
]

_MODULES: dict[MemoryType, str] = {mt: f"arrayport.backends.{mt.value}" for mt in MemoryType}

_backends: dict[MemoryType, Backend] = {}
# type -> memory type. Only whole entries are ever stored or read (single dict operations,
# atomic under the GIL and safe without it too: a racing thread at worst repeats the
# detection and stores the same value), so lookups take no lock.
# Emptied at _MAX_TYPES entries: array subclasses made at run time stay collectable.
_type_cache: dict[type, MemoryType] = {}
_MAX_TYPES = 1024
_lock = threading.Lock()

#: The memory type already detected for arrays of this exact type, or None (a dict lookup).
cached_memory_type = _type_cache.get
# Array type -> its namespace, once one was found (emptied as _type_cache is).
_namespaces: dict[type, Any] = {}


def get_backend(memory_type: MemoryType | str) -> Backend:
    """The backend module for ``memory_type`` (the framework itself is not imported)."""
    mt = as_memory_type(memory_type)
    found = _backends.get(mt)
    if found is None:
        try:
            module = importlib.import_module(_MODULES[mt])
        except ModuleNotFoundError as exc:
            if exc.name != _MODULES[mt]:
                raise
            msg = f"arrayport has no backend for {mt.value} in this version"
            raise BackendUnavailableError(msg) from exc
        found = cast(Backend, module)
        _backends.setdefault(mt, found)
    return found


def _root_map() -> dict[str, MemoryType]:
    roots: dict[str, MemoryType] = {}
    for mt in MemoryType:
        try:
            for root in get_backend(mt).MODULE_ROOTS:
                roots[root] = mt
        except BackendUnavailableError:
            continue
    return roots


_roots: dict[str, MemoryType] | None = None


def _load_roots() -> dict[str, MemoryType]:
    global _roots
    with _lock:
        if _roots is None:
            _roots = _root_map()
        return _roots


def _describe_non_array(x: object) -> str:
    kind = type(x).__name__
    if x is None:
        return "got None instead of an array"
    if isinstance(x, (list, tuple)):
        return f"got a Python {kind}; make an array first, e.g. numpy.asarray(x)"
    if isinstance(x, (bool, int, float, complex)):
        return f"got a Python {kind} scalar; make an array first, e.g. numpy.asarray(x)"
    if isinstance(x, (bytes, bytearray, memoryview)):
        return (
            f"got {kind}; arrays of raw bytes carry no dtype or shape: use "
            "numpy.frombuffer(x, dtype=...) first"
        )
    keras_refusal = array_like_refusal(x) if type(x).__module__.startswith("keras") else None
    if keras_refusal is not None:
        return keras_refusal
    return (
        f"{type(x).__module__}.{type(x).__qualname__} is not an array of a supported "
        "framework (numpy, cupy, torch, jax, tensorflow, pyclesperanto, dask); make one "
        "first, e.g. numpy.asarray(x)"
    )


def detect_memory_type(x: object) -> MemoryType:
    """The memory type of array ``x``.

    Parameters
    ----------
    x : array
        A numpy, cupy, torch, jax, tensorflow, pyclesperanto or dask array.

    Raises
    ------
    UnsupportedArrayError
        If ``x`` is not an array of a supported framework (lists, scalars, ``None``, ...).
    """
    t = type(x)
    found = _type_cache.get(t)
    if found is not None:
        return found
    roots = _roots if _roots is not None else _load_roots()
    root = str(getattr(t, "__module__", "") or "").partition(".")[0]
    mt = roots.get(root)
    if mt is None:
        mt = _subclassed(x)  # found by isinstance, of a framework already imported
    elif root not in sys.modules and mt is not MemoryType.NUMPY:
        mt = None
    if mt is None:
        raise UnsupportedArrayError(_describe_non_array(x))
    backend = get_backend(mt)
    if not backend.is_array(x):
        hint = backend.non_array_hint(x)
        msg = f"{t.__module__}.{t.__qualname__} belongs to {mt.value} but is not one of its arrays"
        raise UnsupportedArrayError(f"{msg}; {hint}" if hint else msg)
    if len(_type_cache) >= _MAX_TYPES:
        _type_cache.clear()
    _type_cache[t] = mt
    return mt


#: Besides numpy's ndarray, the array classes other packages subclass (torchvision's
#: tv_tensors are Tensors): found by isinstance, for frameworks already imported, when the
#: module names no framework.
_SUBCLASSED = (MemoryType.TORCH, MemoryType.CUPY)


def _subclassed(x: object) -> MemoryType | None:
    if isinstance(x, np.ndarray):  # astropy's Quantity, memory maps, ...
        return MemoryType.NUMPY
    for mt in _SUBCLASSED:
        backend = get_backend(mt)
        if backend.IMPORT_NAME not in sys.modules:
            continue
        try:
            if backend.is_array(x):
                return mt
        except BackendUnavailableError:  # imported but unusable here (cupy without a GPU)
            continue
    return None


def array_like_refusal(x: object) -> str | None:
    """Why ``x`` cannot be given to a dispatched function, when it belongs to an imported
    framework and holds array data without being one of the arrays arrayport moves (a
    ``tf.Variable``, a ragged or sparse tensor, jax's float0 arrays), with the remedy;
    None for anything else, arrays or not (scalars, devices, models, ...)."""
    root = str(getattr(type(x), "__module__", "") or "").partition(".")[0]
    if root == "keras" and "keras" in sys.modules:
        # Keras 3 is its own package over jax, torch or tensorflow: its Variable wraps one
        # of their tensors, and operators on it compute in that framework, whatever the
        # function declared.
        keras = sys.modules["keras"]
        variable = getattr(keras, "Variable", None)
        if variable is not None and isinstance(x, variable):
            # Its value is its backend's tensor on jax and torch; on tensorflow, v.value is
            # a tf.Variable (refused in turn): the tensor is tf.convert_to_tensor(v).
            backend = getattr(getattr(keras, "backend", None), "backend", None)
            if callable(backend) and backend() == "tensorflow":
                tensor = "tf.convert_to_tensor(v) (a tensor of its value)"
            else:
                tensor = "v.value (its backend's tensor)"
            return (
                "a keras.Variable is mutable state, not an array: pass "
                f"keras.ops.convert_to_numpy(v), or {tensor}"
            )
        symbolic = getattr(keras, "KerasTensor", None)
        if symbolic is not None and isinstance(x, symbolic):
            # Passed through as a non-array, the body would build Keras ops: the model
            # would run it with no move and no dtype policy, on other values and dtypes.
            return (
                "a KerasTensor is the symbolic input of a Keras functional model and holds "
                "no data: call the function on the real arrays (the model's inputs or "
                "outputs), or wrap a function declared on Keras's backend framework in "
                "keras.layers.Lambda, which calls it with that framework's tensors"
            )
    mt = (_roots if _roots is not None else _load_roots()).get(root)
    if mt is None or root not in sys.modules:
        return None
    refusal = getattr(get_backend(mt), "array_like_refusal", None)
    return None if refusal is None else cast("str | None", refusal(x))


def available_memory_types() -> tuple[MemoryType, ...]:
    """The memory types whose frameworks are installed here.

    Decided without importing any framework (``importlib.util.find_spec`` plus cheap checks:
    an OpenCL platform for pyclesperanto, a CUDA driver for cupy), so it is cheap to call.
    A framework that is installed but fails to import is listed until its first use in
    this process, which raises :class:`~arrayport.errors.BackendUnavailableError` saying
    so, and left out from then on (``arrayport doctor`` imports each one).
    """
    return tuple(mt for mt in installed_memory_types() if mt.value not in unimportable)


def installed_memory_types() -> tuple[MemoryType, ...]:
    """:func:`available_memory_types` with the frameworks whose import failed in this
    process kept: what the doctor, the benchmark and the testing kit check and report
    (a broken install must fail there, not pass as "not installed")."""
    found: list[MemoryType] = []
    for mt in MemoryType:
        try:
            if get_backend(mt).is_installed():
                found.append(mt)
        except BackendUnavailableError:
            continue
    return tuple(found)


def namespace(x_or_memory_type: Any, *more: Any) -> Any:
    """The array API namespace for an array or a memory type.

    numpy, torch, cupy and dask get array-api-compat's wrapped namespaces; jax gets
    ``jax.numpy`` (compliant on its own). tensorflow and pyclesperanto have no array API
    namespace: asking for one raises :class:`NoNamespaceError` (an
    :class:`UnsupportedArrayError`) saying so. A masked array or ``np.matrix`` raises
    :class:`UnsupportedArrayError` (refused as a dispatched function refuses them: the
    namespace would drop the mask, or compute ``*`` elementwise). A numpy scalar (what
    numpy's reductions return) gets numpy's, as the 0-d array it stands for; an array of
    another array API library (array-api-strict's) gets its own ``__array_namespace__()``.

    Several arrays may be given, as to array-api-compat's ``array_namespace``: they must
    share one namespace (Python numbers and None among them are skipped), else
    :class:`UnsupportedArrayError` names both.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> xp = ap.namespace(np.zeros(3))
    >>> xp.sum(xp.ones(3))
    np.float64(3.0)
    """
    if more:
        return _shared_namespace((x_or_memory_type, *more))
    t = type(x_or_memory_type)
    xp = _namespaces.get(t)
    if xp is not None:
        return xp
    array = not isinstance(x_or_memory_type, (MemoryType, str))
    if isinstance(x_or_memory_type, (np.number, np.bool_)):
        mt = MemoryType.NUMPY  # a 0-d array's stand-in: numpy's reductions return them
    elif array:
        try:
            mt = detect_memory_type(x_or_memory_type)
        except UnsupportedArrayError:
            # Another array API library's array (array-api-strict's), not a refused one
            # of the frameworks arrayport knows (numpy's datetime64 scalar has one too).
            root = str(getattr(t, "__module__", "")).partition(".")[0]
            known = _roots if _roots is not None else _load_roots()
            if root in known or not hasattr(t, "__array_namespace__"):
                raise
            return x_or_memory_type.__array_namespace__()
    else:
        mt = as_memory_type(x_or_memory_type)
    backend = get_backend(mt)
    backend.load()
    if array:
        # A masked array or np.matrix: its namespace would drop the mask or compute
        # elementwise what the subclass computes otherwise, as a dispatched function would.
        refuse = getattr(backend, "argument_refusal", None)
        refusal = refuse(t) if refuse is not None else None
        if refusal is not None:
            raise UnsupportedArrayError(refusal)
    xp = backend.namespace()
    if xp is None:
        msg = (
            f"{mt.value} has no array API namespace (array-api-compat does not wrap it); "
            f"write the function with {mt.value}'s own calls, or declare it on a memory type "
            "that has one (numpy, torch, jax, cupy, dask)"
        )
        raise NoNamespaceError(msg, memory_type=mt.value)
    if array:
        if len(_namespaces) >= _MAX_TYPES:
            _namespaces.clear()
        _namespaces[t] = xp
    return xp


def _shared_namespace(given: tuple[Any, ...]) -> Any:
    """The one namespace of the arrays in ``given`` (numbers and None skipped)."""
    first: Any = None
    xp: Any = None
    for value in given:
        if value is None or type(value) in (bool, int, float, complex):
            continue
        found = namespace(value)
        if xp is None:
            first, xp = value, found
        elif found is not xp:
            kinds = [_library(first), _library(value)]
            remedy = (
                "convert one to the other's memory type first (arrayport.convert(y, "
                "arrayport.detect_memory_type(x))), or declare the function's memory type "
                "with @arrayport.memory_type, which converts them"
                if all(k in _MEMORY_TYPE_NAMES for k in kinds)
                else "make both arrays of one library first (arrayport converts only "
                "between the frameworks it supports; another library converts with its "
                "own asarray or from_dlpack)"
            )
            msg = (
                f"namespace: {kinds[0]} and {kinds[1]} arrays have no namespace in common; {remedy}"
            )
            raise UnsupportedArrayError(msg)
    if xp is None:
        msg = "namespace: no array among the arguments (only Python numbers and None)"
        raise UnsupportedArrayError(msg)
    return xp


_MEMORY_TYPE_NAMES = frozenset(m.value for m in MemoryType)


def _library(value: Any) -> str:
    """``value``'s memory type, or the library its type comes from (array-api-strict)."""
    if isinstance(value, (MemoryType, str)):
        return str(getattr(value, "value", value))
    if isinstance(value, (np.number, np.bool_)):
        return MemoryType.NUMPY.value
    try:
        return detect_memory_type(value).value
    except UnsupportedArrayError:
        return type(value).__module__.partition(".")[0]
