"""_quiet: warnings silenced around arrayport's own calls, one thread at a time."""

from __future__ import annotations

import threading
import time
import warnings

from arrayport._quiet import quiet


def test_quiet_ignores_warnings_and_restores_the_filters() -> None:
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet():
            warnings.warn("inside", UserWarning, stacklevel=1)
        warnings.warn("outside", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["outside"]
    assert warnings.filters == before


def test_threads_in_quiet_blocks_at_once_leave_the_filters_as_they_were() -> None:
    # catch_warnings saves and restores the process's filter list: interleaved in two
    # threads, an "ignore everything" filter stayed installed for good.
    before = list(warnings.filters)

    def work() -> None:
        for _ in range(300):
            with quiet():
                time.sleep(0)  # let another thread in while the filter is installed

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert warnings.filters == before


def test_a_block_that_does_not_wait_runs_unsilenced_while_another_thread_holds_it() -> None:
    # The dask NATIVE_OUTPUT sample runs user code in a quiet block: a function waiting on
    # a thread that runs another sample deadlocked on the lock.
    def inner() -> list[str]:
        with quiet(wait=False), warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            warnings.warn("inner's own", stacklevel=1)
        return [str(w.message) for w in seen]

    before = list(warnings.filters)
    with quiet():
        result: list[list[str]] = []
        worker = threading.Thread(target=lambda: result.append(inner()))
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()  # it did not wait for this thread's block
    assert result == [["inner's own"]]  # and ran unsilenced, with its own filters
    assert warnings.filters == before
    with quiet(wait=False), warnings.catch_warnings(record=True) as seen:  # the lock free
        warnings.warn("silenced", stacklevel=1)
    assert not seen
