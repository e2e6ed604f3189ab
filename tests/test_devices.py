"""devices: parsing, the thread's current accelerator, per-thread streams."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from arrayport.devices import (
    CPU,
    Device,
    current_device_index,
    parse_device,
    thread_stream,
    use_device,
)
from arrayport.errors import DeviceError


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (None, None),
        ("cpu", CPU),
        (" CPU ", CPU),
        ("cpu:0", CPU),
        (0, Device("cuda", 0)),
        (3, Device("cuda", 3)),
        ("cuda:2", Device("cuda", 2)),
        ("gpu:1", Device("cuda", 1)),
        ("cuda", Device("cuda", 0)),
        ("opencl:1", Device("opencl", 1)),
        (Device("cuda", 5), Device("cuda", 5)),
        # tensorflow's names of this process's devices (a tensor's .device).
        ("/job:localhost/replica:0/task:0/device:CPU:0", CPU),
        ("/job:localhost/replica:0/task:0/device:GPU:1", Device("cuda", 1)),
        ("/device:GPU:0", Device("cuda", 0)),
        # Their short form, as tf.device takes it (and arrayport's tensorflow backend makes).
        ("/CPU:0", CPU),
        ("/GPU:0", Device("cuda", 0)),
        ("/gpu:2", Device("cuda", 2)),
    ],
)
def test_parse_device(value, want) -> None:
    assert parse_device(value) == want


# "cuda:\u00b2" and "cuda:\u0663": Unicode digits that int() refuses or reads as 3.
_BAD_DEVICES = [-1, True, False, 1.0, "tpu", "cuda:x", "cuda:-1", "", [0], "cpu:1"]
_BAD_DEVICES += ["cuda:\u00b2", "cuda:\u0663"]
# Another job's or task's device is another machine's; a name with two devices is no name.
_BAD_DEVICES += ["/job:worker/replica:0/task:1/device:GPU:0", "/device:CPU:0/device:GPU:0"]
_BAD_DEVICES += ["/CPU:1", "/TPU:0", "/GPU:x", "/CPU:0/GPU:0", "/job:localhost/GPU:0"]


@pytest.mark.parametrize("value", _BAD_DEVICES)
def test_parse_device_rejects(value) -> None:
    with pytest.raises(DeviceError, match="cuda:N"):
        parse_device(value)


def test_device_str_and_cpu() -> None:
    assert str(CPU) == "cpu"
    assert CPU.is_cpu
    assert str(Device("cuda", 1)) == "cuda:1"
    assert not Device("cuda", 1).is_cpu


def test_use_device_is_per_thread_and_nests() -> None:
    seen: list[int] = []
    with use_device(2):
        assert current_device_index() == 2
        assert parse_device("cuda") == Device("cuda", 2)
        with use_device(1):
            assert current_device_index() == 1
        assert current_device_index() == 2
        t = threading.Thread(target=lambda: seen.append(current_device_index()))
        t.start()
        t.join()
    assert seen == [0]
    assert current_device_index() == 0


@pytest.mark.parametrize("bad", [-1, True, "1", 1.0])
def test_use_device_rejects(bad) -> None:
    with pytest.raises(DeviceError), use_device(bad):
        pass


def test_thread_stream_is_created_once_per_thread() -> None:
    made: list[object] = []

    def factory() -> object:
        made.append(object())
        return made[-1]

    a = thread_stream("fake", 0, factory)
    assert thread_stream("fake", 0, factory) is a
    other: list[object] = []
    t = threading.Thread(target=lambda: other.append(thread_stream("fake", 0, factory)))
    t.start()
    t.join()
    assert other[0] is not a
    assert len(made) == 2


@pytest.mark.parametrize(
    ("kind", "index"), [("cuda", -1), ("bogus", 0), ("cuda", True), ("cuda", "1"), ("cpu", 3)]
)
def test_device_values_are_checked_where_they_are_made(kind: str, index: object) -> None:
    # A negative index would count from the end in the frameworks' device lists.
    with pytest.raises(DeviceError):
        Device(kind, index)  # type: ignore[arg-type]


def test_use_device_is_per_asyncio_task() -> None:
    import asyncio

    seen: list[tuple[int, int]] = []

    async def task(n: int) -> None:
        with use_device(n):
            await asyncio.sleep(0.01)  # the other task enters its block meanwhile
            seen.append((n, current_device_index()))

    async def both() -> None:
        await asyncio.gather(task(1), task(2))

    asyncio.run(both())
    assert sorted(seen) == [(1, 1), (2, 2)]
    assert current_device_index() == 0


def test_cuda_device_is_one_instance_per_index_and_keeps_the_checks() -> None:
    from arrayport.devices import cuda_device

    assert cuda_device(1) is cuda_device(1)
    assert cuda_device(1) == Device("cuda", 1)
    for bad in (-1, True):
        with pytest.raises(DeviceError):
            cuda_device(bad)


def test_numpy_integers_are_device_indices() -> None:
    # np.int64(0) from np.arange was refused ("invalid device"), as by use_device.
    import numpy as np

    from arrayport.devices import as_index

    assert parse_device(np.int64(1)) == Device("cuda", 1)
    with use_device(np.int32(0)) as index:
        assert index == 0
        assert type(index) is int
    for not_index in (True, np.bool_(True), 1.0, "1", np.array([1])):
        assert as_index(not_index) is None


def test_device_takes_numpy_integers_as_parse_device_does() -> None:
    import numpy as np

    device = Device("cuda", np.argmax([1, 5]))  # type: ignore[arg-type]
    assert device == Device("cuda", 1)
    assert type(device.index) is int
    assert parse_device(np.int64(1)) == device


@pytest.mark.parametrize("value", ["cuda:", "gpu:", "opencl:", " cuda: "])
def test_a_colon_without_an_index_is_refused(value: str) -> None:
    # "cuda:" read as "cuda" (the current device), fixed when a contract was made.
    with pytest.raises(DeviceError, match="invalid device"):
        parse_device(value)


def test_use_device_in_a_generator_finished_in_another_thread_ends_cleanly() -> None:
    def batches() -> Iterator[int]:
        with use_device(2):
            yield current_device_index()
            yield current_device_index()

    finished: list[object] = []

    def scenario() -> None:
        started = batches()
        assert next(started) == 2  # the block opens in this context

        def finish() -> None:
            with use_device(3):  # the closing thread's own device, kept
                try:
                    finished.extend(started)
                except Exception as exc:  # the ValueError of another context
                    finished.append(exc)
                finished.append(current_device_index())
            finished.append(current_device_index())

        worker = threading.Thread(target=finish)
        worker.start()
        worker.join()

    # In a context of its own: the context the block opened in keeps device 2 (documented).
    contextvars.copy_context().run(scenario)
    # The block ended in the worker without an error, leaving the worker's devices as they
    # were (once, the worker was set to the device from before the generator's block: 0).
    assert finished == [3, 3, 0]
    assert current_device_index() == 0


def test_use_device_in_an_async_generator_left_by_break_ends_cleanly() -> None:
    import asyncio

    errors: list[BaseException] = []

    async def batches() -> AsyncIterator[int]:
        with use_device(1):
            for i in range(3):
                yield i

    async def main() -> int:
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: errors.append(context.get("exception") or Exception(context))
        )
        async for _ in batches():
            break
        await asyncio.sleep(0)  # asyncio closes the generator in a task of its own
        return current_device_index()

    # The generator opened its block in main's context: main keeps device 1 until it
    # leaves, as for any context manager held across a yield; closing it raised nothing.
    asyncio.run(main())
    assert errors == []


class _FrameworkDevice:
    """A device value like torch.device: a str ``type``, printed as a device string."""

    def __init__(self, text: str) -> None:
        self.type = text.partition(":")[0]
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"device({self.text!r})"


def test_torch_like_device_objects_are_read_by_their_string() -> None:
    # torch.device("cuda", 1) was refused as an "invalid device".
    assert parse_device(_FrameworkDevice("cpu")) == CPU
    assert parse_device(_FrameworkDevice("cuda:1")) == Device("cuda", 1)
    with use_device(2):
        assert parse_device(_FrameworkDevice("cuda")) == Device("cuda", 2)
    with pytest.raises(DeviceError, match=r"invalid device device\('meta'\).*device object of"):
        parse_device(_FrameworkDevice("meta"))


def test_torch_devices_are_device_arguments() -> None:
    torch = pytest.importorskip("torch")
    import numpy as np

    import arrayport as ap

    assert parse_device(torch.device("cuda", 3)) == Device("cuda", 3)
    assert parse_device(torch.device("cpu")) == CPU
    a = np.arange(4.0)
    route = ap.plan(a, "torch", device=torch.device("cpu"))
    assert (route.device, route.method, route.zero_copy) == (CPU, "host-share", True)
    assert ap.convert(a, "torch", device=torch.device("cpu")).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_use_device_takes_a_cuda_device_for_its_index() -> None:
    # use_device(Device("cuda", 1)) was refused: "pass the index".
    with use_device(Device("cuda", 1)) as index:
        assert (index, current_device_index()) == (1, 1)
        with use_device(_FrameworkDevice("cuda:3")) as inner:
            assert (inner, current_device_index()) == (3, 3)
        assert current_device_index() == 1
    assert current_device_index() == 0


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (CPU, r"Device\(kind='cpu', index=0\), the host, not an accelerator: pass device='cpu'"),
        (Device("opencl", 1), r"not a CUDA device: pass device='opencl:1' to the call"),
        (_FrameworkDevice("meta"), r"or a CUDA device, got device\('meta'\): pass the index"),
    ],
)
def test_use_device_refuses_other_devices_by_name(value: object, said: str) -> None:
    with pytest.raises(DeviceError, match=said), use_device(value):  # type: ignore[arg-type]
        pass
    assert current_device_index() == 0


def test_a_refused_device_is_shown_on_one_short_line() -> None:
    class Chatty:
        def __repr__(self) -> str:
            return "Device\n" + "info " * 100

    with pytest.raises(DeviceError) as caught:
        parse_device(Chatty())
    said = str(caught.value)
    assert "\n" not in said
    assert said.startswith("invalid device Device:")
    assert len(said) < 300


def test_the_device_objects_of_jax_tensorflow_and_pyclesperanto_are_device_arguments() -> None:
    import numpy as np

    import arrayport as ap
    from arrayport import MemoryType
    from tests.conftest import INSTALLED

    checked = 0
    if MemoryType.PYCLESPERANTO in INSTALLED:
        import pyclesperanto as cle

        held = cle.push(np.arange(3, dtype=np.float32))
        assert parse_device(held.device) == ap.plan(held, "pyclesperanto").device
        moved = ap.convert(np.ones(3, np.float32), "pyclesperanto", device=held.device)
        assert moved.device is held.device
        checked += 1
    if MemoryType.JAX in INSTALLED:
        import jax

        assert parse_device(jax.devices("cpu")[0]) == CPU
        assert ap.plan(np.ones(2, np.float32), "jax", device=jax.devices("cpu")[0]).device == CPU
        checked += 1
    if MemoryType.TENSORFLOW in INSTALLED:
        import tensorflow as tf

        t = tf.ones(2)
        assert parse_device(t.device) == CPU
        assert ap.convert(np.ones(2), "tensorflow", device=t.device).device == t.device
        checked += 1
    if not checked:
        pytest.skip("none of jax, tensorflow, pyclesperanto is installed")


def test_every_jax_host_device_object_is_the_cpu() -> None:
    # jax.devices()[1] prints "cpu:1", which the string rules refuse ("cpu:0" only).
    from arrayport import MemoryType
    from tests._subprocess import python_words
    from tests.conftest import INSTALLED

    if MemoryType.JAX not in INSTALLED:
        pytest.skip("jax is not installed")
    script = (
        "import os\n"
        "os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=2'\n"
        "import jax\n"
        "from arrayport.devices import parse_device\n"
        "print(*(parse_device(d) for d in jax.devices('cpu')))\n"
    )
    assert python_words(script) == ["cpu", "cpu"]


class _BoolScalar:
    """A framework's 0-d bool array with ``__index__``, as ``torch.tensor(True)``."""

    dtype = "torch.bool"

    def __index__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return "tensor(True)"


