"""jax devices: jax's device lists, the device a jax array is on, and where one can go.

Importing this module imports no framework: jax is imported only by the backend's
``load()``, which the first :func:`jax_devices` call of each kind makes (the lists are
cached). The jax backend re-exports :func:`devices`, :func:`device_of` and :func:`resolve_device` as
they are, with no wrapper: dispatch reads ``device_of`` on every call with a jax array.

Two kinds of jax array have no single device to report. A deleted array (``x.delete()``,
or donated to a jitted call with ``donate_argnums``) makes jax raise a bare
``RuntimeError``; :func:`single_device` then refuses it by name (:func:`deleted_error`),
asking ``is_deleted()`` only after the failure so that a live array pays nothing. An array
sharded over several devices is refused with the call that gathers it.

Host data arrayport puts into jax goes where ``jnp.asarray`` would put it
(:func:`host_device`): onto jax's default device, uncommitted, when that is a CPU device,
so that jax moves it to the device of a committed argument it meets (one of several CPU
devices made by ``--xla_force_host_platform_device_count``, say) rather than raising
"incompatible devices".
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from typing import Any

from arrayport.backends._util import default_from_elsewhere, unplaceable
from arrayport.devices import CPU, Device, cuda_device
from arrayport.errors import BackendUnavailableError, DeviceError, UnsupportedArrayError

__all__ = [
    "deleted_error",
    "device_of",
    "devices",
    "cuda_gpu",
    "from_jax_device",
    "host_device",
    "jax_devices",
    "ordinal_positions",
    "resolve_device",
    "single_device",
    "to_jax_device",
]


@functools.cache
def jax_devices(kind: str) -> list[Any]:
    """jax's devices of ``kind`` (``"cpu"``; any other kind asks for its GPUs)."""
    # Imported here, not at the top: the backend imports this module. Once per kind, as
    # jax's device list is fixed once its backends are initialised.
    from arrayport.backends.jax import load

    jax = load()
    try:
        jax.devices()  # initialises jax's backends: a failure here is not about `kind`
    # JAX_PLATFORMS naming a platform jax cannot start: RuntimeError ("Unable to initialize
    # backend 'cuda'"), or, where it sees no device of that platform at all, a bare
    # AssertionError from inside jax (0.10) that says nothing.
    except (AssertionError, RuntimeError) as exc:
        raise BackendUnavailableError(_platforms_error(jax, exc)) from exc
    try:
        if kind == "cpu":
            return list(jax.devices("cpu"))
        # This process's own GPUs: jax.devices("gpu") lists every process's under
        # jax.distributed, whose arrays this process cannot reach.
        return list(jax.local_devices(backend="gpu"))
    except RuntimeError:  # jax raises RuntimeError for a platform it was not built with
        return []


def _platforms_error(jax: Any, exc: BaseException) -> str:
    """Why jax has no backend here, with the remedy."""
    asked = getattr(jax.config, "jax_platforms", None) or os.environ.get("JAX_PLATFORMS")
    why = str(exc) or "it found no device of those platforms here"
    if not asked:
        return f"jax could not initialise any of its platforms: {why}"
    return (
        f"jax could not initialise the platforms JAX_PLATFORMS (or jax.config's "
        f"jax_platforms) asks for, {asked!r}: {why}. Install jax for that platform "
        "(pip install 'jax[cuda12]' for cuda) on a machine that has its device, or "
        "include cpu (JAX_PLATFORMS=cuda,cpu) or unset JAX_PLATFORMS"
    )


def ordinal_positions(hardware_ids: Sequence[int | None]) -> dict[int, int]:
    """Each CUDA ordinal's position in a list of jax GPUs, given the list's
    ``local_hardware_id`` values, in ordinal order.

    ``cuda:N`` is CUDA's device N, as torch and cupy number it and as jax's DLPack export
    names it (``local_hardware_id``), not the N-th GPU jax lists: with
    ``jax_cuda_visible_devices="1"`` (``jax.distributed.initialize(local_device_ids=[1])``)
    jax's one GPU is ``cuda:1``. A GPU without a hardware id has no ordinal: left out."""
    pairs = sorted((int(h), p) for p, h in enumerate(hardware_ids) if h is not None)
    return dict(pairs)


