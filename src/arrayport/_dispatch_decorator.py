"""The :func:`memory_type` decorator: its options, checked when decorating, and its types.

:mod:`arrayport.dispatch` re-exports it (its public home, beside the
:class:`~arrayport.dispatch.DispatchedFunction` it returns). The overloads tell a type
checker what a call gives back: the function's own return type with ``output="declared"``,
where the result stays as the function made it, and ``Any`` otherwise, where the result
goes to the caller's memory type (``"input"``, the default) or a named one (ADR 0090).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, cast, overload

from arrayport._contract import FunctionContract
from arrayport.devices import Device, DeviceLike
from arrayport.dtypes import DtypeConversion, Scaling
from arrayport.errors import InvalidOptionError
from arrayport.memory_types import MemoryType
from arrayport.oom import OOMPolicy

if TYPE_CHECKING:
    from arrayport.dispatch import DispatchedFunction

__all__ = ["memory_type"]

P = ParamSpec("P")
R = TypeVar("R")

_DEFAULT_OOM = OOMPolicy()


@overload
def memory_type(
    memory_type: MemoryType | str,
    /,
    *,
    output: Literal["declared"],
    dtype_conversion: DtypeConversion = DtypeConversion.PRESERVE_INPUT,
    scaling: Scaling = Scaling.VALUE,
    oom: OOMPolicy | None = _DEFAULT_OOM,
    device: DeviceLike = None,
    slice_by_slice: bool = False,
    depth: int | tuple[int, ...] | None = None,
    whole_array: bool = False,
    blockwise: bool = False,
) -> Callable[[Callable[P, R]], DispatchedFunction[P, R]]: ...


@overload
def memory_type(
    memory_type: MemoryType | str,
    /,
    *,
    output: Literal["input"] | MemoryType | str = "input",
    dtype_conversion: DtypeConversion = DtypeConversion.PRESERVE_INPUT,
    scaling: Scaling = Scaling.VALUE,
    oom: OOMPolicy | None = _DEFAULT_OOM,
    device: DeviceLike = None,
    slice_by_slice: bool = False,
    depth: int | tuple[int, ...] | None = None,
    whole_array: bool = False,
    blockwise: bool = False,
) -> Callable[[Callable[P, R]], DispatchedFunction[P, Any]]: ...


def memory_type(
    memory_type: MemoryType | str,
    /,
    *,
    output: str | MemoryType = "input",
    dtype_conversion: DtypeConversion = DtypeConversion.PRESERVE_INPUT,
    scaling: Scaling = Scaling.VALUE,
    oom: OOMPolicy | None = _DEFAULT_OOM,
    device: DeviceLike = None,
    slice_by_slice: bool = False,
    depth: int | tuple[int, ...] | None = None,
    whole_array: bool = False,
    blockwise: bool = False,
) -> Callable[[Callable[P, R]], DispatchedFunction[P, R]]:
    """Declare the memory type a function computes on; arrays are moved there and back.

    Parameters
    ----------
    memory_type : MemoryType or str
        ``"numpy"``, ``"cupy"``, ``"torch"``, ``"jax"``, ``"tensorflow"``,
        ``"pyclesperanto"`` or ``"dask"``. It need not be installed when decorating: a
        call raises :class:`~arrayport.BackendUnavailableError` naming the extra to install.
    output : {"input", "declared"} or MemoryType
        ``"input"`` (default): the result goes back to the memory type and device of the
        first array argument. ``"declared"``: the result stays as the function made it.
        A memory type: the result is converted to it (a call without arrays runs as is).
    dtype_conversion : DtypeConversion
        The dtype of the primary output (the result, or the first element of a tuple
        result). ``PRESERVE_INPUT`` (default) gives it the first array argument's dtype.
        A member's value (``"float32"``) or a dtype of that name (``np.float32``,
        ``torch.float32``) names the same member.
    scaling : Scaling
        How the primary output's values map to its dtype: ``VALUE`` keeps every value that
        fits, ``UNIT`` maps float [0, 1] to the integer range and back when the dtype
        changes, ``MINMAX`` stretches the finite range even when it does not (not with
        ``NATIVE_OUTPUT``).
    oom : OOMPolicy or None
        Out-of-memory recovery (default ``OOMPolicy()``); ``None`` or
        ``OOMPolicy.disabled()`` turns recovery off.
    device : None, "cpu", int, "cuda", "cuda:N", "opencl:N", Device or torch.device
        Where to compute. ``None``: where the first array argument lands (its own device
        when the declared memory type can hold data there).
    slice_by_slice : bool
        Run a 2-D function on each slice along axis 0 of a 3-D first array argument, and
        restack the results where the function returned them. Other 3-D array arguments
        that broadcast against it are sliced with it (length 1 along axis 0: every slice
        gets its only plane); input that is not 3-D (2-D, 4-D, a stack in a list) runs
        once. The OOM policy runs the whole sliced call: its split (``split_axis=0`` only)
        cuts the stack into fewer slices; a call that is not sliced is not split. Results
        are restacked as :func:`arrayport.process_slices` restacks them.
    depth : int, tuple of int or None
        Dask input only: the halo each block needs (``dask.array.map_overlap``).
    whole_array : bool
        Dask input only: the function needs the whole array at once.
    blockwise : bool
        Dask input only: each block may be computed on its own (an element-wise function).
        Dask input of several blocks is refused unless ``blockwise``, ``depth``,
        ``whole_array`` or ``slice_by_slice`` says how the blocks relate (ADR 0071).

    Returns
    -------
    callable
        A decorator returning a :class:`~arrayport.dispatch.DispatchedFunction`. For a type
        checker its calls return the function's return type with ``output="declared"``,
        else ``Any`` (docs/concepts.md, "Type checking").

    Raises
    ------
    InvalidOptionError
        When decorating, for any invalid option value.

    Examples
    --------
    >>> import numpy as np, arrayport as ap
    >>> @ap.memory_type("numpy")
    ... def smooth(image, k=1):
    ...     xp = ap.namespace(image)
    ...     return (image + xp.roll(image, k, axis=0)) / 2
    >>> smooth(np.arange(4.0))
    array([1.5, 0.5, 1.5, 2.5])
    """
    if callable(memory_type) and not isinstance(memory_type, str):
        msg = "write @memory_type('torch') (with the memory type), not a bare @memory_type"
        raise InvalidOptionError(msg)
    contract = FunctionContract(
        cast(MemoryType, memory_type),
        output=output,
        dtype_conversion=dtype_conversion,
        scaling=scaling,
        oom=cast(OOMPolicy, oom),
        device=cast("Device | str | None", device),
        slice_by_slice=slice_by_slice,
        depth=depth,
        whole_array=whole_array,
        blockwise=blockwise,
    )

    def decorate(fn: Callable[P, R]) -> DispatchedFunction[P, R]:
        from arrayport.dispatch import DispatchedFunction  # which imports this module

        return DispatchedFunction(fn, contract)

    return decorate
