"""What a type checker sees of arrayport's public API: user modules checked by mypy.

The snippets below are written as users write them (README, docs/concepts.md,
docs/testing.md). Each is a file of one mypy run (``--strict``, the project's own
configuration) against the arrayport that this test imports; a line may end with
``# reveal: TEXT`` (mypy's revealed type contains TEXT; ``Any`` must be exactly ``Any``) or
``# error: CODE`` (mypy reports that error code there). Every other line must pass. The
run is shared by the tests (one mypy process, a few seconds); without mypy they are skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import arrayport

pytest.importorskip("mypy", reason="the typing tests run mypy")

_ROOT = Path(__file__).resolve().parents[1]

SNIPPETS = {
    # memory_type's return type follows `output` (and .options(output=...) too).
    "u_output": """
        from typing import Any
        import numpy as np
        import numpy.typing as npt
        import arrayport as ap

        F32 = npt.NDArray[np.float32]

        @ap.memory_type("numpy", output="declared")
        def declared(x: F32, k: float = 2.0) -> F32:
            return x

        @ap.memory_type("numpy")
        def to_input(x: Any) -> F32:
            return np.asarray(x, np.float32)

        @ap.memory_type("numpy", output="torch")
        def to_torch(x: F32) -> F32:
            return x

        @ap.memory_type(ap.MemoryType.NUMPY, output=ap.MemoryType.TORCH, device=0)
        def to_torch_enum(x: F32) -> F32:
            return x

        x = np.ones(3, np.float32)
        reveal_type(declared(x))  # reveal: numpy.ndarray[
        reveal_type(declared(x, k=3.0))  # reveal: numpy.ndarray[
        reveal_type(to_input(x))  # reveal: Any
        reveal_type(to_torch(x))  # reveal: Any
        reveal_type(to_torch_enum(x))  # reveal: Any
        declared(x, k="3")  # error: arg-type
        reveal_type(declared.options(device="cpu")(x))  # reveal: numpy.ndarray[
        reveal_type(declared.options(output="input")(x))  # reveal: Any
        reveal_type(declared.options(output=ap.MemoryType.TORCH)(x))  # reveal: Any
        reveal_type(declared.options(output="declared")(x))  # reveal: numpy.ndarray[
        reveal_type(declared.__name__)  # reveal: "str"
        reveal_type(declared.__wrapped__)  # reveal: def (x: numpy.ndarray[
    """,
    # Methods, staticmethods and classmethods keep the return type.
    "u_methods": """
        import numpy as np
        import numpy.typing as npt
        import arrayport as ap

        F32 = npt.NDArray[np.float32]

        class Filters:
            @ap.memory_type("numpy", output="declared")
            def apply(self, image: F32) -> F32:
                return image

            @ap.memory_type("numpy", output="declared")
            @staticmethod
            def static(image: F32) -> F32:
                return image

            @staticmethod
            @ap.memory_type("numpy", output="declared")
            def static_below(image: F32) -> F32:
                return image

            @ap.memory_type("numpy", output="declared")
            @classmethod
            def make(cls, image: F32) -> F32:
                return image

            @ap.memory_type("numpy")
            def to_input(self, image: F32) -> F32:
                return image

        f = Filters()
        x = np.ones(3, np.float32)
        reveal_type(f.apply(x))  # reveal: numpy.ndarray[
        reveal_type(f.apply)  # reveal: arrayport._dispatch_bound.BoundDispatched[numpy.ndarray[
        reveal_type(Filters.apply(f, x))  # reveal: numpy.ndarray[
        reveal_type(Filters.static(x))  # reveal: numpy.ndarray[
        reveal_type(f.static(x))  # reveal: numpy.ndarray[
        reveal_type(Filters.static_below(x))  # reveal: numpy.ndarray[
        reveal_type(Filters.make(x))  # reveal: numpy.ndarray[
        reveal_type(f.make(x))  # reveal: numpy.ndarray[
        reveal_type(f.apply.options(device="cpu")(x))  # reveal: numpy.ndarray[
        reveal_type(f.apply.options(output="input")(x))  # reveal: Any
        reveal_type(f.to_input(x))  # reveal: Any
    """,
    # The testing package: no name exists just because a module __getattr__ does.
    "u_testing": """
        from arrayport.testing import asert_equivalent  # error: attr-defined
        from arrayport.testing import LAYOUTS, arrays, assert_equivalent, shapes_for

        reveal_type(arrays)  # reveal: def (memory_type:
        reveal_type(assert_equivalent)  # reveal: def (
        reveal_type(shapes_for)  # reveal: def (
        reveal_type(LAYOUTS)  # reveal: tuple[
    """,
    # arrays() takes what its docstring and docs/testing.md document.
    "u_arrays": """
        import hypothesis.strategies as st
        import numpy as np
        from arrayport.testing import LAYOUTS, arrays

        arrays("numpy", shape=(np.int64(3), 4))
        arrays("numpy", shape=np.int64(3))
        arrays("numpy", shape=st.integers(1, 3))
        arrays("numpy", shape=st.tuples(st.integers(1, 3), st.just(np.int64(2))))
        arrays("numpy", layout=st.sampled_from(LAYOUTS))
        arrays("numpy", layout=st.sets(st.sampled_from(LAYOUTS)))
        arrays("numpy", layout=st.lists(st.sampled_from(LAYOUTS), max_size=2))
        arrays("numpy", layout=st.just("bigendian"))
        arrays("numpy", layout=("strided", "offset"))
        arrays("numpy", shape=2.5)  # error: arg-type
    """,
    # Integer options take numpy integers; the OOM policy checks fn's arguments; errors'
    # attributes are typed.
    "u_misc": """
        from pathlib import Path
        import numpy as np
        import numpy.typing as npt
        import arrayport as ap
        from arrayport.portcheck import check_paths

        def scale(x: npt.NDArray[np.float64], k: float) -> npt.NDArray[np.float64]:
            return x * k

        x = np.ones((2, 3, 3))
        policy = ap.OOMPolicy(retries=1)
        reveal_type(policy.run(scale, x, 2.0))  # reveal: numpy.ndarray[
        policy.run(scale, x)  # error: call-arg
        policy.run(scale, x, k="2")  # error: arg-type
        ap.process_slices(x, scale, 2.0)
        ap.process_slices(x, scale, "2")  # error: arg-type
        ap.process_slices(x, np.flipud)
        ap.process_slices(x, lambda s, k: s * k, 3)
        with ap.use_device(np.int64(0)) as index:
            reveal_type(index)  # reveal: "int"
        ap.convert(x, "numpy", device=np.int64(0))
        ap.plan(x, "numpy", device=np.int64(0))
        ap.memory_type("numpy", device=np.int64(0))
        error = ap.ConversionError("no")
        reveal_type(error.source)  # reveal: arrayport.memory_types.MemoryType | str | None
        reveal_type(error.target)  # reveal: arrayport.memory_types.MemoryType | str | None
        reveal_type(ap.OutOfMemoryError("no").device)  # reveal: arrayport.devices.Device | None
        check_paths("script.py")
        check_paths(Path("script.py"))
        check_paths(["a.py", Path("b")])
    """,
}

#: ``(file, line)``: mypy's errors (``error: CODE``) and revealed types (``reveal: TYPE``).
Found = dict[tuple[str, int], list[str]]

_LINE = re.compile(r"^(?P<file>[\w.]+):(?P<line>\d+): (?P<kind>error|note): (?P<text>.*)$")
_CODE = re.compile(r"\[(?P<code>[\w-]+)\]$")


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> Found:
    """What one mypy run over every snippet reports, line by line."""
    folder = tmp_path_factory.mktemp("typing")
    for name, source in SNIPPETS.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    # The arrayport imported here (PYTHONPATH too), not only the installed one: mypy reads
    # MYPYPATH before site-packages (which it refuses there).
    env = dict(os.environ)
    package_root = Path(arrayport.__file__).resolve().parents[1]
    if package_root.name not in ("site-packages", "dist-packages"):
        env["MYPYPATH"] = str(package_root)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(_ROOT / "pyproject.toml"),
            # This Python's: numpy's stubs may not serve the oldest one (pyproject's).
            "--python-version",
            f"{sys.version_info[0]}.{sys.version_info[1]}",
            "--cache-dir",
            str(folder / ".mypy_cache"),
            "--follow-imports",
            "silent",
            "--no-pretty",
            "--no-error-summary",
            *(f"{name}.py" for name in SNIPPETS),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=folder,
        env=env,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2: mypy itself failed
    found: Found = {}
    for line in done.stdout.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        place = (match["file"].removesuffix(".py"), int(match["line"]))
        text = match["text"]
        if match["kind"] == "error":
            code = _CODE.search(text)
            found.setdefault(place, []).append(f"error: {code['code'] if code else text}")
        elif text.startswith("Revealed type is "):
            found.setdefault(place, []).append(f"reveal: {text[len('Revealed type is ') :]}")
    return found


def _expected(name: str) -> dict[int, str]:
    """Line number: what the snippet's line says mypy reports there."""
    lines = textwrap.dedent(SNIPPETS[name]).splitlines()
    marks = {}
    for number, line in enumerate(lines, start=1):
        if "# reveal: " in line:
            marks[number] = "reveal: " + line.split("# reveal: ", 1)[1]
        elif "# error: " in line:
            marks[number] = "error: " + line.split("# error: ", 1)[1]
    return marks


