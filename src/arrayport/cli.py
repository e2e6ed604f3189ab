"""The ``arrayport`` command: ``doctor``, ``bench`` and ``port-check``.

Tables are drawn with rich when standard output is a terminal and rich is installed, as
aligned plain text otherwise (pipes, files, CI logs), and as JSON with ``--json``.

Exit status: 0 on success; 1 when ``doctor`` finds a broken installation, ``bench`` could
not time a memory type or pair, or ``port-check`` finds non-standard NumPy; 2 for usage
errors (a missing file, a bad option) and when ``port-check`` finds no Python file or a
file it cannot parse. With ``--json``, standard output is valid JSON whatever the status:
``bench`` prints ``{"error": message}`` when it refuses its options, ``port-check`` prints
``[]`` when it checked nothing (its output is a list); what the frameworks print while
they are imported goes to standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import arrayport
from arrayport.errors import ArrayportError

__all__ = ["main"]

_Row = Sequence[object]


class _Output:
    """Writes tables to a stream: rich in a terminal, aligned plain text elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.console: Any = None
        if stream.isatty():
            try:
                from rich.console import Console
            except ImportError:  # rich is optional (arrayport[cli]): plain text then
                pass
            else:
                self.console = Console(file=stream)

    def line(self, text: str = "") -> None:
        if self.console is not None:
            self.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[_Row]) -> None:
        cells = [["" if v is None else str(v) for v in row] for row in rows]
        if self.console is not None:
            from rich.table import Table
            from rich.text import Text

            # Text, not str: rich reads "[bold]" or "[/x]" in a path as markup.
            table = Table(title=Text(title), title_justify="left")
            # The first column names the row: a name up to 24 characters (a memory type)
            # is never cut ("pyclespera…" in an 80-column terminal), the other columns
            # give way; longer ones (paths) wrap as before.
            first = min(24, max([len(columns[0]), *(len(r[0]) for r in cells)]))
            for i, column in enumerate(columns):
                table.add_column(Text(column), min_width=first if i == 0 else None)
            for row in cells:
                table.add_row(*(Text(c) for c in row))
            self.console.print(table)
            return
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        print(title, file=self.stream)
        for row in (list(columns), ["-" * w for w in widths], *cells):
            text = "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))
            print(text.rstrip(), file=self.stream)
        print(file=self.stream)


def _print_json(data: object, stream: TextIO) -> None:
    json.dump(data, stream, indent=2)
    stream.write("\n")


def _quiet_stdout(enabled: bool) -> contextlib.AbstractContextManager[object]:
    """While ``enabled`` (``--json``), what Python code prints to standard output (a
    framework announcing itself on import, a user's own module that shadows one) goes to
    standard error, so that standard output stays one JSON document."""
    return contextlib.redirect_stdout(sys.stderr) if enabled else contextlib.nullcontext()


# -- doctor -------------------------------------------------------------------------------

_BYTE_COLUMNS = frozenset({"in_use", "cached", "free", "total"})


def _mib(n: object) -> str:
    return f"{n / 2**20:,.1f}" if isinstance(n, int) and not isinstance(n, bool) else ""


def _doctor(args: argparse.Namespace, out: TextIO) -> int:
    from arrayport._doctor import diagnose

    with _quiet_stdout(args.json):
        report = diagnose()
    if args.json:
        _print_json(report, out)
        return 0 if report["ok"] else 1
    o = _Output(out)
    o.line(f"arrayport {report['arrayport']}")
    o.line()
    o.table(
        "Memory types",
        ["memory type", "version", "devices", "problem"],
        [
            (m["name"], m["version"], ", ".join(m["devices"]), m["error"])
            for m in report["memory_types"]
        ],
    )
    for m in report["not_installed"]:
        o.line(f"not installed: {m['name']} ({m['install']})")
    if report["not_installed"]:
        o.line()
    if report["memory"] is None:
        o.line("Memory report: not available in this version")
    elif report["memory"]:
        columns = list(dict.fromkeys(k for row in report["memory"] for k in row))
        o.table(
            "Memory (MiB; blank: the framework does not say)",
            columns,
            [
                [_mib(row.get(c)) if c in _BYTE_COLUMNS else row.get(c) for c in columns]
                for row in report["memory"]
            ],
        )
    o.table(
        "Conversion routes (float32, 64x64, aligned, default device)",
        ["from", "to", "method", "zero-copy", "problem"],
        [
            (
                c["source"],
                c["target"],
                c["method"],
                {True: "yes", False: "no", None: ""}[c["zero_copy"]],
                c["error"],
            )
            for c in report["matrix"]
        ],
    )
    o.line("OK" if report["ok"] else "BROKEN: see the problem column above")
    return 0 if report["ok"] else 1


