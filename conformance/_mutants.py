"""Deliberate breakage, for proving that the conformance suite can fail.

Loaded only on request (``pytest -p conformance._mutants``) with ``ARRAYPORT_MUTATION`` set
to one of :data:`MUTATIONS`; it monkeypatches arrayport in the test process before any
test runs. Nothing in ``src/`` knows about it. :mod:`conformance.mutations` runs each
mutation against the laws that should catch it.
"""

from __future__ import annotations

import ctypes
import dataclasses
import importlib
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.lib.array_utils import byte_bounds

import arrayport as ap
from arrayport import _dtype_policy
from arrayport._host import aligned_copy
from arrayport.backends import get_backend
from arrayport.errors import ConversionError, DtypeConversionError, UnsupportedDtypeError
from arrayport.memory_types import MemoryType

# Modules by name: ``arrayport.convert`` is also the name of the function re-exported on
# the package, which ``from arrayport import convert`` would give.
_planning = importlib.import_module("arrayport._planning")
_recovery = importlib.import_module("arrayport._oom_recovery")


def _wrong_value() -> None:
    """One route returns a wrong value: tensorflow's host adoption bumps the last element."""
    tf_backend = get_backend("tensorflow")
    original = tf_backend.from_numpy

    def from_numpy(a: np.ndarray, device: Any) -> Any:
        if a.size:
            a = np.array(a, copy=True)
            flat = a.reshape(-1)
            with np.errstate(all="ignore"):
                flat[-1] = ~flat[-1] if a.dtype.kind == "b" else flat[-1] + 1
        return original(a, device)

    def adopt_copy(view: np.ndarray, device: Any) -> Any:  # the host copies too
        return from_numpy(aligned_copy(view), device)

    tf_backend.from_numpy = from_numpy  # type: ignore[attr-defined]
    tf_backend.adopt_copy = adopt_copy  # type: ignore[attr-defined]


def _lying_zero_copy() -> None:
    """Host copies claim to be zero-copy."""
    original = _planning._host_copy_route

    def host_copy_route(*args: Any, **kwargs: Any) -> Any:
        route, run = original(*args, **kwargs)
        return dataclasses.replace(route, zero_copy=True), run

    _planning._host_copy_route = host_copy_route


def _wrapping_cast() -> None:
    """Integer-to-integer VALUE conversion forgets to clip: int16 300 -> int8 44."""
    _dtype_policy._clip_int = lambda xp, x, work, lo, hi: x  # type: ignore[assignment]


def _retried_non_oom() -> None:
    """The numpy backend calls ValueError out-of-memory, so such errors get retried."""
    np_backend = get_backend("numpy")
    original = np_backend.is_oom
    np_backend.is_oom = lambda exc: isinstance(exc, ValueError) or original(exc)  # type: ignore[attr-defined]


def _writable_alias() -> None:
    """torch wraps read-only numpy memory: every guard (convert's and torch's) switched off."""
    torch_backend: Any = get_backend("torch")
    torch_backend.WRITABLE_ONLY = False
    original = torch_backend._share_refusal
    torch_backend._share_refusal = lambda writable, *rest: original(True, *rest)


def _silent_downcast() -> None:
    """pyclesperanto's dtype check lets 64-bit dtypes through (it stores them as 32-bit)."""
    cle_backend = get_backend("pyclesperanto")
    original = cle_backend.check_dtype

    def check_dtype(dtype: Any, name: str) -> str | None:
        return None if name in ("int64", "uint64", "float64") else original(dtype, name)

    cle_backend.check_dtype = check_dtype  # type: ignore[attr-defined]


_KEPT: list[BaseException] = []


def _leaked_attempts() -> None:
    """Failed attempts' errors are kept (with their frames, and so their arrays)."""
    _recovery.drop_frames = _KEPT.append


def _quick_writable_alias() -> None:
    """Dispatch's quick torch share forgets numpy's WRITEABLE flag."""
    quick = importlib.import_module("arrayport.backends._torch_quick")
    quick._ALIGNED_WRITEABLE = 0x0100  # ALIGNED only


