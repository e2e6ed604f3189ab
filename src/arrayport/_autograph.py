"""Keeping tensorflow's autograph out of arrayport's own code.

Inside ``tf.function``, autograph rewrites every Python function the traced code calls,
and everything those call in turn, unless the function carries autograph's artifact
marker. Rewritten, arrayport's dispatch took 2.3 s to trace one call of a numpy-declared
function (0.06 s as it is) and warned that it could not rewrite ``importlib``'s
``_gcd_import``. arrayport's code branches only on Python values and never on a tensor's
value, so autograph has nothing to gain there: the public entry points carry the marker
and run as written. The function a dispatched call runs is then not rewritten either: a
tensorflow-declared one given symbolic tensors runs as under ``tf.function(autograph=False)``
(ADR 0070; ``@tf.function`` below the decorator gives it autograph again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: The attribute autograph looks for (``tensorflow/python/autograph/impl/api.py``,
#: ``is_autograph_artifact``): callables that have it are called unconverted.
MARKER = "autograph_info__"


def run_as_written(*functions: Callable[..., Any]) -> None:
    """Mark ``functions`` so that autograph calls them as they are."""
    for function in functions:
        setattr(function, MARKER, {})
