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
def test_adopt_fresh_shares_the_aligned_copy_it_is_given(mt: MemoryType) -> None:
    """The optional ``adopt_fresh`` skips adopt_host's checks; it must still share (no
    second copy) and keep values."""
    import numpy as np

    from arrayport import available_memory_types
    from arrayport._host import aligned_copy
    from arrayport.devices import CPU

    if mt not in available_memory_types():
        pytest.skip(f"{mt.value} is not installed")
    module = get_backend(mt)
    module.load()
    for dtype in ("float32", "int16", "bool", "uint8"):
        fresh = aligned_copy(np.arange(24).reshape(4, 6).astype(dtype))
        out = module.adopt_fresh(fresh, CPU)
        view = module.host_view(out)
        assert view is not None
        assert np.shares_memory(view, fresh), (mt.value, dtype)
        np.testing.assert_array_equal(view, fresh)
