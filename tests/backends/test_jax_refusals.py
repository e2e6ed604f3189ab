"""backends/_jax_refusals: what jax's DLPack import shares, and dtypes that cannot leave
jax (the backend's own tests, test_jax.py, check them through the backend too)."""

from __future__ import annotations

import numpy as np

from arrayport._host import ArrayInfo
from arrayport.backends._jax_refusals import dlpack_refusal, share_refusal_of
from arrayport.devices import CPU, Device


def test_each_layout_jax_would_copy_or_refuse_is_named() -> None:
    assert share_refusal_of(True, "float32", True, True, True) is None
    assert "read-only" in share_refusal_of(False, "float32", True, True, True)
    assert "bfloat16" in share_refusal_of(True, "bfloat16", True, True, True)
    assert "big-endian" in share_refusal_of(True, "float32", False, True, True)
    assert "compact" in share_refusal_of(True, "float32", True, False, True)
    assert "aligned" in share_refusal_of(True, "float32", True, True, False)


def test_compact_memory_in_another_axis_order_is_shared_on_the_cpu_only(monkeypatch) -> None:
    # custom_layouts_safe asks jax for its devices: pinned here so this runs without jax.
    from arrayport.backends import _jax_refusals

    monkeypatch.setattr(_jax_refusals, "custom_layouts_safe", lambda: True)
    # contiguity None: compact, not row-major (a transposed array). jax's CPU import shares
    # it (ADR 0082); it was refused as "compact row-major memory" only.
    assert share_refusal_of(True, "float32", True, None, True) is None
    assert "aligned" in share_refusal_of(True, "float32", True, None, False)

    def info(device: Device, strides: tuple[int, ...]) -> ArrayInfo:
        return ArrayInfo((4, 6), np.dtype("float32"), "float32", device, strides, 0, True)

    assert dlpack_refusal(info(CPU, (4, 16)), False) is None
    gpu = dlpack_refusal(info(Device("cuda", 0), (4, 16)), False)
    assert gpu == "on a GPU arrayport shares only row-major memory into jax (untested there)"
    gaps = dlpack_refusal(info(CPU, (4, 32)), False)
    assert gaps is not None
    assert gaps.startswith("jax imports only compact memory (no gaps")
