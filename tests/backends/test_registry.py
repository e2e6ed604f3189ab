"""backends/__init__: registry, detection without imports, namespaces."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import arrayport as ap
from arrayport.backends import cached_memory_type, get_backend
from tests.conftest import CPU_TYPES, INSTALLED, skip_unless_installed

MT = ap.MemoryType


def test_available_memory_types_includes_numpy_and_is_a_tuple() -> None:
    found = ap.available_memory_types()
    assert isinstance(found, tuple)
    assert MT.NUMPY in found
    assert set(found) <= set(MT)


@pytest.mark.parametrize("mt", list(MT))
def test_every_backend_satisfies_the_protocol(mt: MT) -> None:
    try:
        backend = get_backend(mt)
    except ap.BackendUnavailableError:
        pytest.skip(f"no backend module for {mt.value}")
    assert backend.MEMORY_TYPE is mt
    for name in (
        "MODULE_ROOTS",
        "IMPORT_NAME",
        "EXTRA",
        "IMMUTABLE",
        "HAS_DLPACK",
        "WRITABLE_ONLY",
        "COPIES_HOST",
    ):
        assert hasattr(backend, name), name
    for name in (
        "is_installed",
        "load",
        "version",
        "is_array",
        "non_array_hint",
        "is_plain",
        "namespace",
        "devices",
        "device_of",
        "resolve_device",
        "describe",
        "check_dtype",
        "shape_refusal",
        "host_view",
        "to_numpy",
        "share_refusal",
        "dlpack_refusal",
        "dlpack_export_refusal",
        "dlpack_source",
        "from_dlpack",
        "from_numpy",
        "copy",
        "move",
        "oom_error_types",
        "is_oom",
        "release_memory",
        "memory_info",
    ):
        assert callable(getattr(backend, name)), name


def test_detect_numpy_and_subclasses() -> None:
    assert ap.detect_memory_type(np.zeros(2)) is MT.NUMPY
    assert ap.detect_memory_type(np.ma.masked_array([1])) is MT.NUMPY

    class Mine(np.ndarray):
        pass

    Mine.__module__ = "somewhere.else"
    assert ap.detect_memory_type(np.zeros(2).view(Mine)) is MT.NUMPY


@pytest.mark.parametrize("value", [None, [1], (1,), 1, 1.0, 1j, True, b"x", "s", object()])
def test_detect_rejects_non_arrays(value) -> None:
    with pytest.raises(ap.UnsupportedArrayError):
        ap.detect_memory_type(value)


def test_numpy_scalar_gets_a_hint() -> None:
    with pytest.raises(ap.UnsupportedArrayError, match=r"numpy\.asarray"):
        ap.detect_memory_type(np.int64(3))


@skip_unless_installed(MT.TORCH)
def test_a_torch_subclass_from_another_package_is_a_torch_array() -> None:
    # Found by isinstance, as ndarray subclasses are (torchvision's tv_tensors are such):
    # by module alone it was "not an array", and dispatch passed it through unconverted.
    import torch

    class Image(torch.Tensor):  # defined here: its module names no framework
        pass

    img = torch.arange(4.0).as_subclass(Image)
    assert ap.detect_memory_type(img) is MT.TORCH
    doubled = ap.memory_type("numpy")(lambda x: x * 2)(img)
    assert type(doubled) is not Image  # computed in numpy, placed back as a plain tensor
    assert doubled.tolist() == [0.0, 2.0, 4.0, 6.0]


def test_detection_is_cached_per_type() -> None:
    ap.detect_memory_type(np.zeros(1))
    assert cached_memory_type(np.ndarray) is MT.NUMPY
    assert cached_memory_type(list) is None


@pytest.mark.parametrize("mt", CPU_TYPES)
def test_detect_each_installed_type(mt: MT) -> None:
    x = ap.convert(np.arange(3, dtype="float32"), mt)
    assert ap.detect_memory_type(x) is mt


def test_detection_from_many_threads() -> None:
    arrays = [ap.convert(np.arange(3, dtype="float32"), mt) for mt in CPU_TYPES]
    results: list[list[MT]] = []

    def work() -> None:
        results.append([ap.detect_memory_type(x) for x in arrays for _ in range(100)][::100])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == list(CPU_TYPES) for r in results)


def test_namespace_for_arrays_and_names() -> None:
    xp = ap.namespace(np.zeros(3))
    assert float(xp.sum(xp.ones(3))) == 3.0
    assert ap.namespace("numpy") is xp


def test_namespace_of_a_numpy_scalar_is_numpy_s() -> None:
    # numpy's reductions return numpy scalars: array API code asking for the namespace of
    # an intermediate result (xp.max(x)) failed on numpy only (array-api-compat maps them).
    x = np.arange(3.0)
    for _ in range(2):  # found, then remembered by type
        assert ap.namespace(x.max()) is ap.namespace(x)
        assert ap.namespace(np.bool_(True)) is ap.namespace(x)
    with pytest.raises(ap.UnsupportedArrayError):
        ap.namespace(np.datetime64("2026-01-01"))  # not a number


def test_namespace_of_several_arrays_is_their_one_namespace() -> None:
    x = np.arange(3.0)
    assert ap.namespace(x, x.max(), 2.0, None) is ap.namespace(x)
    with pytest.raises(ap.UnsupportedArrayError, match="no array among"):
        ap.namespace(None, 1.0)
    if MT.TORCH in INSTALLED:
        import torch

        with pytest.raises(ap.UnsupportedArrayError, match="numpy and torch arrays"):
            ap.namespace(x, torch.ones(2))


def test_namespace_of_another_array_api_library_s_array_is_its_own() -> None:
    xps = pytest.importorskip("array_api_strict")
    a = xps.asarray([1.0, 2.0])
    assert ap.namespace(a) is xps
    assert ap.namespace(a, a) is xps
    with pytest.raises(ap.UnsupportedArrayError, match="numpy and array_api_strict") as info:
        ap.namespace(np.zeros(2), a)
    # arrayport.convert does not take array-api-strict's arrays: not offered as the remedy.
    assert "arrayport.convert" not in str(info.value)
    assert "from_dlpack" in str(info.value)
    with pytest.raises(ap.UnsupportedArrayError):
        ap.namespace(object())  # no __array_namespace__: refused as before


@skip_unless_installed(MT.TORCH)
def test_namespace_torch_is_array_api_compat() -> None:
    import torch

    xp = ap.namespace(torch.zeros(2))
    assert xp.__name__ == "array_api_compat.torch"


@skip_unless_installed(MT.JAX)
def test_namespace_jax_is_jax_numpy() -> None:
    import jax.numpy as jnp

    assert ap.namespace("jax") is jnp


@pytest.mark.parametrize("mt", [MT.TENSORFLOW, MT.PYCLESPERANTO])
def test_storage_only_frameworks_have_no_namespace(mt: MT) -> None:
    if mt not in INSTALLED:
        pytest.skip(f"{mt.value} not installed")
    with pytest.raises(ap.NoNamespaceError, match="no array API namespace") as info:
        ap.namespace(mt)
    assert info.value.memory_type == mt.value
    assert isinstance(info.value, ap.UnsupportedArrayError)  # what it was before
    again = pickle.loads(pickle.dumps(info.value))  # as dask.distributed sends it
    assert type(again) is ap.NoNamespaceError
    assert str(again) == str(info.value)


def test_namespace_rejects_unknown_names() -> None:
    with pytest.raises(ap.InvalidOptionError):
        ap.namespace("matlab")


def test_namespace_asked_again_is_the_same_and_refusals_stay_refusals() -> None:
    xp = ap.namespace(np.zeros(3))
    assert ap.namespace(np.ones((2, 2), np.float32)) is xp  # found once per array type
    for _ in range(2):  # a refusal is never remembered as an answer
        with pytest.raises(ap.UnsupportedArrayError):
            ap.namespace([1.0, 2.0])
    if MT.TENSORFLOW in INSTALLED:
        import tensorflow as tf

        for _ in range(2):
            with pytest.raises(ap.NoNamespaceError, match="no array API namespace"):
                ap.namespace(tf.zeros(2))


def test_namespace_refuses_what_a_dispatched_function_refuses() -> None:
    masked = np.ma.masked_array([1.0, 100.0, 3.0], mask=[0, 1, 0])
    matrix = np.matrix([[1, 2], [3, 4]])
    for _ in range(2):  # refused again: never remembered as the ndarray subclass's answer
        with pytest.raises(ap.UnsupportedArrayError, match="mask"):
            ap.namespace(masked)
        with pytest.raises(ap.UnsupportedArrayError, match=r"np\.asarray"):
            ap.namespace(matrix)
    # The same refusal a function declaring numpy gives, and plain arrays still pass.
    with pytest.raises(ap.UnsupportedArrayError, match="mask"):
        ap.memory_type("numpy")(lambda a: a)(masked)
    assert ap.namespace(np.asarray(matrix)) is ap.namespace(np.zeros(2))


@pytest.mark.parametrize("ask", ["detect_memory_type", "namespace"])
def test_array_subclasses_made_at_run_time_are_not_kept_for_good(ask: str) -> None:
    import gc
    import weakref

    from arrayport.backends import _MAX_TYPES, _namespaces, _type_cache

    lookup = getattr(ap, ask)
    first = type("Sub", (np.ndarray,), {})
    alive = weakref.ref(first)
    assert lookup(np.zeros(1).view(first)) in (MT.NUMPY, ap.namespace("numpy"))
    del first
    for _ in range(_MAX_TYPES):
        lookup(np.zeros(1).view(type("Sub", (np.ndarray,), {})))
    gc.collect()
    assert alive() is None
    assert len(_type_cache) <= _MAX_TYPES
    assert len(_namespaces) <= _MAX_TYPES


def test_a_framework_that_failed_to_import_is_no_longer_available(tmp_path) -> None:
    # Installed (found on the path) but broken: listed until its first use fails, then
    # left out, as the contract's "installed and importable here" says.
    from tests._subprocess import python_words

    (tmp_path / "torch.py").write_text("raise RuntimeError('a broken install')\n")
    script = (
        "import numpy as np, arrayport as ap\n"
        "before = ap.MemoryType.TORCH in ap.available_memory_types()\n"
        "try:\n"
        "    ap.convert(np.zeros(2), 'torch')\n"
        "except ap.BackendUnavailableError as exc:\n"
        "    said = 'a broken install' in str(exc)\n"
        "after = ap.MemoryType.TORCH in ap.available_memory_types()\n"
        "print(before, said, after, ap.MemoryType.NUMPY in ap.available_memory_types())\n"
    )
    assert python_words(script, cwd=tmp_path) == ["True", "True", "False", "True"]


@skip_unless_installed(MT.TENSORFLOW)
def test_a_keras_variable_s_remedy_works_on_keras_s_tensorflow_backend() -> None:
    # The refusal said "pass keras.ops.convert_to_numpy(v), or v.value (its backend's
    # tensor)": on tensorflow v.value is a tf.Variable, which arrayport refuses in turn.
    from arrayport.backends import array_like_refusal

    get_backend(MT.TENSORFLOW).load()  # through arrayport: PoCL's library first
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("keras runs on another backend")
    import tensorflow as tf

    v = keras.Variable(np.array([1.0, 2.0], np.float32))
    refusal = array_like_refusal(v)
    assert refusal is not None
    assert "tf.convert_to_tensor(v)" in refusal
    assert "v.value" not in refusal
    with pytest.raises(ap.UnsupportedArrayError, match=r"tf\.convert_to_tensor\(v\)"):
        ap.convert(v, "numpy")
    for passed in (tf.convert_to_tensor(v), keras.ops.convert_to_numpy(v)):
        np.testing.assert_array_equal(ap.convert(passed, "numpy"), [1.0, 2.0])
