"""errors: the hierarchy, built-in bases and attributes."""

from __future__ import annotations

import pathlib
import sys

import pytest

import arrayport as ap
from arrayport import errors


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (ap.UnsupportedArrayError, (ap.ArrayportError, TypeError)),
        (ap.NoNamespaceError, (ap.UnsupportedArrayError,)),
        (ap.ConversionError, (ap.ArrayportError,)),
        (ap.CopyRequiredError, (ap.ConversionError,)),
        (ap.UnsupportedDtypeError, (ap.ConversionError, TypeError)),
        (ap.DeviceError, (ap.ArrayportError,)),
        (ap.DtypeConversionError, (ap.ArrayportError, ValueError)),
        (ap.OutOfMemoryError, (ap.ArrayportError, MemoryError)),
        (ap.BackendUnavailableError, (ap.ArrayportError, ImportError)),
        (ap.InvalidOptionError, (ap.ArrayportError, ValueError)),
        (ap.WholeArrayWarning, (UserWarning,)),  # was importable from a private module only
    ],
)
def test_hierarchy(cls, bases) -> None:
    for base in bases:
        assert issubclass(cls, base)
    assert cls is getattr(errors, cls.__name__)


def test_conversion_error_attributes() -> None:
    e = ap.UnsupportedDtypeError("m", dtype="int64", source="numpy", target="jax", method="dlpack")
    assert (e.dtype, e.source, e.target, e.method, str(e)) == (
        "int64",
        "numpy",
        "jax",
        "dlpack",
        "m",
    )


def test_out_of_memory_error_attributes() -> None:
    cause = MemoryError("framework")
    with pytest.raises(MemoryError) as info:  # a generic handler still catches it
        raise ap.OutOfMemoryError("m", memory_type="torch", device="cuda:0", attempts=3) from cause
    e = info.value
    assert e.__cause__ is cause
    assert (e.memory_type, e.device, e.attempts, e.requested_bytes) == ("torch", "cuda:0", 3, None)


def test_in_context_keeps_the_class_and_attributes_and_adds_where_and_hint() -> None:
    exc = errors.UnsupportedDtypeError("cannot hold x", dtype="float64", source="numpy")
    placed = errors.in_context(exc, "the result of f", "a hint")
    assert type(placed) is errors.UnsupportedDtypeError
    assert str(placed) == "the result of f: cannot hold x (a hint)"
    assert (placed.dtype, placed.source, placed.target) == ("float64", "numpy", None)
    assert str(exc) == "cannot hold x"  # the original is untouched


def test_errors_raised_inside_tf_function_stay_catchable_as_themselves() -> None:
    # tensorflow's autograph turned them into its StagingError: `except
    # ap.UnsupportedArrayError` missed a refusal of symbolic tensors inside tf.function.
    from tests.conftest import INSTALLED

    if ap.MemoryType.TENSORFLOW not in INSTALLED:
        pytest.skip("tensorflow is not installed")
    import tensorflow as tf

    @ap.memory_type("numpy")
    def double(x):
        return x * 2

    x = tf.constant([0.0, 1.0])
    with pytest.raises(ap.UnsupportedArrayError, match=r"outside tf\.function"):
        tf.function(double)(x)
    with pytest.raises(ap.UnsupportedArrayError, match="symbolic tensors"):
        tf.function(lambda t: ap.convert(t, "numpy"))(x)
    assert errors.ArrayportError.ag_pass_through


def test_add_note_works_where_exceptions_have_no_add_note() -> None:
    # Python 3.10 (declared supported) has no BaseException.add_note: the OOM policy's
    # note on a split piece's error raised AttributeError there in place of the error.
    class NoAddNote(ValueError):
        def __getattribute__(self, name: str):
            if name == "add_note":
                raise AttributeError(name)
            return super().__getattribute__(name)

    exc = NoAddNote("the function's own")
    errors.add_note(exc, "first")
    errors.add_note(exc, "second")
    assert exc.__notes__ == ["first", "second"]
    plain = ValueError("x")
    errors.add_note(plain, "note")
    assert plain.__notes__ == ["note"]


def test_add_note_on_python_3_10_loads_the_backport_that_prints_notes(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3.10's tracebacks print no __notes__: arrayport's "what to do" notes were never seen
    # there. The exceptiongroup backport's import makes them print; it is imported once a
    # note is added (a stand-in here, recording that it was imported).
    class NoAddNote(ValueError):
        def __getattribute__(self, name: str):
            if name == "add_note":
                raise AttributeError(name)
            return super().__getattribute__(name)

    (tmp_path / "exceptiongroup.py").write_text("IMPORTED_BY_ADD_NOTE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    saved = sys.modules.pop("exceptiongroup", None)
    try:
        if sys.version_info >= (3, 11):  # add_note of its own: nothing imported
            errors.add_note(ValueError("3.11"), "note")
            assert "exceptiongroup" not in sys.modules
        errors.add_note(NoAddNote("3.10"), "note")
        assert sys.modules["exceptiongroup"].IMPORTED_BY_ADD_NOTE
    finally:
        sys.modules.pop("exceptiongroup", None)
        if saved is not None:
            sys.modules["exceptiongroup"] = saved
