"""Out-of-memory recovery policy (skeleton: being implemented)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["OOMPolicy"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class OOMPolicy:
    retries: int = 2
    release: bool = True
    split_axis: int | None = None
    min_split: int = 1
    fallback: Any = None

    @classmethod
    def disabled(cls) -> OOMPolicy:
        return cls(retries=0, release=False)

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)
