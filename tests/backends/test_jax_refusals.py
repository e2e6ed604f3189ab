"""backends/_jax_refusals: what jax's DLPack import shares, and dtypes that cannot leave
jax (the backend's own tests, test_jax.py, check them through the backend too)."""

from __future__ import annotations

from arrayport.backends._jax_refusals import share_refusal_of


def test_each_layout_jax_would_copy_or_refuse_is_named() -> None:
    assert share_refusal_of(True, "float32", True, True, True) is None
    assert "read-only" in share_refusal_of(False, "float32", True, True, True)
    assert "bfloat16" in share_refusal_of(True, "bfloat16", True, True, True)
    assert "big-endian" in share_refusal_of(True, "float32", False, True, True)
    assert "compact" in share_refusal_of(True, "float32", True, False, True)
    assert "aligned" in share_refusal_of(True, "float32", True, True, False)
