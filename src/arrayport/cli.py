"""The ``arrayport`` command: ``doctor``, ``bench`` and ``port-check``.

Tables are drawn with rich when standard output is a terminal and rich is installed, as
aligned plain text otherwise (pipes, files, CI logs), and as JSON with ``--json``
(:mod:`arrayport._cli_output`).

Exit status: 0 on success; 1 when ``doctor`` finds a broken installation, ``bench`` could
not time a memory type or pair, or ``port-check`` finds non-standard NumPy; 2 for usage
errors (a missing file, a bad option) and when ``port-check`` finds no Python file or a
file or directory it cannot read or parse; 74 when standard output cannot be written (a
full disk, or closed); 130 when interrupted (Ctrl-C); 141 when the reader of standard output leaves
early (:mod:`arrayport._cli_exit`). With ``--json``, standard output is valid JSON
whatever the status: ``doctor`` and ``bench`` print ``{"error": message}`` when they
refuse their options, ``port-check`` prints ``[]`` when it checked nothing (its output is
a list); what is printed while the frameworks (or port-check's references) are imported
goes to standard error, by Python code or (to file descriptor 1) by native code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import arrayport
from arrayport._cli_args import (
    refuse_extra,
    size_arg,
    unknown_options_first,
    usage_error_json,
)
from arrayport._cli_exit import parsing, run_command, standard_streams
from arrayport._cli_output import Output, Parser, print_json, printable, quiet_stdout
from arrayport.errors import ArrayportError, InvalidOptionError

__all__ = ["main"]


# -- doctor -------------------------------------------------------------------------------

_BYTE_COLUMNS = frozenset({"in_use", "cached", "free", "total"})


def _mib(n: object) -> str:
    return f"{n / 2**20:,.1f}" if isinstance(n, int) and not isinstance(n, bool) else ""


def _doctor(args: argparse.Namespace, out: TextIO) -> int:
    from arrayport._doctor import diagnose

    with quiet_stdout(args.json):
        report = diagnose()
    if args.json:
        print_json(report, out)
        return 0 if report["ok"] else 1
    o = Output(out)
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
    for m in report["not_usable"]:
        o.line(f"installed but not usable here: {m['name']} ({m['error']})")
    for m in report["not_installed"]:
        o.line(f"not installed: {m['name']} ({m['install']})")
    if report["not_installed"] or report["not_usable"]:
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


def _duration(ms: float) -> str:
    """``ms`` milliseconds to read: ``"12.35 ms"``, below 1 ms ``"3.2 us"`` (never
    ``"0.00 ms"`` for a small ``--size``)."""
    us = f"{ms * 1e3:.3g}"
    return f"{ms:.2f} ms" if ms >= 1 or float(us) >= 1000 else f"{us} us"  # not "1e+03 us"


def _bench(args: argparse.Namespace, out: TextIO) -> int:
    from arrayport._bench import check_size, run_bench

    try:
        check_size(args.size, "--size")
        with quiet_stdout(args.json):
            result = run_bench(size_mib=args.size)
    except InvalidOptionError as exc:  # a size that does not fit
        # stderr first: stdout may fail at once (unbuffered, onto a full disk).
        print(f"arrayport bench: {exc}", file=sys.stderr)
        if args.json:  # stdout stays valid JSON; the exit status says it is an error
            print_json({"error": str(exc)}, out)
        return 2
    failed = bool(result["broken"]) or any(
        r["error"] is not None for r in (*result["conversions"], *result["dispatch"])
    )
    status = 1 if failed else 0
    if args.json:
        print_json(result, out)
        return status
    o = Output(out)
    o.line(", ".join(f"{k} {v or '(not loaded)'}" for k, v in result["versions"].items()))
    o.line(
        f"memcpy reference: ndarray.copy() of {result['size_mib']:g} MiB float32 (64-byte "
        f"aligned) takes {_duration(result['memcpy_ms'])} at best; each conversion is a ratio "
        "to the copy timed in turn with it (lower is faster)"
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


def _not_searched(skipped: list[Path]) -> str:
    """The line naming the directories port-check left out, so that a clean result is never
    read as covering them."""
    links = sum(os.path.islink(d) for d in skipped)
    kinds = [
        f"{n} {what}"
        for n, what in (
            (len(skipped) - links, "build, dist or installed-package directories"),
            (links, "links to directories, not followed"),
        )
        if n
    ]
    names = ", ".join(printable(str(d)) for d in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
    return (
        f"arrayport port-check: not searched ({' and '.join(kinds)}; name one to check it): {names}"
    )


def _port_check(args: argparse.Namespace, out: TextIO) -> int:
    from arrayport.portcheck import PARSE_ERROR, TOO_DEEP, UNREADABLE, _scan, standard

    skipped: list[Path] = []
    try:
        # What an array-api-strict or array-api-extra (or a module that shadows one)
        # prints while it is imported goes to stderr with --json.
        with quiet_stdout(args.json):
            findings, checked = _scan(args.paths, skipped)
            version = standard().version if checked else ""
    except ArrayportError as exc:
        # stderr first: stdout may fail at once (unbuffered, onto a full disk).
        print(f"arrayport port-check: {printable(str(exc))}", file=sys.stderr)
        if args.json:
            print_json([], out)  # stdout stays valid JSON; the exit status says why
        return 2
    if skipped:
        print(_not_searched(skipped), file=sys.stderr)
    unchecked = [f for f in findings if f.name in (PARSE_ERROR, TOO_DEEP, UNREADABLE)]
    unread = sum(f.name == UNREADABLE for f in unchecked)
    # Files that could not be checked (unreadable, not valid Python, or too deeply nested)
    # are reported, the others checked, and the exit status is 2 so a CI gate still
    # fails: in the JSON list as findings, in text on stderr.
    status = 2 if unchecked or not checked else 1 if findings else 0
    # An empty directory, or one of notebooks only, is not "clean". Said before the JSON:
    # standard output may fail at once (unbuffered, onto a full disk).
    no_files = f"arrayport port-check: {_NO_FILES.format(paths=printable(', '.join(args.paths)))}"
    if args.json:
        if not checked:
            print(no_files, file=sys.stderr)
        print_json([f.as_dict() for f in findings], out)  # [] when nothing was found
        return status
    for f in unchecked:
        where = f.path if f.name == UNREADABLE else f"{f.path}:{f.line}"
        print(f"arrayport port-check: {printable(where)}: {printable(f.message)}", file=sys.stderr)
    if not checked:
        print(no_files, file=sys.stderr)
        return status
    findings = [f for f in findings if f not in unchecked]
    o = Output(out)
    if not findings:
        o.line(
            f"No NumPy use outside the array API standard {version} found"
            + (" in the files that could be checked." if unchecked else ".")
        )
    elif o.console is not None:
        rows = [(f"{f.path}:{f.line}", f.name, f.replacement or "-", f.message) for f in findings]
        o.table(
            f"NumPy outside the array API standard {version}",
            ["file:line", "what", "replacement", "why"],
            # Each cell on one line: a path's newline is shown as \n, not as two rows.
            [[printable(v) for v in row] for row in rows],
        )
    else:  # path:line: form, which editors and CI annotate
        for f in findings:
            hint = f"; use {f.replacement}" if f.replacement else ""
            # printable: a newline in a file name would start a line of its own, read
            # as a finding of its own (`x.py\nfake.py:9: ...`).
            o.line(printable(f"{f.path}:{f.line}: {f.name}: {f.message}{hint}"))
    if findings:
        files = len({f.path for f in findings})
        o.line(f"{len(findings)} finding(s) in {files} file(s)")
    if len(unchecked) > unread:
        o.line(
            f"{len(unchecked) - unread} file(s) could not be parsed or analysed and were not "
            "checked"
        )
    if unread:
        o.line(f"{unread} file(s) or directories could not be read and were not checked")
    return status


def _parser(json_error: Callable[[str], object] | None = None) -> argparse.ArgumentParser:
    parser = Parser(
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
        "--size", type=size_arg, default=64.0, metavar="MiB", help="array size (default 64)"
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
        "file is found, or a file or directory could not be checked (unreadable, not valid "
        "Python, or too deeply nested: it is reported, the others are checked). Links to "
        "directories are not followed (said on stderr).",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="Python files or directories")
    check.add_argument("--json", action="store_true", help="print a JSON list of findings")
    check.set_defaults(run=_port_check)
    for p in (parser, doctor, bench, check):
        if isinstance(p, Parser):
            p.json_error = json_error
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``arrayport`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status of the command that ran.

    Raises
    ------
    SystemExit
        For ``--help`` and ``--version`` (status 0, once printed) and for a usage error
        (status 2: a bad or unknown option, a missing command), as argparse does, and with
        the status 141 or 74 when standard output could not take what they print
        (``arrayport._cli_exit.parsing``). A command that ran returns its status instead.
    """
    with standard_streams() as closed:  # closed: standard output is (`>&-`)
        return closed if closed is not None else _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(usage_error_json(given))
    with parsing():  # --help, --version and usage errors print, then raise SystemExit
        args, extra = parser.parse_known_args(unknown_options_first(parser, given))
        if extra:  # named against the command they were given to, with its own usage line
            refuse_extra(parser, args.command, extra)
    run: Callable[[argparse.Namespace, TextIO], int] = args.run
    return run_command(lambda out: run(args, out))