# -- bench --------------------------------------------------------------------------------


def _bench(args: argparse.Namespace, out: TextIO) -> int:
    from arrayport._bench import check_size, run_bench

    try:
        check_size(args.size, "--size")
    except ArrayportError as exc:
        if args.json:  # stdout stays valid JSON; the exit status says it is an error
            _print_json({"error": str(exc)}, out)
        print(f"arrayport bench: {exc}", file=sys.stderr)
        return 2
    with _quiet_stdout(args.json):
        result = run_bench(size_mib=args.size)
    failed = bool(result["broken"]) or any(
        r["error"] is not None for r in (*result["conversions"], *result["dispatch"])
    )
    status = 1 if failed else 0
    if args.json:
        _print_json(result, out)
        return status
    o = _Output(out)
    o.line(", ".join(f"{k} {v or '(not loaded)'}" for k, v in result["versions"].items()))
    o.line(
        f"memcpy reference: ndarray.copy() of {result['size_mib']:g} MiB float32 (64-byte "
        f"aligned) takes "
        f"{result['memcpy_ms']:.2f} ms at best; each conversion is a ratio to the copy timed in "
        "turn with it (lower is faster)"
    )
    o.line()
    for name, error in result["broken"].items():
        o.line(f"{name} not usable: {error}")
    left_out = [f"{name} not timed: {why}" for name, why in result["skipped"].items()]
    if not result["conversions"]:
        o.line(
            "Conversions: none to time (it takes two memory types whose conversions can be "
            f"timed, and {' and '.join(result['timed']) or 'none'} is the only one here"
            + "".join(f"; {text}" for text in left_out)
            + "; see arrayport doctor)"
        )
    else:
        for text in left_out:
            o.line(text)
        o.table(
            "Conversions",
            ["from", "to", "method", "zero-copy", "x memcpy", "problem"],
            [
                (
                    c["source"],
                    c["target"],
                    c["method"],
                    "" if c["zero_copy"] is None else ("yes" if c["zero_copy"] else "no"),
                    "" if c["ratio"] is None else f"{c['ratio']:.3f}",
                    c["error"],
                )
                for c in result["conversions"]
            ],
        )
    if result["dispatch"]:
        o.table(
            "Decorator overhead (per call, 4x4 input)",
            ["case", "microseconds", "x plain call", "problem"],
            [
                (
                    d["case"],
                    "" if d["us"] is None else f"{d['us']:.2f}",
                    "" if d["ratio"] is None else f"{d['ratio']:.1f}",
                    d["error"],
                )
                for d in result["dispatch"]
            ],
        )
    if failed:
        o.line("BROKEN: some memory types or pairs could not be timed; see the problem column")
    return status


# -- port-check ---------------------------------------------------------------------------


_NO_FILES = (
    "no Python files found under {paths} (port-check reads *.py files and scripts with a "
    "python #! line; notebooks (.ipynb) are not read: export them with "
    "`jupyter nbconvert --to script`)"
)


