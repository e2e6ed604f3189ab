"""Tests of arrayport._dispatch_decorator: the memory_type decorator itself.

What a call of the decorated function does is tested in test_dispatch.py, the options'
validation in test_contract.py, and what a type checker sees (the overloads run through
mypy) in test_typing.py.
"""

from __future__ import annotations

import sys
import typing
from typing import Any

import pytest

import arrayport as ap
import arrayport.dispatch
from arrayport import _dispatch_decorator


def double(x: Any) -> Any:
    return x * 2


def test_the_decorator_is_public_where_it_was() -> None:
    # Moved out of arrayport.dispatch (at 400 lines) with its overloads; its public names
    # (DESIGN.md, ADR 0042) stay.
    assert arrayport.dispatch.memory_type is _dispatch_decorator.memory_type
    assert ap.memory_type is _dispatch_decorator.memory_type
    assert "memory_type" in arrayport.dispatch.__all__
    made = ap.memory_type("numpy", output="declared")(double)
    assert type(made) is arrayport.dispatch.DispatchedFunction
    assert made.contract.output == "declared"


def test_bare_decorator_is_an_error_naming_the_fix() -> None:
    with pytest.raises(ap.InvalidOptionError, match=r"memory_type\('torch'\)"):
        ap.memory_type(double)  # type: ignore[arg-type]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.get_overloads is 3.11+")
def test_the_overloads_split_on_output() -> None:
    # output="declared" keeps the function's return type; anything else (the caller's
    # memory type by default, or a named one) is Any: the result is not what fn returned.
    overloads = typing.get_overloads(_dispatch_decorator.memory_type)
    read = [(o.__annotations__["output"], o.__annotations__["return"]) for o in overloads]
    assert read == [
        ("Literal['declared']", "Callable[[Callable[P, R]], DispatchedFunction[P, R]]"),
        (
            "Literal['input'] | MemoryType | str",
            "Callable[[Callable[P, R]], DispatchedFunction[P, Any]]",
        ),
    ]


def test_the_decorator_s_type_hints_resolve_at_run_time() -> None:
    # DispatchedFunction is imported into _dispatch_decorator for type checkers only:
    # typing.get_type_hints(ap.memory_type) raised NameError for tools that read them.
    import typing

    from arrayport.dispatch import DispatchedFunction

    returned = typing.get_type_hints(ap.memory_type)["return"]  # Callable[[fn], Dispatched]
    assert typing.get_origin(typing.get_args(returned)[1]) is DispatchedFunction


def test_the_type_hints_of_classes_shown_as_public_modules_resolve() -> None:
    # FunctionContract says it is arrayport.dispatch's and Route arrayport.convert's (ADR
    # 0042): their annotations are read there, where Device and OOMPolicy were not
    # imported (NameError from typing.get_type_hints, cattrs and the like).
    import typing

    from arrayport.devices import Device
    from arrayport.oom import OOMPolicy

    contract = typing.get_type_hints(ap.FunctionContract)
    assert contract["oom"] is OOMPolicy
    assert Device in typing.get_args(contract["device"])
    assert typing.get_type_hints(ap.Route)["device"] is Device
