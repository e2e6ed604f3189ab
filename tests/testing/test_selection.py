"""Tests of arrayport.testing._selection: the memory types and devices the kit runs on."""

from __future__ import annotations

import pytest

from arrayport import InvalidOptionError, MemoryType
from arrayport.testing._selection import (
    default_device,
    device_kind,
    selected_memory_types,
    unusable_reason,
)
from tests.conftest import INSTALLED


def test_default_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARRAYPORT_DEVICE", "cpu")
    assert default_device("torch") is None
    monkeypatch.setenv("ARRAYPORT_DEVICE", "cuda")
    assert default_device("torch") == "cuda"
    assert default_device("numpy") is None
    assert default_device("pyclesperanto") is None


@pytest.mark.parametrize("value", ["", "cpu", " CUDA ", "cuda:1"])
def test_device_kind_reads_the_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ARRAYPORT_DEVICE", value)
    assert device_kind() == ("cuda" if "cuda" in value.lower() else "cpu")


@pytest.mark.parametrize("value", ["tpu", "cuda:x", "cpu:"])
def test_device_kind_refuses_what_is_not_a_device(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ARRAYPORT_DEVICE", value)
    with pytest.raises(InvalidOptionError, match="is not a device"):
        device_kind()


def test_selected_memory_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARRAYPORT_MEMORY_TYPES", raising=False)
    assert selected_memory_types() == tuple(INSTALLED)
    monkeypatch.setenv("ARRAYPORT_MEMORY_TYPES", " torch, numpy,torch,, ")
    assert selected_memory_types() == (MemoryType.TORCH, MemoryType.NUMPY)
    monkeypatch.setenv("ARRAYPORT_MEMORY_TYPES", ",")
    with pytest.raises(InvalidOptionError, match="names no memory type"):
        selected_memory_types()


def test_unusable_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARRAYPORT_DEVICE", "cpu")
    assert unusable_reason(MemoryType.NUMPY) is None
    if MemoryType.CUPY not in INSTALLED:
        assert unusable_reason(MemoryType.CUPY) == (
            "cupy is not installed (pip install 'arrayport[cupy-cuda12]' (CUDA 12) or "
            "'arrayport[cupy-cuda13]' (CUDA 13), the one matching your NVIDIA driver)"
        )
    monkeypatch.setenv("ARRAYPORT_DEVICE", "cuda")
    assert unusable_reason(MemoryType.NUMPY) == (
        "numpy cannot hold data on a CUDA GPU (ARRAYPORT_DEVICE=cuda)"
    )


@pytest.mark.parametrize("value", ["gpu", "cudax", "cuda:", "cpu:x"])
@pytest.mark.parametrize("mt", ["torch", "numpy"])
def test_default_device_validates_the_setting_like_device_kind(
    monkeypatch: pytest.MonkeyPatch, value: str, mt: str
) -> None:
    # 'gpu' gave None (the CPU) and 'cudax' was handed on as a device, where device_kind()
    # refused both.
    monkeypatch.setenv("ARRAYPORT_DEVICE", value)
    with pytest.raises(InvalidOptionError, match="is not a device"):
        default_device(mt)
    monkeypatch.setenv("ARRAYPORT_DEVICE", " CUDA:1 ")
    assert default_device(mt) == ("cuda:1" if mt == "torch" else None)


@pytest.mark.parametrize("value", ["cpu:0", "cpu:3", "cpu:99", "cuda:\u0663", "cuda:\u00b2"])
@pytest.mark.parametrize("reader", [device_kind, lambda: default_device("torch")])
def test_cpu_with_an_index_and_non_ascii_digits_are_not_devices(
    monkeypatch: pytest.MonkeyPatch, value: str, reader: object
) -> None:
    # 'cpu:3' ran as the CPU, and 'cuda:٣' (an Arabic-Indic three) passed str.isdigit.
    monkeypatch.setenv("ARRAYPORT_DEVICE", value)
    with pytest.raises(
        InvalidOptionError,
        match=rf"^ARRAYPORT_DEVICE='{value}' is not a device: use 'cpu', 'cuda' or 'cuda:N'$",
    ):
        reader()  # type: ignore[operator]
    monkeypatch.setenv("ARRAYPORT_DEVICE", "cuda:3")
    assert device_kind() == "cuda"
    assert default_device("torch") == "cuda:3"


def test_a_framework_that_failed_to_import_is_tested_again_not_passed_as_absent(
    tmp_path,
) -> None:
    # Once an import failed, available_memory_types() leaves the framework out; the kit
    # read that as "not installed" and passed, with a warning, where the install is broken.
    from tests._subprocess import python_words

    (tmp_path / "torch.py").write_text("raise ImportError('a broken install')\n")
    script = (
        "import numpy as np\n"
        "from arrayport.testing import assert_equivalent\n"
        "from arrayport.testing._selection import unusable_reason\n"
        "from arrayport import MemoryType, BackendUnavailableError\n"
        "for _ in range(2):\n"
        "    try:\n"
        "        assert_equivalent(lambda x: x + 1, np.ones(3, np.float32))\n"
        "        print('passed')\n"
        "    except BackendUnavailableError:\n"
        "        print('refused')\n"
        "print(unusable_reason(MemoryType.TORCH))\n"
    )
    env = {"ARRAYPORT_MEMORY_TYPES": "numpy,torch"}
    assert python_words(script, cwd=tmp_path, env=env) == ["refused", "refused", "None"]
