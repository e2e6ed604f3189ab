"""How the ``arrayport`` command ends: Ctrl-C, a reader that left, output it cannot write.

:func:`run_command` runs a command on standard output and turns these into an exit status
and at most one line on standard error, never a traceback:

- Ctrl-C (SIGINT): 130 and ``arrayport: interrupted``. SIGINT is recorded, not only
  raised: Python drops an exception raised where it cannot propagate (an object's
  ``__del__``, a gc callback such as jax's), so a ``KeyboardInterrupt`` can be lost while
  the command goes on to exit 0; the record still says it was interrupted, and a command
  that runs long (``bench``) asks :func:`stop_if_interrupted` between its steps, which
  raises the lost interrupt again there.
- The reader of standard output left early (``arrayport port-check . | head``): 141, as
  for a process killed by SIGPIPE, never 0, which would pass a CI gate.
- Standard output cannot be written (a full disk, ``> /dev/full``, or closed: ``>&-``): 74
  (``EX_IOERR``) and ``arrayport: cannot write output: <reason>``, never 1, which means a
  finding.

:func:`open_streams` readies the standard streams before anything is written, and
:func:`parsing` gives argument parsing (``--help``, ``--version``, a usage error's JSON)
the same exit statuses for a reader that left or output that cannot be written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TextIO, cast

from arrayport._cli_output import silence_stdout

__all__ = [
    "CANNOT_WRITE",
    "INTERRUPTED",
    "READER_LEFT",
    "open_streams",
    "parsing",
    "run_command",
    "standard_streams",
    "stop_if_interrupted",
]

#: 128 + SIGINT, as the shell says for a process Ctrl-C stopped.
INTERRUPTED = 130
#: 128 + SIGPIPE, as for a process killed by it.
READER_LEFT = 141
#: ``EX_IOERR`` (sysexits.h): an error while writing output.
CANNOT_WRITE = 74


class _Output:
    """A stream that remembers the error its last failing write or flush raised, so that
    such an error is told apart from an ``OSError`` the command itself raised."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno, ...
        return getattr(self._stream, name)


class _Interrupts:
    """Records SIGINT while a command runs. Until :meth:`stop_raising` the handler also
    raises ``KeyboardInterrupt``, as Python's own does, so that the command stops; after
    it, the command has finished and SIGINT is only recorded."""

    def __init__(self) -> None:
        self.seen = False
        self._raising = True
        self._hook = sys.unraisablehook

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.seen = True
        if self._raising:
            raise KeyboardInterrupt

    def stop_raising(self) -> None:
        self._raising = False

    def _unraisable(self, unraisable: Any) -> None:
        # The KeyboardInterrupt that SIGINT raised where Python ignores exceptions
        # ("Exception ignored in: <function _xla_gc_callback ...>"): recorded, and said
        # once at the end ("arrayport: interrupted"), not as a traceback. A command that
        # runs long calls stop_if_interrupted() between its steps to stop there.
        exc_type = unraisable.exc_type
        if self.seen and isinstance(exc_type, type) and issubclass(exc_type, KeyboardInterrupt):
            return
        self._hook(unraisable)

    def stop_if_seen(self) -> None:
        """Raise ``KeyboardInterrupt`` if SIGINT came while the command runs (see
        :func:`stop_if_interrupted`)."""
        if self.seen and self._raising:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT with :meth:`_handler` within the block, then as before. Only in the
        main thread (the only one Python lets handle signals), and not where SIGINT is
        ignored (a background job) or handled outside Python."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)
        if previous is None or previous is signal.SIG_IGN:
            yield
            return
        self._hook = sys.unraisablehook
        signal.signal(signal.SIGINT, self._handler)
        sys.unraisablehook = self._unraisable
        try:
            yield
        finally:
            sys.unraisablehook = self._hook
            signal.signal(signal.SIGINT, previous)


#: The SIGINT records of the commands running now in the main thread
#: (:func:`run_command`), innermost last.
_running: list[_Interrupts] = []


