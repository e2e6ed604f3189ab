"""Porting a NumPy function to the array API, checked by port-check.

``before`` is ordinary NumPy code; ``after`` is the same algorithm in array API calls.
port-check reports what ``before`` must change and finds nothing in ``after``; both give
the same values, and ``after`` runs on torch and jax arrays unchanged.
"""

import ast
from pathlib import Path

import array_api_extra as xpx
import numpy as np

import arrayport as ap  # before torch, jax or tensorflow (see the docs on import order)
from arrayport.portcheck import check_source


def before(image, pad=1):
    """Local contrast: pad, centre on the column mean, scale by the peak, flatten."""
    padded = np.pad(image, pad)
    centred = padded - np.mean(padded, 0)
    peak = np.amax(np.absolute(centred))
    scaled = np.concatenate([centred, np.flipud(centred)]) / peak
    return scaled.astype(np.float32).flatten()


def after(image, pad=1):
    """The same in array API calls; array-api-extra supplies pad."""
    xp = ap.namespace(image)
    padded = xpx.pad(image, pad, xp=xp)
    centred = padded - xp.mean(padded, axis=0)
    peak = xp.max(xp.abs(centred))
    scaled = xp.concat([centred, xp.flip(centred, axis=0)]) / peak
    return xp.reshape(xp.astype(scaled, xp.float32), (-1,))


# port-check reads this file's source (it never runs it) and says what to change.
source = Path(__file__).read_text()
lines = {
    node.name: range(node.lineno, node.end_lineno + 1)
    for node in ast.parse(source).body
    if isinstance(node, ast.FunctionDef)
}
findings = check_source(source, "porting_before_after.py")
print("port-check on before():")
for f in findings:
    if f.line in lines["before"]:
        print(f"  line {f.line}: {f.name:24} -> {f.replacement or 'no standard equivalent'}")
assert [f for f in findings if f.line in lines["after"]] == []
print("port-check on after(): clean")

image = np.arange(12, dtype=np.float64).reshape(3, 4)
expected = before(image)
np.testing.assert_allclose(after(image), expected, rtol=1e-6)
for memory_type in ("torch", "jax"):
    if memory_type in ap.available_memory_types():
        x = ap.convert(image.astype(np.float32), memory_type)
        np.testing.assert_allclose(ap.convert(after(x), "numpy"), expected, rtol=1e-5)
        print(f"after() on {memory_type}: same values")