def test_a_framework_s_bool_scalar_is_not_device_1() -> None:
    # torch.tensor(True) was taken as cuda:1 by parse_device, use_device and Device.
    with pytest.raises(DeviceError, match=r"^invalid device tensor\(True\)"):
        parse_device(_BoolScalar())
    refused = pytest.raises(DeviceError, match=r"got tensor\(True\): pass the index")
    with refused, use_device(_BoolScalar()):  # type: ignore[arg-type]
        pass
    with pytest.raises(DeviceError, match=r"not tensor\(True\)"):
        Device("cuda", _BoolScalar())  # type: ignore[arg-type]
    torch = pytest.importorskip("torch")
    for value in (torch.tensor(True), torch.tensor(False)):
        with pytest.raises(DeviceError):
            parse_device(value)
    assert parse_device(torch.tensor(1)) == Device("cuda", 1)  # an integer tensor still is


def test_a_tensorflow_scalar_that_is_no_index_is_refused_as_a_device() -> None:
    # Its bool and float tensors raise AttributeError from __index__: that escaped bare.
    from arrayport import MemoryType
    from tests.conftest import INSTALLED

    if MemoryType.TENSORFLOW not in INSTALLED:
        pytest.skip("tensorflow is not installed")
    import tensorflow as tf

    for value in (tf.constant(True), tf.constant(1.0)):
        with pytest.raises(DeviceError, match="invalid device"):
            parse_device(value)
        with pytest.raises(DeviceError, match="use_device takes"), use_device(value):
            pass
    assert parse_device(tf.constant(1)) == Device("cuda", 1)  # an integer tensor still is


