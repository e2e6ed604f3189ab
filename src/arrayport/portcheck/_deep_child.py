"""The child process that walks a file too deep for port-check's walk in the caller.

:func:`arrayport.portcheck._depth.walk_in_child` starts ``python -c`` with :data:`BOOT`,
the caller's ``sys.path`` as its arguments, and a pickle of ``(source, path, standard)``
on its standard input. :func:`main` parses the source again and walks it, under a
recursion limit raised for this process alone (the caller's is never changed: lowering a
limit that another thread has gone deeper than aborts Python), in a thread with a large
stack, and writes the findings to standard output as a JSON list of
:meth:`Finding.as_dict`. It exits 1, writing nothing there, when the walk fails (a file
too deep even so: RecursionError or MemoryError; or a thread that cannot start).
"""

from __future__ import annotations

import ast
import contextlib
import json
import pickle
import sys
import threading

from arrayport._quiet import quiet
from arrayport.portcheck._checker import Finding, find_nonstandard
from arrayport.portcheck._standard import Standard

__all__ = ["BOOT", "main"]

#: What ``python -c`` runs: the caller's module path (none of the current directory's
#: modules, which the code checked may have), then :func:`main`.
BOOT = (
    "import sys; sys.path[:] = sys.argv[1:]; "
    "from arrayport.portcheck._deep_child import main; sys.exit(main())"
)
#: The recursion limit of the walk: it takes two or three frames per level of nesting (a
#: method chain, six per call), 9,000 for the deepest file Python 3.11 parses at its
#: default limit and about 30,000 for Python 3.13's.
_WALK_LIMIT = 60_000
#: The stack of the thread the walk runs in (reserved, not used unless needed): Python
#: 3.10 keeps each Python call on the C stack, at about 2 KiB a call.
_WALK_STACK = 256 << 20


def _walk(source: str | bytes, path: str, std: Standard) -> list[Finding]:
    with quiet():  # "\d" in the source: the caller has parsed it already
        tree = ast.parse(source, filename=path)
    return find_nonstandard(tree, path, std)


def main() -> int:
    """Walk the file read from standard input; 0 when the findings were written."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever else is printed is not the answer
    source, path, std = pickle.load(sys.stdin.buffer)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), _WALK_LIMIT))
    found: list[list[Finding]] = []
    with contextlib.suppress(ValueError, RuntimeError):  # not settable here: the default
        threading.stack_size(_WALK_STACK)
    # A walk that raises prints its traceback on standard error and finds nothing.
    worker = threading.Thread(target=lambda: found.append(_walk(source, path, std)))
    worker.start()  # RuntimeError when it cannot: exits 1 with the traceback
    worker.join()
    if not found:
        return 1
    out.write(json.dumps([f.as_dict() for f in found[0]]).encode("ascii"))
    out.flush()
    return 0
