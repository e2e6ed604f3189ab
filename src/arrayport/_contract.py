"""The options of a dispatched function: :class:`FunctionContract`, validated and frozen.

Every option is checked and normalised when the contract is built, that is when a function
is decorated, so that a typo fails at import rather than at the first call
(``docs/decisions/0018-options-validated-when-decorating.md``). Building a contract imports
no framework: whether the declared one is installed is only asked at call time.

:mod:`arrayport.dispatch` re-exports :class:`FunctionContract`; import it from there (or
from :mod:`arrayport`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from arrayport.devices import Device, as_index, is_device_object, parse_device
from arrayport.dtypes import DtypeConversion, Scaling, dtype_name
from arrayport.errors import DeviceError, InvalidOptionError
from arrayport.memory_types import MemoryType, as_memory_type
from arrayport.oom import OOMPolicy

__all__ = ["FunctionContract"]

# Which memory types can hold data on which kind of device. Checked when decorating, so
# that ``device="cuda:0"`` on a numpy function fails at import, not at the first call.
_DEVICE_KINDS: dict[MemoryType, frozenset[str]] = {
    MemoryType.NUMPY: frozenset({"cpu"}),
    MemoryType.CUPY: frozenset({"cuda"}),
    MemoryType.TORCH: frozenset({"cpu", "cuda"}),
    MemoryType.JAX: frozenset({"cpu", "cuda"}),
    MemoryType.TENSORFLOW: frozenset({"cpu", "cuda"}),
    MemoryType.PYCLESPERANTO: frozenset({"opencl", "cpu"}),  # cpu: an OpenCL CPU device (PoCL)
    MemoryType.DASK: frozenset({"cpu", "cuda"}),
}


_OUTPUT_WORDS = ("input", "declared")

#: The fixed output dtypes, by name (the members that are not a rule).
_FIXED = frozenset(
    m.value
    for m in DtypeConversion
    if m not in (DtypeConversion.PRESERVE_INPUT, DtypeConversion.NATIVE_OUTPUT)
)

# Fixed output dtypes a memory type never holds (its backend's dtypes, without importing
# it): a result kept there in such a dtype fails every call, after the function ran.
_NEVER_HELD: dict[MemoryType, frozenset[DtypeConversion]] = {
    MemoryType.PYCLESPERANTO: frozenset({DtypeConversion.FLOAT64}),  # no 64-bit types
}


def _as_enum(value: Any, enum_type: Any, name: str) -> Any:
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str):
        for member in enum_type:
            if value.lower() in (member.value, member.name.lower()):
                return member
    names = ", ".join(f"{enum_type.__name__}.{m.name}" for m in enum_type)
    msg = f"{name}={value!r} is not valid; use one of {names}"
    raise InvalidOptionError(msg)


def _as_dtype_conversion(value: Any) -> DtypeConversion:
    """``value`` as a :class:`DtypeConversion`: a member, its name or value, or a dtype
    whose name is a fixed member's (``np.float32``, ``torch.float32``, ``"float32"``)."""
    if isinstance(value, DtypeConversion):
        return value
    # A numpy, torch, jax or tensorflow dtype, read by name without importing a framework.
    name = None if isinstance(value, str) else dtype_name(value)
    if name is not None:
        for member in DtypeConversion:
            if member.value == name:
                return member
    try:
        return _as_enum(value, DtypeConversion, "dtype_conversion")  # type: ignore[no-any-return]
    except InvalidOptionError as exc:
        name = name or dtype_name(value)
        if name is None:
            raise
        fixed = ", ".join(m.value for m in DtypeConversion if m.value in _FIXED)
        msg = (
            f"dtype_conversion={value!r} is not valid: {name} is not a fixed output dtype "
            f"(those are {fixed}); declare dtype_conversion=DtypeConversion.NATIVE_OUTPUT "
            f"and convert the result yourself: ap.convert_dtype(result, {name!r}) (or "
            "PRESERVE_INPUT to give it the input's dtype)"
        )
        raise InvalidOptionError(msg) from exc


def _check_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    msg = f"{name} must be True or False, not {value!r}"
    raise InvalidOptionError(msg)


