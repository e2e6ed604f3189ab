"""Hypothesis strategies for arrays of every memory type, dtype, shape and layout.

Every array is drawn as numpy values first, laid out in numpy (transposed, strided,
negative strides, offset, unaligned, big-endian, read-only) and then handed to
:func:`arrayport.convert` for the memory type asked for. The dtypes and shapes a memory
type can hold come from the table in this module, written from the frameworks' measured
behaviour (``FACTS.md``), *not* from arrayport's backends: a backend that wrongly claims a
dtype cannot slip it into the strategy and so hide its own bug from the laws.

The layout of a non-numpy array is whatever the conversion makes of the numpy layout:
torch keeps transposed and strided views (DLPack shares them), the storage-only and
immutable frameworks hold compact copies. Dask arrays are then rechunked into a drawn block
layout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Sequence
from typing import Any, SupportsIndex

import numpy as np

from arrayport.errors import BackendUnavailableError

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
    from hypothesis.extra import numpy as hnp
except ModuleNotFoundError as exc:  # the one part of the testing kit that needs it
    msg = (
        "arrayport.testing's strategies (arrays, dtypes_for, ALL_DTYPES, ...) need "
        "hypothesis, which is not installed; install it with: pip install hypothesis "
        "(or pip install 'arrayport[test]')"
    )
    raise BackendUnavailableError(msg) from exc

import arrayport
from arrayport.backends import get_backend
from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType, as_memory_type
from arrayport.testing._dtype_specs import Asked, asked_dtype, fixed_dtypes, keeps_byte_order
from arrayport.testing._layouts import _chunks, _lay_out
from arrayport.testing._options import (
    BYTE_VIEW_LAYOUTS,
    check_drawable,
    check_laid_out,
    checked_device,
    checked_elements,
    checked_flag,
    default_elements,
    layout_set,
)
from arrayport.testing._selection import default_device
from arrayport.testing._shapes import CLE_MAX_DIMS, check_held_shape, fixed_shape

__all__ = [
    "ALL_DTYPES",
    "LAYOUTS",
    "arrays",
    "default_device",
    "dtypes_for",
    "layouts",
    "max_dims_for",
    "shapes_for",
]

#: Every dtype the strategies draw from (bfloat16 is left out: numpy has none without
#: ml_dtypes, and no two frameworks agree on how to hand it over).
ALL_DTYPES: tuple[str, ...] = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)

#: The layout transformations :func:`arrays` can apply to the numpy array it starts from.
#: ``"offset"`` starts (where its data pointer points, the last element in memory under
#: ``"negative"``) at an address aligned for the dtype but never 64-byte aligned;
#: ``"unaligned"`` starts one *byte* in (not even aligned to the item size).
LAYOUTS: tuple[str, ...] = (
    "transposed",
    "strided",
    "negative",
    "offset",
    "unaligned",
    "bigendian",
    "readonly",
)

_X64 = frozenset({"int64", "uint64", "float64", "complex128"})
# pyclesperanto stores everything else narrower (FACTS: int64 -> int32, float64 -> float32,
# complex64 -> float32); bool and float16 come back widened, so they are not "held" either.
_CLE = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32")


#: The values jax itself reads as true in ``JAX_ENABLE_X64`` (``jax._src.config.bool_env``).
_JAX_TRUE = frozenset({"y", "yes", "t", "true", "on", "1"})


def _jax_x64() -> bool:
    """Whether jax runs in 64-bit mode: asked of jax once it is loaded, else read from
    ``JAX_ENABLE_X64`` as jax reads it when it loads."""
    if "jax" not in sys.modules:
        return os.environ.get("JAX_ENABLE_X64", "").lower() in _JAX_TRUE
    return bool(sys.modules["jax"].config.jax_enable_x64)


def dtypes_for(memory_type: MemoryType | str) -> tuple[str, ...]:
    """The dtype names an array of ``memory_type`` can hold exactly.

    Parameters
    ----------
    memory_type : MemoryType or str
        The memory type.

    Returns
    -------
    tuple of str
        A subset of :data:`ALL_DTYPES`. jax holds 64-bit dtypes only with 64-bit mode on;
        pyclesperanto holds 8-, 16- and 32-bit integers and float32.

    Examples
    --------
    >>> from arrayport.testing import dtypes_for
    >>> "float64" in dtypes_for("pyclesperanto")
    False
    """
    mt = as_memory_type(memory_type)
    if mt is MemoryType.PYCLESPERANTO:
        return _CLE
    if mt is MemoryType.JAX and not _jax_x64():
        return tuple(d for d in ALL_DTYPES if d not in _X64)
    return ALL_DTYPES


def max_dims_for(memory_type: MemoryType | str) -> int:
    """The largest number of dimensions :func:`arrays` draws for ``memory_type``."""
    return CLE_MAX_DIMS if as_memory_type(memory_type) is MemoryType.PYCLESPERANTO else 4


def shapes_for(
    memory_type: MemoryType | str, *, max_dims: int | None = None, max_side: int = 5
) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes an array of ``memory_type`` can have: 0-d and empty included where it can.

    pyclesperanto holds neither 0-d nor empty arrays, nor more than 3 dimensions: for it,
    ``max_dims`` (default :func:`max_dims_for`) must be 1 to 3 and ``max_side`` at least 1.

    Raises
    ------
    InvalidOptionError
        When the strategy is built: for a ``max_dims`` or ``max_side`` that is not an int
        >= 0 (``max_dims`` at most 32, as hypothesis draws them), or that would draw shapes
        ``memory_type`` cannot have (pyclesperanto: ``max_dims`` 0 or over 3,
        ``max_side=0``).
    """
    mt = as_memory_type(memory_type)
    cle = mt is MemoryType.PYCLESPERANTO
    top = max_dims_for(mt) if max_dims is None else max_dims
    call = f"shapes_for({mt.value!r}, max_dims={max_dims!r}, max_side={max_side!r})"
    for name, value in (("max_dims", top), ("max_side", max_side)):
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        if not ok or value < 0:
            raise InvalidOptionError(f"{call}: {name} takes an int >= 0, not {value!r}")
    if cle and not (1 <= top <= CLE_MAX_DIMS and max_side >= 1):
        msg = (
            f"{call}: pyclesperanto holds 1- to {CLE_MAX_DIMS}-D arrays with no empty axis; "
            f"give max_dims from 1 to {CLE_MAX_DIMS} and max_side >= 1"
        )
        raise InvalidOptionError(msg)
    shapes = hnp.array_shapes(
        min_dims=1 if cle else 0,
        max_dims=int(top),
        min_side=1 if cle else 0,
        max_side=int(max_side),
    )
    try:  # hypothesis' own limits (32 dimensions), now rather than in the first draw
        shapes.validate()
    except InvalidArgument as exc:
        raise InvalidOptionError(f"{call}: {exc}") from exc
    return shapes


