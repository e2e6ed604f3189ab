"""backends/_jax_memory: out-of-memory recognition, waiting for results, memory figures."""

from __future__ import annotations

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.errors import UnsupportedArrayError
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.JAX)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import jax as backend

    backend.load()
    return backend


def test_the_backend_re_exports_this_module() -> None:
    from arrayport.backends import _jax_memory
    from arrayport.backends import jax as backend

    for name in _jax_memory.__all__:
        assert getattr(backend, name) is getattr(_jax_memory, name)


def test_oom(be) -> None:
    import jax

    assert be.oom_error_types() == (jax.errors.JaxRuntimeError,)
    assert not be.is_oom(RuntimeError("RESOURCE_EXHAUSTED"))
    error = jax.errors.JaxRuntimeError
    assert be.is_oom(error("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 8 bytes"))
    # The form an eager operation gives when its input failed to allocate (seen on the CPU
    # under RLIMIT_AS: (x[:, :, None] * k).max(-1)).
    assert be.is_oom(
        error("INTERNAL: Error dispatching computation: Out of memory allocating 2147483648 bytes.")
    )
    assert not be.is_oom(error("INTERNAL: Error dispatching computation: shape mismatch"))
    be.release_memory()
    jax.devices()  # started: its devices are asked
    assert be.memory_info()[0]["device"] == "cpu"


def test_memory_info_asks_only_a_started_jax(be, monkeypatch: pytest.MonkeyPatch) -> None:
    # Asking jax's devices for their memory started its backends (on a GPU: 75% of it).
    from jax._src import xla_bridge

    from arrayport.backends import _jax_devices

    asked: list[str] = []
    monkeypatch.setattr(xla_bridge, "backends_are_initialized", lambda: False)
    monkeypatch.setattr(_jax_devices, "jax_devices", lambda kind: asked.append(kind) or [])
    (row,) = be.memory_info()
    assert (row["device"], row["in_use"], row["free"], asked) == ("-", None, None, [])
    assert row["note"].startswith(
        "jax has not started its devices (no jax array made yet): nothing of jax's is allocated"
    )
    # A jax without the private call: nothing asked, and the row says why.
    monkeypatch.delattr(xla_bridge, "backends_are_initialized")
    (row,) = be.memory_info()
    assert (row["device"], asked) == ("-", [])
    assert row["note"].startswith("not asked: this jax version does not tell")


def test_real_oom_starts_with_resource_exhausted_and_a_quoted_one_is_not_oom(be) -> None:
    """Real out-of-memory errors start with the status code, eagerly and under jit; a host
    callback's own error that mentions it further on is not jax running out of memory."""
    import jax
    import jax.numpy as jnp

    with pytest.raises(jax.errors.JaxRuntimeError) as eager:
        jnp.zeros(1 << 40).block_until_ready()  # 4 TiB: fails at once, nothing touched
    with pytest.raises(jax.errors.JaxRuntimeError) as jitted:
        jax.jit(lambda x: jnp.zeros(1 << 40) + x)(1.0).block_until_ready()
    for info in (eager, jitted):
        assert str(info.value).startswith("RESOURCE_EXHAUSTED: Out of memory")
        assert be.is_oom(info.value)

    def callback(x):
        raise RuntimeError("RESOURCE_EXHAUSTED: the service's request quota is used up")

    shape = jax.ShapeDtypeStruct((), jnp.float32)
    quoting = jax.jit(lambda x: jax.pure_callback(callback, shape, x))
    with pytest.raises(jax.errors.JaxRuntimeError, match="RESOURCE_EXHAUSTED") as quoted:
        quoting(jnp.float32(1)).block_until_ready()
    assert not str(quoted.value).startswith("RESOURCE_EXHAUSTED")
    assert not be.is_oom(quoted.value)


def test_a_deleted_array_returned_by_a_jax_function_is_named(be) -> None:
    # A jax-declared identity given a deleted array returned it, and waiting for it raised
    # jax's own "Array has been deleted" from inside arrayport.
    import jax.numpy as jnp

    import arrayport as ap

    x = jnp.arange(8.0)
    x.delete()
    with pytest.raises(UnsupportedArrayError, match="was deleted"):
        be.settle([x])
    with pytest.raises(UnsupportedArrayError, match="was deleted"):
        ap.memory_type("jax")(lambda a: a)(x)


def test_settle_waits_for_arrays_and_pytrees_of_them(be) -> None:
    import jax
    import jax.numpy as jnp

    x = jnp.ones((1024, 1024))
    pending = [x @ x, {"b": (x @ x.T,)}]
    be.settle(pending[0])
    assert pending[0].is_ready()
    be.settle(pending)
    assert pending[1]["b"][0].is_ready()
    be.settle(np.ones(3))  # not jax: nothing to wait for
    be.settle(None)

    @jax.jit
    def traced(y):
        be.settle(y)  # a tracer has no data to wait for: left alone
        return y * 2

    np.testing.assert_array_equal(np.asarray(traced(jnp.arange(3.0))), [0.0, 2.0, 4.0])


def test_settle_leaves_what_is_not_a_jax_array_alone(be) -> None:
    import enum

    import jax.numpy as jnp

    class Channel(enum.Enum):
        RED = 1
        GREEN = 2

    class Lookalike:
        def block_until_ready(self) -> None:
            raise AssertionError("called on an object that is not a jax array")

    x = jnp.ones((256, 256))
    # Keys that do not sort (jax's pytree flattening sorts them and raised ValueError).
    result = {Channel.RED: x @ x, Channel.GREEN: Lookalike(), 0: [x @ x.T], "a": None}
    loop: list = [result]
    loop.append(loop)  # a list that holds itself: walked once
    be.settle(loop)
    assert result[Channel.RED].is_ready()
    assert result[0][0].is_ready()
