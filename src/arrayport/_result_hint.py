"""The hint a refusal of a dispatched function's result ends with: the options that keep such
a result as the function made it, except where no option does.

A masked result is refused (its mask would be lost); without dask, ``output='declared'``
with ``NATIVE_OUTPUT`` hands it back as it is. On dask input it cannot be kept: it would be
a block of the dask result, and arrayport's dask results hold plain numpy or cupy blocks.
So where the function runs on a dask block (or on the sample block ``NATIVE_OUTPUT`` runs it
on at the call), :mod:`arrayport._dask_worker` and :mod:`arrayport._dask_sample` note it in
:data:`running`, and the hint names the remedies that work there.

A traced result (inside ``jax.jit``, ``grad``, ``vmap`` or ``tf.function``) whose dtype the
policy would change is refused in words of its own (:func:`traced_refusal`): it holds no
values, and the policy computes on values, exactly, outside the traced computation (XLA on
the CPU divides by an approximate reciprocal and flushes subnormals, so jax ops under
``jit`` would round otherwise than an eager call does).

Nothing here runs on a call that succeeds.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

from arrayport.errors import UnsupportedArrayError

__all__ = [
    "MASKED_ON_DASK",
    "on_dask_block",
    "result_hint",
    "result_where",
    "running",
    "traced_refusal",
]

#: Per thread: ``running.on`` is the dispatched callable running on a dask block, or on a
#: sample of one, now (absent or None: none).
running = threading.local()

MASKED_ON_DASK = (
    "on dask input no option keeps a masked result: each block of the dask result must be a "
    "plain array. Return x.filled(fill_value), or the data and the mask from separate calls "
    "(numpy.ma.getdata(x), numpy.ma.getmaskarray(x)); or compute the input first "
    "(.compute()) and declare output='declared' with dtype_conversion=NATIVE_OUTPUT"
)


def result_hint(dispatched: Any, exc: Exception, native: bool) -> str:
    """The hint for ``exc``, a refusal of ``dispatched``'s result (``native``: one that
    ``NATIVE_OUTPUT`` would keep, such as a masked array or an object dtype)."""
    if native and _masked_on_dask(dispatched, exc):
        return MASKED_ON_DASK
    kind = " with dtype_conversion=DtypeConversion.NATIVE_OUTPUT" if native else ""
    return f"output='declared'{kind} returns results as the function makes them"


def result_where(dispatched: Any) -> str:
    """Where ``dispatched``'s refused result was going: its ``output``, or, on a dask block
    (run with ``output='input'`` there, whatever was declared), the block."""
    if on_dask_block(dispatched):
        return " on a dask block"
    output = dispatched._contract.output
    return f" (output={getattr(output, 'value', output)!r})"


def traced_refusal(dispatched: Any, result: Any, first: Any) -> UnsupportedArrayError | None:
    """The refusal of ``dispatched``'s traced ``result`` (its primary output: inside
    ``jax.jit``, ``grad``, ``vmap`` or ``tf.function``), whose dtype the contract's policy
    would change (against ``first``, the input), naming what the policy would do and the
    options that work under tracing; None for a result that is not traced."""
    from arrayport._arguments import is_tuple
    from arrayport.dtypes import DtypeConversion, Scaling, dtype_name

    primary = result[0] if is_tuple(result) and result else result
    where, cast = _traced(primary)
    if where is None:
        return None
    c = dispatched._contract
    name = getattr(dispatched, "__qualname__", None) or repr(dispatched._fn)
    made = dtype_name(primary.dtype) or str(primary.dtype)
    conversion, minmax = c.dtype_conversion, c.scaling is Scaling.MINMAX
    if conversion is DtypeConversion.PRESERVE_INPUT:
        wanted = dtype_name(getattr(first, "dtype", None)) or "the input's dtype"
        what = f"{name} returned {made} for {wanted} input"
    else:
        wanted = conversion.value
        what = f"{name} returned {made}"
    if minmax:
        floats = wanted.startswith(("float", "bfloat", "complex"))  # MINMAX: [0, 1] there
        span = "[0, 1]" if floats else f"the range of {wanted}"
        what += f", and scaling=Scaling.MINMAX stretches its values to {span}"
    else:
        what += f", and dtype_conversion={conversion.name} converts it to {wanted}"
    # NATIVE_OUTPUT takes no UNIT or MINMAX scaling (the contract refuses the pair).
    value = "" if c.scaling is Scaling.VALUE else " with scaling=Scaling.VALUE"
    options = [
        f"declare dtype_conversion=DtypeConversion.NATIVE_OUTPUT{value} (.options(...)) to "
        "return the result as the function makes it"
    ]
    fixed = {m.value: m.name for m in DtypeConversion}.get(made)
    if minmax:
        options[0] += ", and stretch the values inside the function yourself"
    else:
        if fixed is not None and made != wanted:
            options.append(f"or DtypeConversion.{fixed}, the dtype it returns")
        how = cast.format(wanted) if dtype_name(wanted) else "a cast"
        options.append(f"or return {wanted} from the function ({how}, with your own rounding)")
    msg = (
        f"the result of {name}{result_where(dispatched)}: {what}; a traced result ({where}) "
        "cannot be converted: it holds no values while it is traced, and the dtype policy "
        "(round half to even, clip to the target's range, NaN to 0) computes on values, "
        f"exactly, outside the traced computation. {_sentence('; '.join(options))}"
    )
    return UnsupportedArrayError(msg)


def _traced(x: Any) -> tuple[str | None, str]:
    """Where ``x`` is traced (None: it is not), and how a function casts it there (a
    format string taking the dtype's name)."""
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(x, jax.core.Tracer):
        return "inside jax.jit, grad or vmap", "result.astype(jnp.{})"
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(x, tf.Tensor) and type(x).__name__ != "EagerTensor":
        return "inside tf.function", "tf.cast(result, tf.{})"
    return None, ""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def on_dask_block(dispatched: Any) -> bool:
    """Whether ``dispatched`` is running on a dask block (or a sample of one) now: its own
    call, not another dispatched function it calls on the block's data."""
    on = getattr(running, "on", None)
    return on is not None and _plain(on) is _plain(dispatched)


def _masked_on_dask(dispatched: Any, exc: Exception) -> bool:
    from arrayport.backends.numpy import _MASKED

    return _MASKED in str(exc) and on_dask_block(dispatched)


def _plain(dispatched: Any) -> Any:
    """The user's function behind ``dispatched``: a variant (``.options()``), a bound method
    or a :class:`arrayport._dask_worker.Referenced` call."""
    dispatched = getattr(dispatched, "native", dispatched)  # Referenced: its running variant
    while isinstance(dispatched, functools.partial):
        dispatched = dispatched.func
    return getattr(dispatched, "_fn", dispatched)
