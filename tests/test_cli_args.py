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


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        # argparse read the value as the command: "invalid choice: '1'".
        (
            ["--size", "1", "bench"],
            "arrayport bench: error: unrecognized arguments: --size 1 (--size goes after the "
            "command)",
        ),
        (
            ["--json", "--size", "1", "bench"],
            "arrayport bench: error: unrecognized arguments: --json --size 1 (--json, --size "
            "goes after the command)",
        ),
        (
            ["--size", "1", "port-check", "x.py"],
            "arrayport: error: unrecognized arguments: --size 1 (--size goes after a COMMAND "
            "(doctor, bench, port-check), as in `arrayport bench --size 1`)",
        ),
        # "--size=1" was not matched against bench's "--size": no hint.
        (
            ["--size=1", "bench", "--json"],
            "arrayport bench: error: unrecognized arguments: --size=1 (--size=1 goes after the "
            "command)",
        ),
    ],
    ids=["size-bench", "json-size-bench", "size-port-check", "size=1-bench"],
)
def test_a_commands_option_with_a_value_before_the_command_says_where_it_goes(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == said
    assert "invalid choice" not in captured.err
    if "--json" in argv:
        assert json.loads(captured.out) == {"error": said.partition(": error: ")[2]}


@pytest.mark.parametrize("size", ["1e-400", "+1E-400", "0.5e-999"])
def test_a_size_too_small_for_a_float_is_said_so_not_called_0(
    size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--size 1e-400` said "must be a finite positive number of MiB, not 0".
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", f"--size={size}", "--json"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    said = f"argument --size: {size} is too small: as a float it rounds to 0 MiB"
    assert said in captured.err
    assert "not 0" not in captured.err
    assert json.loads(captured.out)["error"].startswith(said)


def test_a_size_that_is_not_a_number_keeps_argparse_s_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--size", "0x10"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith("arrayport bench: error: argument --size: invalid float value: '0x10'\n")
