"""backends/_cle_load: pyclesperanto imported once, and never after tensorflow on PoCL."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from arrayport import MemoryType
from arrayport.backends import _cle_load, _pocl
from arrayport.backends._util import find_spec
from tests.conftest import skip_unless_installed

POCL = _pocl.pocl_icd_installed() and find_spec("pyclesperanto")


def test_the_backend_exports_the_same_functions() -> None:
    from arrayport.backends import pyclesperanto as backend

    for name in ("is_installed", "load", "EXTRA"):
        assert getattr(backend, name) is getattr(_cle_load, name), name


@skip_unless_installed(MemoryType.PYCLESPERANTO)
def test_load_imports_pyclesperanto_once_and_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    cle = _cle_load.load()
    assert cle is sys.modules["pyclesperanto"]
    assert _cle_load._module is cle
    assert _cle_load._cle() is cle
    assert _cle_load.load() is cle
    # Once pyclesperanto is in, a later tensorflow cannot make its import crash.
    monkeypatch.setitem(sys.modules, "tensorflow", sys)  # any module object stands in
    assert not _cle_load._after_tensorflow()
    assert _cle_load.is_installed()


@pytest.mark.skipif(not POCL, reason="needs pyclesperanto on PoCL")
def test_load_refuses_after_tensorflow_and_is_installed_says_no() -> None:
    # No real tensorflow: a stand-in in sys.modules is what the check reads, so nothing
    # here can crash the interpreter.
    code = """
        import sys
        sys.modules["tensorflow"] = sys
        from arrayport.backends import _cle_load
        from arrayport.errors import BackendUnavailableError
        assert _cle_load._after_tensorflow()
        assert not _cle_load.is_installed()
        try:
            _cle_load.load()
        except BackendUnavailableError as e:
            assert "before tensorflow" in str(e), e
            print("refused")
        assert "pyclesperanto" not in sys.modules
        assert _cle_load._module is None
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused" in proc.stdout
