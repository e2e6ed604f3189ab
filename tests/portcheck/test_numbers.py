"""Tests of arrayport.portcheck._numbers: which expressions are certainly Python numbers."""

from __future__ import annotations

import ast

import pytest

from arrayport.portcheck._numbers import number_kind


def _kind(expression: str, *, sized: bool = False, shadowed: str = "") -> str | None:
    node = ast.parse(expression, mode="eval").body

    def resolve(n: ast.AST) -> str | None:
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "np":
            return f"numpy.{n.attr}"
        return None

    return number_kind(node, resolve, lambda name: name != shadowed, lambda n: sized)


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("2", "int"),
        ("-3", "int"),
        ("2 * np.pi", "float"),
        ("1 / 2", "float"),
        ("2 ** 3", "number"),  # 2 ** -1 is a float: not known which
        ("1j * 2", "number"),
        ("len(x) // 2", "int"),
        ("float(n)", "float"),
        ("x.ndim - 1", "int"),
        ("x.shape[0] + 1", "int"),
    ],
)
def test_python_numbers_are_told_with_their_kind(expression: str, kind: str) -> None:
    assert _kind(expression) == kind


@pytest.mark.parametrize(
    "expression",
    ["x", "x + 1", "True", "x.shape[:2]", "x.size", "np.float32(2)", "f(2)", "len(*a)"],
)
def test_anything_that_may_be_an_array_or_other_object_is_not_a_number(expression: str) -> None:
    assert _kind(expression) is None


def test_size_counts_only_where_it_is_an_arrays_and_builtins_only_unshadowed() -> None:
    assert _kind("x.size * 2", sized=True) == "int"
    assert _kind("len(x)", shadowed="len") is None
