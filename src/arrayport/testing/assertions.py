"""Assertions for users' tests: the same function, the same answer, on every memory type.

:func:`assert_equivalent` runs a function on numpy and on each memory type and compares
the results the way SciPy's ``xp_assert_close`` does: memory type and device first, then
dtype, shape and 0-d-ness, then values (``arrayport.testing._results``). Results are read
with :func:`~arrayport.testing.as_numpy` (``arrayport.testing._memory_readers``), through
each framework's own calls rather than arrayport's conversion code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from arrayport.errors import (
    ArrayportError,
    BackendUnavailableError,
    InvalidOptionError,
)
from arrayport.memory_types import MemoryType, as_memory_type
from arrayport.testing._inputs import check_unchanged, private, run_arguments, snapshot
from arrayport.testing._memory_readers import as_numpy, memory_bounds, shares_memory
from arrayport.testing._results import (
    ARRAY_API_STRICT,
    compare_results,
    default_tolerance,
    device_of,
    is_array,
)

# as_numpy, memory_bounds and shares_memory (_memory_readers), ARRAY_API_STRICT,
# default_tolerance and is_array (_results) stay in __all__ so that importing them from this
# module, where they were first, keeps working.
__all__ = [
    "ARRAY_API_STRICT",
    "as_numpy",
    "assert_equivalent",
    "default_tolerance",
    "is_array",
    "memory_bounds",
    "shares_memory",
]


def _describe(args: Sequence[Any]) -> str:
    parts = []
    for a in args:
        if is_array(a):
            h = as_numpy(a)
            parts.append(f"{h.dtype.name}{list(h.shape)}")
        else:
            parts.append(repr(a)[:40])
    return ", ".join(parts)


def _selected_default() -> tuple[MemoryType, ...]:
    from arrayport.testing.plugin import selected_memory_types

    return selected_memory_types()


def _targets(memory_types: Iterable[Any] | str | None) -> tuple[list[Any], bool]:
    if memory_types is None:
        return list(_selected_default()), False
    if isinstance(memory_types, str):  # one name or MemoryType (a str enum), not its letters
        memory_types = [memory_types]
    out: list[Any] = []
    for m in memory_types:
        out.append(ARRAY_API_STRICT if m == ARRAY_API_STRICT else as_memory_type(m))
    return out, True


def _check_tolerance(name: str, value: Any) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not value >= 0:  # NaN fails too
        msg = f"assert_equivalent({name}={value!r}): tolerances must be numbers >= 0" + (
            " (or None for default_tolerance)" if name == "rtol" else ""
        )
        raise InvalidOptionError(msg)


def _unavailable(exc: BaseException) -> BackendUnavailableError | None:
    """The :class:`BackendUnavailableError` ``exc`` is or was raised from, if any."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, BackendUnavailableError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def assert_equivalent(
    fn: Callable[..., Any],
    *args: Any,
    memory_types: Iterable[MemoryType | str] | MemoryType | str | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
    check_dtype: bool = True,
    check_memory_type: bool = True,
    check_inputs_unchanged: bool = False,
    check_signed_zeros: bool = False,
    **kwargs: Any,
) -> tuple[str, ...]:
    """Assert that ``fn`` gives numpy's result on every memory type.

    ``fn`` runs once with every array argument as numpy (the reference), then once per
    memory type with every array argument converted to it. Each result is compared with
    the reference: memory type and device (the inputs'), dtype, shape and 0-d-ness, then
    values (floats within ``rtol``/``atol``, NaN equal to NaN but never to a number,
    everything else exactly). Tuples, lists and dicts of results are compared part by part.

    Every run, the reference included, gets its own copy of each array argument (with the
    caller's strides, byte order and read-only flag) wherever it could otherwise write into
    memory shared with the caller or another run: a function that writes into its input
    changes neither the caller's arrays nor what later runs get.

    Parameters
    ----------
    fn : callable
        The function under test (a plain array-API function or an
        ``@arrayport.memory_type`` one).
    *args
        Its positional arguments; arrays may be of any memory type.
    memory_types : MemoryType, str, or iterable of them, optional
        Where to run it; a single name or MemoryType counts as a list of one. ``None``:
        every installed memory type (narrowed by ``ARRAYPORT_MEMORY_TYPES``) that can hold
        the arguments; the others are skipped. Named types must hold them. Include
        ``"array_api_strict"`` to also run on array-api-strict arrays on each of its
        devices, fake ones included.
    rtol, atol : float, optional
        Tolerances for floating results; ``rtol`` defaults to :func:`default_tolerance`
        of numpy's result dtype, ``atol`` to 0. Results that cancel to near zero
        (``x - x.mean()`` of equal float32 values: 1e-8 against -7e-9) differ relatively
        by more than any ``rtol``: give an ``atol`` of about the input's magnitude times
        ``rtol``.
    check_dtype : bool
        Whether the result dtype must be numpy's.
    check_memory_type : bool
        Whether array results must have the inputs' memory type and device (turn off for
        functions declared with ``output="declared"``).
    check_inputs_unchanged : bool
        Whether each run, the reference included, must leave its array arguments as it got
        them (values compared exactly, NaN equal to NaN, the sign of zeros too). Off by
        default: the array API allows in-place updates of mutable arrays, and a function
        that works in place on purpose is still checked (on copies). Turn it on for
        functions meant to be portable: jax and tensorflow arrays are immutable, so a
        function that needs to write into its input cannot give the same answer there.
    check_signed_zeros : bool
        Whether float and complex results must have numpy's sign on every zero (real and
        imaginary parts apart): ``-0.0`` against ``0.0`` fails, however large the
        tolerance. Off by default: frameworks disagree on the sign of some zeros the
        standard leaves open (``maximum(-0.0, 0.0)`` is 0.0 in numpy, -0.0 in torch).
    **kwargs
        Keyword arguments for ``fn``; array values are converted like ``args``.

    Returns
    -------
    tuple of str
        The memory types (and array-api-strict devices) the function was checked on.

    Raises
    ------
    AssertionError
        Naming the memory type, the argument dtypes and shapes, and what differs (for a
        changed input, the argument; for a zero's sign, the index and both values); also
        when the arguments fit no memory type, so that nothing was checked.
    InvalidOptionError
        If ``fn`` is not callable, a memory type is unknown, or a tolerance is negative.
    BackendUnavailableError
        If a memory type named in ``memory_types`` is not installed (a setup problem,
        not a failed assertion).

    Examples
    --------
    >>> import numpy as np
    >>> from arrayport.testing import assert_equivalent
    >>> def double(x):
    ...     return x * 2
    >>> checked = assert_equivalent(double, np.arange(4.0), memory_types=["numpy"])
    >>> checked
    ('numpy',)
    """
    if not callable(fn):
        msg = (
            f"assert_equivalent(fn, ...): fn must be callable, not {repr(fn)[:60]} "
            f"({type(fn).__name__})"
        )
        raise InvalidOptionError(msg)
    if rtol is not None:
        _check_tolerance("rtol", rtol)
    _check_tolerance("atol", atol)
    targets, explicit = _targets(memory_types)
    hosts: dict[int, Any] = {}  # the same array twice stays one array on every run

    def host(a: Any) -> Any:
        if not is_array(a):
            return a
        if id(a) not in hosts:
            hosts[id(a)] = as_numpy(a)
        return hosts[id(a)]

    host_args = [host(a) for a in args]
    host_kwargs = {k: host(v) for k, v in kwargs.items()}
    name = getattr(fn, "__qualname__", repr(fn))
    memo: dict[int, Any] = {}
    ref_args, ref_kwargs = private(host_args, memo), private(host_kwargs, memo)
    # The reference result is kept apart too: a later run must not reach it through memory
    # fn keeps (a cache, a global).
    expected = private(fn(*ref_args, **ref_kwargs))
    if check_inputs_unchanged:
        where = f"{name}({_describe(host_args)}) on numpy (the reference)"
        check_unchanged(fn, ref_args, ref_kwargs, host_args, host_kwargs, where=where)
    checked: list[str] = []
    skipped: list[str] = []
    for target in targets:
        if target == ARRAY_API_STRICT:
            import array_api_strict as xps

            places: list[tuple[Any, str]] = [
                (xps.Device(n), f"array_api_strict on {n}")
                for n in ("CPU_DEVICE", "device1", "device2")
            ]
        else:
            places = [(target, target.value)]
        for place, label in places:
            where = f"{name}({_describe(host_args)}) on {label}"
            try:
                conv_args, conv_kwargs = run_arguments(host_args, host_kwargs, place)
            except ArrayportError as exc:
                missing = _unavailable(exc)
                if explicit and missing is not None:  # named but not installed: setup
                    if missing is exc:
                        raise
                    raise missing from missing.__cause__
                if explicit:
                    msg = f"{where}: the arguments cannot be converted: {exc}"
                    raise AssertionError(msg) from exc
                skipped.append(f"{label} ({exc})")
                continue
            if check_inputs_unchanged:  # as the run gets them (a target may widen a dtype)
                before_args, before_kwargs = snapshot(conv_args), snapshot(conv_kwargs)
            device = None
            first = next((a for a in [*conv_args, *conv_kwargs.values()] if is_array(a)), None)
            if first is not None:
                device = device_of(first)
            try:
                actual = fn(*conv_args, **conv_kwargs)
            except Exception as exc:  # reported as the assertion it is, with the cause chained
                msg = f"{where}: raised {type(exc).__name__}: {exc}"
                raise AssertionError(msg) from exc
            compare_results(
                actual,
                expected,
                where=where,
                what="the result",
                target=target,
                device=device,
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
                check_memory_type=check_memory_type,
                check_signed_zeros=check_signed_zeros,
            )
            if check_inputs_unchanged:
                check_unchanged(fn, conv_args, conv_kwargs, before_args, before_kwargs, where=where)
            checked.append(label)
    if not checked:  # a check that checked nothing must not pass
        why = "; ".join(skipped) or "no memory type is installed or selected"
        msg = (
            f"{name}: checked on no memory type, the arguments fit none of them: {why}. "
            "Use arguments they hold (float32 for jax without 64-bit mode, say) or name "
            "the memory types"
        )
        raise AssertionError(msg)
    return tuple(checked)