#: (jax_devices("cuda"), its GPUs by CUDA ordinal, its Devices by jax GPU), made anew
#: whenever jax_devices gives another list (its cache cleared).
_table: tuple[Any, dict[int, Any], dict[Any, Device]] = (None, {}, {})


def _gpus() -> tuple[dict[int, Any], dict[Any, Device]]:
    """jax's GPUs by CUDA ordinal, and the reverse (:func:`ordinal_positions`)."""
    global _table
    gpus = jax_devices("cuda")
    table = _table
    if table[0] is not gpus:
        positions = ordinal_positions([d.local_hardware_id for d in gpus])
        by_ordinal = {n: gpus[p] for n, p in positions.items()}
        table = (gpus, by_ordinal, {d: cuda_device(n) for n, d in by_ordinal.items()})
        _table = table
    return table[1], table[2]


def devices() -> tuple[Device, ...]:
    return (CPU, *_gpus()[1].values())


def from_jax_device(d: Any) -> Device:
    if d.platform == "cpu":
        return CPU
    if d.platform in ("gpu", "cuda"):
        found = _gpus()[1].get(d)
        if found is not None:
            return found
        msg = (
            f"the jax GPU {d} is not one of this process's (jax.local_devices()): its "
            "memory is another process's; gather the data onto a local device first"
        )
        raise DeviceError(msg)
    msg = (
        f"jax platform {d.platform!r} is not supported by arrayport (cpu and cuda are); "
        "move the array first, e.g. jax.device_put(x, jax.devices('cpu')[0])"
    )
    raise DeviceError(msg)


def cuda_gpu(index: int) -> Any:
    """jax's GPU with CUDA ordinal ``index``, or None where jax has none."""
    return _gpus()[0].get(index)


def to_jax_device(device: Device) -> Any:
    if device.kind == "cpu":
        return host_device()[0]
    found = cuda_gpu(device.index) if device.kind == "cuda" else None
    if found is not None:
        return found
    ordinals = list(_gpus()[0])
    if device.kind == "cuda" and ordinals != list(range(len(ordinals))):
        # Not cuda:0..cuda:n-1, as unplaceable would say: the ordinals jax has.
        seen = ", ".join(f"cuda:{n}" for n in ordinals)
        msg = (
            f"jax cannot place data on {device}: it sees only {seen} here; pass "
            "device='cpu', device=None (stay on the input's device) or an index it sees"
        )
        raise DeviceError(msg)
    raise unplaceable("jax", device, len(ordinals))


@functools.cache
def custom_layouts_safe() -> bool:
    """Whether arrayport may make jax arrays in a custom memory order (ADR 0082): only where
    jax has one device in all. jax 0.10 computes such an array as if it were row-major
    once it is made uncommitted or moved to another CPU device (``jax.device_put``), and
    one kept committed breaks calls mixing it with arrays on another device."""
    return not _several_devices()


def _several_devices() -> bool:
    """Whether jax has more than one device here (several CPU devices, or a GPU): with
    one, a committed array and an uncommitted one behave alike."""
    return len(jax_devices("cpu")) + len(jax_devices("cuda")) > 1


@functools.cache
def _first_device() -> Any:
    """jax's default device when ``jax_default_device`` is unset (its backends are fixed
    once initialised)."""
    return sys.modules["jax"].local_devices()[0]


