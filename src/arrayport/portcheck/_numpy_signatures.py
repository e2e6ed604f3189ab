"""NumPy's own names and parameters, read from the installed NumPy.

:func:`numpy_attribute` gives the object a dotted numpy name names; :func:`numpy_parameters`
the positional parameters of a numpy function, in order, which is how port-check matches a
positional argument to what NumPy means by it.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from arrayport._quiet import quiet

__all__ = ["numpy_attribute", "numpy_parameters"]


def numpy_attribute(path: str) -> object:
    """The object numpy name ``path`` (``"numpy.linalg.norm"``) names, or None; numpy's
    warnings for removed or deprecated names (``np.object``) are not shown."""
    obj: object = np
    with quiet():
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

#: Aliases NumPy 2 removed, still in code written for NumPy 1.x: their parameters are those
#: of the function each was an alias of.
_REMOVED_ALIASES = {
    "numpy.alltrue": "numpy.all",
    "numpy.cumproduct": "numpy.cumprod",
    "numpy.product": "numpy.prod",
    "numpy.round_": "numpy.round",
    "numpy.sometrue": "numpy.any",
}


@functools.cache
def numpy_parameters(path: str) -> tuple[str, ...] | None:
    """The names of the positional parameters of numpy callable ``path``, in order (a
    ufunc's outputs are named ``out``); None when NumPy does not say."""
    obj = numpy_attribute(path)
    if obj is None:
        alias = _REMOVED_ALIASES.get(path)
        return None if alias is None else numpy_parameters(alias)
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