def layouts(memory_type: MemoryType | str | None = None) -> st.SearchStrategy[frozenset[str]]:
    """Sets of layout transformations (empty: a plain C-contiguous array).

    Each set holds at most two of :data:`LAYOUTS`; hypothesis shrinks towards the empty set.
    """
    return st.frozensets(st.sampled_from(LAYOUTS), max_size=2)


def _resolve_dtypes(memory_type: MemoryType, dtype: Any) -> st.SearchStrategy[Any]:
    """A strategy for the dtypes asked for: dtype specs to check as drawn, or the
    :class:`Asked` dtypes given (checked when the strategy was built)."""
    if dtype is None:
        return st.sampled_from(dtypes_for(memory_type))
    if isinstance(dtype, st.SearchStrategy):
        return dtype
    found = fixed_dtypes(memory_type, dtype, dtypes_for(memory_type))
    is_seq = isinstance(dtype, (list, tuple, set, frozenset))
    return st.sampled_from(found) if is_seq else st.just(found[0])


@st.composite
def _arrays(
    draw: st.DrawFn,
    memory_type: MemoryType,
    dtype: Any,
    shape: Any,
    layout: Any,
    device: Any,
    flags: tuple[bool | None, bool | None, bool | None],
    elements: st.SearchStrategy[Any] | None,
) -> Any:
    asked: Any = draw(_resolve_dtypes(memory_type, dtype))
    drawn = asked.dtype if isinstance(asked, Asked) else asked  # for messages
    if not isinstance(asked, Asked):  # a name, or what the caller's strategy drew
        asked = asked_dtype(memory_type, asked, asked, dtypes_for(memory_type))
    dt = asked.dtype
    pinned = keeps_byte_order(memory_type, asked)  # "<f2": no drawn layout makes it ">f2"
    if shape is None:
        shp = draw(shapes_for(memory_type))
    elif isinstance(shape, st.SearchStrategy):
        drawn_shape = draw(shape)  # an int is a 1-D shape; anything else not a shape: refused
        shp = fixed_shape(drawn_shape)
        check_held_shape(memory_type, shp, drawn_shape)
    else:
        shp = fixed_shape(shape)
    if layout is None:  # numpy cannot view raw bytes as object references
        lay = draw(layouts(memory_type)) - (BYTE_VIEW_LAYOUTS if dt.hasobject else frozenset())
        lay -= {"bigendian"} if pinned else frozenset()
    elif isinstance(layout, st.SearchStrategy):
        drawn_layout = draw(layout)  # one layout's name (not a set of its letters) or several
        lay = layout_set(drawn_layout, LAYOUTS, drawn_layout)
    else:
        lay = layout_set(layout, LAYOUTS, layout)
    check_laid_out(dt, lay, drawn, layout if layout is not None else lay, pinned=pinned)
    if elements is None:
        elements = default_elements(dt, *flags)
    values = draw(hnp.arrays(dt, shp, elements=elements))
    host = _lay_out(values, lay)
    if memory_type is MemoryType.NUMPY:  # device: None or the CPU (checked when built)
        return host
    out = arrayport.convert(host, memory_type, device=device)
    if memory_type is MemoryType.DASK:
        out = out.rechunk(tuple(draw(_chunks(n)) for n in shp))
    return out


