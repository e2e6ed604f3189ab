"""Assertions for users' tests: the same function, the same answer, on every memory type.

:func:`assert_equivalent` runs a function on numpy and on each memory type and compares
the results the way SciPy's ``xp_assert_close`` does: memory type and device first, then
dtype, shape and 0-d-ness, then values (``arrayport.testing._results``). Results are read
with :func:`~arrayport.testing.as_numpy` (``arrayport.testing._memory_readers``), through
each framework's own calls rather than arrayport's conversion code.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from arrayport.backends import installed_memory_types
from arrayport.errors import (
    ArrayportError,
    BackendUnavailableError,
    BlockRuleError,
    ConversionError,
    DeviceError,
    InvalidOptionError,
    UnsupportedArrayError,
    add_note,
)
from arrayport.memory_types import MemoryType, as_memory_type
from arrayport.testing._checks import check_bool, check_tolerance, memory_types_given
from arrayport.testing._describe import (
    cause_of,
    describe_call,
    no_namespace_hint,
    reference_note,
    result_back_hint,
    unconverted_reason,
)
from arrayport.testing._inputs import (
    check_unchanged,
    kept,
    private,
    run_arguments,
    snapshot,
    to_host,
    warn_shadowed_options,
)
from arrayport.testing._memory_readers import as_numpy, memory_bounds, shares_memory
from arrayport.testing._results import (
    ARRAY_API_STRICT,
    compare_results,
    default_tolerance,
    device_of,
    is_array,
)
from arrayport.testing._selection import device_kind, selected_memory_types, unusable_reason

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


def _selected_default() -> tuple[list[MemoryType], list[str]]:
    """The memory types ``memory_types=None`` runs on: those the ``memory_type`` fixture
    runs on (``ARRAYPORT_MEMORY_TYPES``, else the installed ones, less those it skips here:
    not installed, or not usable on ``ARRAYPORT_DEVICE``), and why the others are left out.

    A type named in ``ARRAYPORT_MEMORY_TYPES`` but not installed is left out with a warning,
    as the fixture shows it skipped."""
    usable: list[MemoryType] = []
    left_out: list[str] = []
    for mt in selected_memory_types():
        why = unusable_reason(mt)
        if why is None:
            usable.append(mt)
            continue
        left_out.append(f"{mt.value} ({why})")
        if mt not in installed_memory_types():
            msg = f"assert_equivalent: ARRAYPORT_MEMORY_TYPES names {mt.value}, left out: {why}"
            warnings.warn(msg, UserWarning, stacklevel=4)
    return usable, left_out


def _targets(memory_types: Iterable[Any] | str | None) -> tuple[list[Any], bool, list[str]]:
    if memory_types is None:
        usable, left_out = _selected_default()
        return list(usable), False, left_out
    out: list[Any] = []
    for m in memory_types_given(memory_types):
        out.append(ARRAY_API_STRICT if m == ARRAY_API_STRICT else as_memory_type(m))
    if ARRAY_API_STRICT in out:
        _require_array_api_strict()
    return out, True, []


def _require_array_api_strict() -> None:
    """Import array-api-strict, or say how to install it (asked for by name)."""
    try:
        import array_api_strict  # noqa: F401
    except ModuleNotFoundError as exc:
        msg = (
            f"assert_equivalent(memory_types=[..., {ARRAY_API_STRICT!r}]): array-api-strict "
            "is not installed; install it with: pip install array-api-strict"
        )
        raise BackendUnavailableError(msg) from exc


def _is_refusal(exc: ArrayportError) -> bool:
    """Whether ``exc`` says the memory type cannot hold the arguments (their dtype or
    shape), not that it is missing or cannot reach its device."""
    if cause_of(exc, BackendUnavailableError) or cause_of(exc, DeviceError):
        return False
    return isinstance(exc, (ConversionError, UnsupportedArrayError))


def assert_equivalent(
    fn: Callable[..., Any],
    /,
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
    memory type with the array arguments converted to it: those at the top level and one
    level down in a list, tuple or namedtuple argument, the arrays arrayport's dispatch
    converts. Arrays in dicts, or deeper, reach every run as numpy copies; a memory type
    that no array argument was converted to (all of them in dicts, or none at all: numpy
    scalars are not arrays, pass ``np.asarray(x)``) is skipped, not counted as checked.
    On dask, an array of another shape than the first of the most dimensions is passed
    whole as numpy, and each converted array is split into two blocks along every axis
    of length 2 or more that dispatch accepts split beside those: not one as long as a
    whole array's matching axis (a ``(4,)`` bias beside a ``(4, 4)`` array), nor, for a
    whole array that does not broadcast against it (a kernel), one axis it does not fit,
    unless no block there can have its extent; where no axis is left, dask runs on one
    block. So a function computed block by block where it needs the whole array fails
    (a dispatched function that declares no block rule, which arrayport refuses there,
    skips dask; named, it fails); a dask result is computed before it is compared, and
    an error computing it is reported like one ``fn`` raised.
    Each result is compared with the reference: memory type and device (the inputs'),
    dtype, shape and 0-d-ness (for dask, the dtype and shape the lazy result reports too,
    unless a size is unknown (NaN): then only the computed shape), then values (floats
    within ``rtol``/``atol``, NaN equal to NaN but never to a number, an infinity only to
    the same infinity; a complex value with an infinite or NaN part in the real and the
    imaginary part apart, each within the tolerances; everything else exactly). Two float
    values (or complex parts) both below ``finfo(dtype).tiny``, the smallest normal
    number, in magnitude count as equal: jax and tensorflow flush subnormal numbers to
    zero (``1e-40 + 1e-40`` in float32 is 0.0 there), numpy does not; a difference above
    it still fails. Tuples, lists and dicts of results,
    their subclasses included, are compared part by part; with ``check_dtype``, a list is
    not a tuple, a named tuple must have numpy's field names, and a Python scalar or None
    must come back with its exact type (``True`` is not ``1``, ``1`` is not ``1.0``). A
    masked array result must come back masked with numpy's mask (whatever ``check_dtype``
    says); the values under the mask are not compared.

    Every run, the reference included, gets its own copy of each array argument (with the
    caller's strides, byte order and read-only flag) wherever it could otherwise write into
    memory shared with the caller or another run, in lists, tuples and dicts (and their
    subclasses) too: a function that writes into its input changes neither the caller's
    arrays nor what later runs get. The reference result is copied to numpy as soon as it
    is made, so a later run cannot change it through memory ``fn`` keeps.

    Parameters
    ----------
    fn : callable
        The function under test (a plain array-API function or an
        ``@arrayport.memory_type`` one).
    *args
        Its positional arguments; arrays may be of any memory type.
    memory_types : MemoryType, str, or iterable of them, optional
        Where to run it; a single name or MemoryType counts as a list of one. ``None``:
        the memory types the ``memory_type`` fixture runs on (the installed ones, or those
        ``ARRAYPORT_MEMORY_TYPES`` names, less those not usable on ``ARRAYPORT_DEVICE``;
        one named there but not installed is left out with a warning), each skipped only
        where it cannot hold the arguments' dtype or shape (a type that holds a dtype only
        widened, as pyclesperanto holds bool as uint8 and float16 as float32, does not hold
        it); a device or installation problem fails. Named types must hold them: one that
        cannot fails, a widening included, unless ``check_dtype=False``, which runs it on
        the widened arguments. Include ``"array_api_strict"`` to also
        run on array-api-strict arrays on each of its devices, fake ones included
        (dtypes it lacks, such as float16, fail; big-endian arguments reach it swapped to
        native byte order).
    rtol, atol : float, optional
        Tolerances for floating results; ``rtol`` defaults to :func:`default_tolerance`
        of numpy's result dtype, ``atol`` to 0. Results that cancel to near zero
        (``x - x.mean()`` of equal float32 values: 1e-8 against -7e-9) differ relatively
        by more than any ``rtol``: give an ``atol`` of about the input's magnitude times
        ``rtol``.
    check_dtype : bool
        Whether the result dtype must be numpy's (and the type of a Python scalar, tuple or
        list result); off, a named memory type also runs on arguments it widens.
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
        imaginary parts apart), and on values below ``finfo(dtype).tiny`` that count as
        equal (``-0.0`` for ``-1e-40`` passes, ``0.0`` for it fails): ``-0.0`` against
        ``0.0`` fails, however large the tolerance. Off by default: frameworks disagree on
        the sign of some zeros the standard leaves open (``maximum(-0.0, 0.0)`` is 0.0 in
        numpy, -0.0 in torch).
    **kwargs
        Keyword arguments for ``fn``; array values are converted like ``args``. The names
        above (``memory_types``, ``rtol``, ``atol``, ``check_dtype``, ``check_memory_type``,
        ``check_inputs_unchanged``, ``check_signed_zeros``) are this function's own and
        never reach ``fn``: bind ``fn``'s own parameters of those names with
        ``functools.partial(fn, rtol=...)``. A UserWarning says so when one is given a value
        other than its default and ``fn`` has a parameter of that name.

    Returns
    -------
    tuple of str
        The memory types (and array-api-strict devices) the function was checked on.

    Raises
    ------
    AssertionError
        Naming the memory type, the argument dtypes and shapes, and what differs (for a
        changed input, the argument; for a zero's sign, the index and both values); also
        when the arguments cannot reach a memory type's device, and when nothing was
        checked (the arguments fit no memory type, none is usable here, or no array
        argument is where it would be converted).
    InvalidOptionError
        If ``fn`` is not callable, ``memory_types`` is neither a name nor an iterable of
        them (an empty one included), a memory type is unknown, a tolerance is negative,
        a ``check_*`` flag is not a bool (``None`` included), or ``ARRAYPORT_DEVICE`` is
        not a device.
    BackendUnavailableError
        If a memory type named in ``memory_types`` is not installed, or one that is
        installed cannot be loaded (a setup problem, not a failed assertion).

    Examples
    --------
    >>> import numpy as np
    >>> from arrayport.testing import assert_equivalent
    >>> def double(x):
    ...     return x * 2
    >>> checked = assert_equivalent(double, np.arange(4.0), memory_types=["numpy"])
    >>> checked
    ('numpy',)

    With hypothesis, give the test ``@settings(deadline=None)``: the first call into a
    framework compiles or loads kernels and can take seconds, and hypothesis' default
    200 ms deadline then fails the test as flaky (``FlakyFailure``, "Unreliable test
    timings")::

        @settings(deadline=None)
        @given(arrays("numpy", dtype="float32"))
        def test_double(x):
            assert_equivalent(double, x)
    """
    if not callable(fn):
        msg = (
            f"assert_equivalent(fn, ...): fn must be callable, not {repr(fn)[:60]} "
            f"({type(fn).__name__})"
        )
        raise InvalidOptionError(msg)
    if rtol is not None:
        check_tolerance("rtol", rtol)
    check_tolerance("atol", atol)
    for flag, value in (
        ("check_dtype", check_dtype),
        ("check_memory_type", check_memory_type),
        ("check_inputs_unchanged", check_inputs_unchanged),
        ("check_signed_zeros", check_signed_zeros),
    ):  # a truth value (None, "no") would quietly turn a check off or on
        check_bool("assert_equivalent", flag, value)
    warn_shadowed_options(  # each option's (value, default)
        fn,
        memory_types=(memory_types, None),
        rtol=(rtol, None),
        atol=(atol, 0.0),
        check_dtype=(check_dtype, True),
        check_memory_type=(check_memory_type, True),
        check_inputs_unchanged=(check_inputs_unchanged, False),
        check_signed_zeros=(check_signed_zeros, False),
    )
    device_kind()  # an ARRAYPORT_DEVICE that is not a device is refused on every path
    targets, explicit, skipped = _targets(memory_types)
    hosts: dict[int, Any] = {}  # the same array twice stays one array on every run
    host_args = [to_host(a, hosts) for a in args]
    host_kwargs = {k: to_host(v, hosts) for k, v in kwargs.items()}
    name = getattr(fn, "__qualname__", repr(fn))
    call = describe_call(host_args, host_kwargs)  # for messages: f(float32[3], w=float32[3])
    memo: dict[int, Any] = {}
    ref_args, ref_kwargs = private(host_args, memo), private(host_kwargs, memo)
    # The reference result is kept apart too, every array in it copied to numpy: a later run
    # must not reach it through memory fn keeps (a cache, an output buffer, a lazy graph).
    try:
        expected = kept(fn(*ref_args, **ref_kwargs))
    except Exception as exc:  # raised as it is, noted as the reference run's
        add_note(exc, reference_note(name, call, host_args, host_kwargs))
        raise
    if check_inputs_unchanged:
        where = f"{name}({call}) on numpy (the reference)"
        check_unchanged(fn, ref_args, ref_kwargs, host_args, host_kwargs, where=where)
    checked: list[str] = []
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
            where = f"{name}({call}) on {label}"
            try:  # a named type runs on widened arguments only if dtypes are not checked
                conv_args, conv_kwargs, converted = run_arguments(
                    host_args, host_kwargs, place, widen=explicit and not check_dtype
                )
            except ArrayportError as exc:
                missing = cause_of(exc, BackendUnavailableError)
                if missing is not None:  # installed (or named) but not loadable: setup
                    if missing is exc:
                        raise
                    raise missing from missing.__cause__
                if explicit or not _is_refusal(exc):  # a device error is never skipped
                    msg = f"{where}: the arguments cannot be converted: {exc}"
                    raise AssertionError(msg) from exc
                skipped.append(f"{label} ({exc})")
                continue
            if not converted:  # fn would get no array of this memory type: nothing to check
                skipped.append(f"{label} ({unconverted_reason(host_args, host_kwargs)})")
                continue
            if check_inputs_unchanged:  # as the run gets them (a target may widen a dtype)
                before_args, before_kwargs = snapshot(conv_args), snapshot(conv_kwargs)
            device = device_of(converted[0])  # not a numpy array of strings left as given
            try:
                actual = fn(*conv_args, **conv_kwargs)
            except BlockRuleError as exc:  # fn (or one it calls) declares no block rule
                if explicit:
                    raise AssertionError(f"{where}: raised {type(exc).__name__}: {exc}") from exc
                skipped.append(f"{label} ({exc})")
                continue
            except Exception as exc:  # reported as the assertion it is, with the cause chained
                hint = no_namespace_hint(exc, target, targets) or result_back_hint(
                    exc, target, targets
                )
                msg = f"{where}: raised {type(exc).__name__}: {exc}{hint}"
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
            f"{name}: checked on no memory type, none of them could run it here: {why}. "
            "Use arguments they hold (float32 for jax without 64-bit mode, say), name "
            "the memory types, or check ARRAYPORT_MEMORY_TYPES and ARRAYPORT_DEVICE"
        )
        raise AssertionError(msg)
    return tuple(checked)
