"""Tests of arrayport.portcheck._annotations: what an annotation says a name holds, and
which annotations port-check reports."""

from __future__ import annotations

import ast
import textwrap

from arrayport.portcheck import check_source
from arrayport.portcheck._annotations import annotation_kind, lazy_annotations

_NUMPY = {"np.ndarray": "numpy.ndarray", "npt.NDArray": "numpy.typing.NDArray"}


def kind(annotation: str) -> str | None:
    node = ast.parse(annotation, mode="eval").body
    return annotation_kind(node, lambda n: _NUMPY.get(ast.unparse(n)), {"Model"})


def test_optional_union_and_string_forms_of_an_ndarray_are_arrays() -> None:
    # np.ndarray | None, Optional[np.ndarray] and "np.ndarray" were not taken as arrays:
    # x.copy() on such a parameter went unreported.
    for annotation in (
        "np.ndarray",
        "npt.NDArray[np.float64]",
        "np.ndarray | None",
        "None | np.ndarray",
        "Optional[np.ndarray]",
        "typing.Optional[npt.NDArray[np.int_]]",
        "Union[np.ndarray, None]",
        "'np.ndarray'",
        "'np.ndarray | None'",
        "Optional['np.ndarray']",
    ):
        assert kind(annotation) == "array", annotation
    assert kind("Model | None") == "object"
    for annotation in (
        "np.ndarray | list",  # maybe not an array
        "Union[np.ndarray, Model]",
        "list[np.ndarray]",
        "'np.ndarray('",  # not an expression
        "\"'np.ndarray'\"",  # a string in a string: not read
        "None",
        "int",
    ):
        assert kind(annotation) is None, annotation


def test_parameters_annotated_with_any_form_of_ndarray_are_arrays() -> None:
    source = """
        from typing import Optional, Union
        import numpy as np
        import numpy.typing as npt
        def a(x: np.ndarray):
            return x.copy()
        def b(x: npt.NDArray[np.float64]):
            return x.copy()
        def c(x: "np.ndarray"):
            return x.copy()
        def d(x: Optional[np.ndarray]):
            return x.copy()
        def e(x: np.ndarray | None = None):
            return x.copy()
        def f(x: Union[np.ndarray, None]):
            return x.copy()
        def g(x: list):
            return x.copy()
        """
    found = check_source(textwrap.dedent(source))
    assert [f.line for f in found if f.name == ".copy"] == [6, 8, 10, 12, 14, 16]


def test_annotations_are_reported_only_where_python_evaluates_them() -> None:
    # Under from __future__ import annotations no annotation runs, and a local variable's
    # never does (PEP 526): x: np.ndarray there was reported, with the isinstance hint.
    body = """
        import numpy as np
        import numpy.typing as npt
        def f(x: npt.NDArray[np.float64], y: np.ndarray | None = None) -> np.dtype:
            z: np.ndarray = x
            w: "np.ndarray" = y
            return x.copy()
        limit: np.floating = 1.0
        """
    lazy = "from __future__ import annotations\n" + textwrap.dedent(body)
    assert [(f.line, f.name) for f in check_source(lazy)] == [(8, ".copy")]
    found = check_source(textwrap.dedent(body))
    assert [(f.line, f.name) for f in found] == [
        (4, "numpy.dtype"),
        (4, "numpy.ndarray"),
        (4, "numpy.typing.NDArray"),
        (7, ".copy"),
        (8, "numpy.floating"),  # a module-level variable's annotation runs
    ]
    for finding in found:
        if finding.name != ".copy":
            assert finding.message.endswith(
                "(in an annotation, evaluated when the def or the module runs)"
            )
            assert (finding.replacement or "").startswith("a type of your own (typing.Any")
    # The same names outside annotations keep their own hints.
    isinstance_check = check_source("import numpy as np\nok = isinstance(v, np.ndarray)\n")
    assert "isinstance" in (isinstance_check[0].replacement or "")


def test_lazy_annotations_is_the_future_import_at_the_top_of_the_module() -> None:
    assert lazy_annotations(ast.parse('"""doc"""\nfrom __future__ import annotations\n'))
    assert lazy_annotations(ast.parse("from __future__ import division, annotations\n"))
    assert not lazy_annotations(ast.parse("from __future__ import division\n"))
    assert not lazy_annotations(ast.parse("import annotations\n"))
    assert not lazy_annotations(ast.parse("x", mode="eval"))
