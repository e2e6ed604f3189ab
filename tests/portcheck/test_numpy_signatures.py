"""Tests of NumPy's own parameters as port-check reads them."""

from __future__ import annotations

from arrayport.portcheck._numpy_signatures import numpy_attribute, numpy_parameters


def test_numpy_attribute_names_numpy_objects_only() -> None:
    import numpy as np

    assert numpy_attribute("numpy.linalg.norm") is np.linalg.norm
    assert numpy_attribute("numpy.no_such_name") is None


def test_numpy_c_functions_without_a_signature_use_the_recorded_parameters(monkeypatch) -> None:
    # Before numpy 2.4, np.zeros and the other C functions have no inspect.signature:
    # np.zeros(3, "f4") was reported without its xp.float32 replacement.
    import inspect

    from arrayport.portcheck import _numpy_signatures

    real = inspect.signature

    def no_signature_for_builtins(obj, *args, **kwargs):
        if type(obj).__name__ in ("builtin_function_or_method", "_ArrayFunctionDispatcher"):
            raise ValueError("no signature found for builtin")
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(_numpy_signatures.inspect, "signature", no_signature_for_builtins)
    numpy_parameters.cache_clear()
    try:
        assert numpy_parameters("numpy.zeros") == ("shape", "dtype", "order")
        assert numpy_parameters("numpy.frombuffer") == ("buffer", "dtype", "count", "offset")
    finally:
        monkeypatch.undo()
        numpy_parameters.cache_clear()
    # The recorded names are numpy's own where it has signatures.
    for path, names in _numpy_signatures._C_PARAMETERS.items():
        assert numpy_parameters(path) == names, path


def test_aliases_numpy_2_removed_take_their_functions_parameters() -> None:
    # np.product(x, 0) could not be matched to prod's axis: NumPy 2 has no np.product.
    assert numpy_parameters("numpy.product") == numpy_parameters("numpy.prod")
    assert numpy_parameters("numpy.round_") == ("a", "decimals", "out")
    assert numpy_parameters("numpy.cumproduct") == ("a", "axis", "dtype", "out")
    assert numpy_parameters("numpy.alltrue") == numpy_parameters("numpy.all")
    assert numpy_parameters("numpy.no_such_name") is None