def host_device() -> tuple[Any, bool]:
    """The jax CPU device arrayport puts host data on, and whether to leave it uncommitted.

    ``jnp.asarray(numpy_array)`` puts host data on jax's default device (``jax.config``'s
    ``jax_default_device``, read per call as ``jax.default_device`` blocks set it; else
    jax's first device), uncommitted: jax then moves it to the device of any committed
    argument it meets. Where that default is a CPU device, arrayport does the same. Where
    it is a GPU, an uncommitted array would be computed on the GPU, leaving the CPU it was
    asked to stay on: it goes to the first CPU device, committed. With one jax device in
    all, arrays stay committed: nothing differs, and leaving one uncommitted costs 3 us.
    """
    if not _several_devices():  # the usual case: jax's one device, the CPU
        return _lone_device()
    setting = sys.modules["jax"].config.jax_default_device
    found = _host_answers.get(id(setting))  # every conversion into jax on the CPU asks
    if found is not None and found[0] is setting:
        return found[1]
    answer = _host_device(setting)
    _host_answers[id(setting)] = (setting, answer)  # a handful of settings in a process
    return answer


#: host_device's answers by jax_default_device setting (kept with it, so ids stay valid).
_host_answers: dict[int, tuple[Any, tuple[Any, bool]]] = {}


@functools.cache
def _lone_device() -> tuple[Any, bool]:
    return _host_device(None)


def _host_device(default: Any) -> tuple[Any, bool]:
    cpus = jax_devices("cpu")
    if not cpus:
        msg = (
            "jax has no CPU device in this process (its platforms are set by JAX_PLATFORMS "
            "or jax.config's jax_platforms): allow 'cpu' there, or pass a CUDA device"
        )
        raise DeviceError(msg)
    if default is None:
        default = _first_device()
    elif isinstance(default, str):  # a platform name: its first device, as in jax
        default = cpus[0] if default.lower() == "cpu" else None
    if default in cpus:
        return default, _several_devices()
    return cpus[0], False


def deleted_error() -> UnsupportedArrayError:
    """The error for a deleted jax array, with the remedy."""
    msg = (
        "the jax array was deleted (x.delete(), or donated to a jitted call with "
        "donate_argnums): its data is gone; use the array the donating call returned, "
        "or keep a copy (jnp.array(x, copy=True)) before donating"
    )
    return UnsupportedArrayError(msg)


def single_device(x: Any) -> Any:
    """The one jax device ``x`` is on; deleted and sharded arrays are refused by name."""
    try:
        devs = x.devices()
    except RuntimeError:
        # jax's "Array has been deleted": asked only after the fact, so a live array pays
        # nothing here. Dispatch reads devices through device_of without describe().
        if x.is_deleted():
            raise deleted_error() from None
        raise
    if len(devs) != 1:
        msg = (
            f"the jax array is sharded over {len(devs)} devices; arrayport converts "
            "single-device arrays: gather it first (jax.device_put(x, device))"
        )
        raise UnsupportedArrayError(msg)
    return next(iter(devs))


def device_of(x: Any) -> Device:
    return from_jax_device(single_device(x))


def placement_device(x: Any) -> Device | None:
    """:func:`device_of`, or None where jax places ``x`` itself: a tracer (inside ``jit``,
    ``grad``, ``vmap``: it has no device yet) or an array sharded over devices. A dispatched
    call leaves such an argument as it is, and converts the others to jax's default."""
    tracer = getattr(sys.modules.get("jax.core"), "Tracer", None)
    if tracer is not None and isinstance(x, tracer):
        return None
    try:
        devs = x.devices()
    except RuntimeError:
        return device_of(x)  # deleted: refused by name there
    return from_jax_device(next(iter(devs))) if len(devs) == 1 else None


def resolve_device(requested: Device | None, source: Device) -> Device:
    if requested is None:
        if source.kind in ("cpu", "cuda"):
            requested = source
        else:  # an OpenCL source: jax cannot live there
            requested = default_from_elsewhere(source, bool(jax_devices("cuda")))
    to_jax_device(requested)
    return requested
