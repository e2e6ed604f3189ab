"""Keeping tensorflow's autograph out of arrayport's own code.

Inside ``tf.function``, autograph rewrites every Python function the traced code calls,
and everything those call in turn, unless the function carries autograph's artifact
marker. Rewritten, arrayport's dispatch took 2.3 s to trace one call of a numpy-declared
function (0.06 s as it is) and warned that it could not rewrite ``importlib``'s
``_gcd_import``. arrayport's code branches only on Python values and never on a tensor's
value, so autograph has nothing to gain there: the public entry points carry the marker
and run as written. A function that a dispatched function calls is still the user's and
runs as written too; that is fine, since it only ever sees arrays with data (symbolic
tensors are refused before it runs).
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
