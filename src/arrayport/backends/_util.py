"""Small helpers the backend modules share (no framework imports here)."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import re
import sys
import threading
from types import ModuleType
from typing import Any

import numpy as np

from arrayport._exchange import EXCHANGED_DTYPES
from arrayport.devices import CPU, Device, cuda_device, current_device_index
from arrayport.errors import BackendUnavailableError, DeviceError

__all__ = [
    "bfloat16_dtype",
    "declared_minimum",
    "find_spec",
    "import_framework",
    "numpy_dtype_or_none",
    "pip_install",
    "version_tuple",
]


#: Set while :func:`find_spec` asks the import system: the tensorflow import guard
#: (``_pocl``) then knows the question is arrayport's probe, not an import.
_probing = threading.local()


def find_spec(name: str) -> bool:
    """Whether ``name`` can be imported, decided without importing it."""
    _probing.active = True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken parent package or a bad __spec__
        return False
    finally:
        _probing.active = False


def probing() -> bool:
    """Whether this thread is inside :func:`find_spec` (a probe, not an import)."""
    return getattr(_probing, "active", False)


def version_tuple(text: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: ``"2.13.0+cpu"`` -> ``(2, 13, 0)``,
    ``"0.25.0rc1"`` -> ``(0, 25, 0)``, ``"2024.8.0"`` -> ``(2024, 8, 0)``."""
    parts: list[int] = []
    for piece in text.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.end() != len(piece):
            break
    return tuple(parts)


#: Frameworks whose version has passed :func:`import_framework`'s check in this process.
_recent_enough: set[str] = set()

#: Frameworks (top-level module names) that :func:`import_framework` failed to import in
#: this process: :func:`arrayport.available_memory_types` leaves them out from then on.
unimportable: set[str] = set()

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)")
_EXTRA = re.compile(r"extra\s*==\s*[\"']([^\"']+)[\"']")


@functools.cache
def declared_minimum(root: str, extra: str) -> tuple[int, ...] | None:
    """The oldest release of framework ``root`` that extra ``extra`` declares in
    arrayport's installed metadata (``pyproject.toml`` is the one place it is written), or
    None when arrayport is not installed or the extra names no minimum for it."""
    try:
        requirements = importlib.metadata.requires("arrayport") or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return None
    for text in requirements:
        found = _REQUIREMENT.match(text)
        marker = _EXTRA.search(text)
        if found is None or marker is None or marker.group(1) != extra:
            continue
        dist = found.group(1).lower().replace("_", "-")
        if dist == root or dist.startswith(root + "-"):  # tensorflow-cpu, cupy-cuda12
            return version_tuple(found.group(2))
    return None


def pip_install(extra: str, *, upgrade: bool = False) -> str:
    """The command that installs (or upgrades) what extra ``extra`` names. cupy has one
    extra per CUDA major version, and both provide the ``cupy`` module, so both are named:
    installing the wrong one beside the right one breaks it."""
    command = "pip install --upgrade" if upgrade else "pip install"
    if extra.startswith("cupy-cuda"):
        return (
            f"{command} 'arrayport[cupy-cuda12]' (CUDA 12) or 'arrayport[cupy-cuda13]' "
            "(CUDA 13), the one matching your NVIDIA driver"
        )
    return f"{command} 'arrayport[{extra}]'"


def import_framework(name: str, extra: str, minimum: tuple[int, ...] | None = None) -> ModuleType:
    """Import ``name`` or raise BackendUnavailableError naming the extra that installs it.

    An installed release older than the extra's declared minimum (or ``minimum``, when
    given) is refused the same way: arrayport calls APIs older releases lack, and an
    ``AttributeError`` from deep inside a conversion would not say that upgrading is the
    remedy. Checked once per framework and process.
    """
    try:
        module = _import(name, extra)
    except BackendUnavailableError:
        unimportable.add(name.partition(".")[0])
        raise
    if name in _recent_enough:
        return module
    root_name = name.partition(".")[0]
    oldest = minimum if minimum is not None else declared_minimum(root_name, extra)
    if oldest:
        root = sys.modules.get(root_name, module)
        installed = str(getattr(root, "__version__", ""))
        found = version_tuple(installed)
        if found and found < oldest:
            msg = (
                f"{root_name} {installed} is older than {'.'.join(map(str, oldest))}, the "
                "oldest release arrayport supports; upgrade it with: "
                f"{pip_install(extra, upgrade=True)}"
            )
            unimportable.add(root_name)
            raise BackendUnavailableError(msg)
    _recent_enough.add(name)
    return module


