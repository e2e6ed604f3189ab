"""Target dtypes a conversion refuses before it computes anything: one the memory type
cannot hold (or would store widened), and complex128 -> complex64 where a finite part would
become inf. :func:`arrayport.convert_dtype` asks them, and a dispatched call's dtype policy
asks :func:`refuse_input_dtype` why it failed; nothing is imported here beyond
what arrayport already has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arrayport import _dtype_policy as policy
from arrayport.backends._protocol import Backend
from arrayport.backends._util import numpy_dtype_or_none
from arrayport.errors import DtypeConversionError, UnsupportedArrayError, UnsupportedDtypeError
from arrayport.memory_types import MemoryType

__all__ = ["refuse_complex_overflow", "refuse_input_dtype", "refuse_unholdable"]


def refuse_unholdable(backend: Backend, mt: MemoryType, name: str) -> None:
    """A target dtype the memory type cannot hold (or would widen) is refused up front."""
    refusal = backend.check_dtype(numpy_dtype_or_none(name), name)
    widened = getattr(backend, "WIDENINGS", {}).get(name)
    if refusal is None and widened is not None:
        msg = (
            f"{mt.value} stores {name} as {widened}, so the result would not be {name}. "
            f"Convert it to another memory type first (arrayport.convert(x, 'numpy')); a "
            f"dispatched function whose result stays in or goes to {mt.value} can declare "
            f"dtype_conversion=DtypeConversion.NATIVE_OUTPUT ({name} comes back as "
            f"{widened}), a dtype {mt.value} holds (DtypeConversion.{widened.upper()}), or "
            "output='input'"
        )
    elif refusal is not None:
        # The backend's refusal is worded for data moving into the memory type; here the
        # data is in it already, and only another memory type (or a setting) holds ``name``.
        setting = getattr(backend, "dtype_setting", lambda _: None)(name)
        msg = (
            f"{mt.value} cannot hold {name} here; convert the array to a memory type that "
            f"holds it and the dtype there: arrayport.convert_dtype(arrayport.convert(x, "
            f"'numpy'), '{name}')" + ("" if setting is None else f", or {setting}")
        )
    else:
        return
    msg = f"cannot convert a {mt.value} array to {name}: {msg}"
    raise UnsupportedDtypeError(msg, dtype=name, source=mt, target=mt)


def refuse_complex_overflow(xp: Any, x: Any, p: policy.Plan) -> None:
    """complex128 -> complex64 would turn finite parts beyond float32 into inf: refuse.

    Parts above float32's largest value but below the half-way point to the next power
    of two round to that largest value, as float64 -> float32 gives them: those convert.
    """
    src, dst = p.src, p.dst
    if policy.DTYPES[p.src_work].kind != "c" or dst.kind != "c" or dst.hi >= src.hi:
        return
    info = np.finfo(dst.component)
    # Half a step above the largest value: from there round-to-nearest gives inf.
    overflows = float(dst.hi) + float(info.eps) * 2.0 ** (info.maxexp - 2)
    # One reduction over both parts: on dask one pass over the graph, not one per part.
    bad = [xp.isfinite(v) & (xp.abs(v) >= overflows) for v in (xp.real(x), xp.imag(x))]
    if bool(xp.any(bad[0] | bad[1])):
        msg = (
            f"{src.name} values beyond the range of {dst.name} (|part| > {dst.hi:.4g}) would "
            "become inf; scale them down first, or keep complex128"
        )
        raise DtypeConversionError(msg)


def refuse_input_dtype(name: str, reference: Any, result: Any) -> UnsupportedArrayError | None:
    """The refusal of ``DtypeConversion.PRESERVE_INPUT`` for the dispatched function
    ``name`` when the cause is its first array argument ``reference``: a dtype no policy
    reaches (strings, datetimes, objects), which its memory type refuses to describe. The
    result (``np.char.str_len``'s int64) is not to blame. None when ``reference``'s dtype
    is not the cause (the error is then the result's)."""
    from arrayport.backends import detect_memory_type, get_backend
    from arrayport.dtypes import dtype_name

    if dtype_name(getattr(reference, "dtype", None)) is not None:
        return None
    try:
        get_backend(detect_memory_type(reference)).describe(reference)
    except (UnsupportedArrayError, UnsupportedDtypeError):
        pass
    else:
        return None
    primary = result[0] if isinstance(result, (tuple, list)) and result else result
    made = getattr(primary, "dtype", None)
    msg = (
        f"{name}: dtype_conversion=PRESERVE_INPUT cannot give the result"
        f"{'' if made is None else f' ({made})'} the first array argument's dtype "
        f"{getattr(reference, 'dtype', '?')}: the dtype policy converts between bool, "
        "integer, float and complex dtypes only; declare dtype_conversion="
        "DtypeConversion.NATIVE_OUTPUT to return the function's own dtype, or a fixed one "
        "(e.g. DtypeConversion.FLOAT64)"
    )
    return UnsupportedArrayError(msg)