def _quick_alias_strided() -> None:
    """Dispatch's quick torch share wraps read-only numpy memory as writable, but only for
    arrays that are neither C- nor F-contiguous (strided views): a law that drew only
    contiguous read-only inputs would not see it."""
    torch_backend: Any = get_backend("torch")
    original = torch_backend.quick_from_numpy

    def quick_from_numpy(x: Any) -> Any:
        if (
            type(x) is np.ndarray
            and not x.flags.writeable
            and not (x.flags.c_contiguous or x.flags.f_contiguous)
            and x.flags.aligned
            and x.dtype.isnative
            and all(s >= 0 for s in x.strides)
            and x.size
        ):
            low, high = byte_bounds(x)
            memory = (ctypes.c_char * (high - low)).from_address(low)
            alias = np.ndarray(
                x.shape, x.dtype, buffer=memory, offset=x.ctypes.data - low, strides=x.strides
            )
            return torch_backend.load().from_numpy(alias)
        return original(x)

    torch_backend.quick_from_numpy = quick_from_numpy


def _torch_copy_short() -> None:
    """torch's own multi-threaded host copy (ADR 0052) leaves the last row of large arrays
    at zero; the copies parallel_copy leaves to numpy (its seed copies, a back-off) are
    exact, so only a law that reaches torch's branch catches it."""
    torch_copy = importlib.import_module("arrayport.backends._torch_copy")
    original = torch_copy._copy_by_torch

    def copy_by_torch(torch: Any, view: np.ndarray, flags: int) -> Any:
        out = original(torch, view, flags)
        if out is not None and out.ndim:
            out[-1] = 0
        return out

    torch_copy._copy_by_torch = copy_by_torch


def _needless_copy() -> None:
    """numpy -> torch copies by default (``copy=None`` planned as ``copy=True``), though the
    memory could be shared: DESIGN's "zero-copy where the frameworks allow it"."""
    convert_mod = importlib.import_module("arrayport.convert")
    original = convert_mod._plan

    def plan(x: Any, to: Any, device: Any, copy: Any) -> Any:
        if copy is None and type(x) is np.ndarray and str(getattr(to, "value", to)) == "torch":
            copy = True
        return original(x, to, device, copy)

    convert_mod._plan = plan
    convert_mod._plan_key = lambda *args: None  # no cached route past the mutant


def _complex_nan_part() -> None:
    """tensorflow's host adoption changes the other part of a complex value with one NaN
    part (numpy's equal_nan calls any two such values equal)."""
    tf_backend = get_backend("tensorflow")
    original = tf_backend.from_numpy

    def from_numpy(a: np.ndarray, device: Any) -> Any:
        if a.dtype.kind == "c" and a.size:
            a = np.array(a, copy=True)
            real_nan, imag_nan = np.isnan(a.real), np.isnan(a.imag)
            a.imag[real_nan & ~imag_nan] += 1.0
            a.real[imag_nan & ~real_nan] += 1.0
        return original(a, device)

    tf_backend.from_numpy = from_numpy  # type: ignore[attr-defined]
    tf_backend.adopt_copy = lambda view, device: from_numpy(aligned_copy(view), device)  # type: ignore[attr-defined]


def _integer_policy_off_by_one() -> None:
    """The dtype policy's integer results are one too high: PRESERVE_INPUT's dtype step
    too (a reference computed with convert_dtype itself would agree with it)."""
    dtypes_mod = importlib.import_module("arrayport.dtypes")
    original = dtypes_mod.apply_dtype_conversion

    def apply_dtype_conversion(x: Any, *args: Any, **kwargs: Any) -> Any:
        y = original(x, *args, **kwargs)
        if y is not x and isinstance(y, np.ndarray) and y.dtype.kind in "iu" and y.size:
            y = y + np.asarray(1, y.dtype)
        return y

    dtypes_mod.apply_dtype_conversion = apply_dtype_conversion


def _unit_float_wraps() -> None:
    """UNIT float -> integer wraps values above 1 (u - 1) instead of clipping them:
    float32 1.5 -> uint8 gives 128, not 255."""
    original = _dtype_policy._to_unit

    def to_unit(xp: Any, x: Any, p: Any, work: str) -> Any:
        u = original(xp, x, p, work)
        if p.scaling == "unit" and p.dst.kind in "iu" and _dtype_policy.DTYPES[work].kind == "f":
            u = xp.where(u > 1.0, u - 1.0, u)
        return u

    _dtype_policy._to_unit = to_unit  # type: ignore[assignment]


