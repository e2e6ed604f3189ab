"""Dtype conversion: :class:`DtypeConversion`, :class:`Scaling` and :func:`convert_dtype`.

The policy is written once, against the array API (:mod:`arrayport._dtype_policy`), and
runs in the array's own framework and on its own device for every memory type with an
array API namespace (numpy, cupy, torch, jax). tensorflow and pyclesperanto have none:
their arrays go to numpy with :func:`arrayport.convert` (a shared view for tensorflow on
the CPU, a copy otherwise), are converted there, and come back to the same memory type
and device. torch's uint64, which torch stores but cannot compute with and which int64
cannot hold, takes that host route too; its uint16 and uint32 are widened to int64.

The rules (see docs/decisions/0010 to 0014):

* ``Scaling.VALUE`` keeps values: round half to even, clip to the target's range. A value
  that fits is never changed. NaN becomes 0 and +-inf the ends of an integer range.
  Integer to integer is clipped in the integer domain (exact at every width); float to
  integer is exact at the extremes (float32 -> uint32 maps 2**32-1 and beyond to
  4294967295, never 0). Float to a narrower float rounds to nearest and clips finite
  values beyond its range to its largest finite value (inf and NaN stay). Integers into a
  float too narrow to hold them exactly (int64 -> float32) round to nearest.
* ``Scaling.UNIT``: floats in [0, 1] <-> the full unsigned range; floats in [-1, 1] <->
  the signed range, symmetric (``x * max``, ``x / max``; the minimum maps to -1 by
  clipping). Between two float types, and between a type and itself, it is VALUE.
* ``Scaling.MINMAX`` stretches the finite minimum..maximum to the target's full integer
  range (min..max), or to [0, 1] for a float target. Non-finite values are ignored when
  finding the range, NaN still becomes 0 and +-inf the range ends in integer targets. A
  constant or non-finite input has no range to stretch and is converted by VALUE.
* bool is the integer range 0..1 (True is 1; into bool, values round then clip, so 0.5
  -> False, 2 -> True, NaN -> False).
* complex -> real raises :class:`~arrayport.DtypeConversionError` unless
  ``discard_imaginary=True``.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

from arrayport import _dtype_numpy
from arrayport import _dtype_policy as policy
from arrayport._dtype_kinds import is_value
from arrayport._dtype_refusals import refuse_complex_overflow, refuse_unholdable
from arrayport.backends import detect_memory_type, get_backend
from arrayport.backends._protocol import Backend
from arrayport.backends._util import numpy_dtype_or_none
from arrayport.errors import (
    DtypeConversionError,
    InvalidOptionError,
    UnsupportedArrayError,
    UnsupportedDtypeError,
)
from arrayport.memory_types import MemoryType

__all__ = ["DtypeConversion", "Scaling", "apply_dtype_conversion", "convert_dtype"]


class DtypeConversion(enum.Enum):
    """What dtype a dispatched function's primary output gets."""

    PRESERVE_INPUT = "preserve_input"
    NATIVE_OUTPUT = "native_output"
    UINT8 = "uint8"
    UINT16 = "uint16"
    INT16 = "int16"
    INT32 = "int32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"


class Scaling(enum.Enum):
    """How values are mapped when the dtype changes."""

    VALUE = "value"
    UNIT = "unit"
    MINMAX = "minmax"


_NAMES = ", ".join(policy.DTYPES)


def dtype_name(dtype: Any) -> str | None:
    """The canonical name of a dtype given any supported way, or None if unrecognised.

    Accepts a name (``"uint16"``), a numpy dtype or scalar type (``np.float32``), jax's
    (``jnp.float32``), torch's (``torch.float32``), tensorflow's (``tf.float32``),
    array-api-strict's (``xps.uint8``) and the fixed members of :class:`DtypeConversion`.
    No framework is imported to recognise one.
    """
    if isinstance(dtype, DtypeConversion):
        return dtype.value if dtype.value in policy.DTYPES else None
    if isinstance(dtype, str):
        name = dtype.strip().lower()
        return name if name in policy.DTYPES else None
    root = type(dtype).__module__.partition(".")[0]
    if root == "torch":
        name = str(dtype).removeprefix("torch.")
    elif root == "array_api_strict":  # the standard's own dtype objects
        name = str(dtype).removeprefix("array_api_strict.")
    elif root == "tensorflow":
        name = str(getattr(dtype, "name", ""))
    elif dtype is None or dtype is float or dtype is int or dtype is complex:
        return None  # None: a missing argument; the rest: width by framework (ADR 0014)
    else:
        try:
            name = np.dtype(dtype).name
        except (TypeError, ValueError):  # not something numpy reads as a dtype
            return None
    return name if name in policy.DTYPES else None