def _check(name: str, found: Found) -> None:
    expected = _expected(name)
    lines = textwrap.dedent(SNIPPETS[name]).splitlines()
    problems = []
    for number, line in enumerate(lines, start=1):
        got = found.get((name, number), [])
        want = expected.get(number)
        if want is None:
            ok = not got
        elif want == "reveal: Any":
            ok = got == ['reveal: "Any"']
        elif want.startswith("reveal: "):
            ok = len(got) == 1 and got[0].startswith("reveal: ") and want[8:] in got[0]
        else:
            ok = want in got
        if not ok:
            problems.append(f"{name}.py:{number}: {line.strip()}\n    wanted {want}, got {got}")
    assert not problems, "\n".join(problems)


def test_the_decorator_s_return_type_follows_output(mypy_output: Found) -> None:
    _check("u_output", mypy_output)


def test_methods_staticmethods_and_classmethods_keep_their_return_type(mypy_output: Found) -> None:
    _check("u_methods", mypy_output)


def test_arrayport_testing_has_no_names_it_does_not_define(mypy_output: Found) -> None:
    _check("u_testing", mypy_output)


def test_arrays_takes_numpy_integer_sizes_and_layout_strategies(mypy_output: Found) -> None:
    pytest.importorskip("hypothesis")  # else its strategies are Any: anything passes
    _check("u_arrays", mypy_output)


def test_policies_integer_options_and_error_attributes_are_typed(mypy_output: Found) -> None:
    _check("u_misc", mypy_output)


def test_the_marks_are_read_from_the_snippets() -> None:
    # Guards _expected: a mark it missed would leave its line checked for silence only.
    assert _expected("u_testing") == {
        2: "error: attr-defined",
        5: "reveal: def (memory_type:",
        6: "reveal: def (",
        7: "reveal: def (",
        8: "reveal: tuple[",
    }
