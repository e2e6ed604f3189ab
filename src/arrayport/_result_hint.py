"""The hint a refusal of a dispatched function's result ends with: the options that keep such
a result as the function made it, except where no option does.

A masked result is refused (its mask would be lost); without dask, ``output='declared'``
with ``NATIVE_OUTPUT`` hands it back as it is. On dask input it cannot be kept: it would be
a block of the dask result, and arrayport's dask results hold plain numpy or cupy blocks.
So where the function runs on a dask block (or on the sample block ``NATIVE_OUTPUT`` runs it
on at the call), :mod:`arrayport._dask_worker` and :mod:`arrayport._dask_sample` note it in
:data:`running`, and the hint names the remedies that work there.

Nothing here runs on a call that succeeds.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

__all__ = ["MASKED_ON_DASK", "on_dask_block", "result_hint", "result_where", "running"]

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