def _target_name(dtype: Any) -> str:
    name = None if is_value(dtype) else dtype_name(dtype)  # numpy reads an array's dtype
    if name is None:
        msg = (
            f"{dtype!r} is not a dtype convert_dtype knows; pass one of {_NAMES} (as a "
            "name, a numpy dtype, or the framework's own dtype such as torch.float32; "
            "Python's float, int and complex have a width that differs by framework)"
        )
        raise InvalidOptionError(msg)
    return name


def _as_scaling(scaling: Any) -> Scaling:
    if isinstance(scaling, Scaling):
        return scaling
    if isinstance(scaling, str):
        try:
            return Scaling(scaling.lower())
        except ValueError:
            pass
    msg = f"scaling must be arrayport.Scaling.VALUE, UNIT or MINMAX, not {scaling!r}"
    raise InvalidOptionError(msg)


def _refuse_complex(src: policy.Kind, dst: policy.Kind, scaling: Scaling, discard: bool) -> None:
    if src.kind != "c" or discard:
        return
    if dst.kind != "c":
        msg = (
            f"converting {src.name} to {dst.name} would drop the imaginary part; to keep "
            "the real part pass discard_imaginary=True to convert_dtype (a dispatched "
            "function: return xp.real(x), or declare DtypeConversion.NATIVE_OUTPUT), or "
            "convert abs(x) instead"
        )
        raise DtypeConversionError(msg)
    if scaling is Scaling.MINMAX:
        msg = (
            f"MINMAX scaling of {src.name} needs an order complex numbers lack; to stretch "
            "the real part pass discard_imaginary=True to convert_dtype (a dispatched "
            "function: return xp.real(x)), or convert abs(x) instead"
        )
        raise DtypeConversionError(msg)


def _plan(
    src: policy.Kind,
    dst: policy.Kind,
    scaling: Scaling,
    backend: Backend,
) -> policy.Plan:
    storage_only: frozenset[str] = getattr(backend, "STORAGE_ONLY_DTYPES", frozenset())
    # Complex input is computed as its real part when that is all the result keeps: into a
    # real dtype, or stretched by MINMAX (complex numbers have no order; the caller
    # checked discard_imaginary for both).
    real_part = src.kind == "c" and (dst.kind != "c" or scaling is Scaling.MINMAX)
    src_work = src.component if real_part else src.name
    if src_work in ("float16", "bfloat16"):
        src_work = "float32"  # exact; and every framework computes in float32
    int64_max = policy.DTYPES["int64"].hi

    def widen(name: str) -> str:
        # Computable through int64 exactly when int64 holds the whole range (uint16/32);
        # a storage-only type it cannot hold stays, and sends the array to the host.
        fits = name in storage_only and policy.DTYPES[name].hi <= int64_max
        return "int64" if fits else name

    src_work, dst_work = widen(src_work), widen(dst.name)
    has_f64 = backend.check_dtype(np.dtype("float64"), "float64") is None
    return policy.Plan(
        src=src,
        dst=dst,
        scaling=scaling.value,
        src_work=src_work,
        dst_work=dst_work,
        compute="float64" if has_f64 else "float32",
    )


def _with_range(p: policy.Plan, found: tuple[int | float, int | float] | None) -> policy.Plan:
    """MINMAX with its range, or VALUE where there is no range to stretch."""
    if found is None or found[0] == found[1]:
        return policy.Plan(p.src, p.dst, "value", p.src_work, p.dst_work, p.compute)
    return policy.Plan(p.src, p.dst, p.scaling, p.src_work, p.dst_work, p.compute, *found)


def _convert_numpy(x: np.ndarray, p: policy.Plan) -> np.ndarray:
    import array_api_compat.numpy as xp

    refuse_complex_overflow(xp, x, p)
    if p.scaling == "minmax":
        values = np.real(x) if p.src.kind == "c" else x
        kind = policy.DTYPES[p.src_work].kind
        p = _with_range(p, _dtype_numpy.numpy_finite_range(values, kind) if x.size else None)
    out_dtype = numpy_dtype_or_none(p.dst.name)
    if out_dtype is None:  # only bfloat16 without ml_dtypes, refused earlier by check_dtype
        msg = f"numpy has no {p.dst.name} dtype here; install ml_dtypes"
        raise UnsupportedDtypeError(msg, dtype=p.dst.name)
    return _dtype_numpy.convert_numpy(x, p, out_dtype)


