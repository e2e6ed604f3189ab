"""NumPy functions that are standard functions under another name.

``np.concatenate(xs, 1)`` is the standard's ``concat`` given its axis by position, which
``concat`` takes by keyword only; ``np.power(t, 3, t)`` writes into ``t``, which ``pow``
cannot. :func:`arrayport.portcheck._arguments.argument_findings` checks a call of a name in
:data:`RENAMES` against the signature of the standard function it names, as it checks a
call of a standard name, so the hint of the name (``xp.concat``) is not followed with the
arguments as they stand.

Only functions whose NumPy positional parameters mean what the standard's do at the same
places are here: ``np.identity(n, dtype)`` is not (``eye``'s second is ``n_cols``).
NumPy 2 removed ``round_``, ``product``, ``cumproduct``, ``alltrue`` and ``sometrue``;
their parameters are those of the functions they were aliases of
(:func:`~arrayport.portcheck._numpy_signatures.numpy_parameters`).
"""

from __future__ import annotations

__all__ = ["RENAMES"]

#: numpy name (without the ``numpy.`` prefix) -> the standard function it is.
RENAMES: dict[str, str] = {
    "absolute": "abs",
    "alltrue": "all",
    "amax": "max",
    "amin": "min",
    "arccos": "acos",
    "arccosh": "acosh",
    "arcsin": "asin",
    "arcsinh": "asinh",
    "arctan": "atan",
    "arctan2": "atan2",
    "arctanh": "atanh",
    "around": "round",
    "asanyarray": "asarray",
    "bitwise_not": "bitwise_invert",
    "concatenate": "concat",
    "conjugate": "conj",
    "cumprod": "cumulative_prod",
    "cumproduct": "cumulative_prod",
    "cumsum": "cumulative_sum",
    "invert": "bitwise_invert",
    "left_shift": "bitwise_left_shift",
    "mod": "remainder",
    "power": "pow",
    "product": "prod",
    "right_shift": "bitwise_right_shift",
    "round_": "round",
    "sometrue": "any",
    "transpose": "permute_dims",
    "true_divide": "divide",
}