def _import(name: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        root = name.partition(".")[0]
        if isinstance(exc, ModuleNotFoundError) and exc.name in (root, name):
            msg = f"{name} is not installed ({exc}); install it with: {pip_install(extra)}"
        else:  # found, but it or a module it needs fails: a broken or mismatched install
            msg = (
                f"{name} is installed but cannot be imported ({exc}); upgrade or reinstall "
                f"{root} and what it needs (the versions arrayport supports: "
                f"{pip_install(extra, upgrade=True)})"
            )
        raise BackendUnavailableError(msg) from exc
    # A broken installation (a missing CUDA library, an ABI mismatch) may raise anything
    # while importing, sys.exit("requires ...") included (not KeyboardInterrupt): still
    # "this memory type cannot be used here", with the cause.
    except (Exception, SystemExit) as exc:
        failed = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else "failed"
        msg = (
            f"{name} is installed but importing it {failed} ({type(exc).__name__}: {exc}); "
            f"upgrade or reinstall {name.partition('.')[0]} and what it needs (the versions "
            f"arrayport supports: {pip_install(extra, upgrade=True)})"
        )
        raise BackendUnavailableError(msg) from exc


def bfloat16_dtype() -> np.dtype[Any] | None:
    """numpy's bfloat16 from ml_dtypes (installed with jax and tensorflow), if present."""
    if not find_spec("ml_dtypes"):
        return None
    import ml_dtypes

    bf16: np.dtype[Any] = np.dtype(ml_dtypes.bfloat16)
    return bf16


def numpy_dtype_or_none(name: str) -> np.dtype[Any] | None:
    """The numpy dtype of a framework's dtype called ``name``, for the dtypes arrayport
    moves (:data:`~arrayport._exchange.EXCHANGED_DTYPES`; bfloat16 through ml_dtypes), else
    None. Other names are not looked up in numpy: the answer must not depend on whether
    something imported ml_dtypes earlier (``np.dtype("float8_e5m2")`` resolves only then)."""
    if name == "bfloat16":
        return bfloat16_dtype()
    return np.dtype(name) if name in EXCHANGED_DTYPES else None


# MemoryError subclasses that mean an allocation failed (module prefix, qualified name:
# numpy names its class "MemoryError" for display).
_ALLOCATION_ERRORS = frozenset({("numpy", "_ArrayMemoryError"), ("cupy", "OutOfMemoryError")})


def allocation_failed(exc: BaseException) -> bool:
    """Whether ``exc`` says an allocation failed: ``MemoryError`` itself (Python's
    allocator), numpy's ``_ArrayMemoryError`` or cupy's ``OutOfMemoryError``. Other
    ``MemoryError`` subclasses are a program's own conditions (a cache quota, say), which
    releasing memory and retrying cannot help."""
    kind = type(exc)
    if kind is MemoryError:
        return True
    return (kind.__module__.partition(".")[0], kind.__qualname__) in _ALLOCATION_ERRORS


def message_has(exc: BaseException, *needles: str) -> bool:
    """Whether ``str(exc)`` contains any of ``needles`` (used only where a framework has no
    exception type of its own for the condition, and always with a test)."""
    text = str(exc)
    return any(n in text for n in needles)


def stream_free_capsule(x: Any) -> Any:
    """An unversioned "dltensor" capsule of ``x`` for a consumer that takes no stream
    (tensorflow). DLPack without a stream orders nothing, so a GPU producer's queued work
    (torch, cupy, jax) is finished first. torch tensors give their capsule through
    ``torch.utils.dlpack.to_dlpack``, everyone else through ``__dlpack__()``."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        if x.is_cuda:
            torch.cuda.current_stream(x.device).synchronize()
        return torch.utils.dlpack.to_dlpack(x)
    root = type(x).__module__.partition(".")[0]
    if root == "cupy":
        with x.device:
            sys.modules["cupy"].cuda.get_current_stream().synchronize()
    elif root in ("jax", "jaxlib"):
        x.block_until_ready()
    return x.__dlpack__()


def default_from_elsewhere(source: Device, has_gpu: bool) -> Device:
    """Where ``device=None`` puts data for a CPU-or-CUDA framework when it comes from a
    device that framework cannot use (an OpenCL device): the CPU when that device is the
    host CPU (PoCL's), since the data stays on the same physical device, else the thread's
    current CUDA device where there is one, else the CPU."""
    if has_gpu and not (source.kind == "opencl" and _opencl_device_is_the_cpu(source)):
        return cuda_device(current_device_index())
    return CPU


def _opencl_device_is_the_cpu(device: Device) -> bool:
    from arrayport.backends import pyclesperanto  # the one framework on OpenCL devices

    return pyclesperanto.cpu_index() == device.index


def unplaceable(framework: str, requested: Device, n_gpu: int) -> DeviceError:
    """The DeviceError for a device a CPU-or-CUDA framework cannot use, with the remedy."""
    if requested.kind == "opencl":
        msg = (
            f"{framework} arrays live on 'cpu' or 'cuda:N', not on {requested} (OpenCL "
            "devices hold pyclesperanto's arrays): pass device='cpu' or None, or convert to "
            "'pyclesperanto'"
        )
    else:
        have = "no CUDA device" if n_gpu == 0 else f"only cuda:0..cuda:{n_gpu - 1}"
        msg = (
            f"{framework} cannot place data on {requested}: it sees {have} here; pass "
            "device='cpu', device=None (stay on the input's device) or an index it sees"
        )
    return DeviceError(msg)