def _convert_xp(xp: Any, x: Any, p: policy.Plan, mt: MemoryType) -> Any:
    refuse_complex_overflow(xp, x, p)
    if p.scaling == "minmax":
        prepared = policy.prepare(xp, x, p)
        size = int(np.prod(tuple(prepared.shape), dtype=np.int64))
        kind = policy.DTYPES[p.src_work].kind  # dask: the range in one pass over its graph
        found = policy.finite_range(xp, prepared, kind, mt is MemoryType.DASK) if size else None
        p = _with_range(p, found)
    return policy.convert_block(xp, x, p)


def convert_dtype(
    x: Any,
    dtype: Any,
    *,
    scaling: Scaling = Scaling.VALUE,
    discard_imaginary: bool = False,
) -> Any:
    """Convert ``x`` to ``dtype``, on the same memory type and device, by ``scaling``.

    Parameters
    ----------
    x : array
        An array of any supported memory type.
    dtype : str, numpy dtype or framework dtype
        The target: a name (``"uint16"``, ``"float32"``, ``"bool"``, ``"bfloat16"``, ...),
        a numpy dtype or type, or the framework's own dtype (``torch.float32``,
        ``jnp.float32``, ``tf.float32``).
    scaling : Scaling
        ``VALUE`` (default) keeps values: round half to even, clip to the target range,
        NaN to 0 in integer targets. ``UNIT`` maps float [0, 1] (or [-1, 1] for signed
        types) to and from the full integer range. ``MINMAX`` stretches the finite
        min..max to the full integer range, or to [0, 1] for float targets.
    discard_imaginary : bool
        Allow complex input into a real dtype by keeping only the real part.

    Returns
    -------
    array
        Same memory type, device and shape as ``x``, of dtype ``dtype`` (a jax array on a
        CPU device other than the first comes back on the first, as conversions into jax
        land: see the jax memory-type page). ``x`` itself when it already has that dtype
        and ``scaling`` is VALUE or UNIT (a torch tensor that requires grad keeps its
        autograd history then; a converted one is detached).

    Raises
    ------
    DtypeConversionError
        Complex input into a real dtype without ``discard_imaginary=True``; complex128
        parts beyond complex64's range.
    UnsupportedDtypeError
        The memory type cannot hold ``dtype`` (int64 in jax without 64-bit mode, float64 in
        pyclesperanto, ...).
    InvalidOptionError
        ``dtype`` or ``scaling`` is not recognised.
    UnsupportedArrayError
        ``x`` is not an array of a supported framework.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> ap.convert_dtype(np.array([10.0, 20.5, 300.0, np.nan]), "uint8")
    array([ 10,  20, 255,   0], dtype=uint8)
    >>> ap.convert_dtype(np.array([0.0, 0.5, 1.0]), "uint8", scaling=ap.Scaling.UNIT)
    array([  0, 128, 255], dtype=uint8)
    """
    mt = detect_memory_type(x)
    backend = get_backend(mt)
    backend.load()
    info = backend.describe(x)  # also refuses masked arrays, traced jax arrays, ...
    if -1 in info.shape:  # dask after boolean indexing: chunk sizes not computed yet
        msg = (
            f"cannot convert the dtype of a {mt.value} array of unknown shape {x.shape}; "
            "compute its chunk sizes first: x.compute_chunk_sizes()"
        )
        raise UnsupportedArrayError(msg)
    src = policy.DTYPES.get(info.dtype_name)
    if src is None:
        msg = f"cannot convert {mt.value} arrays of dtype {info.dtype_name}: use one of {_NAMES}"
        raise UnsupportedDtypeError(msg, dtype=info.dtype_name, source=mt, target=mt)
    dst = policy.DTYPES[_target_name(dtype)]
    sc = _as_scaling(scaling)
    refuse_unholdable(backend, mt, dst.name)
    if not isinstance(discard_imaginary, (bool, np.bool_)):
        msg = f"discard_imaginary must be True or False, not {discard_imaginary!r}"
        raise InvalidOptionError(msg)
    _refuse_complex(src, dst, sc, bool(discard_imaginary))
    if src.name == dst.name and sc is not Scaling.MINMAX:
        return x  # unchanged: a torch tensor keeps its autograd history
    if getattr(x, "requires_grad", False):  # torch: values, not autograd history (as convert)
        x = x.detach()
    p = _plan(src, dst, sc, backend)
    checked_blocks = getattr(backend, "checked_blocks", None)  # dask: blocks on trust
    if checked_blocks is not None:
        x = checked_blocks(x)
    if mt is MemoryType.NUMPY:
        return _convert_numpy(np.asarray(x), p)
    if mt is MemoryType.JAX and info.device.is_cpu:
        # On the CPU, XLA divides by multiplying with an approximate reciprocal (1 ulp off
        # for UNIT and MINMAX) and flushes subnormals to zero; numpy computes the policy on
        # a zero-copy view instead, and jax adopts the aligned result without copying.
        return _via_host(x, mt, info.device, src, dst, sc)
    xp = backend.namespace()  # None for tensorflow and pyclesperanto
    # A storage-only dtype int64 cannot hold (torch's uint64) is converted on the host.
    storage_only: frozenset[str] = getattr(backend, "STORAGE_ONLY_DTYPES", frozenset())
    if xp is None or p.src_work in storage_only or p.dst_work in storage_only:
        return _via_host(x, mt, info.device, src, dst, sc)
    if p.compute == "float32" and (sc is not Scaling.VALUE or policy.rounded_in_float64(p, dst)):
        # UNIT and MINMAX stretch values by a ratio: in float32 (jax on a GPU without
        # 64-bit mode) that is off by a step near ties (int16 128 -> 128, not 129) and by
        # up to 254 steps into 32-bit types. numpy computes it exactly on the host.
        return _via_host(x, mt, info.device, src, dst, sc)
    return _convert_xp(xp, x, p, mt)