def arrays(
    memory_type: MemoryType | str,
    dtype: Any = None,
    shape: SupportsIndex
    | Sequence[SupportsIndex]
    | st.SearchStrategy[SupportsIndex | Sequence[SupportsIndex]]
    | None = None,
    *,
    layout: str | Collection[str] | st.SearchStrategy[str | Collection[str]] | None = None,
    device: Any = "default",
    elements: st.SearchStrategy[Any] | None = None,
    allow_nan: bool = True,
    allow_infinity: bool = True,
    allow_subnormal: bool | None = None,
) -> st.SearchStrategy[Any]:
    """A hypothesis strategy for arrays of ``memory_type``.

    Parameters
    ----------
    memory_type : MemoryType or str
        The memory type of the arrays drawn (its framework must be installed).
    dtype : dtype-like, sequence of dtype-likes, strategy, or None
        ``None`` draws any dtype the memory type holds exactly (:func:`dtypes_for`). A
        dtype asked for is drawn as given, byte order included (``">f8"`` gives big-endian
        arrays; one that names its order, ``"<f2"`` or ``"=f4"``, is never drawn
        ``"bigendian"`` on numpy and dask, and refuses that layout asked for); one the
        memory type cannot hold exactly (bool or float16 on
        pyclesperanto, float64 on jax without 64-bit mode (as jax reads
        ``JAX_ENABLE_X64``: ``1``, ``true``, ``yes``, ``on``, ``t`` or ``y``), a non-native
        byte order outside numpy and dask) is refused, never replaced by another.
    shape : int, sequence of int, strategy, or None
        Sizes may be Python or numpy integers; a strategy may draw a shape or one size (a
        1-D shape), as hypothesis' own ``arrays`` takes it. ``None`` draws 0- to 4-D
        shapes with sides 0..5, 0-d and empty included (1- to 3-D, non-empty, for
        pyclesperanto). A shape the memory type cannot have (0-d, empty or over 3-D for
        pyclesperanto) is refused, given or drawn.
    layout : str, collection of str, strategy, or None
        Layout transformations of the numpy array the values start in (:data:`LAYOUTS`);
        ``None`` draws up to two of them, ``()`` asks for a plain contiguous array. A
        strategy may draw one name (a str) or a collection of them. A dtype holding Python
        objects cannot be laid out ``"offset"`` or ``"unaligned"`` (byte views).
    device : optional
        Passed to :func:`arrayport.convert`; the default follows ``ARRAYPORT_DEVICE``
        (:func:`arrayport.testing.strategies.default_device`). Checked when the strategy
        is built: a value that is no device is refused, and so is any device but the CPU
        for numpy (whether a GPU exists is left to the conversion in each draw).
    elements : strategy, optional
        Values strategy for hypothesis' ``arrays``; by default every value of the dtype,
        NaN, infinities, signed zeros and subnormals included.
    allow_nan, allow_infinity : bool
        Whether default float and complex elements may be NaN or infinite.
    allow_subnormal : bool or None
        Whether default float and complex elements may be subnormal (nonzero, below
        ``finfo(dtype).tiny``); ``None``, the default, draws them as hypothesis does.
        jax and tensorflow flush subnormal *inputs* to zero, which changes normal results
        (``x * 2**64`` is 0, ``x / x`` NaN): pass ``False`` to check a function that
        scales or divides. :func:`assert_equivalent` counts only *results* both below
        ``tiny`` as equal. The three flags mean nothing for integer and bool dtypes and
        are ignored with ``elements``; a value that is not a bool (or None) is refused.

    Returns
    -------
    SearchStrategy
        Arrays of ``memory_type``. Dask arrays come in one block or several, of equal or
        unequal sizes, along each axis of length 2 or more (hypothesis shrinks towards one
        block).

    Raises
    ------
    InvalidOptionError
        For an unknown memory type, layout, dtype or device, an empty dtype sequence, a
        dtype or shape the memory type cannot hold exactly, an object dtype with a byte-view
        layout, ``"bigendian"`` with a dtype that names another byte order on numpy or
        dask, a device it cannot be on (numpy: any but the CPU), a shape that is no shape
        (a negative or non-integer size, ``None``; values drawn from strategies are checked
        as they are drawn), ``elements`` that is not a strategy, or an ``allow_*`` flag
        that is not a bool.

    Examples
    --------
    A test that calls :func:`assert_equivalent` needs ``@settings(deadline=None)``: the
    first call into a framework compiles or loads kernels (seconds), and hypothesis'
    200 ms deadline would fail the test as flaky (``FlakyFailure``).

    >>> from hypothesis import given, settings
    >>> from arrayport.testing import arrays, assert_equivalent
    >>> @settings(deadline=None)
    ... @given(arrays("numpy", dtype="float32", shape=(2, 3)))
    ... def test_negative(x):
    ...     assert_equivalent(lambda a: -a, x, memory_types=["numpy"])
    >>> test_negative()
    """
    mt = as_memory_type(memory_type)
    # Bad options fail here, naming the argument, not as a framework's error in a draw.
    fixed_layout: frozenset[str] = frozenset()  # none fixed: those drawn are checked as drawn
    if layout is not None and not isinstance(layout, st.SearchStrategy):
        fixed_layout = layout_set(layout, LAYOUTS, layout)
    elements = checked_elements(elements)
    if shape is not None and not isinstance(shape, st.SearchStrategy):
        given, shape = shape, fixed_shape(shape)  # Python ints: hypothesis takes no numpy's
        check_held_shape(mt, shape, given)
    flags = (
        checked_flag("allow_nan", allow_nan),
        checked_flag("allow_infinity", allow_infinity),
        checked_flag("allow_subnormal", allow_subnormal),
    )
    if isinstance(device, str) and device == "default":
        dev = default_device(mt)
    else:
        dev = checked_device(mt, device)
    backend = get_backend(mt)
    if backend.is_installed():
        # Import the framework now, not inside a draw: hypothesis rightly objects to the
        # global random state frameworks touch while importing. Before the dtypes are
        # checked, so that jax itself says whether it runs in 64-bit mode.
        backend.load()
    if dtype is not None and not isinstance(dtype, st.SearchStrategy):
        for asked in fixed_dtypes(mt, dtype, dtypes_for(mt)):
            pinned = keeps_byte_order(mt, asked)
            check_laid_out(asked.dtype, fixed_layout, dtype, layout, pinned=pinned)
            if elements is None:
                check_drawable(asked.dtype, flags, dtype)
    return _arrays(mt, dtype, shape, layout, dev, flags, elements)
