"""The examples in arrayport's docstrings run as shown (the API reference renders them).

One test per module that has examples, each run with doctest in that module's namespace,
as ``pytest --doctest-modules`` would, so that the examples cannot go stale unnoticed.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import arrayport

#: ``__main__`` runs the command when imported.
_SKIPPED = {"arrayport.__main__"}


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(arrayport.__path__, "arrayport."):
        if info.name in _SKIPPED or (info.ispkg and info.name.endswith("__main__")):
            continue
        spec = importlib.util.find_spec(info.name)
        origin = getattr(spec, "origin", None)
        if origin and origin.endswith(".py"):
            with open(origin, encoding="utf-8") as source:
                if ">>> " in source.read():
                    names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_the_examples_are_found() -> None:
    # Guards the discovery itself: the public modules with examples are among them.
    assert {"arrayport.convert", "arrayport.dispatch", "arrayport.oom"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_shown(name: str) -> None:
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder().find(module, name, globs=vars(module).copy())
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for test in tests:
        examples += len(test.examples)
        runner.run(test)
    assert examples > 0
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
