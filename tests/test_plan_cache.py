"""_plan_cache: routes are cached by everything the decision reads (ADR 0045)."""

from __future__ import annotations

import numpy as np
import pytest

import arrayport as ap
from tests.conftest import skip_unless_installed
from tests.test_convert import HAVE, MT, aligned, run_python


def test_repeated_plans_come_from_the_cache() -> None:
    a = np.zeros((3, 4), "float32")
    b = np.ones((3, 4), "float32")
    ap.plan(a, "numpy", copy=True)  # a first plan of a target is not stored (_plan)
    r = ap.plan(a, "numpy", copy=True)
    assert ap.plan(b, "numpy", copy=True) is r
    # A different layout class is planned on its own.
    ro = b.view()
    ro.flags.writeable = False
    if "torch" in HAVE:
        assert ap.plan(a, "torch").zero_copy
        assert not ap.plan(ro, "torch").zero_copy
        assert ap.plan(a, "torch").zero_copy


@skip_unless_installed(MT.JAX)
def test_writes_to_a_cached_key_source_stay_honest() -> None:
    """Making the same array read-only changes its key, so a zero-copy route cached for it
    is not reused."""
    a = aligned(np.arange(16, dtype="float32"))
    assert ap.plan(a, "jax").zero_copy
    a.flags.writeable = False
    r = ap.plan(a, "jax")
    assert not r.zero_copy
    assert "read-only" in r.reason


def test_jax_x64_switch_is_part_of_the_cache_key() -> None:
    if "jax" not in HAVE:
        pytest.skip("jax not installed")
    run_python(
        """
        import arrayport as ap, numpy as np, jax
        a = np.arange(3.0)
        jax.config.update('jax_enable_x64', True)
        assert str(ap.convert(a, 'jax').dtype) == 'float64'
        jax.config.update('jax_enable_x64', False)
        try:
            ap.convert(a, 'jax')
        except ap.UnsupportedDtypeError:
            pass
        else:
            raise AssertionError('a route cached with x64 on was used with x64 off')
        """
    )


@skip_unless_installed(MT.TORCH)
def test_threads_current_device_is_read_on_every_call() -> None:
    a = np.zeros(3, "float32")
    assert ap.plan(a, "torch").device == ap.Device("cpu")
    with ap.use_device(5):  # no accelerator here: a CPU source stays on the CPU
        assert ap.plan(a, "torch").device == ap.Device("cpu")
        with pytest.raises(ap.DeviceError):
            ap.plan(a, "torch", device="cuda")


def test_clear_plan_cache_forgets_every_route() -> None:
    import importlib

    cache = importlib.import_module("arrayport._plan_cache")
    convert_module = importlib.import_module("arrayport.convert")
    assert convert_module.clear_plan_cache is cache.clear_plan_cache
    r = ap.plan(np.zeros(3, "float32"), "numpy", copy=True)
    assert cache._plans
    convert_module.clear_plan_cache()
    assert not cache._plans
    assert ap.plan(np.zeros(3, "float32"), "numpy", copy=True) is not r
