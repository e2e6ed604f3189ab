"""Helpers the backend modules share (arrayport.backends._util)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import arrayport as ap
from arrayport import MemoryType
from arrayport.backends import _util
from arrayport.devices import CPU, Device
from arrayport.errors import BackendUnavailableError
from tests.conftest import skip_unless_installed


def test_find_spec_answers_without_raising() -> None:
    assert _util.find_spec("numpy") is True
    assert _util.find_spec("arrayport_no_such_framework") is False
    assert _util.find_spec("arrayport_no_such_parent.child") is False


def test_import_framework_names_the_extra_to_install() -> None:
    assert _util.import_framework("numpy", "numpy") is np
    with pytest.raises(BackendUnavailableError, match=r"pip install 'arrayport\[imaginary\]'"):
        _util.import_framework("arrayport_no_such_framework", "imaginary")


def test_cupy_install_hints_name_both_cuda_extras() -> None:
    # Named cupy-cuda12 only: a CUDA 13 user installed a second cupy module over the first.
    with pytest.raises(BackendUnavailableError) as info:
        _util.import_framework("arrayport_no_such_cupy", "cupy-cuda12")
    message = str(info.value)
    assert "pip install 'arrayport[cupy-cuda12]' (CUDA 12) or 'arrayport[cupy-cuda13]'" in message
    assert _util.pip_install("torch", upgrade=True) == "pip install --upgrade 'arrayport[torch]'"


def test_a_framework_whose_import_fails_otherwise_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broken install may raise RuntimeError or OSError on import, not ImportError.
    (tmp_path / "arrayport_broken_framework.py").write_text("raise RuntimeError('no libcuda')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BackendUnavailableError, match=r"RuntimeError: no libcuda.*\[broken\]"):
        _util.import_framework("arrayport_broken_framework", "broken")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("2.13.0+cpu", (2, 13, 0)), ("0.25.0rc1", (0, 25, 0)), ("2024.8.0", (2024, 8, 0)), ("", ())],
)
def test_version_tuple_reads_the_numeric_release(text: str, parsed: tuple[int, ...]) -> None:
    assert _util.version_tuple(text) == parsed


def test_a_release_older_than_the_minimum_is_unavailable_with_the_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real module (not a stand-in for a framework) with a version, imported for real.
    (tmp_path / "arrayport_old_framework.py").write_text("__version__ = '0.4.30'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        BackendUnavailableError,
        match=r"arrayport_old_framework 0\.4\.30 is older than 0\.4\.34.*"
        r"pip install --upgrade 'arrayport\[old\]'",
    ):
        _util.import_framework("arrayport_old_framework", "old", minimum=(0, 4, 34))
    assert _util.import_framework("arrayport_old_framework", "old", minimum=(0, 4, 30))


def test_the_declared_minimums_are_pyproject_s() -> None:
    # One place for the minimums: the backends read them from arrayport's own metadata.
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    for root, extra in [("jax", "jax"), ("torch", "torch"), ("pyclesperanto", "pyclesperanto")]:
        (declared,) = [r for r in extras[extra] if r.startswith(root + ">=")]
        expected = _util.version_tuple(declared.partition(">=")[2])
        assert _util.declared_minimum(root, extra) == expected, "reinstall: pip install -e ."
    assert _util.declared_minimum("tensorflow", "tensorflow") is not None
    assert _util.declared_minimum("dask", "dask") is not None
    assert _util.declared_minimum("jax", "no-such-extra") is None


def test_numpy_dtype_or_none() -> None:
    assert _util.numpy_dtype_or_none("uint16") == np.dtype("uint16")
    assert _util.numpy_dtype_or_none("not_a_dtype") is None
    # Only the dtypes arrayport moves, whatever numpy would resolve after other imports.
    assert _util.numpy_dtype_or_none("float128") is None
    assert _util.numpy_dtype_or_none("float8_e5m2") is None
    bf16 = _util.numpy_dtype_or_none("bfloat16")
    if _util.find_spec("ml_dtypes"):
        assert bf16 is not None
        assert bf16.name == "bfloat16"
        assert bf16.itemsize == 2
    else:
        assert bf16 is None


def test_message_has_matches_only_the_given_phrases() -> None:
    exc = RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 8 bytes")
    assert _util.message_has(exc, "RESOURCE_EXHAUSTED")
    assert not _util.message_has(ValueError("offset out of memory bounds"), "RESOURCE_EXHAUSTED")


@pytest.mark.parametrize("source", ["numpy", "torch", "jax"])
def test_stream_free_capsule_imports_into_tensorflow(source: str) -> None:
    # The capsule tensorflow takes (unversioned, no stream), from each CPU producer; the
    # GPU producers' synchronisation runs in tests/test_gpu.py.
    import arrayport as ap
    from arrayport.backends._util import stream_free_capsule

    for name in (source, "tensorflow"):
        if ap.MemoryType(name) not in ap.available_memory_types():
            pytest.skip(f"{name} is not installed")
    from arrayport.backends import tensorflow as tf_backend

    tf = tf_backend.load()  # through arrayport: PoCL's library before tensorflow
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = ap.convert(a, source)
    out = tf.experimental.dlpack.from_dlpack(stream_free_capsule(x))
    np.testing.assert_array_equal(out.numpy(), a)


@skip_unless_installed(MemoryType.PYCLESPERANTO)
@pytest.mark.parametrize("target", [MemoryType.TORCH, MemoryType.JAX, MemoryType.TENSORFLOW])
def test_data_from_the_pocl_device_stays_on_the_cpu_where_a_gpu_is_present(
    target: MemoryType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PoCL's OpenCL device is the host CPU: with device=None a conversion stays on the
    # same physical device. With a GPU present it went to cuda:0 (seen on an H100 machine
    # whose image also holds PoCL). The framework's GPU count is patched: none here.
    pytest.importorskip(target.value)
    from arrayport.backends import _jax_devices, pyclesperanto, tensorflow, torch

    if target is MemoryType.TORCH:
        monkeypatch.setattr(torch, "_cuda_count", lambda: 1)
    elif target is MemoryType.JAX:
        real = _jax_devices.jax_devices
        monkeypatch.setattr(
            _jax_devices, "jax_devices", lambda kind: [object()] if kind != "cpu" else real(kind)
        )
    else:
        monkeypatch.setattr(tensorflow, "_gpu_count", lambda: 1)
    x = ap.convert(np.arange(4, dtype=np.float32), "pyclesperanto")
    source = pyclesperanto.device_of(x)
    if pyclesperanto.cpu_index() != source.index:
        pytest.skip("pyclesperanto's current OpenCL device is not the host CPU")
    assert ap.plan(x, target).device == CPU
    assert _util.default_from_elsewhere(source, has_gpu=True) == CPU
    # Any other OpenCL device (a GPU's) goes to the thread's current CUDA device.
    other = Device("opencl", source.index + 1)
    assert _util.default_from_elsewhere(other, has_gpu=True) == Device("cuda", 0)
    assert _util.default_from_elsewhere(other, has_gpu=False) == CPU


def test_a_missing_framework_and_a_broken_one_get_different_remedies(tmp_path, monkeypatch) -> None:
    from arrayport.backends._util import import_framework
    from arrayport.errors import BackendUnavailableError

    with pytest.raises(
        BackendUnavailableError, match=r"not installed .*pip install 'arrayport\[x\]'"
    ):
        import_framework("arrayport_no_such_framework", "x")
    # Installed, but its own import fails (a jaxlib older than jax needs, say).
    (tmp_path / "arrayport_broken_framework.py").write_text(
        "raise ImportError('jaxlib is version 0.4.1, but this jax needs 0.10')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        BackendUnavailableError, match=r"installed but cannot be imported .*--upgrade"
    ):
        import_framework("arrayport_broken_framework", "x")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("raise SystemExit(3)", "called sys.exit(3) (SystemExit: 3)"),
        (
            "import sys; sys.exit('requires numpy 3')",
            "called sys.exit('requires numpy 3') (SystemExit: requires numpy 3)",
        ),
    ],
)
def test_a_framework_calling_sys_exit_on_import_is_unavailable(
    body: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SystemExit is no Exception: it went through, and `arrayport doctor` ended with the
    # module's status, nothing on standard output and no message.
    (tmp_path / "arrayport_exiting_framework.py").write_text(body + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BackendUnavailableError) as info:
        _util.import_framework("arrayport_exiting_framework", "exiting")
    message = str(info.value)
    assert message.startswith(f"arrayport_exiting_framework is installed but importing it {said}")
    assert "pip install --upgrade 'arrayport[exiting]'" in message
    assert isinstance(info.value.__cause__, SystemExit)


def test_a_keyboard_interrupt_while_importing_a_framework_goes_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C while a framework loads stops the command; it does not read as a broken install.
    (tmp_path / "arrayport_interrupted_framework.py").write_text("raise KeyboardInterrupt\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        _util.import_framework("arrayport_interrupted_framework", "interrupted")
