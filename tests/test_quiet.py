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
