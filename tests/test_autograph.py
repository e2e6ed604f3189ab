"""arrayport's entry points run as written inside tf.function (not rewritten by autograph)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

import arrayport as ap
from arrayport._autograph import MARKER
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(ap.MemoryType.TENSORFLOW)


def _rewritten_frames() -> int:
    """How many frames of the calling stack are autograph's rewritten code."""
    return sum("__autograph_generated" in frame.filename for frame in inspect.stack())


def test_public_functions_and_dispatched_functions_carry_the_marker() -> None:
    for function in (ap.convert, ap.plan, ap.convert_dtype, ap.process_slices):
        assert hasattr(function, MARKER)
    assert hasattr(ap.memory_type("numpy")(np.sum), MARKER)


def test_a_dispatched_call_inside_tf_function_is_not_rewritten() -> None:
    import tensorflow as tf

    seen: list[int] = []

    @ap.memory_type("numpy")
    def double(x: Any) -> Any:
        seen.append(_rewritten_frames())
        return x * 2

    captured = np.arange(3.0, dtype=np.float32)

    @tf.function
    def traced(t: Any) -> Any:
        return t + double(captured)

    out = traced(tf.constant([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(out.numpy(), [1.0, 3.0, 5.0])
    # Only the tf.function's own body is rewritten; rewritten, dispatch added its own
    # frames (__call__, the general path, the argument scan: 2.3 s of tracing).
    assert seen == [1]


def test_refusals_inside_tf_function_are_raised_by_arrayport_code_as_written() -> None:
    import tensorflow as tf

    @tf.function
    def traced(t: Any) -> Any:
        return ap.convert(t, "numpy")

    with pytest.raises(ap.UnsupportedArrayError, match="symbolic tensors") as caught:
        traced(tf.constant([1.0]))
    frames = [entry.name for entry in caught.traceback]
    # The tf.function's own body is rewritten (tf__traced); arrayport's frames are not.
    assert "tf__traced" in frames
    assert "convert" in frames
    assert not any(name.startswith("tf__") for name in frames[frames.index("convert") :])


def test_the_policy_and_the_decorators_methods_carry_the_marker_too() -> None:
    # OOMPolicy.run, .recover, f.options and memory_type were rewritten by autograph inside
    # tf.function (ten times the tracing time, and run() rewrote the user's function too).
    for function in (ap.OOMPolicy.run, ap.OOMPolicy.recover, ap.memory_type):
        assert hasattr(function, MARKER)
    dispatched = ap.memory_type("numpy")(np.sum)
    assert hasattr(dispatched.options, MARKER)
    assert hasattr(ap.OOMPolicy().run, MARKER)
