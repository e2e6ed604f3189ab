"""Tests of the public port-check entry points: files, directories, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrayport.errors import ArrayportError
from arrayport.portcheck import check_paths, check_source, iter_python_files


def test_directories_are_searched_for_python_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("import numpy as np\nnp.amax(x)\n")
    (tmp_path / "pkg" / "notes.txt").write_text("np.amax(x)\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "b.py").write_text("import numpy as np\nnp.amax(x)\n")
    found = check_paths([tmp_path])
    assert [(Path(f.path).name, f.line) for f in found] == [("a.py", 2)]
    assert list(iter_python_files([tmp_path / "pkg" / "notes.txt"])) == [
        tmp_path / "pkg" / "notes.txt"
    ]


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(ArrayportError, match="no such file or directory"):
        check_paths([tmp_path / "nope.py"])


def test_syntax_error_names_the_file() -> None:
    with pytest.raises(ArrayportError, match=r"cannot parse bad\.py"):
        check_source("def (:\n", "bad.py")


def test_source_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "m.py").write_text(f"open({str(marker)!r}, 'w')\nimport numpy as np\nnp.amax(1)\n")
    assert len(check_paths([tmp_path / "m.py"])) == 1
    assert not marker.exists()


def test_finding_as_dict_has_the_json_keys() -> None:
    (finding,) = check_source("import numpy as np\nnp.amax(x)\n", "f.py")
    assert finding.as_dict() == {
        "path": "f.py",
        "line": 2,
        "name": "numpy.amax",
        "message": finding.message,
        "replacement": "xp.max",
    }
