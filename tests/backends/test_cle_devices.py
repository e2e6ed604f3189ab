"""backends/_cle_devices: pyclesperanto's OpenCL devices (on PoCL here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

from arrayport import MemoryType
from arrayport.devices import CPU, Device
from arrayport.errors import DeviceError
from tests.conftest import skip_unless_installed

pytestmark = skip_unless_installed(MemoryType.PYCLESPERANTO)


@pytest.fixture(scope="module")
def be():
    from arrayport.backends import _cle_devices

    return _cle_devices


def test_the_backend_exports_the_same_functions(be) -> None:
    from arrayport.backends import pyclesperanto as backend

    for name in ("devices", "device_of", "resolve_device", "cpu_index"):
        assert getattr(backend, name) is getattr(be, name), name


def test_devices_and_cpu_alias(be) -> None:
    devs = be.devices()
    assert devs
    assert all(d.kind == "opencl" for d in devs)
    resolved = be.resolve_device(CPU, CPU)  # PoCL: the OpenCL device is the CPU
    assert resolved.kind == "opencl"
    with pytest.raises(DeviceError, match=r"holds data on OpenCL devices \(opencl:0"):
        be.resolve_device(Device("cuda", 0), CPU)


def test_device_handle_does_not_change_the_current_device(be) -> None:
    import pyclesperanto as cle

    before = cle.get_device()
    be._cle_device(Device("opencl", 0))
    assert cle.get_device() is before  # the same object, not a device of the same name


def test_an_array_is_on_a_listed_device_and_stays_there_by_default(be) -> None:
    import pyclesperanto as cle

    source = be.device_of(cle.push(np.ones(3, np.float32)))
    assert source in be.devices()
    assert be.resolve_device(None, source) == source
    assert be.resolve_device(source, CPU) == source
    # From elsewhere, device=None means pyclesperanto's current device.
    assert be.resolve_device(None, CPU) == be._current()


def test_the_cpu_index_is_the_device_whose_info_says_cpu(be) -> None:
    index = be.cpu_index()
    if index is None:
        pytest.skip("no OpenCL device here is the host CPU")
    assert "CPU" in be._device_info(index)
    assert be.resolve_device(CPU, CPU) == Device("opencl", index)
    assert be._cle_device(Device("opencl", index)) is be._cle_device(Device("opencl", index))


def test_a_device_object_none_of_ours_is_known_by_a_unique_name_only(be) -> None:
    names = be._device_names()
    if names.count(names[0]) == 1:
        assert be.device_of(SimpleNamespace(device=SimpleNamespace(name=names[0]))) == Device(
            "opencl", 0
        )
    # Once any device object this pyclesperanto did not list became opencl:0.
    stranger = SimpleNamespace(device=SimpleNamespace(name="no such OpenCL device"))
    with pytest.raises(DeviceError, match="cannot tell which OpenCL device"):
        be.device_of(stranger)


# Three OpenCL devices with one name, as identical GPUs have. The user's choice is the
# middle one: neither the first device of that name nor pyclesperanto's default (the last).
_SAME_NAME = textwrap.dedent(
    """
    import json

    import numpy as np

    import arrayport as ap
    import pyclesperanto as cle
    from arrayport.backends import _cle_devices as be
    from arrayport.devices import CPU

    names = cle.list_available_devices()
    same = [i for i, name in enumerate(names) if names.count(name) >= 3]
    if len(same) < 3:
        print("SKIP", json.dumps(names))
        raise SystemExit(0)
    first, middle, last = same[:3]
    dev, on = {}, {}
    for i in (first, middle, last):
        dev[i] = cle.select_device(i)
        on[i] = cle.push(np.full(3, i, np.float32))
    cle.select_device(middle)  # arrayport's first device lookup comes after this
    want, got = {}, {}
    for i in (first, middle, last):
        want[f"device of the array on {i}"] = f"opencl:{i}"
        got[f"device of the array on {i}"] = str(ap.plan(on[i], "pyclesperanto").device)
    for i, method in ((first, "device-move"), (last, "identity")):
        want[f"plan from {last} to {i}"] = method
        plan = ap.plan(on[last], "pyclesperanto", device=f"opencl:{i}")
        got[f"plan from {last} to {i}"] = plan.method
    for i in (first, middle, last):
        x = ap.convert(np.zeros(3, np.float32), "pyclesperanto", device=f"opencl:{i}")
        want[f"convert to opencl:{i} lands there"] = True
        got[f"convert to opencl:{i} lands there"] = x.device is dev[i]
    moved = ap.convert(on[last], "pyclesperanto", device=f"opencl:{first}")
    want["a move lands on its device"] = [True, [last] * 3]
    got["a move lands on its device"] = [moved.device is dev[first], cle.pull(moved).tolist()]
    want["device=None is the user's choice"] = f"opencl:{middle}"
    got["device=None is the user's choice"] = str(be.resolve_device(None, CPU))
    want["the user's choice is kept"] = True
    got["the user's choice is kept"] = cle.get_device() is dev[middle]
    cle.select_device(last)
    x = ap.convert(np.zeros(3, np.float32), "pyclesperanto")
    want["after the user selects another"] = [True, True]
    got["after the user selects another"] = [x.device is dev[last], cle.get_device() is dev[last]]
    print(json.dumps([got, want]))
    """
)


def _last_line_on_pocl_devices(script: str, count: int) -> str:
    """The last line ``script`` prints in a process of its own with ``count`` PoCL CPU
    devices (PoCL reads POCL_DEVICES once, at start); the test skips where PoCL gave fewer
    (the script prints ``SKIP ...``)."""
    env = {**os.environ, "POCL_DEVICES": " ".join(["pthread"] * count)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last_line = done.stdout.strip().splitlines()[-1]
    if last_line.startswith("SKIP"):
        pytest.skip(f"POCL_DEVICES gave no {count} OpenCL devices of one name: {last_line[5:]}")
    return last_line


def test_devices_that_share_a_name_are_told_apart() -> None:
    got, want = json.loads(_last_line_on_pocl_devices(_SAME_NAME, 3))
    assert got == want


_RACE = textwrap.dedent(
    """
    import threading, time
    import numpy as np
    import arrayport as ap
    import pyclesperanto as cle
    if len(cle.list_available_devices()) < 2:
        print("SKIP", cle.list_available_devices())
        raise SystemExit
    cle.select_device(1)
    chosen = cle.get_device()
    plain = cle.select_device

    def slow(*args, **kwargs):  # widens the moment each device is selected
        found = plain(*args, **kwargs)
        time.sleep(0.02)
        return found

    cle.select_device = slow
    landed = []

    def convert(i):
        landed.append(ap.convert(np.full(4, i, np.float32), "pyclesperanto").device is chosen)

    first = threading.Thread(target=convert, args=(0,))
    first.start()
    time.sleep(0.01)  # the others start while the first builds the device handles
    others = [threading.Thread(target=convert, args=(i,)) for i in (1, 2)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    print(landed, cle.get_device() is chosen)
    """
)


def test_device_none_is_the_user_s_choice_while_another_thread_builds_the_handles() -> None:
    # The first lookup selects each device in turn (process-wide); a thread asking for the
    # current device meanwhile read that temporary selection: opencl:0 for the user's 1.
    assert _last_line_on_pocl_devices(_RACE, 2) == "[True, True, True] True"
