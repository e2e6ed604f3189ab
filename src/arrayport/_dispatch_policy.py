"""The dtype policy of a dispatched call's result (:func:`dtype_policy`, which is
``DispatchedFunction._dtype_policy``), and the words of its refusals: said of the result
(:func:`arrayport._dispatch_general.of_result`), or of the first array argument where
``PRESERVE_INPUT`` cannot give the result that argument's dtype (strings, datetimes,
objects: :func:`arrayport._dtype_refusals.refuse_input_dtype`).

Only calls whose result's dtype or type differs from the input's come here: the fast paths
return a result that needs no policy themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arrayport._dispatch_general import of_result
from arrayport._dtype_refusals import refuse_input_dtype
from arrayport._metrics import metrics
from arrayport._oom_recognition import find_site, format_bytes, oom_memory_type, requested_bytes
from arrayport._oom_release import release
from arrayport._placement import convert_dtype
from arrayport._result_hint import traced_refusal
from arrayport.dtypes import DtypeConversion
from arrayport.errors import (
    DtypeConversionError,
    OutOfMemoryError,
    UnsupportedArrayError,
    UnsupportedDtypeError,
)

if TYPE_CHECKING:
    from arrayport.dispatch import DispatchedFunction

__all__ = ["dtype_policy"]


def dtype_policy(dispatched: DispatchedFunction[Any, Any], result: Any, first: Any) -> Any:
    """``result`` with the contract's dtype policy applied (``first``: the input)."""
    c = dispatched._contract
    try:
        return convert_dtype(
            result, first, c.dtype_conversion, c.scaling, dispatched._bool_stand_in
        )
    # masked, float128, complex128 parts beyond complex64, ...
    except (UnsupportedArrayError, UnsupportedDtypeError, DtypeConversionError) as exc:
        # A traced result (jax.jit, tf.function): what the policy would do, and what works.
        refusal = traced_refusal(dispatched, result, first)
        if refusal is not None:
            raise refusal from exc
        if c.dtype_conversion is DtypeConversion.PRESERVE_INPUT:
            # The input's dtype may be the cause (strings): then it is named, not the result.
            name = getattr(dispatched, "__qualname__", None) or repr(dispatched._fn)
            refusal = refuse_input_dtype(name, first, result)
        raise (refusal or of_result(dispatched, exc, policy=True)) from exc
    except Exception as exc:  # out-of-memory is decided by the backends
        return _after_oom(dispatched, exc, result, first)


def _after_oom(
    dispatched: DispatchedFunction[Any, Any], exc: Exception, result: Any, first: Any
) -> Any:
    """The dtype policy once more after it ran out of memory (``exc``), cached memory
    released first (``OOMPolicy(release=True)``); :class:`OutOfMemoryError` naming this
    step if it fails again, or at once without release. The function's call succeeded:
    it is not run again. Anything else, or any error under a disabled policy, is raised as
    it is."""
    c, policy = dispatched._contract, dispatched._oom
    site = find_site((result,), {})
    mt = oom_memory_type(exc, site.memory_type)
    if mt is None or not policy._active:
        raise exc
    attempts, last = 1, exc
    if policy.release:
        release(mt, site.device, escalate=True)
        attempts = 2
        try:
            converted = convert_dtype(
                result, first, c.dtype_conversion, c.scaling, dispatched._bool_stand_in
            )
        except Exception as again:
            if oom_memory_type(again, site.memory_type) is None:
                raise
            last = again
        else:
            if metrics.enabled:
                metrics.record_oom(mt.value, "release", errors=1)
            return converted
    if metrics.enabled:
        metrics.record_oom(mt.value, "raised", errors=attempts)
    requested = requested_bytes(last)
    size = "" if requested is None else f" (it asked for {format_bytes(requested)})"
    where = "" if site.device is None else f" on {site.device}"
    name = getattr(dispatched, "__qualname__", None) or repr(dispatched._fn)
    tried = "after releasing cached memory and trying again" if attempts > 1 else "at once"
    msg = (
        f"{mt.value} ran out of memory{where} converting the result of {name} by its dtype "
        f"policy (DtypeConversion.{c.dtype_conversion.name}, Scaling.{c.scaling.name})"
        f"{size}, {tried}; the function itself ran. Try "
        "dtype_conversion=DtypeConversion.NATIVE_OUTPUT to get the result as made (and "
        "convert it yourself, in pieces), smaller inputs, or freeing memory held elsewhere"
    )
    raise OutOfMemoryError(
        msg, memory_type=mt, device=site.device, attempts=attempts, requested_bytes=requested
    ) from last
