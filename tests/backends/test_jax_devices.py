"""backends/_jax_devices: jax's device lists, the device of a jax array, where one can go."""

from __future__ import annotations

import pytest

from arrayport import MemoryType
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError, UnsupportedArrayError
from tests._subprocess import python_words
from tests.conftest import python_c, skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.JAX)


@pytest.fixture(scope="module")
def dev():
    from arrayport.backends import _jax_devices

    return _jax_devices


def test_the_backend_exports_the_same_functions(dev) -> None:
    # No wrapper: dispatch reads device_of on every call with a jax array.
    from arrayport.backends import jax as backend

    for name in ("devices", "device_of", "resolve_device"):
        assert getattr(backend, name) is getattr(dev, name), name


def test_devices(dev) -> None:
    assert dev.devices()[0] == CPU
    assert dev.jax_devices("cpu") is dev.jax_devices("cpu")  # cached
    with pytest.raises(DeviceError):
        dev.resolve_device(Device("cuda", 42), CPU)
    assert dev.resolve_device(None, CPU) == CPU


def test_cpu_round_trip(dev) -> None:
    import jax.numpy as jnp

    x = jnp.arange(3.0)
    assert dev.single_device(x) == dev.to_jax_device(CPU)
    assert dev.from_jax_device(dev.to_jax_device(CPU)) == CPU
    assert dev.device_of(x) == CPU


def test_unknown_platform_is_refused(dev) -> None:
    class Tpu:
        platform = "tpu"

    with pytest.raises(DeviceError, match="jax platform 'tpu' is not supported"):
        dev.from_jax_device(Tpu())


def test_deleted_array_is_refused_by_name(dev) -> None:
    import jax.numpy as jnp

    x = jnp.ones(3)
    x.delete()
    with pytest.raises(UnsupportedArrayError, match=r"deleted.*donating call returned"):
        dev.device_of(x)


def test_other_runtime_errors_pass_through(dev) -> None:
    class Broken:
        def devices(self) -> set[object]:
            raise RuntimeError("not about deletion")

        def is_deleted(self) -> bool:
            return False

    with pytest.raises(RuntimeError, match="not about deletion"):
        dev.single_device(Broken())


def test_sharded_array_is_refused_with_the_remedy(dev) -> None:
    class Sharded:
        def devices(self) -> set[object]:
            return {object(), object()}

    with pytest.raises(UnsupportedArrayError, match=r"sharded over 2 devices.*jax.device_put"):
        dev.device_of(Sharded())


def test_no_cpu_device_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    # With JAX_PLATFORMS leaving out cpu, the error said jax "sees no CUDA device here"
    # about a request for the CPU.
    from arrayport.backends import _jax_devices

    real = _jax_devices.jax_devices
    monkeypatch.setattr(_jax_devices, "jax_devices", lambda k: [] if k == "cpu" else real(k))
    _jax_devices._lone_device.cache_clear()  # the answer is kept once jax has started
    try:
        with pytest.raises(DeviceError, match=r"no CPU device.*JAX_PLATFORMS"):
            _jax_devices.to_jax_device(CPU)
    finally:
        _jax_devices._lone_device.cache_clear()


class _NoBackend:
    """A jax whose backends cannot start: jax 0.10 with JAX_PLATFORMS=cuda and no GPU
    visible fails `assert _default_backend is not None`, an AssertionError saying nothing."""

    class config:  # as jax.config
        jax_platforms = "cuda"

    @staticmethod
    def devices(kind: str | None = None) -> list[object]:
        raise AssertionError


def test_jax_platforms_jax_cannot_start_is_named_with_the_remedy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # devices() and convert() let jax's empty AssertionError out; doctor said
    # "AssertionError: " and nothing else.
    from arrayport.backends import _jax_devices
    from arrayport.backends import jax as backend
    from arrayport.errors import BackendUnavailableError

    monkeypatch.setattr(backend, "load", lambda: _NoBackend)
    _jax_devices.jax_devices.cache_clear()
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    try:
        with pytest.raises(BackendUnavailableError) as info:
            _jax_devices.devices()
    finally:
        _jax_devices.jax_devices.cache_clear()  # the real jax's lists next time
    assert str(info.value) == (
        "jax could not initialise the platforms JAX_PLATFORMS (or jax.config's jax_platforms) "
        "asks for, 'cuda': it found no device of those platforms here. Install jax for that "
        "platform (pip install 'jax[cuda12]' for cuda) on a machine that has its device, or "
        "include cpu (JAX_PLATFORMS=cuda,cpu) or unset JAX_PLATFORMS"
    )
    assert isinstance(info.value.__cause__, AssertionError)


def test_jax_platforms_cuda_without_cuda_in_a_fresh_process() -> None:
    import os

    script = (
        "import numpy as np, arrayport as ap\n"
        "try:\n"
        "    ap.convert(np.ones(3, np.float32), 'jax')\n"
        "except ap.BackendUnavailableError as exc:\n"
        "    print('refused:', exc)\n"
        "else:\n"
        "    print('converted')\n"
    )
    done = python_c(script, env={**os.environ, "JAX_PLATFORMS": "cuda"}, timeout=120)
    assert done.returncode == 0, done.stderr
    if done.stdout == "converted\n":
        pytest.skip("jax has CUDA here")
    assert done.stdout.startswith(
        "refused: jax could not initialise the platforms JAX_PLATFORMS (or jax.config's "
        "jax_platforms) asks for, 'cuda': "
    )


def test_ordinal_positions_follow_the_hardware_ids(dev) -> None:
    # cuda:N is CUDA's device N (jax's local_hardware_id, what its DLPack export names),
    # not the N-th GPU jax lists.
    assert dev.ordinal_positions([0, 1]) == {0: 0, 1: 1}
    assert dev.ordinal_positions([1]) == {1: 0}  # jax_cuda_visible_devices="1"
    assert list(dev.ordinal_positions([3, 1])) == [1, 3]  # in ordinal order
    assert dev.ordinal_positions([3, 1]) == {1: 1, 3: 0}
    assert dev.ordinal_positions([None, 2]) == {2: 1}  # no hardware id: no ordinal
    assert dev.ordinal_positions([]) == {}


def test_jax_gpus_are_named_by_hardware_id_not_by_place_in_the_list() -> None:
    # GPUs were numbered by their place in jax's list: with jax_cuda_visible_devices="1"
    # jax's one GPU (CUDA's device 1) was cuda:0, and cuda:1 was refused. Real jax devices
    # stand in for GPUs (their local_hardware_id is what is read): three CPU devices, of
    # which the third and second are jax's "GPU list" here, in that order.
    script = """
import jax
from arrayport.backends import _jax_devices as dev
from arrayport.devices import Device
from arrayport.errors import DeviceError

cpus = jax.devices("cpu")
real = dev.jax_devices
dev.jax_devices = lambda kind: real(kind) if kind == "cpu" else [cpus[2], cpus[1]]
print(*(str(d) for d in dev.devices()))
print(dev.to_jax_device(Device("cuda", 2)) is cpus[2], dev.cuda_gpu(1) is cpus[1])
try:
    dev.to_jax_device(Device("cuda", 0))
except DeviceError as exc:
    print("refused:", exc)
"""
    env = {"JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=3"}
    assert " ".join(python_words(script, env=env)) == (
        "cpu cuda:1 cuda:2 True True refused: jax cannot place data on cuda:0: it sees only "
        "cuda:1, cuda:2 here; pass device='cpu', device=None (stay on the input's device) "
        "or an index it sees"
    )