def test_use_device_takes_the_device_values_parse_device_takes() -> None:
    with use_device("cuda:2") as index, use_device("/GPU:1") as inner:
        assert (index, inner, current_device_index()) == (2, 1, 1)
    assert current_device_index() == 0
    refused = pytest.raises(DeviceError, match=r"got 'cpu', the host, not an accelerator")
    with refused, use_device("cpu"):
        pass


def test_use_device_refuses_jax_and_pyclesperanto_devices_by_what_they_are() -> None:
    # They got "pass the index, e.g. use_device(1) for cuda:1", pyclesperanto's with the
    # eleven lines its device prints.
    from arrayport import MemoryType
    from tests.conftest import INSTALLED

    checked = 0
    if MemoryType.JAX in INSTALLED:
        import jax

        cpu = jax.devices("cpu")[0]
        with pytest.raises(DeviceError) as caught, use_device(cpu):
            pass
        assert str(caught.value) == (
            f"use_device takes a GPU index or a CUDA device, got {cpu!r}, the host, not an "
            "accelerator: pass device='cpu' to the call instead"
        )
        checked += 1
    if MemoryType.PYCLESPERANTO in INSTALLED:
        import pyclesperanto as cle

        device = cle.get_device()
        with pytest.raises(DeviceError) as caught, use_device(device):
            pass
        said = str(caught.value)
        assert "\n" not in said
        assert said.startswith("use_device takes a GPU index or a CUDA device, got (OpenCL)")
        assert said.endswith(
            f", not a CUDA device: pass device={str(parse_device(device))!r} to the call instead"
        )
        assert len(said) < 200
        checked += 1
    if not checked:
        pytest.skip("neither jax nor pyclesperanto is installed")
    assert current_device_index() == 0
