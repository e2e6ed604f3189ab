"""One finding of port-check: a NumPy use outside the array API standard."""

from __future__ import annotations

import dataclasses

__all__ = ["Finding"]


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One use of NumPy outside the array API standard.

    Attributes
    ----------
    path : str
        The file.
    line : int
        The 1-based line number.
    name : str
        What was used: ``"numpy.concatenate"``, ``".astype"``, ``".dtype.kind"``.
    message : str
        Why it is reported.
    replacement : str or None
        The standard (or array-api-extra) replacement, when there is one.
    """

    path: str
    line: int
    name: str
    message: str
    replacement: str | None

    def as_dict(self) -> dict[str, object]:
        """The finding as a JSON-ready dict with keys path, line, name, message, replacement."""
        return dataclasses.asdict(self)
