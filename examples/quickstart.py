"""Quickstart: a function written once against the array API, run on three frameworks."""

import numpy as np

import arrayport as ap  # before torch, jax or tensorflow (see the docs on import order)


def normalize(image, low=0.0, high=1.0):
    """Stretch ``image`` linearly to [low, high]: array API calls only."""
    xp = ap.namespace(image)  # numpy, torch, jax... whichever array this is
    lo, hi = xp.min(image), xp.max(image)
    return low + (image - lo) * ((high - low) / (hi - lo))


image = np.asarray([[0.0, 2.0], [4.0, 8.0]], dtype=np.float32)
expected = [[0.0, 0.25], [0.5, 1.0]]

# 1. The same function runs natively on each framework's arrays.
for memory_type in ("numpy", "torch", "jax"):
    if memory_type not in ap.available_memory_types():
        print(f"{memory_type}: not installed, skipped")
        continue
    x = ap.convert(image, memory_type)  # zero-copy where the frameworks allow it
    y = normalize(x)
    assert ap.detect_memory_type(y) == memory_type
    np.testing.assert_allclose(ap.convert(y, "numpy"), expected)
    print(f"{memory_type:>6}: {type(y).__module__}.{type(y).__name__}")

# 2. The decorator pins where it computes: numpy in, torch inside, numpy out.
if "torch" in ap.available_memory_types():
    normalize_on_torch = ap.memory_type("torch")(normalize)
    y = normalize_on_torch(image)
    assert isinstance(y, np.ndarray)
    assert y.dtype == image.dtype  # PRESERVE_INPUT: the input's dtype comes back
    np.testing.assert_allclose(y, expected)
    print(f"numpy -> torch -> numpy: {y.dtype}, route in: {ap.plan(image, 'torch')}")
