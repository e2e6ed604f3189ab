"""Every program in examples/ runs to completion (each asserts its own results), and the
output the docs show for an example is what it prints."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from arrayport import available_memory_types

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_the_documented_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"quickstart.py", "porting_before_after.py"} <= names


#: Examples that need a framework beyond the test extra (skipped without it).
REQUIRES = {"dask_out_of_core.py": ("dask", "distributed")}


@functools.cache
def _run(path: Path) -> subprocess.CompletedProcess[str]:
    """The example run once per test session (the doc checks below reuse its output)."""
    is_test = path.name.startswith("test_")
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(path)]
    return subprocess.run(
        command if is_test else [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=path.parent,
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path: Path) -> None:
    missing = [m for m in REQUIRES.get(path.name, ()) if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{path.name} needs {', '.join(missing)}")
    # Example test files (test_*.py) show users' own tests: they run under pytest.
    is_test = path.name.startswith("test_")
    done = _run(path)
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{path.name} printed nothing"
    if is_test:
        assert " passed" in done.stdout, done.stdout
        assert " failed" not in done.stdout, done.stdout
    if path.name == "test_my_function.py" and "ARRAYPORT_MEMORY_TYPES" not in os.environ:
        # Memory types without a namespace are skipped, said so (the test returned, and
        # passed, for them; dask, which has one, was not run at all).
        installed = {mt.value for mt in available_memory_types()}
        for name in ("tensorflow", "pyclesperanto"):
            if name in installed:
                assert f"{name} has no array API namespace" in done.stdout, done.stdout
        if "dask" in installed:
            assert "dask has no" not in done.stdout


def _shown_output(doc: Path, example: str) -> list[str]:
    """The lines of the ```text block that follows the literalinclude of ``example``."""
    text = doc.read_text()
    include = text.index(f"```{{literalinclude}} ../examples/{example}")
    block = re.compile(r"^```text\n(.*?)^```", re.MULTILINE | re.DOTALL).search(text, include)
    assert block is not None, f"{doc.name} shows no output for {example}"
    return block.group(1).splitlines()


#: Memory types the examples print a line for, when installed (and skip when not).
_OPTIONAL = ("torch", "jax")


@pytest.mark.parametrize(
    ("doc", "example"),
    [("quickstart.md", "quickstart.py"), ("porting.md", "porting_before_after.py")],
)
def test_the_docs_show_what_the_example_prints(doc: str, example: str) -> None:
    # The docs showed output nobody checked: a changed example or port-check message (or
    # moved line numbers in porting_before_after.py) left them stale.
    shown = _shown_output(ROOT / "docs" / doc, example)
    done = _run(ROOT / "examples" / example)
    assert done.returncode == 0, done.stderr
    installed = {mt.value for mt in available_memory_types()}
    missing = [t for t in _OPTIONAL if t not in installed]

    def about_missing(line: str) -> bool:  # a line only printed when that type is installed
        return any(re.search(rf"\b{t}\b", line) for t in missing)

    def same_in_any_version(line: str) -> str:  # jax's array class moves between modules
        return re.sub(r"jaxlib\.[\w.]+\.ArrayImpl", "jaxlib.ArrayImpl", line)

    printed = [
        same_in_any_version(line)
        for line in done.stdout.splitlines()
        if "not installed, skipped" not in line
    ]
    assert printed == [same_in_any_version(line) for line in shown if not about_missing(line)]


@pytest.mark.parametrize("value", ["abc", "-256", "1.5", "64", "128", "255"])
def test_the_out_of_core_example_refuses_a_bad_worker_limit(value: str) -> None:
    # "abc" gave a ValueError traceback, "-256" a "Nanny failed to start" from distributed.
    env = {**os.environ, "ARRAYPORT_EXAMPLE_WORKER_MIB": value}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_out_of_core.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"ARRAYPORT_EXAMPLE_WORKER_MIB={value!r}: give each worker's memory limit" in done.stderr


def test_the_out_of_core_example_s_smallest_worker_limit_is_one_it_can_run_with() -> None:
    # 128 MiB was accepted, but workers holding their usual 80-100 MiB at start are above
    # CROWDED of it, so run() refused every time (with a RuntimeError traceback).
    path = ROOT / "examples" / "dask_out_of_core.py"
    spec = importlib.util.spec_from_file_location("arrayport_example_out_of_core", path)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.SMALLEST_MIB * example.CROWDED >= 100  # the most a worker holds at start

    class Crowded:  # a client whose two workers hold 85 and 300 MiB
        def scheduler_info(self) -> dict[str, object]:
            return {"workers": {"tcp://a": {}, "tcp://b": {}}}

        def run(self, function: object) -> dict[str, int]:
            return {"tcp://a": 85 * example.MIB, "tcp://b": 300 * example.MIB}

    with pytest.raises(SystemExit) as info:
        example.run(Crowded(), 256 * example.MIB)
    assert info.value.code == (
        "the workers already use 300 MiB of their 256 MiB before any block arrives (imports "
        "at start-up): run with ARRAYPORT_EXAMPLE_WORKER_MIB=1024 (or more)"
    )