def stop_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` where Ctrl-C came while the command runs, even though
    Python dropped the one SIGINT raised (it landed in a gc callback, during the
    ``gc.collect()`` that ``bench`` makes between its rows): called between a command's
    steps, so that it stops at the next one, not after minutes of timings nobody wants.
    Does nothing outside :func:`run_command`, or outside the main thread (the only one
    whose commands see SIGINT)."""
    if _running and threading.current_thread() is threading.main_thread():
        _running[-1].stop_if_seen()


def _say(line: str) -> None:
    """``line`` on standard error, if it can be written."""
    if sys.stderr is None:  # closed (`2>&-`): print(file=None) would write it to stdout
        return
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr)


@contextlib.contextmanager
def standard_streams() -> Iterator[int | None]:
    """:func:`open_streams` for the command, then the streams as they were: ``main()``
    called from Python leaves its caller's ``sys.stdout``/``sys.stderr`` (and their
    encoding error handlers) unchanged."""
    streams = (sys.stdout, sys.stderr)
    handlers = [getattr(stream, "errors", None) for stream in streams]
    try:
        yield open_streams()
    finally:
        for stream, handler in zip(streams, handlers, strict=True):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None and handler is not None and stream.errors != handler:
                with contextlib.suppress(OSError, ValueError):
                    reconfigure(errors=handler)
        if streams[1] is None and sys.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.close()  # the null device open_streams gave a closed stderr
        sys.stdout, sys.stderr = streams


def open_streams() -> int | None:
    """Ready the standard streams for the command: None, or :data:`CANNOT_WRITE` (said on
    standard error) when standard output is closed (``arrayport doctor >&-``, where Python
    sets ``sys.stdout`` to None).

    A closed standard error (``2>&-``) becomes the null device: ``print(file=None)`` would
    write what is meant for it to standard output, into its JSON. Text that an encoding
    cannot hold (a file named ``café.py`` with ``PYTHONIOENCODING=ascii``) is written
    escaped (``caf\\xe9.py``), not raised as a ``UnicodeEncodeError`` traceback with exit
    1, which means a finding.
    """
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 -- open until the process ends
    if sys.stdout is None:
        _say("arrayport: cannot write output: standard output is closed")
        return CANNOT_WRITE
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # not a StringIO's
        if reconfigure is not None:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="backslashreplace")
    return None


@contextlib.contextmanager
def parsing() -> Iterator[None]:
    """Parse the arguments within the block. argparse prints ``--help``, ``--version`` and
    a usage error's JSON itself, then exits (``SystemExit``): what it printed is flushed
    here, and a reader that left exits 141, output that cannot be written 74, as for a
    command, not 120 with "Exception ignored ... BrokenPipeError" at exit, or a
    traceback. Nothing but standard output is written here that raises ``OSError``
    (argparse ignores a failed write to standard error)."""
    try:
        try:
            yield
        except SystemExit:
            sys.stdout.flush()
            raise
    except BrokenPipeError:
        silence_stdout()
        raise SystemExit(READER_LEFT) from None
    except OSError as exc:
        silence_stdout()
        _say(f"arrayport: cannot write output: {exc.strerror or exc}")
        raise SystemExit(CANNOT_WRITE) from None


def run_command(run: Callable[[TextIO], int]) -> int:
    """``run(stdout)``'s exit status, or the one this module's docstring gives when it was
    interrupted or its output could not be delivered. An ``OSError`` that is not from
    writing standard output propagates."""
    interrupts = _Interrupts()
    out = _Output(sys.stdout)
    status = INTERRUPTED
    with interrupts.installed():
        main = threading.current_thread() is threading.main_thread()
        try:
            if main:
                _running.append(interrupts)
            try:
                status = run(cast(TextIO, out))
                # Here, not at exit: output smaller than the buffer is written now, so that
                # a reader that left is seen below, not by Python at shutdown (exit 120).
                out.flush()
            finally:
                interrupts.stop_raising()
                if main:
                    _running.remove(interrupts)
        except BrokenPipeError:
            # The reader left (`arrayport port-check . | head`) before the verdict.
            silence_stdout()
            status = READER_LEFT
        except KeyboardInterrupt:  # Ctrl-C, or a KeyboardInterrupt raised by the command
            interrupts.seen = True
        except OSError as exc:
            if exc is not out.error:  # not from writing the output: the command's own
                raise
            # What is still buffered would fail again at exit ("Exception ignored ...").
            silence_stdout()
            status = CANNOT_WRITE
            if not interrupts.seen:
                _say(f"arrayport: cannot write output: {exc.strerror or exc}")
        if interrupts.seen:  # even where the KeyboardInterrupt was lost (see above)
            _say("arrayport: interrupted")
            return INTERRUPTED
    return status