def _port_check(args: argparse.Namespace, out: TextIO) -> int:
    from arrayport.portcheck import PARSE_ERROR, TOO_DEEP, _scan, standard

    skipped: list[Path] = []
    try:
        findings, checked = _scan(args.paths, skipped)
    except ArrayportError as exc:
        if args.json:
            _print_json([], out)  # stdout stays valid JSON; the exit status says why
        print(f"arrayport port-check: {exc}", file=sys.stderr)
        return 2
    if skipped:  # said, so that a clean result is never read as covering them
        names = ", ".join(str(d) for d in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        print(
            f"arrayport port-check: not searched ({len(skipped)} build, dist or installed-"
            f"package directories; name one to check it): {names}",
            file=sys.stderr,
        )
    if not checked:  # an empty directory, or one of notebooks only, is not "clean"
        if args.json:
            _print_json([], out)  # stdout stays valid JSON; the exit status says why
        print(
            f"arrayport port-check: {_NO_FILES.format(paths=', '.join(args.paths))}",
            file=sys.stderr,
        )
        return 2
    unchecked = [f for f in findings if f.name in (PARSE_ERROR, TOO_DEEP)]
    # Files that could not be checked (not valid Python, or too deeply nested) are
    # reported, the others checked, and the exit status is 2 so a CI gate still fails: in
    # the JSON list as findings, in text on stderr.
    status = 2 if unchecked else 1 if findings else 0
    if args.json:
        _print_json([f.as_dict() for f in findings], out)
        return status
    for f in unchecked:
        print(f"arrayport port-check: {f.path}:{f.line}: {f.message}", file=sys.stderr)
    findings = [f for f in findings if f not in unchecked]
    o = _Output(out)
    if not findings:
        o.line(
            f"No NumPy use outside the array API standard {standard().version} found"
            + (" in the files that could be checked." if unchecked else ".")
        )
    elif o.console is not None:
        o.table(
            f"NumPy outside the array API standard {standard().version}",
            ["file:line", "what", "replacement", "why"],
            [(f"{f.path}:{f.line}", f.name, f.replacement or "-", f.message) for f in findings],
        )
    else:  # path:line: form, which editors and CI annotate
        for f in findings:
            hint = f"; use {f.replacement}" if f.replacement else ""
            o.line(f"{f.path}:{f.line}: {f.name}: {f.message}{hint}")
    if findings:
        files = len({f.path for f in findings})
        o.line(f"{len(findings)} finding(s) in {files} file(s)")
    if unchecked:
        o.line(f"{len(unchecked)} file(s) could not be parsed or analysed and were not checked")
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrayport",
        description="Check an arrayport installation, time its conversions, and find "
        "NumPy code that is not array API standard.",
    )
    parser.add_argument("--version", action="version", version=f"arrayport {arrayport.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser(
        "doctor",
        help="installed memory types, devices, memory, and the conversion route matrix",
        description="Show installed memory types with versions and devices, a memory "
        "report, and the route (and whether it is zero-copy) for every ordered pair. "
        "Exits 1 when the installation is broken.",
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(run=_doctor)

    bench = sub.add_parser(
        "bench",
        help="conversion and dispatch timings as ratios to ndarray.copy()",
        description="Time conversions between installed CPU memory types and the "
        "decorator's overhead, as ratios to numpy's ndarray.copy() of the same bytes.",
    )
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument(
        "--size", type=float, default=64.0, metavar="MiB", help="array size (default 64)"
    )
    bench.set_defaults(run=_bench)

    check = sub.add_parser(
        "port-check",
        help="report NumPy uses outside the Python array API standard",
        description="Read Python files (never executing them) and report each use of "
        "NumPy that is not in the array API standard, with the replacement when one "
        "exists. Reads *.py files and scripts with a python #! line; notebooks (.ipynb) "
        "are not read (export them with `jupyter nbconvert --to script`). Below a "
        "directory, hidden, cache and installed-package directories are not searched, nor "
        "build/dist unless they are packages (said on stderr). Exits 1 when anything is "
        "found, 0 when clean, 2 when a path is missing or is not Python source, no Python "
        "file is found, or a file could not be checked (not valid Python, or too deeply "
        "nested: it is reported, the others are checked).",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="Python files or directories")
    check.add_argument("--json", action="store_true", help="print a JSON list of findings")
    check.set_defaults(run=_port_check)
    return parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _unknown_options_first(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> list[str]:
    """``argv``; an unknown option before any command (``arrayport --verison``) is named as
    such, where argparse would only say that COMMAND is missing."""
    given = list(sys.argv[1:] if argv is None else argv)
    if not any(word in _commands(parser) for word in given):
        known = {"-h", "--help", "--version"}
        unknown = [word for word in given if word.startswith("-") and word not in known]
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return given


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``arrayport`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    parser = _parser()
    args, extra = parser.parse_known_args(_unknown_options_first(parser, argv))
    if extra:  # named against the command they were given to, with its own usage line
        command = _commands(parser)[args.command]
        known = {o for a in command._actions for o in a.option_strings}
        where = [word for word in extra if word in known]
        hint = f" ({', '.join(where)} goes after the command)" if where else ""
        command.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    try:
        status: int = args.run(args, sys.stdout)
    except BrokenPipeError:
        # The reader left (`arrayport port-check . | head`) before the verdict: exit as a
        # process killed by SIGPIPE does (128 + 13), never 0, which would pass a CI gate.
        return 141
    return status