def _block_after(text: str, marker: str, kind: str) -> str:
    """The ```kind block that holds ``marker``, or else the first one after it."""
    at = text.index(marker)
    opening = text.rfind(f"```{kind}\n", 0, at)
    start = opening if opening >= 0 and "```" not in text[opening + 3 : at] else at
    block = re.compile(rf"^```{kind}\n(.*?)^```", re.MULTILINE | re.DOTALL).search(text, start)
    assert block is not None, f"no {kind} block after {marker!r}"
    return block.group(1)


def _needs(*names: str) -> None:
    installed = {mt.value for mt in available_memory_types()}
    missing = [n for n in names if n not in installed and importlib.util.find_spec(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


@pytest.mark.parametrize(
    ("doc", "function"), [("porting.md", "def weighted("), ("testing.md", "def column_total(")]
)
def test_the_docs_array_api_strict_examples_fail_as_shown(doc: str, function: str) -> None:
    # The guides only told users to decorate the function with ap.memory_type("numpy")
    # before assert_equivalent, which checks conversions, not ported code: their examples of
    # memory_types=[..., "array_api_strict"] must pass on the frameworks and fail as shown.
    _needs("torch", "jax", "dask", "array_api_strict")
    text = (ROOT / "docs" / doc).read_text()
    code = _block_after(text, function, "python")
    assert 'memory_types=["numpy", "array_api_strict"]' in code
    shown = _block_after(text, function, "text").strip()
    with pytest.raises(AssertionError) as info:
        exec(compile(code, doc, "exec"), {"__name__": "docs_example"})  # noqa: S102
    assert f"AssertionError: {info.value}" == shown


def test_the_quickstart_shows_the_device_error_of_a_machine_without_a_gpu() -> None:
    _needs("torch")
    import numpy as np
    import torch

    if torch.cuda.is_available():
        pytest.skip("torch sees a CUDA device here")
    import arrayport as ap

    text = (ROOT / "docs" / "quickstart.md").read_text()
    code = _block_after(text, "## Run it on a GPU", "python")
    assert '@ap.memory_type("torch", device="cuda")' in code
    names: dict[str, object] = {"ap": ap}
    exec(compile(code, "quickstart.md", "exec"), names)  # noqa: S102
    image = np.asarray([[0.0, 2.0], [4.0, 8.0]], dtype=np.float32)
    with pytest.raises(ap.DeviceError) as info:
        names["normalize"](image)  # type: ignore[operator]
    shown = _block_after(text, "## Run it on a GPU", "text").strip()
    assert shown == f"arrayport.errors.DeviceError: {info.value}"


def _load_test_my_function() -> object:
    path = ROOT / "examples" / "test_my_function.py"
    spec = importlib.util.spec_from_file_location("arrayport_example_test_my_function", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_tests_that_the_function_is_ported_not_only_conversions() -> None:
    # test_my_function.py only tested rescale decorated with ap.memory_type("numpy"): every
    # run computes in NumPy, so code never ported passed on every framework too.
    _needs("torch", "jax", "dask", "array_api_strict")
    pytest.importorskip("hypothesis")
    import numpy as np

    import arrayport as ap
    from arrayport.testing import assert_equivalent

    example = _load_test_my_function()
    portable = example.PORTABLE  # type: ignore[attr-defined]
    assert portable == ["numpy", "torch", "jax", "dask", "array_api_strict"]

    def not_ported(image: np.ndarray) -> np.ndarray:  # NumPy calls only (audit a21, t4.py)
        padded = np.pad(image, 1, mode="reflect").astype(np.float32)
        return padded.flatten()[: image.size].reshape(image.shape)

    image = np.linspace(0, 100, 24, dtype=np.float32).reshape(4, 6)
    # Decorated, it passes everywhere: the check the docs now say tests conversions only.
    assert "torch" in assert_equivalent(ap.memory_type("numpy")(not_ported), image)
    with pytest.raises(AssertionError, match=r"not_ported\(float32\[4, 6\]\) on torch"):
        assert_equivalent(not_ported, image, memory_types=portable)
    example.test_rescale_is_ported()  # type: ignore[attr-defined]


def test_the_testing_extra_installs_what_the_testing_example_needs() -> None:
    # The testing kit had no extra: [cpu] lacks pytest and hypothesis, and [test] pulls in
    # ruff and mypy. The docs' install line is pip install ".[testing]".
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    testing = {re.split(r"[<>=;\[ ]", r, maxsplit=1)[0] for r in extras["testing"]}
    assert testing == {"pytest", "hypothesis", "array-api-strict"}
    floors = {r for r in extras["test"] if re.split(r"[<>=]", r, maxsplit=1)[0] in testing}
    assert floors == set(extras["testing"])  # the test extra's minimums
    source = (ROOT / "examples" / "test_my_function.py").read_text()
    imported = set(re.findall(r"^(?:from|import) (\w+)", source, flags=re.MULTILINE))
    assert imported - {"numpy", "arrayport"} == {"pytest", "hypothesis"}
    assert '"array_api_strict"' in source
    assert 'pip install ".[testing]"' in (ROOT / "docs" / "testing.md").read_text()


# --- from an audit of the docs as a new user reads them (a22, 2026-11-29) ---


def test_the_guides_say_array_api_strict_runs_only_when_named() -> None:
    # testing.md's opening and the README said assert_equivalent runs on array-api-strict
    # by default; it runs there only when "array_api_strict" is in memory_types.
    import numpy as np

    from arrayport.testing import assert_equivalent

    ran = assert_equivalent(lambda x: x * 2, np.ones((2, 2), np.float32))
    assert "array_api_strict" not in ran
    intro = " ".join((ROOT / "docs" / "testing.md").read_text().split("\n\n")[1].split())
    assert "(and on array-api-strict" not in intro
    assert 'name `"array_api_strict"` in `memory_types` to also run it on array-api-strict' in intro
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "every installed framework (and, when asked, on array-api-strict)" in readme


def test_the_example_says_what_happens_to_rescale_on_dask_without_whole_array() -> None:
    # The comment said that without whole_array=True the dask run "reports each block
    # rescaled alone": with no block rule, dask is skipped (named: BlockRuleError); only
    # blockwise=True runs it block by block.
    _needs("dask")
    import numpy as np

    import arrayport as ap
    from arrayport.testing import assert_equivalent

    comment = " ".join(
        line.removeprefix("#").strip()
        for line in (ROOT / "examples" / "test_my_function.py").read_text().splitlines()
        if line.startswith("#")
    )
    assert "assert_equivalent skips dask (named in memory_types, it fails with BlockRuleError)" in (
        comment
    )
    assert "with blockwise=True instead, its dask run (two blocks per axis) would report" in comment
    body = _load_test_my_function().rescale.__wrapped__  # type: ignore[attr-defined]
    image = np.linspace(0, 100, 24, dtype=np.float32).reshape(4, 6)
    bare = ap.memory_type("numpy")(body)
    assert "dask" not in assert_equivalent(bare, image, high=255.0)
    with pytest.raises(AssertionError, match=r"on dask: raised BlockRuleError: "):
        assert_equivalent(bare, image, high=255.0, memory_types=["numpy", "dask"])
    blockwise = ap.memory_type("numpy", blockwise=True)(body)
    with pytest.raises(AssertionError, match=r"on dask: the result differs from numpy's"):
        assert_equivalent(blockwise, image, high=255.0, memory_types=["numpy", "dask"])


def test_the_testing_guide_shows_the_check_inputs_unchanged_failure_users_get() -> None:
    # It showed "f(float32[3, 4]) on torch: fn wrote into ...": numpy's reference runs
    # first and is the run named.
    _needs("torch")
    text = (ROOT / "docs" / "testing.md").read_text()
    code = _block_after(text, "    x[0, 0] = 0\n", "python")
    assert "check_inputs_unchanged=True" in code
    shown = _block_after(text, "    x[0, 0] = 0\n", "text").strip()
    with pytest.raises(AssertionError) as info:
        exec(compile(code, "testing.md", "exec"), {"__name__": "docs_example"})  # noqa: S102
    assert f"AssertionError: {info.value}" == shown


def test_the_porting_guide_s_assert_equivalent_snippet_passes_after_the_example() -> None:
    # It passed the example's float64 image, which jax without 64-bit mode refuses.
    _needs("torch", "jax", "dask", "array_api_strict")
    import runpy

    text = (ROOT / "docs" / "porting.md").read_text()
    code = _block_after(text, "assert_equivalent(after, image", "python")
    from arrayport.testing import assert_equivalent

    names = runpy.run_path(str(ROOT / "examples" / "porting_before_after.py"))
    assert str(names["image"].dtype) == "float64"
    names["assert_equivalent"] = assert_equivalent
    exec(compile(code, "porting.md", "exec"), names)  # noqa: S102  # raises if it fails


def test_the_testing_guide_s_dask_block_examples_are_the_blocks_chosen() -> None:
    # The paragraph on dask's blocks was one sentence nobody could follow; its examples
    # must still be what block_chunks chooses.
    from arrayport.testing._splits import block_chunks

    text = " ".join((ROOT / "docs" / "testing.md").read_text().split())
    start = text.index("On dask, the largest array (the first of the most dimensions)")
    paragraph = text[start : text.index("With no axis left, dask runs on one block.", start)]
    assert "a `(4,)` bias beside a `(4, 4)` image keeps the last axis whole" in paragraph
    assert block_chunks((4, 4), [(4,)]) == ((2, 2), (4,))
    assert "the last axis it does not fit" in paragraph
    assert "a `(3, 3)` kernel beside a `(6, 6)` image" in paragraph
    assert block_chunks((6, 6), [(3, 3)]) == ((3, 3), (6,))
    assert "can ever have its extent (a `(256,)` lookup table beside a `(4, 5)` image)" in (
        paragraph
    )
    assert block_chunks((4, 5), [(256,)]) == ((2, 2), (3, 2))
    assert block_chunks((1, 1), []) == ((1,), (1,))  # no axis left: one block