def _nan_scaled_to_max() -> None:
    """UNIT and MINMAX into an integer type send NaN to the top of the range, not to 0."""
    original = _dtype_policy._to_unit

    def to_unit(xp: Any, x: Any, p: Any, work: str) -> Any:
        u = original(xp, x, p, work)
        return xp.where(xp.isnan(u), 1.0, u) if p.dst.kind in "iu" else u

    _dtype_policy._to_unit = to_unit  # type: ignore[assignment]


def _complex_drops_imag() -> None:
    """complex -> complex conversion keeps only the real part: (1+2j) -> (1+0j)."""
    original = _dtype_policy.convert_block

    def convert_block(xp: Any, x: Any, p: Any) -> Any:
        if _dtype_policy.DTYPES[p.src_work].kind == "c":
            return xp.astype(xp.real(x), _dtype_policy.xp_dtype(xp, p.dst.name))
        return original(xp, x, p)

    _dtype_policy.convert_block = convert_block  # type: ignore[assignment]
    importlib.import_module("arrayport._dtype_numpy").convert_block = convert_block


def _decorator_ignores_scaling() -> None:
    """The decorator's dtype policy ignores ``scaling=`` (always VALUE): a float32 result in
    [0, 1] declared ``UINT8`` with ``Scaling.UNIT`` comes back 0 or 1, not 0..255."""
    dtypes_mod = importlib.import_module("arrayport.dtypes")
    original = dtypes_mod.apply_dtype_conversion

    def apply_dtype_conversion(x: Any, conversion: Any, scaling: Any, *args: Any, **kw: Any) -> Any:
        return original(x, conversion, ap.Scaling.VALUE, *args, **kw)

    dtypes_mod.apply_dtype_conversion = apply_dtype_conversion


def _fixed_conversion_ignored() -> None:
    """The decorator's fixed dtypes (``UINT8`` ... ``FLOAT64``) return the native output."""
    dtypes_mod = importlib.import_module("arrayport.dtypes")
    original = dtypes_mod.apply_dtype_conversion

    def apply_dtype_conversion(x: Any, conversion: Any, *args: Any, **kw: Any) -> Any:
        if conversion is not ap.DtypeConversion.PRESERVE_INPUT:
            conversion = ap.DtypeConversion.NATIVE_OUTPUT
        return original(x, conversion, *args, **kw)

    dtypes_mod.apply_dtype_conversion = apply_dtype_conversion


def _read_only_among_several() -> None:
    """Among several positional arguments (``quick_arguments``, ADR 0048) a read-only numpy
    array is shared into torch as it is (``torch.from_numpy``, writable); one argument
    alone still takes the guarded share."""
    general = importlib.import_module("arrayport._dispatch_general")
    original = general.quick_arguments

    def quick_arguments(args: tuple[Any, ...], target: Any) -> Any:
        if len(args) > 1 and target is MemoryType.TORCH:
            torch = get_backend("torch").load()

            def share(a: Any) -> Any:
                if type(a) is not np.ndarray or a.flags.writeable:
                    return a
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # "The given NumPy array is not writable"
                        return torch.from_numpy(a)
                except (TypeError, ValueError):  # negative strides, non-native byte order
                    return a

            args = tuple(share(a) for a in args)
        return original(args, target)

    general.quick_arguments = quick_arguments


def _without_split(when: Callable[[Any], bool]) -> None:
    """Each piece of the OOM policy's recovery runs without ``split_axis`` where ``when``
    holds for its policy: the split step is skipped, the fallback (if any) comes next."""
    original = _recovery.Execution.piece

    def piece(
        self: Any, args: Any, kwargs: Any, site: Any, policy: Any, *rest: Any, **kw: Any
    ) -> Any:
        if policy.split_axis is not None and when(policy):
            policy = dataclasses.replace(policy, split_axis=None)
        return original(self, args, kwargs, site, policy, *rest, **kw)

    _recovery.Execution.piece = piece


def _no_split() -> None:
    """The OOM policy never splits: where retries cannot help, it falls back or raises."""
    _without_split(lambda policy: True)


def _fallback_before_split() -> None:
    """The OOM policy runs its fallback before trying the split (the split only inside the
    fallback's own run)."""
    _without_split(lambda policy: policy.fallback is not None)


