"""The jax backend's refusals that need no jax array (only the layout refusal asks jax
whether it is safe to share custom layouts: :func:`custom_layouts_safe`, which loads
jax): jax's host-side numpy arrays, extended
dtypes leaving jax, and the layouts jax's DLPack import shares (read-only, big-endian,
strided and unaligned memory is copied). Re-exported by :mod:`arrayport.backends.jax`,
whose Protocol members they are.

On the CPU jax shares compact memory in any axis order (transposed, Fortran-ordered,
torch ``channels_last``; ``contiguity`` None), giving an array in a custom layout (ADR
0082); it refuses gaps, steps and broadcasts. On GPUs only row-major memory is shared:
a permuted import has not run there."""

from __future__ import annotations

import numpy as np

from arrayport._host import ArrayInfo
from arrayport.backends._jax_devices import custom_layouts_safe

__all__ = [
    "array_like_refusal",
    "dlpack_refusal",
    "export_dtype_refusal",
    "share_refusal",
    "share_refusal_of",
]


def array_like_refusal(x: object) -> str | None:
    """Why a jax object holding array data is not an array arrayport moves, or None: jax's
    host-side numpy arrays (``TypedNdArray``), float0 gradients of integer inputs above all."""
    if not isinstance(x, np.ndarray):
        return None
    name = type(x).__qualname__
    if x.dtype.names == ("float0",):  # jax's float0: numpy void dtype [('float0', 'V')]
        return (
            f"{name} of dtype float0 (jax's gradient of an integer input) holds no numbers: "
            "drop it, or take gradients of float inputs only"
        )
    return f"{name} is jax's host-side numpy array: pass numpy.asarray(x) or jax.numpy.asarray(x)"


def export_dtype_refusal(info: ArrayInfo) -> str | None:
    """Why an array of this dtype cannot leave jax, with the remedy, or None.

    Only jax's extended dtypes are refused here (``describe`` gives them ``dtype=None``):
    typed PRNG keys. The generic refusal ("convert in jax first") would send users to
    ``astype``, which keys refuse.
    """
    if info.dtype is not None:
        return None
    if info.dtype_name.startswith("key<"):
        return (
            "a jax PRNG key array holds opaque keys, which no other framework has: convert "
            "its key data, jax.random.key_data(k) (uint32), and rebuild the keys from it "
            "with jax.random.wrap_key_data when they come back"
        )
    return f"jax's extended dtype {info.dtype_name} has no counterpart in other frameworks"


def share_refusal(info: ArrayInfo) -> str | None:
    """Why jax does not share this host memory (a numpy view, on the CPU), or None."""
    return share_refusal_of(
        info.writable, info.dtype_name, info.native_order, info.contiguity, info.aligned
    )


def share_refusal_of(
    writable: bool, name: str, native: bool, contiguity: bool | None, aligned: bool | None
) -> str | None:
    """:func:`share_refusal` from its parts; ``contiguity`` as ``ArrayInfo.contiguity``
    (None: compact in another axis order, shared on the CPU)."""
    if not writable:
        return "jax cannot import read-only memory through DLPack"
    if name == "bfloat16":
        return "numpy cannot hand bfloat16 to jax over DLPack"
    return _layout_refusal(native, contiguity, aligned, True)


def _layout_refusal(
    native: bool, contiguity: bool | None, aligned: bool | None, cpu: bool
) -> str | None:
    if not native:
        return "jax cannot import big-endian memory"
    if contiguity is False:
        # JaxRuntimeError "Only DLPack tensors with trivial (compact) striding".
        return (
            "jax imports only compact memory (no gaps, steps or broadcast axes, in any "
            "axis order on the CPU)"
        )
    if contiguity is None and not cpu:
        return "on a GPU arrayport shares only row-major memory into jax (untested there)"
    if contiguity is None and not custom_layouts_safe():
        return (
            "with several jax devices arrayport shares only row-major memory into jax (jax "
            "computes an array in another order wrongly once it is moved between devices)"
        )
    if not aligned:
        return "jax copies buffers that are not 64-byte aligned"
    return None


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    return _layout_refusal(info.native_order, info.contiguity, info.aligned, info.device.is_cpu)