def _check_depth(depth: Any) -> int | tuple[int, ...] | None:
    def ok(n: Any) -> bool:
        index = as_index(n)  # numpy integers too
        return index is not None and index >= 0

    if depth is None:
        return None
    if ok(depth):
        return int(depth)
    if isinstance(depth, (tuple, list)) and depth and all(ok(n) for n in depth):
        return tuple(int(n) for n in depth)
    msg = (
        f"depth={depth!r} is not valid: use None, a non-negative int (the same halo on "
        "every axis) or a tuple of non-negative ints, one per axis"
    )
    raise InvalidOptionError(msg)


def _check_device(device: Any, mt: MemoryType) -> Device | str | None:
    if device is None:
        return None
    try:
        parsed = parse_device(device)
    except DeviceError as exc:
        raise InvalidOptionError(str(exc)) from exc
    assert parsed is not None  # only None parses to None
    allowed = _DEVICE_KINDS[mt]
    if parsed.kind not in allowed:
        kinds = " or ".join(sorted(allowed))
        msg = (
            f"device={device!r} is not valid for memory type {mt.value}: its arrays live "
            f"on {kinds} devices; pass device=None (where the inputs are) or one of those"
        )
        raise InvalidOptionError(msg)
    # A bare "cuda"/"opencl" means the calling thread's current accelerator, decided at
    # each call (arrayport.use_device), so it is kept as the word, not frozen to an index.
    # The same for a torch.device("cuda") without an index (it prints as "cuda").
    text = device if isinstance(device, str) else str(device) if is_device_object(device) else ""
    if text and ":" not in text and parsed.kind != "cpu":
        return parsed.kind
    return parsed


