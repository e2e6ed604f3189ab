"""Assertions for users' tests: the same function, the same answer, on every memory type.

:func:`assert_equivalent` runs a function on numpy and on each memory type and compares
the results the way SciPy's ``xp_assert_close`` does: memory type and device first, then
dtype, shape and 0-d-ness, then values (``arrayport.testing._results``). Results are read
with :func:`~arrayport.testing.as_numpy` (``arrayport.testing._memory_readers``), through
each framework's own calls rather than arrayport's conversion code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

import arrayport
from arrayport.errors import (
    ArrayportError,
    BackendUnavailableError,
    InvalidOptionError,
)
from arrayport.memory_types import MemoryType, as_memory_type
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


def _to_target(x: Any, target: Any) -> Any:
    if not is_array(x):
        return x
    if isinstance(target, MemoryType):
        from arrayport.testing.strategies import default_device

        return arrayport.convert(x, target, device=default_device(target))
    xps = sys.modules["array_api_strict"]
    return xps.asarray(np.ascontiguousarray(as_numpy(x)), device=target)


def _private(value: Any) -> Any:
    """``value`` with every numpy array in it (top level, or in a list, tuple or dict)
    copied, read-only ones staying read-only."""
    if isinstance(value, np.ndarray):
        out = value.copy()
        out.flags.writeable = value.flags.writeable
        return out
    if isinstance(value, np.generic):
        return value
    if type(value) in (list, tuple):
        return type(value)(_private(v) for v in value)
    if type(value) is dict:
        return {k: _private(v) for k, v in value.items()}
    return value


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
    **kwargs: Any,
) -> tuple[str, ...]:
    """Assert that ``fn`` gives numpy's result on every memory type.

    ``fn`` runs once with every array argument as numpy (the reference), then once per
    memory type with every array argument converted to it. Each result is compared with
    the reference: memory type and device (the inputs'), dtype, shape and 0-d-ness, then
    values (floats within ``rtol``/``atol``, everything else exactly). Tuples and lists of
    results are compared element by element.

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
    **kwargs
        Keyword arguments for ``fn``; array values are converted like ``args``.

    Returns
    -------
    tuple of str
        The memory types (and array-api-strict devices) the function was checked on.

    Raises
    ------
    AssertionError
        Naming the memory type, the argument dtypes and shapes, and what differs; also
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
    host_args = [as_numpy(a) if is_array(a) else a for a in args]
    host_kwargs = {k: as_numpy(v) if is_array(v) else v for k, v in kwargs.items()}
    name = getattr(fn, "__qualname__", repr(fn))
    # Every run gets its own copy of the arguments, and the reference is kept apart: a
    # function that writes into its input must not change what later runs get or are
    # compared with (a zero-copy run shares its input with the host copy).
    expected = _private(fn(*_private(host_args), **_private(host_kwargs)))
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
                conv_args = [_to_target(a, place) for a in _private(host_args)]
                conv_kwargs = {k: _to_target(v, place) for k, v in _private(host_kwargs).items()}
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
            )
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
