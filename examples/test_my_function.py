"""Testing your own function on every framework with ``arrayport.testing``.

Run it with ``pytest examples/test_my_function.py``. arrayport's pytest plugin is loaded
automatically: it provides the ``memory_type`` fixture (every installed memory type;
narrow it with ``ARRAYPORT_MEMORY_TYPES=numpy,torch``) and imports arrayport before any
framework.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import arrayport as ap
from arrayport.testing import arrays, assert_equivalent


# Your function: written once against the array API, declared to compute on numpy.
# Called with a torch, jax, tensorflow, ... array, it computes on numpy and answers in
# the caller's memory type and dtype. It reads the whole image (its minimum and maximum),
# so a dask array must reach it whole (whole_array=True), not block by block. Without a
# block rule, arrayport refuses a dask array of several blocks, so assert_equivalent skips
# dask (named in memory_types, it fails with BlockRuleError); with blockwise=True instead,
# its dask run (two blocks per axis) would report each block rescaled alone.
@ap.memory_type("numpy", whole_array=True)
def rescale(image, low=0.0, high=1.0):
    xp = ap.namespace(image)
    lo, hi = xp.min(image), xp.max(image)
    return low + (image - lo) * ((high - low) / (hi - lo + 1e-12))


#: Where the undecorated function runs itself: the memory types with an array API
#: namespace, and array-api-strict (the standard and nothing more, on fake devices too).
#: (Named memory types must be installed: assert_equivalent raises for one that is not.)
_INSTALLED = {mt.value for mt in ap.available_memory_types()}
PORTABLE = [m for m in ("numpy", "torch", "jax", "dask") if m in _INSTALLED] + ["array_api_strict"]


def test_rescale_is_ported():
    # The portability test: the undecorated function, computing in each framework itself.
    # array-api-strict fails NumPy calls left in the body (np.zeros, np.pad, ...) and
    # methods the standard lacks (x.mean()), which numpy, torch and jax all accept.
    image = np.linspace(0, 100, 24, dtype=np.float32).reshape(4, 6)
    assert_equivalent(rescale.__wrapped__, image, high=255.0, memory_types=PORTABLE)


def test_same_answer_on_every_framework():
    # The decorated function computes on numpy whatever it is given, so this checks that
    # every installed memory type's input comes back as numpy's answer, in the caller's
    # memory type and dtype: arrayport's conversions, not that rescale is ported (a body
    # of NumPy calls passes it too; test_rescale_is_ported checks that).
    image = np.linspace(0, 100, 24, dtype=np.float32).reshape(4, 6)
    assert_equivalent(rescale, image, high=255.0)


def test_runs_in_each_framework(memory_type):
    # The plugin's fixture: the same test once per installed memory type.
    if memory_type in ("tensorflow", "pyclesperanto"):
        pytest.skip(f"{memory_type} has no array API namespace to compute in")
    native = rescale.__wrapped__  # the undecorated function, run in that framework itself
    image = ap.convert(np.arange(12, dtype=np.float32).reshape(3, 4), memory_type)
    result = native(image)  # lazy on dask: computed by the comparison below
    assert ap.detect_memory_type(result) == memory_type
    expected = np.arange(12, dtype=np.float32).reshape(3, 4) / 11
    np.testing.assert_allclose(ap.convert(result, "numpy"), expected, rtol=1e-6)


# Pixel values up to 1e30: beyond that, ``hi - lo`` overflows float32 to infinity in
# ``rescale`` itself (hypothesis finds 3.4e38 next to -1e31 if allowed) - a limit of the
# function, not of the frameworks.
_BOUND = float(np.float32(1e30))
_PIXELS = st.floats(-_BOUND, _BOUND, width=32)


# deadline=None: hypothesis fails a test whose example takes longer than 200 ms, and the
# first call into a framework compiles or loads kernels (seconds on jax and tensorflow).
# The test would fail as flaky ("Unreliable test timings") though the function is right.
@settings(max_examples=10, deadline=None)
@given(image=arrays("numpy", dtype="float32", shape=(4, 4), elements=_PIXELS))
def test_same_answer_for_any_image(image):
    # Hypothesis draws the images (strided, read-only, big-endian, subnormal values, ...);
    # assert_equivalent runs rescale on each of them on every installed framework.
    assert_equivalent(rescale, image)


@settings(max_examples=20, deadline=None)  # deadline=None: see above
@given(image=arrays("numpy", dtype="float32", shape=(8, 8), elements=_PIXELS))
def test_property_range(image):
    # Hypothesis draws images of many layouts (strided, read-only, ...); the property holds.
    out = rescale(image, low=-1.0, high=1.0)
    assert out.dtype.name == image.dtype.name
    assert out.shape == image.shape
    assert np.all(out >= -1.0)
    assert np.all(out <= 1.0 + 1e-6)
