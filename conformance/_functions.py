"""Write-once functions the dispatch and device laws run everywhere.

Written against the array API only (``array_api_compat.array_namespace``), so the very
same code runs on numpy, torch, jax, cupy, dask and array-api-strict. Each keeps results
on its input's device (scalars are Python floats, never ``xp.asarray`` without a device).
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace


def affine(x: Any) -> Any:
    """Elementwise: 2x - 1."""
    return x * 2.0 - 1.0


def soft_clip(x: Any) -> Any:
    """Elementwise with a branch: clip to [-1, 1] and weight by |x|."""
    xp = array_namespace(x)
    return xp.clip(x, -1.0, 1.0) * xp.abs(x)


def centred(x: Any) -> Any:
    """A reduction broadcast back: x minus its mean."""
    xp = array_namespace(x)
    return x - xp.mean(x)


def row_sums(x: Any) -> Any:
    """A reduction that changes the shape."""
    xp = array_namespace(x)
    return xp.sum(x, axis=-1)


def shifted_and_max(x: Any) -> tuple[Any, Any]:
    """A tuple result: (x + 1, max of x) - the first element is the primary output."""
    xp = array_namespace(x)
    return x + 1.0, xp.max(x)


def half(x: Any) -> Any:
    """A float result from any real input: its dtype is converted back by PRESERVE_INPUT."""
    xp = array_namespace(x)
    return xp.astype(x, xp.float32) * 0.5


def halves(x: Any) -> tuple[Any, Any]:
    """A tuple of two float32 results (``half`` twice): the dtype policy converts only the
    first, the primary output (DESIGN: "the result, or the first element of a tuple")."""
    return half(x), half(x)


GALLERY = (affine, soft_clip, centred, row_sums, shifted_and_max)
#: The elementwise ones: what a function must be to run block by block on dask input.
BLOCKWISE = (affine, soft_clip)