def _via_host(
    x: Any, mt: MemoryType, device: Any, src: policy.Kind, dst: policy.Kind, sc: Scaling
) -> Any:
    """Convert on the host with numpy and bring the result back to ``mt`` on ``device``."""
    from arrayport.convert import convert

    host = convert(x, MemoryType.NUMPY)
    p = _plan(src, dst, sc, get_backend(MemoryType.NUMPY))
    return convert(_convert_numpy(np.asarray(host), p), mt, device=device)


def apply_dtype_conversion(
    result: Any,
    conversion: DtypeConversion,
    scaling: Scaling,
    reference: Any,
    *,
    bool_stand_in: str | None = None,
) -> Any:
    """Apply a dispatched function's dtype policy to its primary output.

    Parameters
    ----------
    result : array
        The function's primary output.
    conversion : DtypeConversion
        ``NATIVE_OUTPUT`` returns ``result`` unchanged; ``PRESERVE_INPUT`` converts it to
        the dtype of ``reference``; the fixed members convert to their dtype.
    scaling : Scaling
        As for :func:`convert_dtype`.
    reference : array
        The call's first array argument (any memory type: only its dtype name is used).
    bool_stand_in : str, optional
        The dtype the framework the function ran on (declared, or an OOM fallback) holds
        bool in, as 0 and 1 (pyclesperanto: ``"uint8"``). With ``PRESERVE_INPUT`` and a
        bool reference, a result of that dtype is the input's bool widened: it goes back
        to bool by value whatever ``scaling`` says (``UNIT`` would read 1 as 1/255).

    Raises
    ------
    InvalidOptionError
        ``conversion`` is not a :class:`DtypeConversion`.
    """
    if not isinstance(conversion, DtypeConversion):
        try:
            conversion = DtypeConversion(str(conversion).lower())
        except ValueError:
            names = ", ".join(f"DtypeConversion.{m.name}" for m in DtypeConversion)
            msg = f"dtype_conversion must be one of {names}, not {conversion!r}"
            raise InvalidOptionError(msg) from None
    if conversion is DtypeConversion.NATIVE_OUTPUT:
        return result
    if conversion is DtypeConversion.PRESERVE_INPUT:
        target = dtype_name(getattr(reference, "dtype", None))
        if target is None:
            ref_backend = get_backend(detect_memory_type(reference))
            target = ref_backend.describe(reference).dtype_name
        if target not in policy.DTYPES:  # float128, jax's int4: no policy reaches them
            msg = (
                f"dtype_conversion=PRESERVE_INPUT cannot give the result its input's dtype "
                f"{target}: the dtype policy converts between bool, integer, float and "
                "complex dtypes up to 64 bits per part; declare dtype_conversion="
                "DtypeConversion.NATIVE_OUTPUT to return the function's own dtype, or a "
                "fixed one (e.g. DtypeConversion.FLOAT64)"
            )
            raise UnsupportedDtypeError(msg, dtype=target)
        if (
            target == "bool"
            and bool_stand_in is not None
            and dtype_name(getattr(result, "dtype", None)) == bool_stand_in
        ):
            scaling = Scaling.VALUE
        return convert_dtype(result, target, scaling=scaling)
    return convert_dtype(result, conversion.value, scaling=scaling)