def _no_release() -> None:
    """The OOM policy never releases cached memory between attempts."""
    _recovery.release = lambda *args, **kwargs: None


def _oom_device_dropped() -> None:
    """The final OutOfMemoryError does not say which device ran out of memory."""
    original = _recovery.gave_up

    def gave_up(*args: Any) -> Any:
        exc = original(*args)
        exc.device = None
        return exc

    _recovery.gave_up = gave_up


def _tuple_primary_unconverted() -> None:
    """The decorator's dtype policy leaves a tuple result as the function made it: its
    primary output (the first element) keeps the function's dtype."""
    policy_mod = importlib.import_module("arrayport._dispatch_policy")
    placement = importlib.import_module("arrayport._placement")
    original = placement.convert_dtype

    def convert_dtype(result: Any, *args: Any, **kwargs: Any) -> Any:
        if type(result) is tuple:
            return result
        return original(result, *args, **kwargs)

    placement.convert_dtype = convert_dtype
    policy_mod.convert_dtype = convert_dtype


def _unit_as_value() -> None:
    """UNIT between two integer types keeps values (VALUE): uint8 255 -> uint16 255, not
    65535."""
    original = _dtype_policy.convert_block

    def convert_block(xp: Any, x: Any, p: Any) -> Any:
        if (
            p.scaling == "unit"
            and _dtype_policy.DTYPES[p.src_work].kind in "iu"
            and p.dst.kind in "iu"
        ):
            p = dataclasses.replace(p, scaling="value")
        return original(xp, x, p)

    _dtype_policy.convert_block = convert_block  # type: ignore[assignment]
    importlib.import_module("arrayport._dtype_numpy").convert_block = convert_block


def _minmax_no_range_raises() -> None:
    """MINMAX refuses arrays with no finite value to find a range in (empty, all NaN)."""
    dtypes_mod = importlib.import_module("arrayport.dtypes")
    original = dtypes_mod._with_range

    def with_range(p: Any, found: Any) -> Any:
        if found is None:
            raise DtypeConversionError("MINMAX needs a finite range")
        return original(p, found)

    dtypes_mod._with_range = with_range


def _minmax_constant_to_zero() -> None:
    """MINMAX stretches a constant array to the bottom of the range (7s -> 0s), not VALUE."""
    dtypes_mod = importlib.import_module("arrayport.dtypes")
    original = dtypes_mod._with_range

    def with_range(p: Any, found: Any) -> Any:
        if found is not None and found[0] == found[1]:
            return original(p, (found[0], found[0] + 1))
        return original(p, found)

    dtypes_mod._with_range = with_range


def _refusal_type() -> None:
    """A dtype the target cannot hold is refused with a bare ConversionError that names
    neither the dtype nor the remedy (not UnsupportedDtypeError)."""
    original = _planning._check_dtype

    def check_dtype(s: Any, t: Any, info: Any) -> Any:
        try:
            return original(s, t, info)
        except UnsupportedDtypeError:
            msg = f"cannot convert to {t.MEMORY_TYPE.value}"
            raise ConversionError(msg, source=s.MEMORY_TYPE, target=t.MEMORY_TYPE) from None

    _planning._check_dtype = check_dtype


def _mask_dropped() -> None:
    """numpy's backend describes a masked array as its data: the mask is dropped and the
    values under it are converted."""
    np_backend = get_backend("numpy")
    original = np_backend.describe

    def describe(x: Any) -> Any:
        return original(x.view(np.ndarray) if isinstance(x, np.ma.MaskedArray) else x)

    np_backend.describe = describe  # type: ignore[attr-defined]


def _mask_dropped_dask() -> None:
    """dask's backend reads an array with masked chunks as its data
    (``dask.array.ma.getdata``): the mask is dropped and the values under it converted."""
    dask_backend = get_backend("dask")

    def unmasked(x: Any) -> Any:
        masked = isinstance(getattr(x, "_meta", None), np.ma.MaskedArray)
        return dask_backend.load().ma.getdata(x) if masked else x

    for name in ("describe", "to_numpy"):
        original = getattr(dask_backend, name)
        setattr(dask_backend, name, lambda x, _original=original: _original(unmasked(x)))


