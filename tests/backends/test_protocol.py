"""Every backend module satisfies the Backend Protocol (checked on the modules themselves,
without importing any framework)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from arrayport import MemoryType
from arrayport.backends import get_backend
from arrayport.backends._protocol import Backend

MEMBERS = {
    name: member
    for name, member in vars(Backend).items()
    if not name.startswith("_") and (callable(member) or name.isupper())
}
ATTRIBUTES = set(Backend.__annotations__)
# Members a backend may leave out (convert reads them with a default).
OPTIONAL = {"WIDENINGS"}


@pytest.mark.parametrize("mt", list(MemoryType), ids=lambda m: m.value)
def test_backend_module_has_every_protocol_member(mt: MemoryType) -> None:
    module = get_backend(mt)
    missing = sorted((set(MEMBERS) | ATTRIBUTES) - OPTIONAL - set(dir(module)))
    assert not missing, f"{mt.value} backend lacks {missing}"
    assert module.MEMORY_TYPE is mt


@pytest.mark.parametrize("mt", list(MemoryType), ids=lambda m: m.value)
def test_backend_functions_take_the_protocol_parameters(mt: MemoryType) -> None:
    module = get_backend(mt)
    for name, member in MEMBERS.items():
        if not callable(member):
            continue
        wanted = [p for p in inspect.signature(member).parameters if p != "self"]
        got = list(inspect.signature(getattr(module, name)).parameters)
        assert got == wanted, f"{mt.value}.{name}{got} != Protocol {wanted}"


def test_getting_every_backend_imports_no_framework() -> None:
    code = (
        "import sys, arrayport\n"
        "from arrayport import MemoryType\n"
        "from arrayport.backends import get_backend\n"
        "for mt in MemoryType: get_backend(mt).is_installed()\n"
        "heavy = {'torch', 'jax', 'tensorflow', 'pyclesperanto', 'cupy', 'dask'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "mt", [MemoryType.TORCH, MemoryType.JAX, MemoryType.TENSORFLOW], ids=lambda m: m.value
)
@pytest.mark.parametrize("n", [24, 1 << 17], ids=["small", "parallel-size"])
def test_adopt_copy_makes_one_aligned_private_copy(mt: MemoryType, n: int) -> None:
    """The optional ``adopt_copy`` skips from_numpy's checks; its result must hold the
    values in a 64-byte-aligned buffer of its own (torch copies ``n`` of 512 KiB and more
    with its own copy, smaller ones with numpy's), from writable and read-only views."""
    import numpy as np

    from arrayport import available_memory_types
    from arrayport._host import ALIGNMENT
    from arrayport.devices import CPU

    if mt not in available_memory_types():
        pytest.skip(f"{mt.value} is not installed")
    module = get_backend(mt)
    module.load()
    for dtype in ("float32", "int16", "bool", "uint8", "float64"):
        # Routing reaches adopt_copy only with a dtype the target admits (jax refuses
        # float64 while 64-bit mode is off: its public import would store float32).
        if module.check_dtype(np.dtype(dtype), dtype) is not None:
            continue
        source = (np.arange(n) % 251).reshape(-1, 8).astype(dtype)
        for writable in (True, False):
            view = source.view()
            view.flags.writeable = writable
            out = module.adopt_copy(view, CPU)
            held = module.host_view(out)
            assert held is not None
            assert not np.shares_memory(held, source), (mt.value, dtype)
            assert held.ctypes.data % ALIGNMENT == 0, (mt.value, dtype)
            assert held.dtype == source.dtype
            np.testing.assert_array_equal(held, source)
