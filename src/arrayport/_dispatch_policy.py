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
from arrayport._placement import convert_dtype
from arrayport.dtypes import DtypeConversion
from arrayport.errors import DtypeConversionError, UnsupportedArrayError, UnsupportedDtypeError

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
        refusal = None
        if c.dtype_conversion is DtypeConversion.PRESERVE_INPUT:
            # The input's dtype may be the cause (strings): then it is named, not the result.
            name = getattr(dispatched, "__qualname__", None) or repr(dispatched._fn)
            refusal = refuse_input_dtype(name, first, result)
        raise (refusal or of_result(dispatched, exc, policy=True)) from exc
