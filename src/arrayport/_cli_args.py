"""How the ``arrayport`` command reads its arguments where argparse alone would mislead.

argparse names an option given before the command (``arrayport --json``) as missing
``COMMAND`` or as an unknown argument of the top-level parser, with nothing that says
where the option belongs; the functions here say it. :func:`usage_error_json` gives what
standard output gets on a usage error with ``--json`` (:class:`arrayport._cli_output.Parser`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

__all__ = ["commands", "refuse_extra", "size_arg", "unknown_options_first", "usage_error_json"]


def usage_error_json(given: Sequence[str]) -> Callable[[str], object] | None:
    """What standard output gets on a usage error: nothing without ``--json``; with it,
    ``[]`` for port-check (its output is a list), else ``{"error": message}``."""
    if "--json" not in given:
        return None
    if next((w for w in given if w in ("doctor", "bench", "port-check")), None) == "port-check":
        return lambda message: []
    return lambda message: {"error": message}


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """``parser``'s commands (its subparsers), by name, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for action in parser._actions for o in action.option_strings}


def _takes_value(parser: argparse.ArgumentParser, option: str) -> bool:
    return any(option in a.option_strings and a.nargs != 0 for a in parser._actions)


def _value_before_command(
    parser: argparse.ArgumentParser, found: dict[str, argparse.ArgumentParser], given: list[str]
) -> None:
    """The usage error for a command's option that takes a value given before the command
    (``arrayport --size 1 bench``), where argparse would read the value as the command
    ("invalid choice: '1'"): it is said to go after the command."""
    at = next(i for i, word in enumerate(given) if word in found)
    before, command = given[:at], given[at]
    for i, word in enumerate(before[:-1]):  # the value follows it, before the command
        owners = [name for name, sub in found.items() if _takes_value(sub, word)]
        if not owners:
            continue
        if command in owners:  # its usage line, as for `arrayport --json bench`
            refuse_extra(parser, command, before)
        names = ", ".join(found)
        parser.error(
            f"unrecognized arguments: {' '.join(before)} ({word} goes after a COMMAND "
            f"({names}), as in `arrayport {owners[0]} {word} {before[i + 1]}`)"
        )


def unknown_options_first(parser: argparse.ArgumentParser, given: list[str]) -> list[str]:
    """``given``; unknown options without a command (``arrayport --verison``, ``--device
    cuda``) are named, where argparse would say COMMAND is missing, and a command's own
    option given without any command (``arrayport --json``), or one that takes a value
    given before the command (``arrayport --size 1 bench``), is said to go after one. A
    mistyped command first (``arrayport doctr --json``) is argparse's to name."""
    first_is_option = bool(given) and given[0].startswith("-")
    found = commands(parser)
    if not first_is_option:
        return given
    if any(word in found for word in given):
        _value_before_command(parser, found, given)
        return given
    known = {"-h", "--help", "--version"}
    unknown = [word for word in given if word.startswith("-") and word not in known]
    if unknown:
        options = {name: _options(command) for name, command in found.items()}
        theirs = [w for w in unknown if any(w in known for known in options.values())]
        hint = ""
        if theirs:
            example = next(name for name, known in options.items() if theirs[0] in known)
            names = ", ".join(found)
            hint = (
                f" ({', '.join(theirs)} goes after a COMMAND ({names}), as in "
                f"`arrayport {example} {theirs[0]}`)"
            )
        parser.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return given


def refuse_extra(parser: argparse.ArgumentParser, command: str, extra: list[str]) -> NoReturn:
    """The usage error for arguments ``extra`` that ``command`` does not take, named
    against that command with its own usage line; one of its options given before it
    (``arrayport --json doctor``, ``--size=1 bench``) is said to go after it."""
    sub = commands(parser)[command]
    where = [word for word in extra if word.split("=", 1)[0] in _options(sub)]
    hint = f" ({', '.join(where)} goes after the command)" if where else ""
    sub.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def size_arg(text: str) -> float:
    """``bench --size``'s value, as ``float`` reads it (argparse's message for a word that
    is not a number). A positive number too small for a float (``1e-400``), which ``float``
    rounds to 0, is refused as such, not as "0"; the others are for
    :func:`arrayport._bench.check_size` to judge."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    mantissa = text.strip().lower().partition("e")[0]
    if value == 0 and not mantissa.startswith("-") and any(c in "123456789" for c in mantissa):
        msg = (
            f"{text} is too small: as a float it rounds to 0 MiB (the smallest positive size "
            "is 5e-324 MiB; any size up to 4 bytes is timed on one 4-byte float32)"
        )
        raise argparse.ArgumentTypeError(msg)
    return value
