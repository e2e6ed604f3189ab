"""Checks of :func:`arrayport.testing.strategies.arrays`' options, made when the strategy is
built, and the element strategy it draws values from by default.

Apart from :mod:`arrayport.testing.strategies` so that module stays small; it needs
hypothesis, which only the strategies import.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from arrayport._dtype_kinds import is_value
from arrayport.devices import parse_device
from arrayport.errors import DeviceError, InvalidOptionError
from arrayport.memory_types import MemoryType
from arrayport.testing._checks import check_bool

__all__ = [
    "BYTE_VIEW_LAYOUTS",
    "check_drawable",
    "check_laid_out",
    "checked_device",
    "checked_elements",
    "checked_flag",
    "default_elements",
    "dtype_of",
    "layout_set",
]

#: The layouts made by viewing raw bytes as the dtype (a ``uint8`` buffer's ``.view``),
#: which numpy refuses for a dtype holding Python objects.
BYTE_VIEW_LAYOUTS = frozenset({"offset", "unaligned"})


def checked_flag(name: str, value: Any) -> bool | None:
    """``value`` as a bool (a numpy bool taken as one), or ``None`` (hypothesis decides),
    else an :class:`InvalidOptionError` naming ``arrays(name=)``: refused when the strategy
    is built, whatever dtypes it draws, not only once a float dtype is drawn."""
    if value is None:
        return None
    check_bool("arrays", name, value, takes="True, False or None")
    return bool(value)


def default_elements(
    dtype: np.dtype[Any],
    allow_nan: bool | None,
    allow_infinity: bool | None,
    allow_subnormal: bool | None,
) -> Any:
    """Every value of ``dtype`` as hypothesis draws them; the flags narrow float and complex
    values (``None``: hypothesis' default) and mean nothing for integers and bool."""
    if dtype.kind in "fc":
        return hnp.from_dtype(
            dtype,
            allow_nan=allow_nan,
            allow_infinity=allow_infinity,
            allow_subnormal=allow_subnormal,
        )
    return hnp.from_dtype(dtype)


def checked_device(memory_type: MemoryType, device: Any) -> Any:
    """``device`` itself if it is a device (:func:`arrayport.devices.parse_device`) an
    array of ``memory_type`` may be placed on as far as can be told without a framework
    (numpy: only the CPU), else an :class:`InvalidOptionError` naming ``arrays(device=)``."""
    try:
        parsed = parse_device(device)
    except DeviceError as exc:
        msg = f"arrays({memory_type.value!r}, device={device!r}): {exc}"
        raise InvalidOptionError(msg) from exc
    if memory_type is MemoryType.NUMPY and parsed is not None and not parsed.is_cpu:
        msg = (
            f"arrays('numpy', device={device!r}): numpy arrays live in host memory, not on "
            f"{parsed}; use device='cpu' or None"
        )
        raise InvalidOptionError(msg)
    return device


def checked_elements(elements: Any) -> st.SearchStrategy[Any] | None:
    """``elements`` itself if it is a hypothesis strategy or ``None``, else an
    :class:`InvalidOptionError` naming ``arrays(elements=)`` (not hypothesis' error in a
    draw)."""
    if elements is None or isinstance(elements, st.SearchStrategy):
        return elements
    msg = (
        f"arrays(elements={elements!r}): elements takes a hypothesis strategy of values or "
        f"None, not {type(elements).__name__}"
    )
    raise InvalidOptionError(msg)


def layout_set(layout: Any, known: Collection[str], given: Any) -> frozenset[str]:
    """``layout``, one name or a collection of them, as a set of names from ``known``;
    anything else (an int, bytes, a list of non-names, an unknown name) is an
    :class:`InvalidOptionError` naming ``arrays(layout=given)``."""
    names = (layout,) if isinstance(layout, str) else layout
    if (
        isinstance(names, (bytes, bytearray))
        or not isinstance(names, Collection)
        or not all(isinstance(n, str) for n in names)
    ):
        msg = (
            f"arrays(layout={given!r}): pass a layout name, a collection of them (some of "
            f"{tuple(known)}), a strategy drawing them, or None"
        )
        raise InvalidOptionError(msg)
    unknown = set(names) - set(known)
    if unknown:
        msg = f"arrays(layout={given!r}): unknown layout {sorted(unknown)}; use some of {known}"
        raise InvalidOptionError(msg)
    return frozenset(names)


def check_laid_out(
    dt: np.dtype[Any], layout: Collection[str], dtype: Any, given: Any, *, pinned: bool = False
) -> None:
    """Refuse a layout the dtype cannot be given: a dtype holding Python objects laid out
    one of :data:`BYTE_VIEW_LAYOUTS` (numpy cannot), or ``"bigendian"`` for a dtype whose
    spec names another byte order (``"<f2"``, ``"=f4"``) and whose arrays keep it
    (``pinned``). An :class:`InvalidOptionError` naming ``arrays(dtype=, layout=)``
    (``dtype`` and ``given`` as asked for), not numpy's ``TypeError`` in a draw or a dtype
    other than the one asked for."""
    clash = sorted(BYTE_VIEW_LAYOUTS.intersection(layout))
    if dt.hasobject and clash:
        msg = (
            f"arrays(dtype={dtype!r}, layout={given!r}): {dt} holds Python objects, which "
            f"cannot be laid out {' or '.join(map(repr, clash))} (a view of raw bytes); "
            "ask for other layouts or another dtype"
        )
        raise InvalidOptionError(msg)
    if pinned and "bigendian" in layout and dt.newbyteorder(">") != dt:
        msg = (
            f"arrays(dtype={dtype!r}, layout={given!r}): the dtype asked for names its byte "
            f"order ({dt.str}), which layout 'bigendian' would turn into "
            f"{dt.newbyteorder('>').str}; ask for {dt.newbyteorder('>').str!r} for big-endian "
            "arrays, or leave 'bigendian' out of the layout"
        )
        raise InvalidOptionError(msg)


def check_drawable(
    dt: np.dtype[Any], flags: tuple[bool | None, bool | None, bool | None], dtype: Any
) -> None:
    """Refuse a dtype hypothesis draws no values of by default (void, ``"V4"``) when no
    ``elements`` are given: an :class:`InvalidOptionError` naming ``arrays(dtype=)``."""
    try:
        default_elements(dt, *flags).validate()
    except InvalidArgument as exc:
        msg = f"arrays(dtype={dtype!r}): {exc}; pass elements= to draw its values"
        raise InvalidOptionError(msg) from exc


def dtype_of(d: Any, given: Any, held: Collection[str]) -> np.dtype[Any]:
    """``d`` as a numpy dtype, or an :class:`InvalidOptionError` naming ``arrays(dtype=)``
    (``given``) and listing the dtype names ``held``."""
    if not is_value(d):  # numpy reads an array's or a scalar value's .dtype as a dtype
        try:
            out: np.dtype[Any] = np.dtype(d)
        except (TypeError, ValueError):
            pass
        else:
            return out
    msg = (
        f"arrays(dtype={given!r}): {d!r} is not a dtype numpy knows; pass one of "
        f"{', '.join(held)} (as a name or a numpy dtype), a sequence of them, or a strategy"
    )
    raise InvalidOptionError(msg)
