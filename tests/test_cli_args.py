"""Tests of how the ``arrayport`` command reads its arguments where argparse would mislead."""

from __future__ import annotations

import json

import pytest

from arrayport import cli
from arrayport._cli_args import commands, usage_error_json


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (
            ["--json"],
            "--json goes after a COMMAND (doctor, bench, port-check), as in "
            "`arrayport doctor --json`",
        ),
        (
            ["--size", "3"],
            "--size goes after a COMMAND (doctor, bench, port-check), as in "
            "`arrayport bench --size`",
        ),
        (["--json", "doctr"], "--json goes after a COMMAND"),
    ],
)
def test_a_commands_option_without_a_command_says_where_it_goes(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `arrayport --json` said only "unrecognized arguments: --json" (audit a22).
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert f"arrayport: error: unrecognized arguments: {argv[0]} ({hint}" in captured.err
    if "--json" in argv:
        assert hint in json.loads(captured.out)["error"]


def test_an_option_no_command_takes_gets_no_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--verison"])
    assert capsys.readouterr().err.endswith("error: unrecognized arguments: --verison\n")


def test_what_a_usage_error_puts_on_stdout() -> None:
    assert usage_error_json(["doctor"]) is None
    doctor = usage_error_json(["--json", "doctor"])
    assert doctor is not None
    assert doctor("bad") == {"error": "bad"}
    check = usage_error_json(["port-check", "--json", "x.py"])
    assert check is not None
    assert check("bad") == []  # port-check's output is a list


def test_commands_are_named_in_order() -> None:
    assert list(commands(cli._parser())) == ["doctor", "bench", "port-check"]
