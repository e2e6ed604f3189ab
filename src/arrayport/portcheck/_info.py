"""Fields of NumPy's ``finfo`` and ``iinfo`` objects that the standard's lack
(``np.finfo(t).tiny``, ``np.finfo(t).resolution``)."""

from __future__ import annotations

__all__ = ["info_field_finding"]

# The fields of the standard's finfo and iinfo objects, and replacements for NumPy's others.
_INFO_FIELDS = {
    "finfo": frozenset({"bits", "dtype", "eps", "max", "min", "smallest_normal"}),
    "iinfo": frozenset({"bits", "dtype", "max", "min"}),
}
_INFO_HINTS = {"tiny": "smallest_normal"}


def info_field_finding(kind: str, field: str) -> tuple[str, str, str | None] | None:
    """The finding for ``np.<kind>(t).<field>`` (``kind`` "finfo" or "iinfo"; anything
    else gives None), or None for a field the standard's has too."""
    fields = _INFO_FIELDS.get(kind)
    if fields is None or field in fields:
        return None
    return (
        f"numpy.{kind}().{field}",
        f"{kind}().{field} is NumPy's; the standard's {kind} has {', '.join(sorted(fields))}",
        _INFO_HINTS.get(field),
    )