def _refuse_split_across_halo(depth: int | tuple[int, ...] | None, axis: int | None) -> None:
    """``depth`` says the function reads neighbours along an axis; an OOM split along it
    cuts there with no neighbours at the cut, and values next to the cut change."""
    if depth is None or axis is None:
        return
    if isinstance(depth, int):
        halo = depth
    else:
        halo = depth[axis] if -len(depth) <= axis < len(depth) else 0
    if halo:
        msg = (
            f"depth={depth!r} with OOMPolicy(split_axis={axis}): the function reads {halo} "
            f"neighbour(s) along axis {axis}, and a split along it would cut there with no "
            "neighbours at the cut (other values next to it); split along an axis whose "
            "depth is 0, or use split_axis=None"
        )
        raise InvalidOptionError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class FunctionContract:
    """Every option of a dispatched function, validated and frozen.

    Built by :func:`memory_type` (and by ``f.options(...)``); read it as ``f.contract``.
    Invalid values raise :class:`~arrayport.InvalidOptionError` when the contract is built,
    that is when the function is decorated.

    Attributes
    ----------
    memory_type : MemoryType
        The memory type the function computes on.
    output : {"input", "declared"} or MemoryType
        Where the result goes: ``"input"`` = the memory type and device of the first array
        argument, ``"declared"`` = left where the function made it, or a memory type.
    dtype_conversion : DtypeConversion
        The dtype policy applied to the primary output.
    scaling : Scaling
        How values map when the dtype policy changes the dtype.
    oom : OOMPolicy
        The out-of-memory recovery policy the function runs under.
    device : Device, "cuda", "opencl" or None
        Where the function computes: ``None`` = where the first array argument lands,
        ``"cuda"``/``"opencl"`` = the calling thread's current accelerator.
    slice_by_slice : bool
        Run a 2-D function over each slice (axis 0) of a 3-D first array argument.
    depth : int, tuple of int or None
        For dask input: the halo each block needs from its neighbours (``map_overlap``).
    whole_array : bool
        For dask input: the function needs the whole array at once (no block mapping).
    blockwise : bool
        For dask input: each block may be computed on its own (an element-wise function).
    """

    memory_type: MemoryType
    output: str | MemoryType = "input"
    dtype_conversion: DtypeConversion = DtypeConversion.PRESERVE_INPUT
    scaling: Scaling = Scaling.VALUE
    oom: OOMPolicy = dataclasses.field(default_factory=OOMPolicy)
    device: Device | str | None = None
    slice_by_slice: bool = False
    depth: int | tuple[int, ...] | None = None
    whole_array: bool = False
    blockwise: bool = False

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        mt = as_memory_type(self.memory_type)
        set_("memory_type", mt)
        output = self.output
        if not (isinstance(output, str) and output in _OUTPUT_WORDS):
            try:
                output = as_memory_type(output)
            except InvalidOptionError:
                names = ", ".join(repr(m.value) for m in MemoryType)
                msg = (
                    f"output={output!r} is not valid; use 'input' (the memory type and "
                    f"device of the first array argument), 'declared', or one of {names}"
                )
                raise InvalidOptionError(msg) from None
        set_("output", output)
        set_("dtype_conversion", _as_dtype_conversion(self.dtype_conversion))
        set_("scaling", _as_enum(self.scaling, Scaling, "scaling"))
        _refuse_never_held(mt if output == "declared" else output, self.dtype_conversion)
        if self.dtype_conversion is DtypeConversion.NATIVE_OUTPUT and self.scaling in (
            Scaling.UNIT,
            Scaling.MINMAX,
        ):
            msg = (
                f"scaling=Scaling.{self.scaling.name} has no effect with "
                "dtype_conversion=DtypeConversion.NATIVE_OUTPUT (the result keeps the dtype and "
                "values the function made): leave scaling at VALUE, or name the dtype to "
                "scale into (dtype_conversion=DtypeConversion.UINT8, ...)"
            )
            raise InvalidOptionError(msg)
        oom = OOMPolicy.disabled() if self.oom is None else self.oom
        if not isinstance(oom, OOMPolicy):
            msg = f"oom must be an arrayport.OOMPolicy (or None to disable it), not {oom!r}"
            raise InvalidOptionError(msg)
        set_("oom", oom)
        set_("device", _check_device(self.device, mt))
        set_("slice_by_slice", _check_bool(self.slice_by_slice, "slice_by_slice"))
        if self.slice_by_slice and oom.split_axis not in (None, 0, -3):
            msg = (
                f"slice_by_slice=True with OOMPolicy(split_axis={oom.split_axis}): a split "
                "cuts the stack into fewer slices, along axis 0 (split_axis=0); along any "
                "other axis it would cut every slice, which the function takes whole"
            )
            raise InvalidOptionError(msg)
        set_("depth", _check_depth(self.depth))
        if not (self.slice_by_slice and oom.split_axis in (0, -3)):  # slices: no neighbours
            _refuse_split_across_halo(self.depth, oom.split_axis)
        set_("whole_array", _check_bool(self.whole_array, "whole_array"))
        if self.whole_array and self.depth is not None:
            msg = "depth and whole_array=True exclude each other: a whole array needs no halo"
            raise InvalidOptionError(msg)
        set_("blockwise", _check_bool(self.blockwise, "blockwise"))
        if self.blockwise and self.whole_array:
            msg = (
                "blockwise=True and whole_array=True exclude each other: a function either "
                "may run on each block alone or needs the whole array"
            )
            raise InvalidOptionError(msg)

    @property
    def block_rule(self) -> bool:
        """Whether the contract says how a dask array's blocks relate to the function
        (``blockwise``, ``depth``, ``whole_array`` or ``slice_by_slice``)."""
        return self.blockwise or self.depth is not None or self.whole_array or self.slice_by_slice

    def replace(self, **overrides: Any) -> FunctionContract:
        """A new contract with some options replaced (validated like the original)."""
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            msg = f"unknown option(s) {', '.join(unknown)}; the options are {', '.join(names)}"
            raise InvalidOptionError(msg)
        return dataclasses.replace(self, **overrides)


# Public home: pickles, reprs and docs name arrayport.dispatch.FunctionContract, as before
# the class moved here, so no private module path is ever stored in a pickle.
FunctionContract.__module__ = "arrayport.dispatch"


def _refuse_never_held(kept: object, dtype: DtypeConversion) -> None:
    """Refuse a fixed output ``dtype`` the result's memory type ``kept`` (where the
    contract fixes it: ``output="declared"`` or a memory type) never holds."""
    if isinstance(kept, MemoryType) and dtype in _NEVER_HELD.get(kept, ()):
        msg = (
            f"dtype_conversion=DtypeConversion.{dtype.name} with results kept in {kept.value}, "
            f"which never holds {dtype.value}: every call would fail after the function ran. "
            f"Declare a dtype {kept.value} holds (DtypeConversion.FLOAT32), or output='numpy' "
            f"(or another memory type) for {dtype.value} results"
        )
        raise InvalidOptionError(msg)