#: name -> (what it breaks, how)
MUTATIONS: dict[str, tuple[str, Callable[[], None]]] = {
    "wrong-value": ("a wrong value in one route (tensorflow host adoption)", _wrong_value),
    "lying-zero-copy": ("host-copy routes report zero_copy=True", _lying_zero_copy),
    "wrapping-cast": ("integer VALUE conversion without clipping (wraps)", _wrapping_cast),
    "retried-non-oom": ("ValueError recognised as out-of-memory (retried)", _retried_non_oom),
    "writable-alias": ("torch wraps read-only numpy memory (a writable alias)", _writable_alias),
    "silent-downcast": (
        "pyclesperanto accepts 64-bit dtypes (stores them as 32-bit)",
        _silent_downcast,
    ),
    "leaked-attempts": ("failed OOM attempts' errors and frames are kept alive", _leaked_attempts),
    "quick-writable-alias": (
        "dispatch's quick torch share wraps read-only numpy memory",
        _quick_writable_alias,
    ),
    "quick-alias-strided": (
        "dispatch's quick torch share wraps read-only strided numpy views as writable",
        _quick_alias_strided,
    ),
    "torch-copy-short": (
        "torch's own multi-threaded host copy misses the last row of large arrays",
        _torch_copy_short,
    ),
    "needless-copy": ("numpy -> torch copies by default where it could share", _needless_copy),
    "complex-nan-part": (
        "tensorflow changes the other part of complex values with one NaN part",
        _complex_nan_part,
    ),
    "integer-policy-off-by-one": (
        "the dtype policy's integer results are one too high",
        _integer_policy_off_by_one,
    ),
    "unit-float-wraps": ("UNIT float -> integer wraps values above 1", _unit_float_wraps),
    "nan-scaled-to-max": (
        "UNIT and MINMAX send NaN to the top of an integer range",
        _nan_scaled_to_max,
    ),
    "complex-drops-imag": (
        "complex -> complex keeps only the real part",
        _complex_drops_imag,
    ),
    "decorator-ignores-scaling": (
        "the decorator's dtype policy ignores scaling= (always VALUE)",
        _decorator_ignores_scaling,
    ),
    "fixed-conversion-ignored": (
        "the decorator's fixed dtypes (UINT8 ... FLOAT64) return the native output",
        _fixed_conversion_ignored,
    ),
    "read-only-among-several": (
        "a read-only numpy array among several positional arguments is shared into torch writable",
        _read_only_among_several,
    ),
    "no-split": ("the OOM policy never splits", _no_split),
    "fallback-before-split": (
        "the OOM policy runs its fallback before trying the split",
        _fallback_before_split,
    ),
    "no-release": ("the OOM policy never releases memory between attempts", _no_release),
    "oom-device-dropped": (
        "OutOfMemoryError.device is None",
        _oom_device_dropped,
    ),
    "tuple-primary-unconverted": (
        "the dtype policy leaves a tuple result's primary output unconverted",
        _tuple_primary_unconverted,
    ),
    "unit-as-value": (
        "UNIT between integer types keeps values (uint8 255 -> uint16 255)",
        _unit_as_value,
    ),
    "minmax-no-range-raises": (
        "MINMAX refuses empty and all-non-finite arrays",
        _minmax_no_range_raises,
    ),
    "minmax-constant-to-zero": (
        "MINMAX sends a constant array to the bottom of the range",
        _minmax_constant_to_zero,
    ),
    "refusal-type": (
        "a dtype refusal is a bare ConversionError naming no dtype",
        _refusal_type,
    ),
    "mask-dropped": (
        "a masked array is converted without its mask",
        _mask_dropped,
    ),
    "mask-dropped-dask": (
        "a dask array with masked chunks is converted without its mask",
        _mask_dropped_dask,
    ),
}


def pytest_configure(config: pytest.Config) -> None:
    name = os.environ.get("ARRAYPORT_MUTATION", "")
    if not name:
        return
    if name not in MUTATIONS:
        msg = f"ARRAYPORT_MUTATION={name!r}: use one of {', '.join(MUTATIONS)}"
        raise pytest.UsageError(msg)
    MUTATIONS[name][1]()
    assert ap  # arrayport was imported (and patched) before any test module
