"""The jax backend's refusals that need no jax: extended dtypes leaving jax, and the
layouts jax's DLPack import shares (read-only, big-endian, strided and unaligned memory is
copied). Re-exported by :mod:`arrayport.backends.jax`, whose Protocol members they are."""

from __future__ import annotations

from arrayport._host import ArrayInfo

__all__ = ["dlpack_refusal", "export_dtype_refusal", "share_refusal", "share_refusal_of"]


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
    return share_refusal_of(
        info.writable, info.dtype_name, info.native_order, info.c_contiguous, info.aligned
    )


def share_refusal_of(
    writable: bool, name: str, native: bool, contiguous: bool, aligned: bool | None
) -> str | None:
    if not writable:
        return "jax cannot import read-only memory through DLPack"
    if name == "bfloat16":
        return "numpy cannot hand bfloat16 to jax over DLPack"
    return _layout_refusal(native, contiguous, aligned)


def _layout_refusal(native: bool, contiguous: bool, aligned: bool | None) -> str | None:
    if not native:
        return "jax cannot import big-endian memory"
    if not contiguous:
        # JaxRuntimeError "Only DLPack tensors with trivial (compact) striding".
        return "jax imports only compact row-major memory"
    if not aligned:
        return "jax copies buffers that are not 64-byte aligned"
    return None


def dlpack_refusal(info: ArrayInfo, source_immutable: bool) -> str | None:
    return _layout_refusal(info.native_order, info.c_contiguous, info.aligned)
